locals {
  exec_logging = var.execute_command_logging
}

resource "aws_cloudwatch_log_group" "exec" {
  count = local.exec_logging ? 1 : 0

  name              = "/ecs/${var.name}/exec"
  retention_in_days = var.execute_command_log_retention_days
  kms_key_id        = var.execute_command_kms_key_arn
  tags              = var.tags
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights
  }

  dynamic "configuration" {
    for_each = local.exec_logging ? [1] : []

    content {
      execute_command_configuration {
        kms_key_id = var.execute_command_kms_key_arn
        logging    = "OVERRIDE"

        log_configuration {
          cloud_watch_encryption_enabled = true
          cloud_watch_log_group_name     = aws_cloudwatch_log_group.exec[0].name
        }
      }
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = !var.execute_command_logging || var.execute_command_kms_key_arn != null
      error_message = "execute_command_logging needs execute_command_kms_key_arn."
    }
  }
}
