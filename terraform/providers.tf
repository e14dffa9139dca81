provider "aws" {
  region = var.aws_region

  # Refuse to plan or apply with credentials for any other account than the environment's.
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = merge({ "slipway:environment" = var.environment }, var.tags)
  }
}
