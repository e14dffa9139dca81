variable "name" {
  description = "Name of the load balancer (at most 32 characters) and prefix of its security group's name."
  type        = string

  validation {
    condition     = length(var.name) <= 32
    error_message = "A load balancer name has at most 32 characters."
  }
}

variable "vpc_id" {
  description = "VPC of the load balancer and its security group."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the load balancer, in at least two Availability Zones (public subnets for an internet-facing load balancer)."
  type        = list(string)
}

variable "internal" {
  description = "Create an internal load balancer instead of an internet-facing one."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener. Null creates no HTTPS listener: the HTTP listener then serves the routes (for demos and tests only)."
  type        = string
  default     = null
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "redirect_http" {
  description = "With a certificate: listen on HTTP too and redirect every request to HTTPS with a 301. Without a certificate HTTP is the only listener and this has no effect."
  type        = bool
  default     = true
}

variable "ingress_cidr_blocks" {
  description = "IPv4 ranges allowed to reach the listeners."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "idle_timeout" {
  description = "Connection idle timeout, in seconds."
  type        = number
  default     = 60
}

variable "deletion_protection" {
  description = "Protect the load balancer from deletion (turn off before destroying an environment)."
  type        = bool
  default     = true
}

variable "access_logs_bucket" {
  description = "Existing S3 bucket for access logs (its bucket policy must allow Elastic Load Balancing log delivery); null turns access logs off."
  type        = string
  default     = null
}

variable "access_logs_prefix" {
  description = "Key prefix of the access logs in access_logs_bucket; null for the bucket root."
  type        = string
  default     = null
}

variable "web_acl_arn" {
  description = "AWS WAFv2 web ACL (REGIONAL scope) to associate with the load balancer; null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the load balancer, its security group and listeners (on top of the AWS provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "test_listener_port" {
  description = "Port of a test listener for blue/green, canary and linear deployments (ECS routes test traffic to the new revision through it); null for none."
  type        = number
  default     = null

  validation {
    condition     = var.test_listener_port == null || try(var.test_listener_port >= 1 && var.test_listener_port <= 65535 && !contains([80, 443], var.test_listener_port), false)
    error_message = "test_listener_port must be a port other than 80 and 443."
  }
}

variable "test_listener_cidr_blocks" {
  description = "Ranges that may reach the test listener (e.g. the VPC, or CI runners' addresses); empty for none."
  type        = list(string)
  default     = []
}
