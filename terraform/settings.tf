# Inputs slipway does not render. Every one has a default, so `-var-file=tfvars.json` alone is a
# complete set of variables; override per environment with -var or a second -var-file.

variable "vpc_cidr" {
  description = "IPv4 range of the environment's VPC (/16 to /19): two public subnets (the /24s at the start when /16) and two private ones."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 19, false)
    error_message = "vpc_cidr must be an IPv4 CIDR block from /16 to /19."
  }
}

variable "availability_zones" {
  description = "The two Availability Zones of the subnets, e.g. [\"eu-west-1a\", \"eu-west-1b\"]. Null picks the region's first two zones that need no opt-in; pin them once an environment exists, so a zone AWS adds later cannot move its subnets."
  type        = list(string)
  default     = null

  validation {
    condition     = var.availability_zones == null || try(length(var.availability_zones) == 2 && length(distinct(var.availability_zones)) == 2, false)
    error_message = "availability_zones must be two different zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for both private subnets instead of one per Availability Zone: cheaper (for example staging), but egress depends on one zone."
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow logs, in days."
  type        = number
  default     = 365
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider. An account has one: set false in every environment but one when environments share an account (it is then looked up)."
  type        = bool
  default     = true
}

variable "container_insights" {
  description = "CloudWatch Container Insights on the cluster: enabled, enhanced or disabled."
  type        = string
  default     = "enabled"
}

variable "alb_deletion_protection" {
  description = "Protect the load balancer from deletion; turn off before destroying an environment."
  type        = bool
  default     = true
}

variable "alb_access_logs_bucket" {
  description = "Existing S3 bucket for the load balancer's access logs (its policy must allow Elastic Load Balancing log delivery); null turns access logs off."
  type        = string
  default     = null
}

variable "alb_web_acl_arn" {
  description = "AWS WAFv2 web ACL (REGIONAL) to associate with the load balancer; null for none."
  type        = string
  default     = null
}
