output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "service_arn" {
  description = "ARN of the ECS service."
  value       = aws_ecs_service.this.id
}

output "execution_role_arn" {
  description = "ARN of the task execution role."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "ARN of the task role."
  value       = aws_iam_role.task.arn
}

output "task_role_name" {
  description = "Name of the task role, to attach the application's policies to."
  value       = aws_iam_role.task.name
}

output "security_group_id" {
  description = "Security group of the tasks."
  value       = aws_security_group.this.id
}

output "target_group_arn" {
  description = "ARN of the target group (the one created here, or the existing one given), or null for a service without load_balancer."
  value       = local.target_group_arn
}

output "log_group_name" {
  description = "Name of the service's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "task_definition_family" {
  description = "Task definition family of the service."
  value       = aws_ecs_task_definition.this.family
}

output "alternate_target_group_arn" {
  description = "ARN of the second target group (blue/green, canary, linear), or null."
  value       = local.shifting ? aws_lb_target_group.alternate[0].arn : null
}

output "production_listener_rule_arn" {
  description = "ARN of the production listener rule ECS shifts traffic with (blue/green, canary, linear), or null."
  value       = local.shifting ? aws_lb_listener_rule.this[0].arn : null
}

output "test_listener_rule_arn" {
  description = "ARN of the test listener rule, or null without a test listener."
  value       = local.test_listener ? aws_lb_listener_rule.test[0].arn : null
}

output "load_balancer_role_arn" {
  description = "ARN of the role ECS changes the listener rules as (blue/green, canary, linear), or null."
  value       = local.shifting ? aws_iam_role.load_balancer[0].arn : null
}
