# One environment of a slipway system: run in the Terraform workspace named after the
# environment, with the variables `slipway render --env NAME --only tfvars` writes.
#
#   network      VPC, two public and two private subnets, NAT, flow logs
#   logs key     KMS key for every log group of the environment
#   modules      github-oidc, ecr, ecs-cluster, alb, one ecs-service per service, one static-site
#                per site block without a bucket
#
# slipway reads the outputs (outputs.tf) to render task definitions and service settings.

data "aws_partition" "current" {}

# Only when availability_zones is not set: the region's first two zones that need no opt-in.
data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Used only while var.availability_zones is unset (a new environment); the subnets then keep their zones, and setting availability_zones pins them.
  count = var.availability_zones == null ? 1 : 0

  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  name      = var.cluster_name
  az_count  = 2
  azs       = var.availability_zones != null ? var.availability_zones : slice(data.aws_availability_zones.available[0].names, 0, local.az_count)
  nat_count = var.single_nat_gateway ? 1 : local.az_count

  dns_suffix = startswith(var.aws_region, "cn-") ? "amazonaws.com.cn" : "amazonaws.com"
  registry   = "${var.aws_account_id}.dkr.ecr.${var.aws_region}.${local.dns_suffix}"

  # Load balancer names have at most 32 characters; longer cluster names keep a hash.
  alb_name = length(local.name) <= 32 ? local.name : "${trimsuffix(substr(local.name, 0, 23), "-")}-${substr(sha1(local.name), 0, 8)}"

  # Repositories the services pull from. Those this environment does not declare belong to another
  # environment in the same account (e.g. production deploys images staging pushed), so their URL
  # is built rather than looked up: it exists before that repository does.
  used_repositories = distinct([for s in values(var.services) : s.repository if s.repository != null])
  ecr_repository_urls = merge(
    { for name in local.used_repositories : name => "${local.registry}/${name}" },
    module.ecr.repository_urls,
  )

  # The initial task definition runs `image`, or the repository's "bootstrap" tag; slipway's first
  # deploy replaces it.
  bootstrap_images = { for name, s in var.services : name => s.image != null ? s.image : "${local.registry}/${s.repository}:bootstrap" }

  # Audiences the roles' trust policies require (`token.actions.githubusercontent.com:aud`): the
  # OIDC provider must accept each of them.
  oidc_audiences = distinct(flatten([
    for r in values(var.oidc_roles) : try(
      [for st in jsondecode(r.trust_policy).Statement : try(st.Condition.StringEquals["token.actions.githubusercontent.com:aud"], [])],
      [],
    )
  ]))
}

# --- Network ------------------------------------------------------------------------------------

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = local.name }

  lifecycle {
    # One workspace per environment: refuse another environment's variables in this state.
    precondition {
      condition     = terraform.workspace == var.environment || terraform.workspace == "default"
      error_message = "The workspace is \"${terraform.workspace}\" but the variables are for \"${var.environment}\": run `terraform workspace select -or-create ${var.environment}`."
    }
  }
}

# The default security group allows nothing; every resource gets its own.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = { Name = "${local.name}-default-deny" }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = { Name = local.name }
}

resource "aws_subnet" "public" {
  count = local.az_count

  vpc_id                  = aws_vpc.this.id
  availability_zone       = local.azs[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, 8, count.index)
  map_public_ip_on_launch = false

  tags = { Name = "${local.name}-public-${local.azs[count.index]}", "slipway:tier" = "public" }
}

resource "aws_subnet" "private" {
  count = local.az_count

  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index + 1)

  tags = { Name = "${local.name}-private-${local.azs[count.index]}", "slipway:tier" = "private" }
}

resource "aws_eip" "nat" {
  count = local.nat_count

  domain = "vpc"

  tags = { Name = "${local.name}-nat-${local.azs[count.index]}" }
}

resource "aws_nat_gateway" "this" {
  count = local.nat_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = { Name = "${local.name}-${local.azs[count.index]}" }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }

  tags = { Name = "${local.name}-public" }
}

resource "aws_route_table_association" "public" {
  count = local.az_count

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  count = local.az_count

  vpc_id = aws_vpc.this.id

  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.this[var.single_nat_gateway ? 0 : count.index].id
  }

  tags = { Name = "${local.name}-private-${local.azs[count.index]}" }
}

resource "aws_route_table_association" "private" {
  count = local.az_count

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# Image layers come from S3: pull them without going through NAT.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${var.aws_region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id

  tags = { Name = "${local.name}-s3" }
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = "/vpc/${local.name}/flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = aws_kms_key.logs.arn
}

resource "aws_iam_role" "flow_logs" {
  name = "${local.name}-vpc-flow-logs"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "vpc-flow-logs.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = var.aws_account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "flow_logs" {
  name = "flow-logs"
  role = aws_iam_role.flow_logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "WriteFlowLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.flow_logs.arn}:*"
      },
      {
        Sid      = "FindLogGroup"
        Effect   = "Allow"
        Action   = ["logs:DescribeLogGroups"]
        Resource = "arn:${data.aws_partition.current.partition}:logs:${var.aws_region}:${var.aws_account_id}:log-group:*"
      },
    ]
  })
}

resource "aws_flow_log" "this" {
  vpc_id                   = aws_vpc.this.id
  traffic_type             = "ALL"
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn             = aws_iam_role.flow_logs.arn
  max_aggregation_interval = 600

  tags = { Name = local.name }
}

# --- Logs key -----------------------------------------------------------------------------------

# Encrypts the environment's log groups (services, ECS Exec sessions, flow logs). CloudWatch Logs
# may use it only for log groups of this account and region.
resource "aws_kms_key" "logs" {
  description             = "CloudWatch Logs of ${local.name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${var.aws_account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncrypts"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.aws_region}.${local.dns_suffix}" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${var.aws_region}:${var.aws_account_id}:log-group:*" }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "logs" {
  name          = "alias/${local.name}-logs"
  target_key_id = aws_kms_key.logs.key_id
}

# --- Modules ------------------------------------------------------------------------------------

module "github_oidc" {
  source = "../modules/github-oidc"
  count  = length(var.oidc_roles) > 0 ? 1 : 0

  roles           = var.oidc_roles
  repository      = var.github_repository
  create_provider = var.create_github_oidc_provider
  client_id_list  = length(local.oidc_audiences) > 0 ? local.oidc_audiences : ["sts.amazonaws.com"]
}

module "ecr" {
  source = "../modules/ecr"

  repositories = var.ecr_repositories
}

module "cluster" {
  source = "../modules/ecs-cluster"

  name                        = local.name
  container_insights          = var.container_insights
  execute_command_logging     = true
  execute_command_kms_key_arn = aws_kms_key.logs.arn
}

module "alb" {
  source = "../modules/alb"
  count  = var.alb == null ? 0 : 1

  name                = local.alb_name
  vpc_id              = aws_vpc.this.id
  subnet_ids          = aws_subnet.public[*].id
  certificate_arn     = var.alb.certificate_arn
  ssl_policy          = var.alb.ssl_policy
  redirect_http       = var.alb.redirect_http
  deletion_protection = var.alb_deletion_protection
  access_logs_bucket  = var.alb_access_logs_bucket
  access_logs_prefix  = local.name
  web_acl_arn         = var.alb_web_acl_arn

  test_listener_port        = var.alb.test_listener_port
  test_listener_cidr_blocks = [var.vpc_cidr]
}

module "service" {
  source   = "../modules/ecs-service"
  for_each = var.services

  name         = each.key
  service_name = each.value.service_name
  cluster_name = local.name
  cluster_arn  = module.cluster.arn

  container_name = each.value.container_name
  container_port = each.value.container_port
  cpu            = each.value.cpu
  memory         = each.value.memory
  desired_count  = each.value.desired_count
  family         = each.value.family
  image          = local.bootstrap_images[each.key]

  execution_role_name = each.value.execution_role_name
  task_role_name      = each.value.task_role_name
  secret_arns         = each.value.secret_arns

  log_group_name     = each.value.log_group_name
  log_retention_days = var.log_retention_days
  log_kms_key_arn    = aws_kms_key.logs.arn

  vpc_id = aws_vpc.this.id
  # Through the route table associations: tasks start only once the subnets route out through NAT
  # (ECR, Secrets Manager, CloudWatch Logs).
  subnet_ids = [for a in aws_route_table_association.private : a.subnet_id]

  load_balancer         = each.value.load_balancer
  listener_arn          = var.alb == null ? null : module.alb[0].listener_arn
  test_listener_arn     = var.alb == null ? null : module.alb[0].test_listener_arn
  alb_security_group_id = var.alb == null ? null : module.alb[0].security_group_id

  autoscaling = each.value.autoscaling
  deployment  = each.value.deployment

  platform_version           = each.value.platform_version
  propagate_tags             = each.value.propagate_tags
  enable_ecs_managed_tags    = each.value.enable_ecs_managed_tags
  enable_execute_command     = each.value.enable_execute_command
  capacity_provider_strategy = each.value.capacity_provider_strategy

  execute_command_kms_key_arn    = aws_kms_key.logs.arn
  execute_command_log_group_name = module.cluster.execute_command_log_group_name
}

module "site" {
  source   = "../modules/static-site"
  for_each = var.sites

  name                = each.value.name
  aliases             = each.value.aliases
  acm_certificate_arn = each.value.certificate_arn
  spa                 = each.value.spa
  tags                = { "slipway:site" = each.key }
}
