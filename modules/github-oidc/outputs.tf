output "provider_arn" {
  description = "ARN of the GitHub OIDC provider (created here or looked up)."
  value       = local.provider_arn
}

output "role_arns" {
  description = "Map of role label to role ARN."
  value       = { for label, r in aws_iam_role.this : label => r.arn }
}

output "role_names" {
  description = "Map of role label to role name."
  value       = { for label, r in aws_iam_role.this : label => r.name }
}
