locals {
  url = "https://token.actions.githubusercontent.com"

  provider_arn = var.create_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn

  # IAM rejects a policy without statements: a role with only managed policies has no inline one.
  inline_policies = { for label, r in var.roles : label => r if length(try(jsondecode(r.policy).Statement, [])) > 0 }

  attachments = merge([
    for label, r in var.roles : {
      for arn in r.managed_policy_arns : "${label}|${arn}" => { role = label, policy_arn = arn }
    }
  ]...)
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_provider ? 1 : 0

  url             = local.url
  client_id_list  = var.client_id_list
  thumbprint_list = var.thumbprint_list
  tags            = var.tags
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_provider ? 0 : 1

  url = local.url
}

resource "aws_iam_role" "this" {
  for_each = var.roles

  name                 = each.value.name
  description          = var.repository == null ? "GitHub Actions OIDC role \"${each.key}\"" : "GitHub Actions OIDC role \"${each.key}\" for ${var.repository}"
  assume_role_policy   = each.value.trust_policy
  max_session_duration = var.max_session_duration
  tags                 = var.tags

  # IAM refuses a trust policy whose federated principal does not exist yet.
  depends_on = [aws_iam_openid_connect_provider.github, data.aws_iam_openid_connect_provider.github]
}

resource "aws_iam_role_policy" "this" {
  for_each = local.inline_policies

  name   = "slipway-${each.key}"
  role   = aws_iam_role.this[each.key].id
  policy = each.value.policy
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = local.attachments

  role       = aws_iam_role.this[each.value.role].name
  policy_arn = each.value.policy_arn
}
