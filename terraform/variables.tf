# The variables slipway renders (`slipway render --env NAME --only tfvars`): exactly the keys of
# tfvars.json, with the same names and types. Optional values arrive as null, never absent.
# Inputs slipway does not render (the network, account-wide switches) are in settings.tf, each
# with a default.

variable "environment" {
  description = "Name of the slipway environment (staging, production, ...); must match the Terraform workspace."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]*$", var.environment))
    error_message = "environment must be letters, digits, `-` and `_`, as a workspace name."
  }
}

variable "aws_account_id" {
  description = "AWS account of the environment; the provider refuses credentials for any other account."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be 12 digits."
  }
}

variable "aws_region" {
  description = "AWS region of the environment."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.aws_region))
    error_message = "aws_region must be a region name such as eu-west-1."
  }
}

variable "cluster_name" {
  description = "Name of the ECS cluster; also names the VPC, load balancer and other shared resources of the environment."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$", var.cluster_name))
    error_message = "cluster_name must be 1 to 255 letters, digits, `-` and `_`."
  }
}

variable "tags" {
  description = "Tags for every resource (the AWS provider's default_tags, with slipway:environment)."
  type        = map(string)
  nullable    = false
}

variable "log_retention_days" {
  description = "Retention of the services' CloudWatch log groups, in days."
  type        = number
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "github_repository" {
  description = "GitHub repository (owner/name) the OIDC roles trust, or null when the environment has no github block."
  type        = string
}

variable "oidc_roles" {
  description = "IAM roles GitHub Actions assumes through OIDC, by label: role name, trust policy and inline permission policy (JSON strings), managed policy ARNs to attach."
  type = map(object({
    name                = string
    trust_policy        = string
    policy              = string
    managed_policy_arns = list(string)
  }))
  nullable = false

  validation {
    condition     = length(var.oidc_roles) == 0 || var.github_repository != null
    error_message = "oidc_roles need github_repository."
  }
}

variable "ecr_repositories" {
  description = "ECR repositories this environment creates, by name: tag mutability, scan on push, lifecycle policy (JSON string, or null for none). Repositories that services use but another environment creates are not here."
  type = map(object({
    image_tag_mutability = string
    scan_on_push         = bool
    lifecycle_policy     = optional(string)
  }))
  nullable = false
}

variable "services" {
  description = "ECS services by name, with what Terraform creates for each: IAM roles, security group, log group, target group and routing rule, autoscaling, and the service itself (slipway then owns its task definition revisions and rollouts)."
  type = map(object({
    service_name        = optional(string)
    container_name      = string
    container_port      = optional(number)
    cpu                 = number
    memory              = number
    desired_count       = number
    family              = string
    repository          = optional(string)
    image               = optional(string)
    execution_role_name = string
    task_role_name      = string
    log_group_name      = string
    secret_arns         = list(string)
    load_balancer = optional(object({
      target_group_arn                  = optional(string)
      path_patterns                     = list(string)
      hosts                             = list(string)
      priority                          = number
      health_check_path                 = string
      health_check_matcher              = string
      health_check_grace_period_seconds = number
    }))
    autoscaling = optional(object({
      min        = number
      max        = number
      cpu_target = number
    }))
    deployment = object({
      minimum_healthy_percent = number
      maximum_percent         = number
      circuit_breaker         = bool
      rollback                = bool
      strategy                = optional(string, "ROLLING")
      bake_time_in_minutes    = optional(number)
      canary = optional(object({
        percent         = number
        bake_in_minutes = number
      }))
      linear = optional(object({
        step_percent         = number
        step_bake_in_minutes = number
      }))
      alarms = optional(object({
        names    = list(string)
        rollback = bool
      }))
    })
    platform_version        = optional(string, "LATEST")
    propagate_tags          = optional(string, "SERVICE")
    enable_ecs_managed_tags = optional(bool, true)
    enable_execute_command  = optional(bool, false)
    capacity_provider_strategy = optional(list(object({
      capacity_provider = string
      weight            = number
      base              = number
    })), [])
  }))
  nullable = false

  validation {
    condition     = alltrue([for s in values(var.services) : s.image != null || s.repository != null])
    error_message = "Every service needs an image or a repository."
  }

  validation {
    condition     = alltrue([for s in values(var.services) : s.load_balancer == null || s.container_port != null])
    error_message = "A service with a load_balancer needs a container_port."
  }

  validation {
    condition     = length(distinct([for s in values(var.services) : s.load_balancer.priority if s.load_balancer != null])) == length([for s in values(var.services) : 1 if s.load_balancer != null])
    error_message = "Listener rule priorities must be unique across services."
  }

  validation {
    condition     = alltrue([for s in values(var.services) : s.deployment.strategy == "ROLLING" || (s.load_balancer != null && try(s.load_balancer.target_group_arn, null) == null)])
    error_message = "BLUE_GREEN, CANARY and LINEAR need a load_balancer whose target groups the root creates."
  }
}

variable "alb" {
  description = "The environment's Application Load Balancer: ACM certificate of the HTTPS listener (null: HTTP only, for demos), TLS policy, whether HTTP redirects to HTTPS, and the port of a test listener for blue/green, canary and linear deployments (null: none; reachable from the VPC). Null for no load balancer."
  type = object({
    certificate_arn    = optional(string)
    ssl_policy         = string
    redirect_http      = bool
    test_listener_port = optional(number)
  })

  validation {
    condition     = var.alb != null || alltrue([for s in values(var.services) : s.load_balancer == null])
    error_message = "Services with a load_balancer need an alb (add an alb block to the environment)."
  }
}

variable "sites" {
  description = "Static sites the root creates from modules/static-site, by site name: the module's name (the bucket's prefix), the domain names with their ACM certificate (us-east-1), and whether it is a single-page application. Only the site blocks that name no bucket; the others bring their own."
  type = map(object({
    name            = string
    aliases         = list(string)
    certificate_arn = optional(string)
    spa             = bool
  }))
  nullable = false

  validation {
    condition     = alltrue([for s in values(var.sites) : length(s.aliases) == 0 || s.certificate_arn != null])
    error_message = "A site with aliases needs a certificate_arn."
  }

  validation {
    condition     = length(distinct([for s in values(var.sites) : s.name])) == length(var.sites)
    error_message = "Every site needs its own name."
  }
}
