# What every SCR Platform environment shares: the same images, services and routes.
# Each environment file (staging.hcl, production.hcl) is merged over this one: attributes there
# replace these, objects (environment, secrets, tags) merge key by key, and blocks with the same
# type and name merge recursively.

region = "eu-west-1"

tags = {
  system     = "scr-platform"
  managed-by = "slipway"
}

github {
  repository = "scr-platform/scr-platform"
}

repository "scr-api" {
  scan_on_push   = true
  tag_mutability = "MUTABLE"
  lifecycle {
    keep_tagged          = 20
    expire_untagged_days = 1
  }
}

repository "scr-web" {
  lifecycle {
    keep_tagged          = 20
    expire_untagged_days = 1
  }
}

repository "scr-ai-gateway" {
  lifecycle {
    keep_tagged          = 20
    expire_untagged_days = 1
  }
}

service "api" {
  repository    = "scr-api"
  cpu           = 512
  memory        = 1024
  desired_count = 1
  port          = 8000
  command       = ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
  paths         = ["apps/api/**", "infrastructure/docker/Dockerfile.api"]

  environment = {
    APP_ENV   = env.name
    LOG_LEVEL = "info"
    GIT_SHA   = image_tag
  }
  secrets = {
    DATABASE_URL      = "secretsmanager:scr/${env.name}/database-url"
    REDIS_URL         = "secretsmanager:scr/${env.name}/redis-url"
    CLERK_SECRET_KEY  = "secretsmanager:scr/${env.name}/clerk-secret-key"
    ANTHROPIC_API_KEY = "secretsmanager:scr/${env.name}/anthropic-api-key"
  }

  health_check {
    command      = ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"]
    interval     = "30s"
    timeout      = "5s"
    retries      = 3
    start_period = "20s"
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
    timeout                 = "10m"
  }

  migration {
    command = ["alembic", "upgrade", "head"]
    timeout = "10m"
  }

  smoke "health" {
    path          = "/health"
    expect_status = [200]
    retries       = 5
    backoff       = "2s"
  }
}

service "ai-gateway" {
  repository    = "scr-ai-gateway"
  cpu           = 512
  memory        = 1024
  desired_count = 1
  port          = 8001
  paths         = ["services/ai-gateway/**"]

  environment = {
    APP_ENV = env.name
  }
  secrets = {
    ANTHROPIC_API_KEY = "secretsmanager:scr/${env.name}/anthropic-api-key"
  }

  health_check {
    command = ["CMD-SHELL", "curl -f http://localhost:8001/health || exit 1"]
  }
}

service "web" {
  repository    = "scr-web"
  cpu           = 512
  memory        = 1024
  desired_count = 1
  port          = 3000
  paths         = ["apps/web/**", "infrastructure/docker/Dockerfile.web"]

  environment = {
    NODE_ENV = "production"
    APP_ENV  = env.name
  }

  load_balancer {
    path_patterns     = ["/*"]
    priority          = 100
    health_check_path = "/"
  }

  smoke "home" {
    path          = "/"
    expect_status = [200, 307]
  }
}

alb {
  ssl_policy    = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  redirect_http = true
}
