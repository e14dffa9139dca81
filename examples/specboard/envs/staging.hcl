# Specboard staging: deployed automatically on every push to main.

cluster        = "doc-platform-staging"
smoke_base_url = "https://staging.specboard.io"

tags = {
  environment = "staging"
}

# The ECR repositories are declared here only. Both environments live in one AWS account and run
# the same images, so the repositories exist once; staging's Terraform workspace creates them
# and production deploys from them (its `ecr_repository_urls` output names them too).
#
# The seed names them doc-platform/api, doc-platform/frontend and doc-platform/mcp. slipway
# currently rejects `/` in block labels, so the example uses `-` instead.
repository "doc-platform-api" {
  scan_on_push   = true
  tag_mutability = "MUTABLE" # CI pushes :latest as well as :<git sha>
  lifecycle {
    keep_tagged = 10 # enough to roll back to any of the last 10 images
  }
}

repository "doc-platform-frontend" {
  scan_on_push   = true
  tag_mutability = "MUTABLE"
  lifecycle {
    keep_tagged = 10
  }
}

repository "doc-platform-mcp" {
  scan_on_push   = true
  tag_mutability = "MUTABLE"
  lifecycle {
    keep_tagged = 10
  }
}

service "api" {
  environment = {
    DB_HOST   = "staging-db.cluster-c7k2m9x4q1vb.us-west-2.rds.amazonaws.com"
    REDIS_URL = "redis://staging-redis:6379"
  }
}

service "mcp" {
  environment = {
    DB_HOST   = "staging-db.cluster-c7k2m9x4q1vb.us-west-2.rds.amazonaws.com"
    REDIS_URL = "redis://staging-redis:6379"
  }
}

github {
  # Builds and pushes the images, runs migrations and deploys staging.
  role "deploy" {
    branches    = ["main"]
    permissions = ["ecr_push", "ecs_deploy", "logs_read"]
  }
}

alb {
  certificate_arn = "arn:aws:acm:us-west-2:418273645091:certificate/3f6b2d1e-8c4a-4e57-9a0b-5d7e1c2f9a30"
}

approval {
  required = false
  events   = ["push", "workflow_dispatch", "local"]
}

deploy {
  lock_bucket = "specboard-terraform-state"
}
