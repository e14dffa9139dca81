output "bucket" {
  description = "Name of the site's bucket (a site block's `bucket`)."
  value       = aws_s3_bucket.site.id
}

output "bucket_arn" {
  description = "ARN of the site's bucket."
  value       = aws_s3_bucket.site.arn
}

output "distribution_id" {
  description = "ID of the CloudFront distribution (a site block's `distribution_id`)."
  value       = aws_cloudfront_distribution.site.id
}

output "distribution_arn" {
  description = "ARN of the CloudFront distribution."
  value       = aws_cloudfront_distribution.site.arn
}

output "domain_name" {
  description = "The distribution's *.cloudfront.net name (the smoke checks' base URL without aliases)."
  value       = aws_cloudfront_distribution.site.domain_name
}
