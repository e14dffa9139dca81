# SCR Platform staging: deployed automatically on every merge to main.

account_id         = "111111111111"
cluster            = "scr-staging"
log_retention_days = 14
smoke_base_url     = "https://staging.scr-platform.com"

tags = {
  environment = "staging"
}

github {
  # Deploys on a push to main; applies reviewed plans in the GitHub environment "staging".
  role "deploy" {
    branches               = ["main"]
    environments           = ["staging"]
    permissions            = ["ecr_push", "ecs_deploy", "logs_read", "secrets_read", "terraform_apply"]
    terraform_state_bucket = "scr-terraform-state"
  }
  # Plans every pull request: reads everything, writes only Terraform's state lock.
  role "terraform" {
    pull_requests          = true
    branches               = ["main"]
    permissions            = ["terraform_apply"]
    managed_policy_arns    = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    terraform_state_bucket = "scr-terraform-state"
    terraform_lock_table   = "scr-terraform-locks"
  }
}

alb {
  certificate_arn = "arn:aws:acm:eu-west-1:111111111111:certificate/5f0c2a6e-staging"
}

# Anyone may deploy staging: from the workflow on a merge to main, by hand from the Actions tab,
# or from a terminal.
approval {
  required = false
  events   = ["push", "workflow_dispatch", "local"]
}

# One lock per environment, in the Terraform state bucket (slipway/locks/staging.json).
deploy {
  lock_bucket = "scr-terraform-state"
}
