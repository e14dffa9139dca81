variable "name" {
  description = "Name of the ECS cluster."
  type        = string
}

variable "container_insights" {
  description = "CloudWatch Container Insights: enabled, enhanced or disabled."
  type        = string
  default     = "enabled"

  validation {
    condition     = contains(["enabled", "enhanced", "disabled"], var.container_insights)
    error_message = "container_insights must be enabled, enhanced or disabled."
  }
}

variable "execute_command_logging" {
  description = "Encrypt ECS Exec sessions with execute_command_kms_key_arn and log every session to an encrypted CloudWatch log group (/ecs/NAME/exec). False keeps ECS Exec's defaults. A separate switch because a key created in the same run is unknown until apply."
  type        = bool
  default     = false
}

variable "execute_command_kms_key_arn" {
  description = "KMS key for ECS Exec sessions and their audit log group; required when execute_command_logging is true. Its key policy must let CloudWatch Logs use it."
  type        = string
  default     = null
}

variable "execute_command_log_retention_days" {
  description = "Retention of the ECS Exec audit log group, in days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for the cluster (on top of the AWS provider's default_tags)."
  type        = map(string)
  default     = {}
}
