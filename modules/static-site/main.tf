# The bucket holds the built site and slipway's release manifests (.slipway/releases/). Nothing
# reads it but the distribution, through origin access control.
resource "aws_s3_bucket" "site" {
  #checkov:skip=CKV_AWS_144:A site is rebuilt from git in minutes; cross-region replication of build output buys nothing.
  #checkov:skip=CKV_AWS_18:Requests reach the bucket only through CloudFront, whose access logs (logging_bucket) record them.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to uploads; slipway's release manifests record every publish.
  bucket_prefix = "${var.name}-"
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "site" {
  bucket                  = aws_s3_bucket.site.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "site" {
  bucket = aws_s3_bucket.site.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Versions are how slipway restores a release: each manifest records the version of every object.
resource "aws_s3_bucket_versioning" "site" {
  bucket = aws_s3_bucket.site.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "site" {
  #checkov:skip=CKV_AWS_145:SSE-S3 unless kms_key_arn is given: a customer key must also grant CloudFront decrypt in its own policy.
  bucket = aws_s3_bucket.site.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "site" {
  bucket = aws_s3_bucket.site.id

  rule {
    id     = "rollback-window"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.site]
}

resource "aws_cloudfront_origin_access_control" "site" {
  name                              = var.name
  description                       = "CloudFront reads ${var.name}'s bucket, signing every request"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "site" {
  name = "${var.name}-security-headers"

  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = 63072000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
  }
}

locals {
  origin_id = "s3-${var.name}"
  # AWS's managed CachingOptimized policy: honours the Cache-Control slipway sets on each object.
  caching_optimized = "658327ea-f89d-4fab-a63d-7e88639e58f6"
}

resource "aws_cloudfront_distribution" "site" {
  #checkov:skip=CKV_AWS_310:One origin, the bucket; there is nothing to fail over to.
  #checkov:skip=CKV_AWS_374:A public site; geo restriction is the application's choice.
  #checkov:skip=CKV_AWS_68:A web ACL is optional (web_acl_id) and chosen with the application.
  #checkov:skip=CKV2_AWS_47:A web ACL is optional (web_acl_id); its rule groups are chosen with the application.
  #checkov:skip=CKV_AWS_86:Access logs are optional (logging_bucket) and need a bucket that accepts ACL-based delivery.
  #checkov:skip=CKV_AWS_174:With acm_certificate_arn the policy is minimum_protocol_version (TLSv1.2_2021); the default *.cloudfront.net certificate cannot take one.
  #checkov:skip=CKV2_AWS_42:A custom certificate is optional (acm_certificate_arn); without one the site answers on its *.cloudfront.net name.
  enabled             = true
  is_ipv6_enabled     = true
  comment             = var.name
  default_root_object = "index.html"
  aliases             = var.aliases
  price_class         = var.price_class
  web_acl_id          = var.web_acl_id
  http_version        = "http2and3"
  tags                = var.tags

  origin {
    origin_id                = local.origin_id
    domain_name              = aws_s3_bucket.site.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.site.id
  }

  default_cache_behavior {
    target_origin_id           = local.origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.caching_optimized
    response_headers_policy_id = aws_cloudfront_response_headers_policy.site.id
  }

  dynamic "custom_error_response" {
    for_each = var.spa ? [403, 404] : []
    content {
      error_code         = custom_error_response.value
      response_code      = 200
      response_page_path = "/index.html"
    }
  }

  dynamic "logging_config" {
    for_each = var.logging_bucket == null ? [] : [var.logging_bucket]
    content {
      bucket          = logging_config.value
      include_cookies = false
      prefix          = "${var.name}/"
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.acm_certificate_arn == null
    acm_certificate_arn            = var.acm_certificate_arn
    ssl_support_method             = var.acm_certificate_arn == null ? null : "sni-only"
    minimum_protocol_version       = var.acm_certificate_arn == null ? "TLSv1" : var.minimum_protocol_version
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "CloudFrontReads"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.site.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.site.arn]
    }
  }

  # Release manifests are slipway's, never served.
  statement {
    sid       = "ManifestsAreNotServed"
    effect    = "Deny"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.site.arn}/.slipway/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
  }

  statement {
    sid       = "TLSOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.site.arn, "${aws_s3_bucket.site.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "site" {
  bucket     = aws_s3_bucket.site.id
  policy     = data.aws_iam_policy_document.bucket.json
  depends_on = [aws_s3_bucket_public_access_block.site]
}
