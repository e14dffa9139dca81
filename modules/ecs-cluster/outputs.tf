output "name" {
  description = "Name of the cluster."
  value       = aws_ecs_cluster.this.name
}

output "arn" {
  description = "ARN of the cluster."
  value       = aws_ecs_cluster.this.arn
}

output "execute_command_log_group_name" {
  description = "Log group of ECS Exec sessions, or null without execute_command_logging."
  value       = local.exec_logging ? aws_cloudwatch_log_group.exec[0].name : null
}
