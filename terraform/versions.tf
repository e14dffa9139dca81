terraform {
  # 1.10: native S3 state locking (use_lockfile); variable validations that refer to other variables.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.37: aws_ecs_task_definition.track_latest (slipway registers the task definition revisions).
      version = ">= 5.37"
    }
  }

  # Partial configuration: the state bucket is per organisation, so it is given at init time.
  # State is locked natively in S3 (a `<key>.tflock` object, Terraform >= 1.10); no DynamoDB table.
  #
  #   terraform -chdir=terraform init \
  #     -backend-config="bucket=scr-terraform-state" \
  #     -backend-config="key=slipway/terraform.tfstate" \
  #     -backend-config="region=eu-west-1" \
  #     -backend-config="use_lockfile=true"
  #
  # or the same keys in a file (`-backend-config=backend.s3.tfbackend`). Each environment is a
  # workspace, so its state lives at `env:/<environment>/<key>`. For a local demo without S3 see
  # backend.local.tf.example.
  backend "s3" {}
}
