# What slipway reads (`terraform output -json`): private_subnet_ids, ecr_repository_urls and
# services are required by `slipway render`, and sites by an environment with a site block
# without a bucket; the others are for people and `tf.<output>` references in environment files.

output "private_subnet_ids" {
  description = "Subnets the services' tasks run in."
  value       = aws_subnet.private[*].id
}

output "ecr_repository_urls" {
  description = "Map of repository name to repository URL, for the repositories this environment creates and those its services use."
  value       = local.ecr_repository_urls
}

output "services" {
  description = "Map of service name to execution_role_arn, task_role_arn, security_group_id, target_group_arn (null without load_balancer), log_group_name, and for blue/green, canary and linear alternate_target_group_arn, production_listener_rule_arn, test_listener_rule_arn (null without a test listener) and load_balancer_role_arn (null otherwise)."
  value = {
    for name, s in module.service : name => {
      execution_role_arn = s.execution_role_arn
      task_role_arn      = s.task_role_arn
      security_group_id  = s.security_group_id
      target_group_arn   = s.target_group_arn
      log_group_name     = s.log_group_name
      # Blue/green, canary and linear (null otherwise): what ECS shifts traffic with.
      alternate_target_group_arn   = s.alternate_target_group_arn
      production_listener_rule_arn = s.production_listener_rule_arn
      test_listener_rule_arn       = s.test_listener_rule_arn
      load_balancer_role_arn       = s.load_balancer_role_arn
    }
  }
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = module.cluster.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = module.cluster.arn
}

output "vpc_id" {
  description = "VPC of the environment."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "Public subnets (load balancer, NAT gateways)."
  value       = aws_subnet.public[*].id
}

output "alb_dns_name" {
  description = "DNS name of the load balancer, or null without alb."
  value       = var.alb == null ? null : module.alb[0].dns_name
}

output "alb_arn" {
  description = "ARN of the load balancer, or null without alb."
  value       = var.alb == null ? null : module.alb[0].arn
}

output "alb_zone_id" {
  description = "Route 53 zone of the load balancer for alias records, or null without alb."
  value       = var.alb == null ? null : module.alb[0].zone_id
}

output "oidc_role_arns" {
  description = "Map of GitHub OIDC role label to role ARN (configure them as role-to-assume in the workflows)."
  value       = length(module.github_oidc) == 0 ? {} : module.github_oidc[0].role_arns
}

output "oidc_provider_arn" {
  description = "ARN of the account's GitHub OIDC provider, or null without oidc_roles."
  value       = length(module.github_oidc) == 0 ? null : module.github_oidc[0].provider_arn
}

output "logs_kms_key_arn" {
  description = "KMS key that encrypts the environment's log groups."
  value       = aws_kms_key.logs.arn
}

output "sites" {
  description = "Map of site name to bucket, distribution_id and domain_name, for the sites the root creates (site blocks without a bucket)."
  value = {
    for name, s in module.site : name => {
      bucket          = s.bucket
      distribution_id = s.distribution_id
      domain_name     = s.domain_name
    }
  }
}
