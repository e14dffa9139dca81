variable "name" {
  description = "Name of the ECS service (slipway's service name)."
  type        = string
}

variable "cluster_name" {
  description = "Name of the ECS cluster the service runs in."
  type        = string
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster the service runs in."
  type        = string
}

variable "container_name" {
  description = "Name of the service's main container (the load balancer targets it)."
  type        = string
}

variable "container_port" {
  description = "Port the main container listens on; null for a service that takes no traffic."
  type        = number
  default     = null
}

variable "cpu" {
  description = "Task CPU units (256, 512, 1024, ...)."
  type        = number
}

variable "memory" {
  description = "Task memory in MiB."
  type        = number
}

variable "cpu_architecture" {
  description = "CPU architecture of the initial task definition: X86_64 or ARM64 (slipway's revisions carry their own)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "desired_count" {
  description = "Number of tasks when the service is created. Later changes are ignored: slipway and autoscaling own the count."
  type        = number
}

variable "family" {
  description = "Task definition family; slipway registers its revisions in it."
  type        = string
}

variable "image" {
  description = "Image of the initial task definition, used only until slipway's first deploy (for example REPOSITORY_URL:bootstrap)."
  type        = string
}

variable "execution_role_name" {
  description = "Name of the task execution role to create (pulls the image, writes logs, reads the secrets)."
  type        = string
}

variable "task_role_name" {
  description = "Name of the task role to create (the application's own AWS permissions; attach policies to the task_role_name output)."
  type        = string
}

variable "log_group_name" {
  description = "Name of the CloudWatch log group the containers write to."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the log group, in days (a value CloudWatch Logs accepts)."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the log group (its key policy must let CloudWatch Logs use it); null for CloudWatch's default encryption."
  type        = string
  default     = null
}

variable "secret_arns" {
  description = "IAM resource ARNs of the Secrets Manager secrets (arn:...:secret:NAME-*) and SSM parameters the containers read. The execution role may read exactly these, nothing else."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.secret_arns : can(regex("^arn:[^:]+:(secretsmanager|ssm):", a))])
    error_message = "secret_arns must be Secrets Manager or SSM parameter ARNs."
  }
}

variable "vpc_id" {
  description = "VPC of the service's security group and target group."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets the tasks run in (private subnets with a route to a NAT gateway)."
  type        = list(string)
}

variable "assign_public_ip" {
  description = "Give tasks a public IP (only for tasks in public subnets without NAT)."
  type        = bool
  default     = false
}

variable "egress_cidr_blocks" {
  description = "IPv4 ranges the tasks may connect to (the image registry, Secrets Manager, databases, external APIs)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "service_name" {
  description = "Name of the ECS service, when it is not `name` (a service adopted under the name it already runs with)."
  type        = string
  default     = null
}

variable "load_balancer" {
  description = "Routing from the load balancer: listener rule conditions (path patterns, host names), rule priority, and the target group's health check; or an existing target group (target_group_arn), for which nothing is created. Null for a service without one."
  type = object({
    target_group_arn                  = optional(string)
    path_patterns                     = optional(list(string), [])
    hosts                             = optional(list(string), [])
    priority                          = number
    health_check_path                 = optional(string, "/")
    health_check_matcher              = optional(string, "200-399")
    health_check_grace_period_seconds = optional(number, 60)
  })
  default = null

  validation {
    condition     = var.load_balancer == null || try(var.load_balancer.target_group_arn != null, false) || try(length(var.load_balancer.path_patterns) + length(var.load_balancer.hosts) > 0, false)
    error_message = "A load_balancer needs at least one path pattern or host."
  }

  validation {
    condition     = var.load_balancer == null || try(var.load_balancer.target_group_arn != null, false) || try(var.load_balancer.priority >= 1 && var.load_balancer.priority <= 50000, false)
    error_message = "A listener rule priority is between 1 and 50000."
  }

  validation {
    condition     = var.load_balancer == null || var.container_port != null
    error_message = "A load_balancer needs container_port: the target group forwards to it."
  }
}

variable "listener_arn" {
  description = "Listener the routing rule attaches to; required with load_balancer."
  type        = string
  default     = null
}

variable "alb_security_group_id" {
  description = "Security group of the load balancer: the only source allowed to reach the container port; required with load_balancer."
  type        = string
  default     = null
}

variable "autoscaling" {
  description = "Target tracking on the service's average CPU: minimum and maximum task count and the CPU target (percent). Null for a fixed count."
  type = object({
    min        = number
    max        = number
    cpu_target = number
  })
  default = null

  validation {
    condition     = var.autoscaling == null || try(var.autoscaling.min <= var.autoscaling.max && var.autoscaling.cpu_target > 0 && var.autoscaling.cpu_target <= 100, false)
    error_message = "autoscaling needs min <= max and a cpu_target in (0, 100]."
  }
}

variable "deployment" {
  description = "Deployment settings: minimum healthy and maximum percent, deployment circuit breaker and rollback on failure; the strategy (ROLLING, BLUE_GREEN, CANARY or LINEAR) with its bake times and traffic steps; CloudWatch alarms that roll a deployment back."
  type = object({
    minimum_healthy_percent = optional(number, 100)
    maximum_percent         = optional(number, 200)
    circuit_breaker         = optional(bool, true)
    rollback                = optional(bool, true)
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
  default = {}

  validation {
    condition     = contains(["ROLLING", "BLUE_GREEN", "CANARY", "LINEAR"], var.deployment.strategy)
    error_message = "deployment.strategy is ROLLING, BLUE_GREEN, CANARY or LINEAR."
  }
}

variable "test_listener_arn" {
  description = "Test listener of the load balancer (blue/green, canary and linear): a rule like the production one is made on it, for test traffic to the new revision. Null for none."
  type        = string
  default     = null
}

variable "platform_version" {
  description = "Fargate platform version."
  type        = string
  default     = "LATEST"
}

variable "propagate_tags" {
  description = "Where the tasks' tags come from: SERVICE, TASK_DEFINITION or NONE."
  type        = string
  default     = "SERVICE"
}

variable "enable_ecs_managed_tags" {
  description = "Whether ECS tags the tasks with the cluster and service names."
  type        = bool
  default     = true
}

variable "capacity_provider_strategy" {
  description = "Capacity providers (FARGATE, FARGATE_SPOT) with weight and base, instead of the FARGATE launch type; empty for the launch type."
  type = list(object({
    capacity_provider = string
    weight            = number
    base              = number
  }))
  default  = []
  nullable = false
}

variable "enable_execute_command" {
  description = "Allow ECS Exec into the tasks (adds the SSM session permissions to the task role)."
  type        = bool
  default     = false
}

variable "execute_command_kms_key_arn" {
  description = "KMS key the cluster encrypts ECS Exec sessions with; the task role may decrypt with it when enable_execute_command is true. Null when sessions are not encrypted."
  type        = string
  default     = null
}

variable "execute_command_log_group_name" {
  description = "Log group the cluster records ECS Exec sessions in; the task role may write to it when enable_execute_command is true. Null when sessions are not logged to CloudWatch."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource of the service (on top of the AWS provider's default_tags)."
  type        = map(string)
  default     = {}
}
