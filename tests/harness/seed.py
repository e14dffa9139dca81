"""Creates in the emulator what the Terraform root would create for one environment, and prints
the resulting `terraform output -json` document.

Usage: seed.py --endpoint URL --tfvars FILE [--out FILE] [--push TAG]... [--bucket NAME]...

The tfvars are slipway's own (`slipway render --only tfvars`), so this exercises the same
contract the real Terraform root consumes. It exists because the AWS provider cannot be
installed offline: it stands in for `terraform apply` of terraform/ in tests and the demo, and
says so. It creates: a VPC with DNS hostnames (moto needs them for awsvpc tasks), two private
subnets, a security group per service, the ECS cluster, ECR repositories with their lifecycle
policies, execution and task roles, log groups, an ALB with one target group per routed service,
the OIDC roles, and for each of the tfvars' `sites` what modules/static-site creates (a versioned
bucket and a CloudFront distribution, through site_seed.py), with the root's `sites` output. Secrets the services reference are created too (teams create those by hand,
outside Terraform), and `--push TAG` pushes a small synthetic image with that tag to every
repository (what CI's `docker push` does), so that deploys have something to verify.
`--bucket NAME` creates an S3 bucket that exists before Terraform runs in real accounts (the
Terraform state bucket, where slipway keeps its locks: `deploy.lock_bucket`).
"""

import argparse
import hashlib
import json
import sys

import boto3

import site_seed


def client(name, endpoint, region):
    return boto3.client(
        name,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def output(value, type_="dynamic", sensitive=False):
    return {"sensitive": sensitive, "type": type_, "value": value}


def push(ecr, repository: str, tag: str) -> str:
    """PutImage of a minimal Docker v2 manifest, unique per repository and tag."""
    config = hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1024, "digest": f"sha256:{config}"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2048,
                    "digest": "sha256:" + hashlib.sha256(f"layer:{repository}:{tag}".encode()).hexdigest()}],
    }, sort_keys=True)
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag, imageDigest=digest,
                  imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json")
    return digest


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--tfvars", required=True)
    ap.add_argument("--out")
    ap.add_argument("--push", action="append", default=[], help="image tag to push to every repository")
    ap.add_argument("--bucket", action="append", default=[], help="S3 bucket to create (the state/lock bucket)")
    args = ap.parse_args()
    with open(args.tfvars) as f:
        tv = json.load(f)
    region = tv["aws_region"]
    cluster = tv["cluster_name"]
    ec2 = client("ec2", args.endpoint, region)
    ecs = client("ecs", args.endpoint, region)
    ecr = client("ecr", args.endpoint, region)
    iam = client("iam", args.endpoint, region)
    logs = client("logs", args.endpoint, region)
    elb = client("elbv2", args.endpoint, region)

    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"{region}{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    ecs.create_cluster(clusterName=cluster, settings=[{"name": "containerInsights", "value": "enabled"}])

    repo_urls = {}
    for name, repo in sorted(tv["ecr_repositories"].items()):
        r = ecr.create_repository(
            repositoryName=name,
            imageTagMutability=repo["image_tag_mutability"],
            imageScanningConfiguration={"scanOnPush": repo["scan_on_push"]},
        )["repository"]
        if repo["lifecycle_policy"]:
            ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=repo["lifecycle_policy"])
        repo_urls[name] = r["repositoryUri"]

    assume_ecs = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    })
    alb_arn = None
    alb_dns = None
    if any(s.get("load_balancer") for s in tv["services"].values()):
        alb_sg = ec2.create_security_group(GroupName=f"{cluster}-alb", Description="ALB", VpcId=vpc)["GroupId"]
        lb = elb.create_load_balancer(Name=f"{cluster}-alb"[:32], Subnets=subnets, SecurityGroups=[alb_sg], Scheme="internet-facing", Type="application")["LoadBalancers"][0]
        alb_arn, alb_dns = lb["LoadBalancerArn"], lb["DNSName"]
        listener = elb.create_listener(
            LoadBalancerArn=alb_arn, Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
        )["Listeners"][0]["ListenerArn"]
        test_port = (tv.get("alb") or {}).get("test_listener_port")
        test_listener = elb.create_listener(
            LoadBalancerArn=alb_arn, Protocol="HTTP", Port=test_port,
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
        )["Listeners"][0]["ListenerArn"] if test_port else None

    services = {}
    for name, s in sorted(tv["services"].items()):
        sg = ec2.create_security_group(GroupName=f"{cluster}-{name}", Description=f"{name} tasks", VpcId=vpc)["GroupId"]
        exec_arn = iam.create_role(RoleName=s["execution_role_name"], AssumeRolePolicyDocument=assume_ecs)["Role"]["Arn"]
        task_arn = iam.create_role(RoleName=s["task_role_name"], AssumeRolePolicyDocument=assume_ecs)["Role"]["Arn"]
        logs.create_log_group(logGroupName=s["log_group_name"])
        tg_arn = None
        shifting = False
        lbc = s.get("load_balancer")
        if lbc:
            tg_arn = elb.create_target_group(
                Name=f"{cluster}-{name}"[:32], Protocol="HTTP", Port=s["container_port"], VpcId=vpc, TargetType="ip",
                HealthCheckPath=lbc["health_check_path"], Matcher={"HttpCode": lbc["health_check_matcher"]},
            )["TargetGroups"][0]["TargetGroupArn"]
            conditions = []
            if lbc["path_patterns"]:
                conditions.append({"Field": "path-pattern", "Values": lbc["path_patterns"]})
            if lbc["hosts"]:
                conditions.append({"Field": "host-header", "Values": lbc["hosts"]})
            shifting = (s["deployment"].get("strategy") or "ROLLING") != "ROLLING"
            if not shifting:
                rule_arn = elb.create_rule(ListenerArn=listener, Priority=lbc["priority"], Conditions=conditions,
                                           Actions=[{"Type": "forward", "TargetGroupArn": tg_arn}])["Rules"][0]["RuleArn"]
            else:
                # What modules/ecs-service adds for blue/green, canary and linear: a second target
                # group, weighted rules on the production (and test) listener, ECS's role.
                alt_arn = elb.create_target_group(
                    Name=f"{cluster}-{name}"[:29] + "-g", Protocol="HTTP", Port=s["container_port"], VpcId=vpc, TargetType="ip",
                    HealthCheckPath=lbc["health_check_path"], Matcher={"HttpCode": lbc["health_check_matcher"]},
                )["TargetGroups"][0]["TargetGroupArn"]
                weighted = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                    {"TargetGroupArn": tg_arn, "Weight": 100}, {"TargetGroupArn": alt_arn, "Weight": 0}]}}]
                rule_arn = elb.create_rule(ListenerArn=listener, Priority=lbc["priority"], Conditions=conditions,
                                           Actions=weighted)["Rules"][0]["RuleArn"]
                test_rule = elb.create_rule(ListenerArn=test_listener, Priority=lbc["priority"], Conditions=conditions,
                                            Actions=weighted)["Rules"][0]["RuleArn"] if test_listener else None
                trust = json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
                lb_role = iam.create_role(RoleName=f"{cluster}-{name}-lb"[:64], AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        services[name] = {
            "execution_role_arn": exec_arn,
            "task_role_arn": task_arn,
            "security_group_id": sg,
            "target_group_arn": tg_arn,
            "log_group_name": s["log_group_name"],
            "alternate_target_group_arn": None,
            "production_listener_rule_arn": None,
            "test_listener_rule_arn": None,
            "load_balancer_role_arn": None,
        }
        if lbc and shifting:
            services[name].update({
                "alternate_target_group_arn": alt_arn,
                "production_listener_rule_arn": rule_arn,
                "test_listener_rule_arn": test_rule,
                "load_balancer_role_arn": lb_role,
            })

    sm = client("secretsmanager", args.endpoint, region)
    ssm = client("ssm", args.endpoint, region)
    secret_names, parameter_names = set(), set()
    for s in tv["services"].values():
        for arn in s.get("secret_arns", []):
            if ":secret:" in arn:
                name = arn.split(":secret:", 1)[1]
                secret_names.add(name[:-2] if name.endswith("-*") else name)
            elif ":parameter/" in arn:
                parameter_names.add("/" + arn.split(":parameter/", 1)[1])
    for name in sorted(secret_names):
        sm.create_secret(Name=name, SecretString=json.dumps({"value": "not-a-real-secret"}))
    for name in sorted(parameter_names):
        ssm.put_parameter(Name=name, Value="not-a-real-secret", Type="SecureString")

    for tag in args.push:
        for name in sorted(repo_urls):
            push(ecr, name, tag)

    s3 = client("s3", args.endpoint, region)
    for bucket in args.bucket:
        config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        try:
            s3.create_bucket(Bucket=bucket, **config)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass  # two environments of one account share their state bucket

    for label, role in sorted(tv["oidc_roles"].items()):
        iam.create_role(RoleName=role["name"], AssumeRolePolicyDocument=role["trust_policy"])
        iam.put_role_policy(RoleName=role["name"], PolicyName="slipway", PolicyDocument=role["policy"])

    # modules/static-site per site the root creates: S3 makes a `bucket_prefix` unique with 26
    # characters (Terraform's timestamp and counter); a digest of the name stands in for them.
    sites = {}
    for label, site in sorted(tv.get("sites", {}).items()):
        suffix = hashlib.sha256(site["name"].encode()).hexdigest()[:26]
        made = site_seed.create(args.endpoint, region, f"{site['name']}-{suffix}")
        sites[label] = {k: made[k] for k in ("bucket", "distribution_id", "domain_name")}

    outputs = {
        "cluster_name": output(cluster, "string"),
        "cluster_arn": output(ecs.describe_clusters(clusters=[cluster])["clusters"][0]["clusterArn"], "string"),
        "vpc_id": output(vpc, "string"),
        "private_subnet_ids": output(subnets, ["list", "string"]),
        "ecr_repository_urls": output(repo_urls, ["map", "string"]),
        "alb_dns_name": output(alb_dns, "string"),
        "services": output(services),
        "sites": output(sites),
    }
    text = json.dumps(outputs, indent=2, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
