# Specboard (doc-platform): what staging and production share.
#
# Promotion model: CI builds each image once (tagged with the git sha) and pushes it to ECR;
# staging deploys it on every push to main, production deploys the very same tag when a release
# is published. Only configuration differs between the environments, so everything about the
# services lives here and the environment files add their own values (APP_ENV comes from
# env.name, DB_HOST and REDIS_URL from each file, secrets from <env>/doc-platform/*).
#
# Merge rules: an environment file's attributes replace these, object attributes (environment,
# secrets, tags) merge key by key, blocks with the same type and label merge recursively.

# One AWS account for both environments, separated by name prefixes (seed: "Multiple AWS
# accounts" is explicitly not done).
account_id = "418273645091"
region     = "us-west-2"

tags = {
  system     = "specboard"
  managed-by = "slipway"
}

github {
  repository = "specboard/doc-platform"
}

# Ports are the containers' listening ports (assumed; the seed does not name them).

service "api" {
  repository    = "doc-platform-api"
  cpu           = 256
  memory        = 512
  desired_count = 1
  port          = 3001

  environment = {
    APP_ENV = env.name
  }
  secrets = {
    DB_USERNAME    = "secretsmanager:${env.name}/doc-platform/db-credentials:username"
    DB_PASSWORD    = "secretsmanager:${env.name}/doc-platform/db-credentials:password"
    SESSION_SECRET = "secretsmanager:${env.name}/doc-platform/session-secret"
    INVITE_KEYS    = "secretsmanager:${env.name}/doc-platform/invite-keys"
  }

  load_balancer {
    path_patterns     = ["/api/*"]
    priority          = 10
    health_check_path = "/health"
  }

  deployment {
    minimum_healthy_percent = 100
    maximum_percent         = 200
    circuit_breaker         = true
    rollback                = true
  }

  # Backward-compatible migrations run before the rolling update (seed: `command: migrate`).
  migration {
    command = ["npm", "run", "migrate"]
    timeout = "10m"
  }
}

service "frontend" {
  repository    = "doc-platform-frontend"
  cpu           = 256
  memory        = 512
  desired_count = 1
  port          = 3000

  environment = {
    APP_ENV = env.name
  }
  secrets = {
    SESSION_SECRET = "secretsmanager:${env.name}/doc-platform/session-secret"
  }

  load_balancer {
    path_patterns     = ["/*"]
    priority          = 100
    health_check_path = "/health"
  }

  deployment {
    minimum_healthy_percent = 100
    maximum_percent         = 200
    circuit_breaker         = true
    rollback                = true
  }

  # The seed's post-deploy check: curl -f https://<domain>/health (served by the frontend).
  smoke "health" {
    path = "/health"
  }
}

service "mcp" {
  repository    = "doc-platform-mcp"
  cpu           = 256
  memory        = 512
  desired_count = 1
  port          = 3002

  environment = {
    APP_ENV = env.name
  }
  secrets = {
    DB_USERNAME = "secretsmanager:${env.name}/doc-platform/db-credentials:username"
    DB_PASSWORD = "secretsmanager:${env.name}/doc-platform/db-credentials:password"
  }

  load_balancer {
    path_patterns     = ["/mcp/*"]
    priority          = 20
    health_check_path = "/health"
  }

  deployment {
    minimum_healthy_percent = 100
    maximum_percent         = 200
    circuit_breaker         = true
    rollback                = true
  }
}

alb {
  ssl_policy    = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  redirect_http = true
}
