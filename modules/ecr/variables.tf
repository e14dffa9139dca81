variable "repositories" {
  description = "ECR repositories by name: tag mutability (MUTABLE or IMMUTABLE), scan on push, and the lifecycle policy as a JSON string (null for none)."
  type = map(object({
    image_tag_mutability = optional(string, "IMMUTABLE")
    scan_on_push         = optional(bool, true)
    lifecycle_policy     = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for r in values(var.repositories) : contains(["MUTABLE", "IMMUTABLE"], r.image_tag_mutability)])
    error_message = "image_tag_mutability must be MUTABLE or IMMUTABLE."
  }

  validation {
    condition     = alltrue([for r in values(var.repositories) : r.lifecycle_policy == null || can(jsondecode(r.lifecycle_policy).rules)])
    error_message = "A lifecycle_policy must be a JSON document with `rules`."
  }
}

variable "encryption_type" {
  description = "Encryption of the repositories at rest: KMS (AWS-managed aws/ecr key unless kms_key_arn is set) or AES256."
  type        = string
  default     = "KMS"

  validation {
    condition     = contains(["KMS", "AES256"], var.encryption_type)
    error_message = "encryption_type must be KMS or AES256."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the repositories (with encryption_type KMS); null for the AWS-managed key."
  type        = string
  default     = null
}

variable "force_delete" {
  description = "Allow destroying a repository that still holds images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the repositories (on top of the AWS provider's default_tags)."
  type        = map(string)
  default     = {}
}
