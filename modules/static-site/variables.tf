variable "name" {
  description = "Name of the site: the bucket's name prefix and the distribution's comment."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,35}$", var.name))
    error_message = "A site name is 2 to 36 lowercase letters, digits and hyphens: it and a hyphen prefix the bucket's name, and S3 adds 26 characters to a prefix of at most 37."
  }
}

variable "aliases" {
  description = "Domain names the distribution answers to; they need acm_certificate_arn."
  type        = list(string)
  default     = []
}

variable "acm_certificate_arn" {
  description = "ACM certificate (in us-east-1) for the aliases. Null serves the site on its *.cloudfront.net name only."
  type        = string
  default     = null

  validation {
    condition     = var.acm_certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:us-east-1:", var.acm_certificate_arn))
    error_message = "CloudFront takes certificates from ACM in us-east-1 only."
  }
}

variable "minimum_protocol_version" {
  description = "CloudFront's TLS security policy for viewers when a certificate is given."
  type        = string
  default     = "TLSv1.2_2021"
}

variable "spa" {
  description = "A single-page application: 403 and 404 from the bucket answer /index.html with 200."
  type        = bool
  default     = false
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

variable "noncurrent_version_days" {
  description = "How long replaced objects are kept: slipway restores earlier releases from these versions, so this is the rollback window."
  type        = number
  default     = 90
}

variable "kms_key_arn" {
  description = "KMS key for the bucket's default encryption (its policy must let CloudFront decrypt). Null uses SSE-S3."
  type        = string
  default     = null
}

variable "logging_bucket" {
  description = "Bucket domain name (bucket.s3.amazonaws.com) for CloudFront's standard access logs; null for none."
  type        = string
  default     = null
}

variable "web_acl_id" {
  description = "ARN of a WAFv2 web ACL (CLOUDFRONT scope) to associate; null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
