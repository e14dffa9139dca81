"""Creates services in the emulator the way another tool would (boto3, the AWS API directly),
for `slipway init --from-cluster` to adopt: names slipway would not choose, namespaced ECR
repositories, images outside ECR, listener rules, autoscaling.

Usage:
  foreign.py --endpoint URL --account ID --region R --cluster NAME system [--out FILE]
  foreign.py --endpoint URL --account ID --region R --cluster NAME corpus FILE... [--copies N]
  foreign.py --endpoint URL --account ID --region R push REPOSITORY TAG

`system` makes a small invented system (the shape of seed 003's teams): an app behind the load
balancer under the name invapp-dev-app-service with container invapp-dev-app and a GHCR image,
a worker from the namespaced ECR repository doc-platform/worker with autoscaling and a FireLens
sidecar, and an internal API on FARGATE_SPOT. `corpus` registers each task definition file as
it is (RegisterTaskDefinition input) and runs it behind a service `<family>-svc`; with
`--copies N`, N services per file (families `<family>-<i>`), for timing `init` on many services.
Both print a JSON summary: the cluster, subnets, and per service its name and task definition.
"""

import argparse
import json
import sys

from seed import client, push


def network(ec2, region):
    vpc = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = []
    for i, az in enumerate(["a", "b"]):
        subnets.append(ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.90.{i}.0/24", AvailabilityZone=f"{region}{az}")["Subnet"]["SubnetId"])
    sg = ec2.create_security_group(GroupName="foreign-tasks", Description="tasks", VpcId=vpc)["GroupId"]
    return vpc, subnets, sg


def role(iam, name):
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def system(args):
    prod = args.variant == "prod"
    ecs = client("ecs", args.endpoint, args.region)
    ec2 = client("ec2", args.endpoint, args.region)
    iam = client("iam", args.endpoint, args.region)
    ecr = client("ecr", args.endpoint, args.region)
    elb = client("elbv2", args.endpoint, args.region)
    aas = client("application-autoscaling", args.endpoint, args.region)
    vpc, subnets, sg = network(ec2, args.region)
    ecs.create_cluster(clusterName=args.cluster)
    execution = role(iam, "invapp-ecs-execution")
    task = role(iam, "invapp-app-task")

    try:
        ecr.create_repository(repositoryName="doc-platform/worker", imageScanningConfiguration={"scanOnPush": True}, imageTagMutability="IMMUTABLE")
    except ecr.exceptions.RepositoryAlreadyExistsException:
        pass  # the account's other environment made it
    ecr.put_lifecycle_policy(repositoryName="doc-platform/worker", lifecyclePolicyText=json.dumps({"rules": [
        {"rulePriority": 1, "description": "old untagged", "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14}, "action": {"type": "expire"}},
        {"rulePriority": 2, "description": "keep 20", "selection": {"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 20, "tagPrefixList": ["v"]}, "action": {"type": "expire"}},
    ]}))
    try:
        push(ecr, "doc-platform/worker", "v1.4.2")
    except ecr.exceptions.ImageAlreadyExistsException:
        pass
    registry = f"{args.account}.dkr.ecr.{args.region}.amazonaws.com"

    lb = elb.create_load_balancer(Name=args.cluster, Subnets=subnets, SecurityGroups=[sg], Scheme="internet-facing", Type="application")["LoadBalancers"][0]
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                   DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])["Listeners"][0]["ListenerArn"]
    tg = elb.create_target_group(Name=f"{args.cluster}-app", Protocol="HTTP", Port=3000, VpcId=vpc, TargetType="ip",
                                 HealthCheckPath="/up", Matcher={"HttpCode": "200"})["TargetGroups"][0]["TargetGroupArn"]
    elb.create_rule(ListenerArn=listener, Priority=5, Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
                    Actions=[{"Type": "forward", "TargetGroupArn": tg}])

    def log(group, prefix):
        return {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-region": args.region, "awslogs-stream-prefix": prefix}}

    app_td = ecs.register_task_definition(
        family=f"{args.cluster}-app", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="1024" if prod else "512", memory="2048" if prod else "1024",
        executionRoleArn=execution, taskRoleArn=task,
        containerDefinitions=[{
            "name": f"{args.cluster}-app", "image": "ghcr.io/invapp/app:2024.11.3", "essential": True,
            "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
            "environment": [{"name": "RAILS_ENV", "value": "production"}, {"name": "PORT", "value": "3000"}],
            "secrets": [{"name": "DATABASE_URL", "valueFrom": f"arn:aws:ssm:{args.region}:{args.account}:parameter/invapp/dev/database-url"}],
            "repositoryCredentials": {"credentialsParameter": f"arn:aws:secretsmanager:{args.region}:{args.account}:secret:ghcr-pull-AbCdEf"},
            "logConfiguration": log(f"/ecs/{args.cluster}-app", "ecs"),
            "healthCheck": {"command": ["CMD-SHELL", "curl -fs localhost:3000/up || exit 1"], "interval": 15, "timeout": 5, "retries": 3, "startPeriod": 20},
            "linuxParameters": {"initProcessEnabled": True},
        }],
        tags=[{"key": "team", "value": "invoices"}],
    )["taskDefinition"]["taskDefinitionArn"]
    worker_td = ecs.register_task_definition(
        family=f"{args.cluster}-worker", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="1024", memory="2048",
        executionRoleArn=execution, runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        containerDefinitions=[
            {"name": "worker", "image": f"{registry}/doc-platform/worker:v1.4.2", "essential": True,
             "command": ["bundle", "exec", "sidekiq"], "stopTimeout": 90,
             "logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "cloudwatch", "region": args.region, "log_group_name": "/invapp/worker"}},
             "dependsOn": [{"containerName": "log_router", "condition": "START"}]},
            {"name": "log_router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4", "essential": True,
             "firelensConfiguration": {"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}},
             "memoryReservation": 50, "user": "0"},
        ],
        tags=[{"key": "team", "value": "invoices"}],
    )["taskDefinition"]["taskDefinitionArn"]
    internal_td = ecs.register_task_definition(
        family=f"{args.cluster}-internal-api", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn=execution,
        containerDefinitions=[{"name": "api", "image": "docker.io/library/nginx:1.27", "essential": True,
                               "portMappings": [{"containerPort": 8080, "protocol": "tcp", "name": "http", "appProtocol": "http"}],
                               "logConfiguration": log("/ecs/internal-api", "api")}],
    )["taskDefinition"]["taskDefinitionArn"]

    net = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg], "assignPublicIp": "DISABLED"}}
    tags = [{"key": "team", "value": "invoices"}, {"key": "cost-center", "value": "42"}]
    created = []
    ecs.create_service(cluster=args.cluster, serviceName=f"{args.cluster}-app-service", taskDefinition=app_td, desiredCount=4 if prod else 2, launchType="FARGATE",
                       networkConfiguration=net, loadBalancers=[{"targetGroupArn": tg, "containerName": f"{args.cluster}-app", "containerPort": 3000}],
                       healthCheckGracePeriodSeconds=30, propagateTags="TASK_DEFINITION", enableECSManagedTags=True, tags=tags,
                       deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200, "minimumHealthyPercent": 50})
    created.append((f"{args.cluster}-app-service", app_td))
    ecs.create_service(cluster=args.cluster, serviceName=f"{args.cluster}-worker-service", taskDefinition=worker_td, desiredCount=3, launchType="FARGATE",
                       networkConfiguration=net, tags=tags, enableECSManagedTags=False,
                       deploymentConfiguration={"deploymentCircuitBreaker": {"enable": False, "rollback": False}, "maximumPercent": 200, "minimumHealthyPercent": 100})
    created.append((f"{args.cluster}-worker-service", worker_td))
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=f"service/{args.cluster}/{args.cluster}-worker-service",
                                 ScalableDimension="ecs:service:DesiredCount", MinCapacity=2, MaxCapacity=8)
    aas.put_scaling_policy(PolicyName="cpu", ServiceNamespace="ecs", ResourceId=f"service/{args.cluster}/{args.cluster}-worker-service",
                           ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration={"TargetValue": 60.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    ecs.create_service(cluster=args.cluster, serviceName="internal-api", taskDefinition=internal_td, desiredCount=1,
                       capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
                       networkConfiguration=net, tags=tags, platformVersion="1.4.0",
                       deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200, "minimumHealthyPercent": 100})
    created.append(("internal-api", internal_td))
    return {"cluster": args.cluster, "subnets": subnets, "security_group": sg,
            "services": [{"name": n, "task_definition": t} for n, t in created]}


def corpus(args):
    ecs = client("ecs", args.endpoint, args.region)
    ec2 = client("ec2", args.endpoint, args.region)
    _, subnets, sg = network(ec2, args.region)
    ecs.create_cluster(clusterName=args.cluster)
    net = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg], "assignPublicIp": "DISABLED"}}
    created = []
    for path in args.files:
        with open(path) as f:
            td = json.load(f)
        base = td["family"]
        for i in range(args.copies):
            if args.limit and len(created) >= args.limit:
                break
            family = base if args.copies == 1 else f"{base}-{i}"
            td["family"] = family
            arn = ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
            name = f"{family}-svc"
            ecs.create_service(cluster=args.cluster, serviceName=name, taskDefinition=arn, desiredCount=1, launchType="FARGATE",
                               networkConfiguration=net,
                               deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200, "minimumHealthyPercent": 100})
            created.append({"name": name, "task_definition": arn, "file": path})
    return {"cluster": args.cluster, "subnets": subnets, "security_group": sg, "services": created}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--account", required=True)
    ap.add_argument("--region", required=True)
    ap.add_argument("--cluster", default="foreign")
    ap.add_argument("--out")
    sub = ap.add_subparsers(dest="mode", required=True)
    sysp = sub.add_parser("system")
    sysp.add_argument("--variant", choices=["dev", "prod"], default="dev", help="prod: more tasks, bigger app tasks")
    c = sub.add_parser("corpus")
    c.add_argument("files", nargs="+")
    c.add_argument("--copies", type=int, default=1)
    c.add_argument("--limit", type=int, default=0, help="stop after this many services")
    p = sub.add_parser("push")
    p.add_argument("repository")
    p.add_argument("tag")
    args = ap.parse_args()
    if args.mode == "push":
        push(client("ecr", args.endpoint, args.region), args.repository, args.tag)
        return 0
    summary = system(args) if args.mode == "system" else corpus(args)
    text = json.dumps(summary, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
