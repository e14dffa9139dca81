data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id
  account_id = data.aws_caller_identity.current.account_id

  load_balanced = var.load_balancer != null
  # With an existing target group the routing is someone else's: no target group, listener rule
  # or load balancer ingress is created here.
  routed           = local.load_balanced && try(var.load_balancer.target_group_arn, null) == null
  target_group_arn = local.routed ? aws_lb_target_group.this[0].arn : try(var.load_balancer.target_group_arn, null)
  autoscaled       = var.autoscaling != null
  # Blue/green, canary and linear: ECS moves traffic between two target groups by changing the
  # listener rules' weights, as the role made here.
  shifting      = local.routed && var.deployment.strategy != "ROLLING"
  test_listener = local.shifting && var.test_listener_arn != null

  # Target group names have at most 32 characters; longer ones keep a hash to stay unique.
  full_name         = "${var.cluster_name}-${var.name}"
  target_group_name = length(local.full_name) <= 32 ? local.full_name : "${trimsuffix(substr(local.full_name, 0, 23), "-")}-${substr(sha1(local.full_name), 0, 8)}"
  # The second target group: the name's first 21 characters, a hash, and "-g" (at most 32).
  alternate_target_group_name = "${trimsuffix(substr(local.full_name, 0, 21), "-")}-${substr(sha1("${local.full_name}-alternate"), 0, 8)}-g"

  secretsmanager_arns = [for a in var.secret_arns : a if can(regex("^arn:[^:]+:secretsmanager:", a))]
  ssm_parameter_arns  = [for a in var.secret_arns : a if can(regex("^arn:[^:]+:ssm:", a))]

  execution_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  # Confused-deputy protection: only this account's ECS tasks may assume the task role.
  task_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:*" }
      }
    }]
  })
}

# --- IAM ----------------------------------------------------------------------------------------

resource "aws_iam_role" "execution" {
  name               = var.execution_role_name
  description        = "ECS task execution role of ${var.cluster_name}/${var.name}: image pulls, logs, secrets"
  assume_role_policy = local.execution_trust
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# Exactly the service's secrets: GetSecretValue on its Secrets Manager secrets, GetParameters on
# its SSM parameters, nothing else.
resource "aws_iam_role_policy" "secrets" {
  count = length(var.secret_arns) > 0 ? 1 : 0

  name = "secrets"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      length(local.secretsmanager_arns) > 0 ? [{
        Sid      = "ReadSecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = local.secretsmanager_arns
      }] : [],
      length(local.ssm_parameter_arns) > 0 ? [{
        Sid      = "ReadParameters"
        Effect   = "Allow"
        Action   = ["ssm:GetParameters"]
        Resource = local.ssm_parameter_arns
      }] : [],
    )
  })
}

resource "aws_iam_role" "task" {
  name               = var.task_role_name
  description        = "ECS task role of ${var.cluster_name}/${var.name}: the application's own AWS permissions"
  assume_role_policy = local.task_trust
  tags               = var.tags
}

resource "aws_iam_role_policy" "execute_command" {
  count = var.enable_execute_command ? 1 : 0

  name = "ecs-exec"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid      = "SessionChannels"
        Effect   = "Allow"
        Action   = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
        Resource = "*"
      }],
      var.execute_command_kms_key_arn == null ? [] : [{
        Sid      = "SessionEncryption"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.execute_command_kms_key_arn
      }],
      var.execute_command_log_group_name == null ? [] : [{
        Sid      = "SessionLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
        Resource = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${var.execute_command_log_group_name}:*"
      }],
      var.execute_command_log_group_name == null ? [] : [{
        Sid      = "SessionLogGroups"
        Effect   = "Allow"
        Action   = ["logs:DescribeLogGroups"]
        Resource = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
      }],
    )
  })
}

# --- Logs ---------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

# --- Network ------------------------------------------------------------------------------------

resource "aws_security_group" "this" {
  name_prefix = "${local.full_name}-"
  description = "ECS service ${var.cluster_name}/${var.name}: ingress only from the load balancer on the container port"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = local.full_name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_alb" {
  count = local.routed ? 1 : 0

  security_group_id            = aws_security_group.this.id
  description                  = "Container port ${var.container_port} from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = var.alb_security_group_id
  tags                         = var.tags
}

# The load balancer may reach this service's tasks (traffic and health checks), and nothing else.
resource "aws_vpc_security_group_egress_rule" "alb_to_service" {
  count = local.routed ? 1 : 0

  security_group_id            = var.alb_security_group_id
  description                  = "To ${var.name} tasks on ${var.container_port}"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = aws_security_group.this.id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "outbound" {
  for_each = toset(var.egress_cidr_blocks)

  security_group_id = aws_security_group.this.id
  description       = "Outbound to ${each.value}"
  ip_protocol       = "-1"
  cidr_ipv4         = each.value
  tags              = var.tags
}

# --- Load balancer routing ----------------------------------------------------------------------

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; tasks in private subnets serve plain HTTP to it.
  count = local.routed ? 1 : 0

  name                 = local.target_group_name
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = var.load_balancer.health_check_path
    matcher             = var.load_balancer.health_check_matcher
    protocol            = "HTTP"
    port                = "traffic-port"
    interval            = 30
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_target_group" "alternate" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; tasks in private subnets serve plain HTTP to it.
  count = local.shifting ? 1 : 0

  name                 = local.alternate_target_group_name
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = var.load_balancer.health_check_path
    matcher             = var.load_balancer.health_check_matcher
    protocol            = "HTTP"
    port                = "traffic-port"
    interval            = 30
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "this" {
  count = local.routed ? 1 : 0

  listener_arn = var.listener_arn
  priority     = var.load_balancer.priority

  # Rolling: one target group. Blue/green, canary, linear: both, weighted; ECS owns the weights.
  action {
    type             = "forward"
    target_group_arn = local.shifting ? null : aws_lb_target_group.this[0].arn

    dynamic "forward" {
      for_each = local.shifting ? [1] : []

      content {
        target_group {
          arn    = aws_lb_target_group.this[0].arn
          weight = 100
        }
        target_group {
          arn    = aws_lb_target_group.alternate[0].arn
          weight = 0
        }
      }
    }
  }

  dynamic "condition" {
    for_each = length(var.load_balancer.path_patterns) > 0 ? [var.load_balancer.path_patterns] : []

    content {
      path_pattern {
        values = condition.value
      }
    }
  }

  dynamic "condition" {
    for_each = length(var.load_balancer.hosts) > 0 ? [var.load_balancer.hosts] : []

    content {
      host_header {
        values = condition.value
      }
    }
  }

  tags = var.tags

  lifecycle {
    # During and after a blue/green, canary or linear deployment the weights are ECS's.
    ignore_changes = [action]
  }
}

# Test traffic reaches the new revision through the test listener before production moves.
resource "aws_lb_listener_rule" "test" {
  count = local.test_listener ? 1 : 0

  listener_arn = var.test_listener_arn
  priority     = var.load_balancer.priority

  action {
    type = "forward"

    forward {
      target_group {
        arn    = aws_lb_target_group.this[0].arn
        weight = 100
      }
      target_group {
        arn    = aws_lb_target_group.alternate[0].arn
        weight = 0
      }
    }
  }

  dynamic "condition" {
    for_each = length(var.load_balancer.path_patterns) > 0 ? [var.load_balancer.path_patterns] : []

    content {
      path_pattern {
        values = condition.value
      }
    }
  }

  dynamic "condition" {
    for_each = length(var.load_balancer.hosts) > 0 ? [var.load_balancer.hosts] : []

    content {
      host_header {
        values = condition.value
      }
    }
  }

  tags = var.tags

  lifecycle {
    ignore_changes = [action]
  }
}

# The role ECS changes the listener rules as (AWS's managed policy for load balancers).
resource "aws_iam_role" "load_balancer" {
  count = local.shifting ? 1 : 0

  name_prefix = "${substr(local.full_name, 0, 28)}-lb-"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "load_balancer" {
  count = local.shifting ? 1 : 0

  role       = aws_iam_role.load_balancer[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
}

# --- Service ------------------------------------------------------------------------------------

# The first revision of the family, so the service can be created. slipway registers every later
# revision and points the service at it; `track_latest` follows the newest ACTIVE revision, and
# ignoring all changes keeps Terraform from registering this one again.
resource "aws_ecs_task_definition" "this" {
  family                   = var.family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  track_latest             = true

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([{
    name                   = var.container_name
    image                  = var.image
    essential              = true
    readonlyRootFilesystem = true
    portMappings = var.container_port == null ? [] : [{
      name          = "${var.container_name}-${var.container_port}"
      containerPort = var.container_port
      protocol      = "tcp"
    }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = local.region
        awslogs-stream-prefix = var.container_name
      }
    }
  }])

  tags = var.tags

  lifecycle {
    ignore_changes = all
  }
}

resource "aws_ecs_service" "this" {
  name                    = coalesce(var.service_name, var.name)
  cluster                 = var.cluster_arn
  task_definition         = aws_ecs_task_definition.this.arn
  desired_count           = var.desired_count
  launch_type             = length(var.capacity_provider_strategy) > 0 ? null : "FARGATE"
  platform_version        = var.platform_version
  propagate_tags          = var.propagate_tags
  enable_ecs_managed_tags = var.enable_ecs_managed_tags
  enable_execute_command  = var.enable_execute_command

  dynamic "capacity_provider_strategy" {
    for_each = var.capacity_provider_strategy

    content {
      capacity_provider = capacity_provider_strategy.value.capacity_provider
      weight            = capacity_provider_strategy.value.weight
      base              = capacity_provider_strategy.value.base
    }
  }

  deployment_minimum_healthy_percent = var.deployment.minimum_healthy_percent
  deployment_maximum_percent         = var.deployment.maximum_percent
  health_check_grace_period_seconds  = local.load_balanced ? var.load_balancer.health_check_grace_period_seconds : null

  deployment_circuit_breaker {
    enable   = var.deployment.circuit_breaker
    rollback = var.deployment.circuit_breaker && var.deployment.rollback
  }

  deployment_configuration {
    strategy             = var.deployment.strategy
    bake_time_in_minutes = var.deployment.strategy == "ROLLING" ? null : var.deployment.bake_time_in_minutes

    dynamic "canary_configuration" {
      for_each = var.deployment.strategy == "CANARY" && var.deployment.canary != null ? [var.deployment.canary] : []

      content {
        canary_percent              = canary_configuration.value.percent
        canary_bake_time_in_minutes = canary_configuration.value.bake_in_minutes
      }
    }

    dynamic "linear_configuration" {
      for_each = var.deployment.strategy == "LINEAR" && var.deployment.linear != null ? [var.deployment.linear] : []

      content {
        step_percent              = linear_configuration.value.step_percent
        step_bake_time_in_minutes = linear_configuration.value.step_bake_in_minutes
      }
    }
  }

  dynamic "alarms" {
    for_each = var.deployment.alarms == null ? [] : [var.deployment.alarms]

    content {
      alarm_names = alarms.value.names
      enable      = true
      rollback    = alarms.value.rollback
    }
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.this.id]
    assign_public_ip = var.assign_public_ip
  }

  dynamic "load_balancer" {
    for_each = local.load_balanced ? [1] : []

    content {
      target_group_arn = local.target_group_arn
      container_name   = var.container_name
      container_port   = var.container_port

      dynamic "advanced_configuration" {
        for_each = local.shifting ? [1] : []

        content {
          alternate_target_group_arn = aws_lb_target_group.alternate[0].arn
          production_listener_rule   = aws_lb_listener_rule.this[0].arn
          test_listener_rule         = local.test_listener ? aws_lb_listener_rule.test[0].arn : null
          role_arn                   = aws_iam_role.load_balancer[0].arn
        }
      }
    }
  }

  tags = var.tags

  # slipway owns rollouts (task definition revisions) and, with autoscaling, the task count. It
  # also owns the deployment's lifecycle hooks: its PAUSE hook after the test traffic shift
  # (smoke checks on the test listener before production traffic moves), which this provider's
  # lifecycle_hook block cannot express (it takes Lambda hooks only).
  lifecycle {
    ignore_changes = [task_definition, desired_count, deployment_configuration[0].lifecycle_hook]

    precondition {
      condition     = !local.routed || (var.listener_arn != null && var.alb_security_group_id != null)
      error_message = "Service \"${var.name}\" has a load_balancer: it needs listener_arn and alb_security_group_id."
    }
  }

  # A target group must belong to a load balancer (through the rule) before a service uses it.
  depends_on = [aws_lb_listener_rule.this, aws_lb_listener_rule.test, aws_iam_role_policy.secrets, aws_iam_role_policy_attachment.execution, aws_iam_role_policy_attachment.load_balancer]
}

# --- Autoscaling --------------------------------------------------------------------------------

resource "aws_appautoscaling_target" "this" {
  count = local.autoscaled ? 1 : 0

  service_namespace  = "ecs"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.autoscaling.min
  max_capacity       = var.autoscaling.max
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "cpu" {
  count = local.autoscaled ? 1 : 0

  name               = "${local.full_name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling.cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
