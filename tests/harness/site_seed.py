"""Creates in the emulator what modules/static-site would create for one site: a versioned
bucket and a CloudFront distribution reading it. Prints {"bucket", "distribution_id",
"distribution_arn", "domain_name"} as JSON. Stands in for `terraform apply` of the module, which needs the AWS
provider (not installable offline).

Usage: site_seed.py --endpoint URL --region R --bucket NAME [--unversioned]
"""

import argparse
import json

import boto3


def create(endpoint, region, bucket, versioned=True):
    """Creates the bucket and its distribution; returns bucket, distribution_id, distribution_arn
    and domain_name (the distribution's *.cloudfront.net name), as the module's outputs."""
    kw = dict(endpoint_url=endpoint, region_name=region,
              aws_access_key_id="testing", aws_secret_access_key="testing")
    s3 = boto3.client("s3", **kw)
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **config)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    cf = boto3.client("cloudfront", **kw)
    origin = f"{bucket}.s3.{region}.amazonaws.com"
    d = cf.create_distribution(DistributionConfig={
        "CallerReference": bucket,
        "Comment": bucket,
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "s3", "DomainName": origin,
            "S3OriginConfig": {"OriginAccessIdentity": ""},
        }]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
    })["Distribution"]
    return {"bucket": bucket, "distribution_id": d["Id"], "distribution_arn": d["ARN"],
            "domain_name": d["DomainName"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="eu-west-1")
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--unversioned", action="store_true")
    args = ap.parse_args()
    print(json.dumps(create(args.endpoint, args.region, args.bucket, not args.unversioned)))


if __name__ == "__main__":
    main()
