output "arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "dns_name" {
  description = "DNS name of the load balancer (point the environment's hostnames at it)."
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "Route 53 hosted zone of the load balancer, for alias records."
  value       = aws_lb.this.zone_id
}

output "security_group_id" {
  description = "Security group of the load balancer; services allow ingress from it."
  value       = aws_security_group.alb.id
}

output "listener_arn" {
  description = "Listener the services' routing rules attach to: HTTPS with a certificate, HTTP without."
  value       = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http[0].arn
}

output "https_listener_arn" {
  description = "ARN of the HTTPS listener, or null without a certificate."
  value       = local.https ? aws_lb_listener.https[0].arn : null
}

output "http_listener_arn" {
  description = "ARN of the HTTP listener (redirecting or serving), or null when there is none."
  value       = local.http_redirect ? aws_lb_listener.http_redirect[0].arn : (local.http_serve ? aws_lb_listener.http[0].arn : null)
}

output "test_listener_arn" {
  description = "ARN of the test listener, or null without test_listener_port."
  value       = var.test_listener_port == null ? null : aws_lb_listener.test[0].arn
}
