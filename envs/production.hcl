# SCR Platform production: images promoted from staging (re-tagged, never rebuilt), deployed by
# hand with the confirmation word, or on a semver tag.

account_id         = "222222222222"
cluster            = "scr-production"
log_retention_days = 90
smoke_base_url     = "https://scr-platform.com"

tags = {
  environment = "production"
}

github {
  # Deploys and applies reviewed plans, only in the GitHub environment "production" (its
  # protection rules hold the job until a reviewer lets it run).
  role "deploy" {
    environments           = ["production"]
    tags                   = ["v*"]
    permissions            = ["ecr_push", "ecs_deploy", "logs_read", "secrets_read", "terraform_apply"]
    terraform_state_bucket = "scr-production-terraform-state"
  }
  # Plans every pull request: reads everything, writes only Terraform's state lock.
  role "plan" {
    pull_requests          = true
    permissions            = ["terraform_apply"]
    managed_policy_arns    = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    terraform_state_bucket = "scr-production-terraform-state"
  }
}

service "api" {
  desired_count = 2

  autoscaling {
    min        = 2
    max        = 10
    cpu_target = 70
  }

  deployment {
    timeout = "15m"
  }

  smoke "health" {
    retries = 10
    backoff = "15s"
  }
}

service "web" {
  desired_count = 2

  smoke "home" {
    expect_status = [200, 301, 307]
  }
}

alb {
  certificate_arn = "arn:aws:acm:eu-west-1:222222222222:certificate/9b1d7c3e-production"
}

approval {
  required     = true
  confirmation = "DEPLOY"
  events       = ["workflow_dispatch", "push"]
}

notifications {
  slack_webhook_secret = "scr/production/slack-webhook"
}

deploy {
  block_on_severity = "HIGH"
  lock_bucket       = "scr-production-terraform-state"
}
