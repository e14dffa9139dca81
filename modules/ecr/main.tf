resource "aws_ecr_repository" "this" {
  #checkov:skip=CKV_AWS_51:Tag mutability is each repository's own setting in the slipway environment (image_tag_mutability); promotion tags such as production-latest are moved on purpose.
  #checkov:skip=CKV_AWS_163:Scan on push is each repository's own setting (scan_on_push, true unless the environment turns it off); checkov cannot resolve per-repository values.
  for_each = var.repositories

  name                 = each.key
  image_tag_mutability = each.value.image_tag_mutability
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = each.value.scan_on_push
  }

  encryption_configuration {
    encryption_type = var.encryption_type
    kms_key         = var.encryption_type == "KMS" ? var.kms_key_arn : null
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = { for name, r in var.repositories : name => r if r.lifecycle_policy != null }

  repository = aws_ecr_repository.this[each.key].name
  policy     = each.value.lifecycle_policy
}
