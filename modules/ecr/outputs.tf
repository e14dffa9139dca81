output "repository_urls" {
  description = "Map of repository name to repository URL (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME)."
  value       = { for name, r in aws_ecr_repository.this : name => r.repository_url }
}

output "repository_arns" {
  description = "Map of repository name to repository ARN."
  value       = { for name, r in aws_ecr_repository.this : name => r.arn }
}
