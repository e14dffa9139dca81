# Specboard production: the images tested on staging, promoted (never rebuilt) when a GitHub
# release is published, or by the manual rollback workflow. Both need an approval.

cluster        = "doc-platform-production"
smoke_base_url = "https://specboard.io"

tags = {
  environment = "production"
}

service "api" {
  desired_count = 2
  environment = {
    DB_HOST   = "prod-db.cluster-c7k2m9x4q1vb.us-west-2.rds.amazonaws.com"
    REDIS_URL = "redis://prod-redis:6379"
  }
}

service "frontend" {
  desired_count = 2
}

service "mcp" {
  desired_count = 2
  environment = {
    DB_HOST   = "prod-db.cluster-c7k2m9x4q1vb.us-west-2.rds.amazonaws.com"
    REDIS_URL = "redis://prod-redis:6379"
  }
}

github {
  # Trusted only from jobs that run in the protected GitHub environment "production". It pushes
  # nothing: it deploys images that already exist in ECR (`ecs_deploy` includes
  # ecr:DescribeImages for the "verify images exist" step).
  role "deploy" {
    environments = ["production"]
    permissions  = ["ecs_deploy", "logs_read"]
  }
}

alb {
  certificate_arn = "arn:aws:acm:us-west-2:418273645091:certificate/8a1c4e7f-2b3d-4f60-b8e9-0c5a7d3e1f42"
}

approval {
  required = true
  teams    = ["specboard/platform-team"]
  events   = ["release", "workflow_dispatch"]
}

# Staging and production share the account, and with it the state bucket; each has its own lock.
deploy {
  lock_bucket = "specboard-terraform-state"
}
