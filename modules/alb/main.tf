locals {
  https = var.certificate_arn != null
  # With a certificate, HTTP exists only to redirect; without one it is the listener the routes use.
  http_redirect = local.https && var.redirect_http
  http_serve    = !local.https

  ingress = merge(
    local.https ? { for cidr in var.ingress_cidr_blocks : "443|${cidr}" => { port = 443, cidr = cidr } } : {},
    local.http_redirect || local.http_serve ? { for cidr in var.ingress_cidr_blocks : "80|${cidr}" => { port = 80, cidr = cidr } } : {},
    var.test_listener_port == null ? {} : { for cidr in var.test_listener_cidr_blocks : "${var.test_listener_port}|${cidr}" => { port = var.test_listener_port, cidr = cidr } },
  )
}

resource "aws_security_group" "alb" {
  name_prefix = "${var.name}-alb-"
  # Security group descriptions allow letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* only.
  description = "Load balancer ${var.name}: listeners open to the ingress ranges; egress only to service tasks (one rule per service)"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "listener" {
  for_each = local.ingress

  security_group_id = aws_security_group.alb.id
  description       = each.value.port == var.test_listener_port ? "Test listener from ${each.value.cidr}" : (each.value.port == 443 ? "HTTPS from ${each.value.cidr}" : "HTTP from ${each.value.cidr}")
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
  tags              = var.tags
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_20:HTTP redirects to HTTPS (301) whenever certificate_arn is set; the HTTP listener that serves is created only without a certificate (demos, tests).
  #checkov:skip=CKV2_AWS_76:A web ACL is optional (web_acl_arn) and its managed rule groups, Log4j ones included, are chosen with the application; the association is created when one is given.
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = var.internal
  subnets                    = var.subnet_ids
  security_groups            = [aws_security_group.alb.id]
  idle_timeout               = var.idle_timeout
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  desync_mitigation_mode     = "defensive"

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]

    content {
      bucket  = access_logs.value
      prefix  = var.access_logs_prefix
      enabled = true
    }
  }

  tags = var.tags
}

resource "aws_wafv2_web_acl_association" "this" {
  count = var.web_acl_arn == null ? 0 : 1

  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.web_acl_arn
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "Not Found"
      status_code  = "404"
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "http_redirect" {
  count = local.http_redirect ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:Exists only without certificate_arn (demos, tests); with a certificate HTTP only redirects to HTTPS.
  #checkov:skip=CKV_AWS_103:Exists only without certificate_arn, where there is no TLS to configure; the HTTPS listener uses ssl_policy.
  count = local.http_serve ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "Not Found"
      status_code  = "404"
    }
  }

  tags = var.tags
}

# Blue/green, canary and linear deployments send test traffic to the new revision through this
# listener's rules before production traffic moves (ECS's testListenerRule).
resource "aws_lb_listener" "test" {
  #checkov:skip=CKV_AWS_2:Without certificate_arn (demos, tests) the test listener is HTTP, as the production one is.
  #checkov:skip=CKV_AWS_103:Without certificate_arn there is no TLS to configure; with one the test listener uses ssl_policy.
  count = var.test_listener_port == null ? 0 : 1

  load_balancer_arn = aws_lb.this.arn
  port              = var.test_listener_port
  protocol          = local.https ? "HTTPS" : "HTTP"
  ssl_policy        = local.https ? var.ssl_policy : null
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "Not Found"
      status_code  = "404"
    }
  }

  tags = var.tags
}
