# The Terraform state backend of an account: the S3 bucket the root configuration in terraform/
# keeps its state (and slipway its locks) in, and, when asked for, a DynamoDB lock table. It
# cannot keep its own state in the bucket it creates, so its state is local
# (terraform.tfstate.d/<workspace>/, one workspace per bucket): keep it (it holds no secrets), or
# import the bucket again if it is lost. `slipway bootstrap --backend` runs it; see
# terraform/README.md.

terraform {
  # 1.10: the root in terraform/ locks its state natively in S3 (use_lockfile).
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.37"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

variable "region" {
  description = "Region of the bucket (the environment's)."
  type        = string
}

variable "bucket" {
  description = "Name of the state bucket (globally unique)."
  type        = string
}

variable "lock_table" {
  description = "Name of a DynamoDB lock table to create, or null for none: Terraform 1.10 and later lock the state in the bucket itself (use_lockfile), which terraform/ uses."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags on the bucket and the table."
  type        = map(string)
  default     = {}
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_144:State is replicated by versioning within the region; cross-region replication is the account's choice.
  #checkov:skip=CKV_AWS_18:Access logging needs a second bucket; CloudTrail data events cover state access.
  #checkov:skip=CKV2_AWS_62:No event notifications are needed for state objects.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) encrypts the state; a customer key is the account's choice.
  bucket = var.bucket

  # Losing the bucket loses every environment's state.
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Old state versions expire after 90 days; incomplete uploads after a week.
resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 90
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

# Only TLS.
resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  depends_on = [aws_s3_bucket_public_access_block.state]
}

resource "aws_dynamodb_table" "lock" {
  #checkov:skip=CKV_AWS_119:The lock table holds lock ids and digests only; the AWS-owned key encrypts it.
  count = var.lock_table == null ? 0 : 1

  name         = var.lock_table
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

output "bucket" {
  description = "The state bucket."
  value       = aws_s3_bucket.state.id
}

output "region" {
  description = "Its region."
  value       = var.region
}

output "lock_table" {
  description = "The lock table, or null."
  value       = var.lock_table == null ? null : aws_dynamodb_table.lock[0].name
}
