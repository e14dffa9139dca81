"""Checks the emulator (emulator.py + ecs_realism.py) through boto3 and its control API.

Usage: .venv/bin/python tests/harness/test_emulator.py

Starts emulator.py on a free port (from / as working directory, to prove it needs none),
runs every check, prints one line per check and exits non-zero if any failed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "emulator.py")
ACCOUNT = "123456789012"
REGION = "eu-west-1"
ROLLOUT = 1.0  # rollout_seconds used by the deployment checks
TASK = 1.0  # task_seconds used by the one-off task checks


# --- plumbing --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_emulator(port: int, stderr: Any) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, EMULATOR, "--port", str(port), "--account", ACCOUNT],
        cwd="/",
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("ready "):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        proc.kill()
        raise SystemExit("the emulator did not print `ready` within 60s")
    return proc


class Env:
    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, name: str, retries: int = 3, read_timeout: float = 30) -> Any:
        key = (name, f"{retries}/{read_timeout}")
        if key not in self._clients:
            self._clients[key] = boto3.client(
                name,
                endpoint_url=self.url,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(
                    # total_max_attempts counts every attempt; botocore's max_attempts
                    # counts retries only.
                    retries={"mode": "standard", "total_max_attempts": retries},
                    read_timeout=read_timeout,
                    connect_timeout=5,
                ),
            )
        return self._clients[key]

    @property
    def ecs(self) -> Any:
        return self.client("ecs")

    def control(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, value = self.control(method, path, body)
        check(status == 200, f"{method} {path} -> {status} {value}")
        return value


def check(cond: Any, message: str) -> None:
    if not cond:
        raise AssertionError(message)


def eq(actual: Any, expected: Any, what: str) -> None:
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def wait_for(fn: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def error_code(fn: Callable[[], Any]) -> tuple[str, int, dict[str, str]]:
    try:
        fn()
    except ClientError as e:
        meta = e.response["ResponseMetadata"]
        return e.response["Error"]["Code"], meta["HTTPStatusCode"], meta.get("HTTPHeaders", {})
    raise AssertionError("expected a ClientError")


# --- infrastructure the checks share -------------------------------------------------------


class Infra:
    """A VPC with DNS hostnames, two subnets, a security group, a target group, a cluster, and
    task definitions: like tests/harness/seed.py, smaller."""

    def __init__(self, env: Env, cluster: str = "checks") -> None:
        ec2, ecs, elb = env.client("ec2"), env.ecs, env.client("elbv2")
        vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
        self.subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.60.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
            for i, az in ((1, "a"), (2, "b"))
        ]
        self.sg = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
        self.target_group = elb.create_target_group(
            Name="web", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        self.cluster = cluster
        ecs.create_cluster(clusterName=cluster)
        self.network = {
            "awsvpcConfiguration": {"subnets": self.subnets, "securityGroups": [self.sg], "assignPublicIp": "DISABLED"}
        }
        self.env = env

    def task_definition(self, family: str, image: str, containers: list[dict[str, Any]] | None = None) -> str:
        # Fargate with task-level cpu/memory only: no container memory (moto 5.2.5 alone
        # answers RunTask with a 500 for these).
        cds = containers or [
            {"name": "app", "image": image, "essential": True, "portMappings": [{"containerPort": 8080}]}
        ]
        return self.env.ecs.register_task_definition(
            family=family,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=cds,
            tags=[{"key": "family", "value": family}],
        )["taskDefinition"]["taskDefinitionArn"]

    def create_service(self, name: str, td: str, desired: int, breaker: bool = True, rollback: bool = True, **extra: Any) -> dict[str, Any]:
        return self.env.ecs.create_service(
            cluster=self.cluster,
            serviceName=name,
            taskDefinition=td,
            desiredCount=desired,
            launchType="FARGATE",
            networkConfiguration=self.network,
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": breaker, "rollback": rollback},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
            **extra,
        )["service"]

    def service(self, name: str) -> dict[str, Any]:
        return self.env.ecs.describe_services(cluster=self.cluster, services=[name], include=["TAGS"])["services"][0]

    def steady(self, name: str) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            s = self.service(name)
            ds = s["deployments"]
            return s if len(ds) == 1 and ds[0]["rolloutState"] == "COMPLETED" else None

        return wait_for(done, ROLLOUT * 3 + 2, f"{name} to reach a steady state")

    def service_tasks(self, name: str, status: str | None = None) -> list[dict[str, Any]]:
        kwargs = {"desiredStatus": status} if status else {}
        arns = self.env.ecs.list_tasks(cluster=self.cluster, serviceName=name, **kwargs)["taskArns"]
        if not arns:
            return []
        return self.env.ecs.describe_tasks(cluster=self.cluster, tasks=arns, include=["TAGS"])["tasks"]


# --- checks ----------------------------------------------------------------------------------


def check_control_api(env: Env, infra: Infra) -> None:
    defaults = {"rollout_seconds": 1.0, "task_seconds": 0.5, "list_page_size": 100, "stage_seconds": 0.2, "minute_seconds": 0.1}
    eq(env.ok("GET", "/_slipway/config"), defaults, "default config")
    eq(env.ok("POST", "/_slipway/config", {"task_seconds": 2}), {**defaults, "task_seconds": 2.0}, "partial config update")
    eq(env.control("POST", "/_slipway/config", {"list_page_size": 0})[0], 400, "page size below 1")
    eq(env.control("POST", "/_slipway/config", {"rollout_secs": 1})[0], 400, "unknown config field")
    eq(env.control("POST", "/_slipway/config", {"rollout_seconds": "fast"})[0], 400, "config field of the wrong type")
    eq(env.control("POST", "/_slipway/config", {"rollout_seconds": -1})[0], 400, "negative duration")
    eq(env.control("POST", "/_slipway/config", b"{not json")[0], 400, "invalid JSON")
    eq(env.control("GET", "/_slipway/nope")[0], 404, "unknown endpoint")
    eq(env.control("GET", "/_slipway/reset")[0], 405, "wrong method")
    eq(env.control("POST", "/_slipway/fail-images", {})[0], 400, "fail-images without a pattern")
    eq(env.control("POST", "/_slipway/task-exit", {"exit_code": 1})[0], 400, "task-exit without match")
    eq(env.control("POST", "/_slipway/faults", {"operation": "ECS.ListClusters"})[0], 400, "fault with neither error nor delay")
    eq(env.control("POST", "/_slipway/faults", {"operation": "ECS.ListClusters", "status": 200})[0], 400, "fault with a success status")
    eq(env.control("POST", "/_slipway/faults", {"operation": "ECS.ListClusters", "reset_after": True, "status": 500})[0], 400, "a lost answer has no status")
    eq(env.control("POST", "/_slipway/faults", {"operation": "ECS.ListClusters", "status": 500, "probability": 0})[0], 400, "probability 0")
    env.ok("POST", "/_slipway/config", {"rollout_seconds": ROLLOUT, "task_seconds": TASK})


def check_call_counting(env: Env, infra: Infra) -> None:
    eq(env.ok("POST", "/_slipway/calls/reset"), {}, "calls/reset answer")
    for _ in range(3):
        env.ecs.describe_clusters(clusters=[infra.cluster])
    env.ecs.list_clusters()
    env.client("ecr").describe_repositories()
    env.client("sts").get_caller_identity()
    env.client("sts").get_caller_identity()
    env.client("iam").list_roles()
    env.client("elbv2").describe_target_groups(TargetGroupArns=[infra.target_group])
    env.client("ec2").describe_vpcs()
    env.client("logs").describe_log_groups()
    eq(
        env.ok("GET", "/_slipway/calls"),
        {
            "CloudWatchLogs.DescribeLogGroups": 1,
            "EC2.DescribeVpcs": 1,
            "ECR.DescribeRepositories": 1,
            "ECS.DescribeClusters": 3,
            "ECS.ListClusters": 1,
            "ELBv2.DescribeTargetGroups": 1,
            "IAM.ListRoles": 1,
            "STS.GetCallerIdentity": 2,
        },
        "call counts",
    )
    # Reading the body for counting must not take it away from moto.
    eq(env.client("sts").get_caller_identity()["Account"], ACCOUNT, "STS answers with the account")
    env.ok("POST", "/_slipway/calls/reset")
    eq(env.ok("GET", "/_slipway/calls"), {}, "counts after reset")


def check_create_service(env: Env, infra: Infra) -> None:
    td = infra.task_definition("web", "repo/web:v1")
    created = infra.create_service(
        "web",
        td,
        3,
        loadBalancers=[{"targetGroupArn": infra.target_group, "containerName": "app", "containerPort": 8080}],
        healthCheckGracePeriodSeconds=45,
        enableExecuteCommand=True,
        enableECSManagedTags=True,
        propagateTags="SERVICE",
        tags=[{"key": "team", "value": "platform"}],
        platformVersion="1.4.0",
    )
    eq(len(created["deployments"]), 1, "deployments of a new service")
    d = created["deployments"][0]
    eq((d["status"], d["rolloutState"], d["runningCount"], d["taskDefinition"]), ("PRIMARY", "IN_PROGRESS", 0, td), "new deployment")
    check(d["id"].startswith("ecs-svc/") and d["id"][8:].isdigit(), f"deployment id {d['id']}")
    s = infra.service("web")
    eq(
        s["deploymentConfiguration"],
        {"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200, "minimumHealthyPercent": 100},
        "deploymentConfiguration",
    )
    eq(s["healthCheckGracePeriodSeconds"], 45, "healthCheckGracePeriodSeconds")
    eq(s["enableExecuteCommand"], True, "enableExecuteCommand")
    eq(s["enableECSManagedTags"], True, "enableECSManagedTags")
    eq(s["propagateTags"], "SERVICE", "propagateTags")
    eq(s["tags"], [{"key": "team", "value": "platform"}], "tags")
    eq(s["loadBalancers"], [{"targetGroupArn": infra.target_group, "containerName": "app", "containerPort": 8080}], "loadBalancers")
    eq(s["networkConfiguration"], infra.network, "networkConfiguration")
    eq((s["launchType"], s["platformVersion"], s["taskDefinition"]), ("FARGATE", "1.4.0", td), "launch settings")
    check("createdAt" in s, "service createdAt")

    s = infra.steady("web")
    d = s["deployments"][0]
    eq((d["runningCount"], d["pendingCount"], s["runningCount"], s["pendingCount"]), (3, 0, 3, 0), "counts when steady")
    eq(s["events"][0]["message"], "(service web) has reached a steady state.", "newest event")

    tasks = infra.service_tasks("web")
    eq(len(tasks), 3, "tasks of the service")
    for t in tasks:
        eq((t["group"], t["startedBy"], t["taskDefinitionArn"], t["lastStatus"]), ("service:web", d["id"], td, "RUNNING"), "service task")
        eq(t["launchType"], "FARGATE", "task launch type")
        tags = {x["key"]: x["value"] for x in t.get("tags", [])}
        eq(tags, {"team": "platform", "aws:ecs:clusterName": infra.cluster, "aws:ecs:serviceName": "web"}, "task tags")
        check(t["attachments"][0]["type"] == "ElasticNetworkInterface", "awsvpc task attachment")
        eq([c["name"] for c in t["containers"]], ["app"], "task containers")

    # Not broken: tags on task definitions and services, DescribeTaskDefinition include=TAGS.
    env.ecs.tag_resource(resourceArn=s["serviceArn"], tags=[{"key": "extra", "value": "1"}])
    tags = env.ecs.list_tags_for_resource(resourceArn=s["serviceArn"])["tags"]
    check({"key": "extra", "value": "1"} in tags, f"service tags after TagResource: {tags}")
    env.ecs.tag_resource(resourceArn=td, tags=[{"key": "sha", "value": "abc"}])
    described = env.ecs.describe_task_definition(taskDefinition=td, include=["TAGS"])
    check({"key": "sha", "value": "abc"} in described["tags"], f"task definition tags: {described['tags']}")
    eq(described["taskDefinition"]["containerDefinitions"][0]["image"], "repo/web:v1", "task definition image")
    # A second service's tasks are its own.
    infra.create_service("worker", infra.task_definition("worker", "repo/worker:v1"), 1)
    infra.steady("worker")
    eq(len(infra.service_tasks("worker")), 1, "tasks of the other service")
    eq(len(infra.service_tasks("web")), 3, "tasks of web still")
    eq(len(env.ecs.list_tasks(cluster=infra.cluster)["taskArns"]), 4, "all running tasks of the cluster")
    code, _, _ = error_code(lambda: env.ecs.list_tasks(cluster=infra.cluster, serviceName="nope"))
    eq(code, "ServiceNotFoundException", "ListTasks for an unknown service")
    cluster = env.ecs.describe_clusters(clusters=[infra.cluster])["clusters"][0]
    eq((cluster["runningTasksCount"], cluster["activeServicesCount"]), (4, 2), "cluster counts")
    code, _, _ = error_code(
        lambda: env.ecs.create_service(cluster=infra.cluster, serviceName="nonet", taskDefinition=td, desiredCount=1, launchType="FARGATE")
    )
    eq(code, "InvalidParameterException", "awsvpc service without networkConfiguration")


def check_rollout(env: Env, infra: Infra) -> None:
    v1 = env.ecs.describe_services(cluster=infra.cluster, services=["web"])["services"][0]["taskDefinition"]
    old_id = infra.service("web")["deployments"][0]["id"]
    v2 = infra.task_definition("web", "repo/web:v2")
    updated = env.ecs.update_service(cluster=infra.cluster, service="web", taskDefinition=v2)["service"]
    started = time.monotonic()
    ds = updated["deployments"]
    eq([(d["status"], d["taskDefinition"]) for d in ds], [("PRIMARY", v2), ("ACTIVE", v1)], "deployments right after UpdateService")
    eq((ds[0]["rolloutState"], ds[0]["runningCount"], ds[1]["runningCount"]), ("IN_PROGRESS", 0, 3), "counts right after UpdateService")
    eq(ds[1]["id"], old_id, "the old deployment stays as ACTIVE")
    check(ds[0]["id"] != old_id and ds[0]["id"].startswith("ecs-svc/"), "a new deployment id")
    eq(updated["taskDefinition"], v2, "service taskDefinition is the PRIMARY's")

    # Midway: the new deployment grows while the old one drains.
    seen_midway = False
    while time.monotonic() - started < ROLLOUT * 0.9:
        s = infra.service("web")
        ds = s["deployments"]
        if len(ds) != 2:
            break
        new, old = ds
        eq(new["runningCount"] + old["runningCount"], 3, "running tasks during the rollout")
        eq(s["runningCount"], 3, "service runningCount during the rollout")
        if 0 < new["runningCount"] < 3:
            seen_midway = True
            eq(new["rolloutState"], "IN_PROGRESS", "midway rollout state")
            # The rollout moves on while we list: the new tasks are bracketed by two looks.
            new_tasks = [t["taskDefinitionArn"] for t in infra.service_tasks("web")].count(v2)
            after = infra.service("web")["deployments"][0]["runningCount"]
            check(new["runningCount"] <= new_tasks <= after, f"new tasks midway: {new['runningCount']} <= {new_tasks} <= {after}")
        time.sleep(0.05)
    check(seen_midway, "saw the rollout midway")

    s = infra.steady("web")
    check(time.monotonic() - started >= ROLLOUT * 0.95, "the rollout took rollout_seconds")
    d = s["deployments"][0]
    eq((d["status"], d["taskDefinition"], d["runningCount"], s["runningCount"], s["taskDefinition"]), ("PRIMARY", v2, 3, 3, v2), "after the rollout")
    eq(d["rolloutStateReason"], f"ECS deployment {d['id']} completed.", "rolloutStateReason")
    tasks = infra.service_tasks("web")
    eq([t["taskDefinitionArn"] for t in tasks], [v2] * 3, "running tasks after the rollout")
    eq({t["startedBy"] for t in tasks}, {d["id"]}, "tasks started by the new deployment")
    stopped = [t for t in infra.service_tasks("web", "STOPPED") if t["taskDefinitionArn"] == v1]
    eq(len(stopped), 3, "old tasks stopped")
    for t in stopped:
        eq((t["lastStatus"], t["stopCode"]), ("STOPPED", "ServiceSchedulerInitiated"), "old task stop")
        eq(t["stoppedReason"], f"Scaling activity initiated by (deployment {d['id']})", "old task stop reason")
    messages = [e["message"] for e in s["events"]]
    eq(messages[0], "(service web) has reached a steady state.", "newest event after the rollout")
    eq(messages[1], f"(service web) (deployment {d['id']}) deployment completed.", "deployment completed event")
    # Tasks start and stop one by one during the rollout, each with an event.
    this_rollout = messages[2 : messages.index("(service web) has reached a steady state.", 1)]
    started = sum(int(m.split()[4]) for m in this_rollout if m.startswith("(service web) has started"))
    stopped_n = sum(int(m.split()[4]) for m in this_rollout if m.startswith("(service web) has stopped"))
    eq((started, stopped_n), (3, 3), f"tasks started/stopped in the events {this_rollout}")


def check_update_without_new_deployment(env: Env, infra: Infra) -> None:
    before = infra.service("web")
    dep_id = before["deployments"][0]["id"]
    s = env.ecs.update_service(
        cluster=infra.cluster,
        service="web",
        desiredCount=2,
        deploymentConfiguration={"minimumHealthyPercent": 50},
        healthCheckGracePeriodSeconds=90,
    )["service"]
    eq([d["id"] for d in s["deployments"]], [dep_id], "desiredCount alone keeps the deployment")
    eq((s["desiredCount"], s["runningCount"], s["deployments"][0]["desiredCount"]), (2, 2, 2), "scaled in")
    eq(
        s["deploymentConfiguration"],
        {"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200, "minimumHealthyPercent": 50},
        "deploymentConfiguration merged",
    )
    eq(infra.service("web")["healthCheckGracePeriodSeconds"], 90, "healthCheckGracePeriodSeconds updated")
    eq(len(infra.service_tasks("web")), 2, "tasks after scaling in")
    # The same task definition again: no deployment; forceNewDeployment: a new one.
    same = env.ecs.update_service(cluster=infra.cluster, service="web", taskDefinition=before["taskDefinition"])["service"]
    eq([d["id"] for d in same["deployments"]], [dep_id], "same task definition keeps the deployment")
    forced = env.ecs.update_service(cluster=infra.cluster, service="web", forceNewDeployment=True)["service"]
    eq(len(forced["deployments"]), 2, "forceNewDeployment starts a deployment")
    eq(forced["deployments"][0]["taskDefinition"], before["taskDefinition"], "forced deployment keeps the task definition")
    infra.steady("web")


def check_failure_with_rollback(env: Env, infra: Infra) -> None:
    eq(env.ok("POST", "/_slipway/fail-images", {"pattern": ":broken"}), {"patterns": [":broken"], "stages": {}}, "fail pattern added")
    good = infra.service("web")["taskDefinition"]
    bad = infra.task_definition("web", "repo/web:broken")
    s = env.ecs.update_service(cluster=infra.cluster, service="web", taskDefinition=bad)["service"]
    failed_id = s["deployments"][0]["id"]
    eq(s["deployments"][0]["rolloutState"], "IN_PROGRESS", "failing deployment starts IN_PROGRESS")

    def rolled_back() -> dict[str, Any] | None:
        s = infra.service("web")
        return s if s["deployments"][0]["id"] != failed_id else None

    s = wait_for(rolled_back, ROLLOUT * 2 + 2, "the circuit breaker to roll back")
    ds = s["deployments"]
    check(all(d["id"] != failed_id for d in ds), "the failed deployment is gone")
    eq((ds[0]["status"], ds[0]["taskDefinition"], ds[0]["rolloutState"]), ("PRIMARY", good, "IN_PROGRESS"), "rollback deployment")
    eq(s["taskDefinition"], good, "service taskDefinition during the rollback")
    messages = [e["message"] for e in s["events"]]
    check(
        f"(service web) deployment {failed_id} deployment failed: tasks failed to start." in messages,
        f"failure event in {messages}",
    )
    failed_tasks = [t for t in infra.service_tasks("web", "STOPPED") if t["taskDefinitionArn"] == bad]
    check(len(failed_tasks) >= 1, "failed launches are STOPPED tasks")
    for t in failed_tasks:
        eq(t["stopCode"], "TaskFailedToStart", "failed task stopCode")
        check(t["stoppedReason"].startswith("CannotPullContainerError"), f"failed task reason {t['stoppedReason']}")
    s = infra.steady("web")
    eq((s["taskDefinition"], s["runningCount"], s["deployments"][0]["taskDefinition"]), (good, 2, good), "after the rollback")
    eq([t["taskDefinitionArn"] for t in infra.service_tasks("web")], [good] * 2, "tasks after the rollback")


def check_failure_without_breaker(env: Env, infra: Infra) -> None:
    good = infra.task_definition("api", "repo/api:v1")
    bad = infra.task_definition("api", "repo/api:broken")
    infra.create_service("api", good, 2, breaker=False, rollback=False)
    infra.steady("api")
    s = env.ecs.update_service(cluster=infra.cluster, service="api", taskDefinition=bad)["service"]
    failed_id = s["deployments"][0]["id"]

    def failed() -> dict[str, Any] | None:
        s = infra.service("api")
        return s if s["deployments"][0]["rolloutState"] == "FAILED" else None

    s = wait_for(failed, ROLLOUT * 2 + 2, "the deployment to fail")
    time.sleep(ROLLOUT * 1.2)  # and it stays failed
    s = infra.service("api")
    primary, active = s["deployments"]
    eq((primary["id"], primary["status"], primary["rolloutState"], primary["runningCount"]), (failed_id, "PRIMARY", "FAILED", 0), "failed PRIMARY")
    eq(primary["rolloutStateReason"], "ECS deployment circuit breaker: tasks failed to start.", "failure reason")
    check(primary["failedTasks"] > 0, "failedTasks > 0")
    eq((active["status"], active["taskDefinition"], active["runningCount"]), ("ACTIVE", good, 2), "the old tasks keep running")
    eq(s["taskDefinition"], bad, "service taskDefinition is the failed PRIMARY's")
    check(
        f"(service api) deployment {failed_id} deployment failed: tasks failed to start." == s["events"][0]["message"],
        f"newest event {s['events'][0]}",
    )
    # A first deployment that fails has nothing to roll back to, breaker or not.
    infra.create_service("born-broken", bad, 1)
    s = wait_for(lambda: (lambda s: s if s["deployments"][0]["rolloutState"] == "FAILED" else None)(infra.service("born-broken")), ROLLOUT * 2 + 2, "born-broken to fail")
    eq((len(s["deployments"]), s["runningCount"], s["taskDefinition"]), (1, 0, bad), "a failed first deployment stays")


def check_fail_images_endpoint(env: Env, infra: Infra) -> None:
    env.ok("POST", "/_slipway/fail-images", {"pattern": "other"})
    eq(env.ok("GET", "/_slipway/fail-images"), {"patterns": [":broken", "other"], "stages": {}}, "fail patterns")
    eq(env.ok("DELETE", "/_slipway/fail-images"), {"patterns": [], "stages": {}}, "fail patterns cleared")
    # Without the pattern the same image deploys.
    bad = infra.service("api")["taskDefinition"]
    env.ecs.update_service(cluster=infra.cluster, service="api", forceNewDeployment=True)
    s = infra.steady("api")
    eq((s["taskDefinition"], s["runningCount"]), (bad, 2), "the image deploys once no pattern matches")


def check_run_task(env: Env, infra: Infra) -> None:
    env.ok("POST", "/_slipway/config", {"task_seconds": TASK})
    td = infra.task_definition(
        "jobs",
        "",
        containers=[
            {"name": "app", "image": "repo/jobs:v1", "essential": True, "command": ["serve"]},
            {"name": "sidecar", "image": "repo/sidecar:v1", "essential": False},
        ],
    )
    rules = env.ok("POST", "/_slipway/task-exit", {"match": "migrate up", "exit_code": 3, "reason": "Essential container in task exited"})
    eq(rules, {"rules": [{"match": "migrate up", "exit_code": 3, "reason": "Essential container in task exited"}]}, "task-exit rules")
    env.ok("POST", "/_slipway/task-exit", {"match": "repo/tool", "exit_code": 2, "reason": "tool failed"})

    def run(command: list[str] | None, td_arn: str = td) -> dict[str, Any]:
        overrides = {"containerOverrides": [{"name": "app", "command": command}]} if command else {}
        r = env.ecs.run_task(
            cluster=infra.cluster,
            taskDefinition=td_arn,
            launchType="FARGATE",
            startedBy="slipway-migrate",
            networkConfiguration=infra.network,
            overrides=overrides,
        )
        eq(r["failures"], [], "RunTask failures")
        return r["tasks"][0]

    def describe(arn: str) -> dict[str, Any]:
        return env.ecs.describe_tasks(cluster=infra.cluster, tasks=[arn])["tasks"][0]

    migrate = run(["bin/migrate", "up"])
    t0 = time.monotonic()
    eq((migrate["lastStatus"], migrate["desiredStatus"]), ("PROVISIONING", "RUNNING"), "RunTask answer")
    eq([c["name"] for c in migrate["containers"]], ["app", "sidecar"], "one container per definition")
    plain = run(None)
    tool = run(None, infra.task_definition("tool", "repo/tool:v3"))

    order = ["PROVISIONING", "PENDING", "RUNNING", "DEPROVISIONING", "STOPPED"]
    seen = []
    while True:
        t = describe(migrate["taskArn"])
        if not seen or seen[-1] != t["lastStatus"]:
            seen.append(t["lastStatus"])
        if t["lastStatus"] == "RUNNING":
            eq([c["lastStatus"] for c in t["containers"]], ["RUNNING", "RUNNING"], "containers while running")
            check(all("exitCode" not in c for c in t["containers"]), "no exit code while running")
            listed = env.ecs.list_tasks(cluster=infra.cluster, startedBy="slipway-migrate")["taskArns"]
            # Still desired RUNNING after the listing, so it was when listed (status only moves on).
            if describe(migrate["taskArn"])["desiredStatus"] == "RUNNING":
                check(t["taskArn"] in listed, f"a running one-off task is listed: {t['taskArn']} in {listed}")
        if t["lastStatus"] == "STOPPED":
            break
        check(time.monotonic() - t0 < TASK * 3 + 2, f"task stuck in {t['lastStatus']}")
        time.sleep(0.05)
    check(time.monotonic() - t0 >= TASK * 0.95, "the task took task_seconds")
    check(seen[0] in ("PROVISIONING", "PENDING") and seen[-1] == "STOPPED", f"status sequence {seen}")
    check("RUNNING" in seen, f"saw RUNNING in {seen}")
    eq([s for s in order if s in seen], seen, "statuses in lifecycle order")
    eq({c["name"]: c.get("exitCode") for c in t["containers"]}, {"app": 3, "sidecar": 0}, "exit codes (rule on the command override)")
    eq((t["stopCode"], t["stoppedReason"], t["desiredStatus"]), ("EssentialContainerExited", "Essential container in task exited", "STOPPED"), "stopped task")
    for field in ("createdAt", "startedAt", "stoppingAt", "stoppedAt"):
        check(field in t, f"stopped task has {field}")
    check(t["stoppedAt"] >= t["startedAt"] >= t["createdAt"], "timestamps in order")
    eq((t["cpu"], t["memory"]), ("256", "512"), "task cpu/memory")

    p = wait_for(lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(describe(plain["taskArn"])), TASK * 3 + 2, "the plain task to stop")
    eq({c["name"]: c.get("exitCode") for c in p["containers"]}, {"app": 0, "sidecar": 0}, "default exit codes")
    eq(p["stoppedReason"], "Essential container in task exited", "default stop reason")
    tl = wait_for(lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(describe(tool["taskArn"])), TASK * 3 + 2, "the tool task to stop")
    eq((tl["containers"][0]["exitCode"], tl["stoppedReason"]), (2, "tool failed"), "rule matched on the image")

    listed = env.ecs.list_tasks(cluster=infra.cluster, startedBy="slipway-migrate")["taskArns"]
    eq(listed, [], "stopped tasks are not listed by default")
    stopped = env.ecs.list_tasks(cluster=infra.cluster, startedBy="slipway-migrate", desiredStatus="STOPPED")["taskArns"]
    eq(sorted(stopped), sorted([migrate["taskArn"], plain["taskArn"], tool["taskArn"]]), "desiredStatus=STOPPED lists them")

    eq(len(env.ok("DELETE", "/_slipway/task-exit")["rules"]), 0, "task-exit rules cleared")
    again = run(["bin/migrate", "up"])
    env.ok("POST", "/_slipway/config", {"task_seconds": 30})
    long = run(["sleep"])
    env.ecs.stop_task(cluster=infra.cluster, task=long["taskArn"], reason="cancelled")
    t = describe(long["taskArn"])
    eq((t["lastStatus"], t["stopCode"], t["stoppedReason"]), ("STOPPED", "UserInitiated", "cancelled"), "StopTask")
    env.ok("POST", "/_slipway/config", {"task_seconds": TASK})
    t = wait_for(lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(describe(again["taskArn"])), TASK * 3 + 2, "again to stop")
    eq(t["containers"][0]["exitCode"], 0, "exit code once the rule is cleared")


def check_odds_and_ends(env: Env, infra: Infra) -> None:
    ec2 = env.client("ec2")
    # StopTask on a service task: the service replaces it.
    victim = infra.service_tasks("worker")[0]
    env.ecs.stop_task(cluster=infra.cluster, task=victim["taskArn"], reason="poke")
    tasks = infra.service_tasks("worker")
    eq(len(tasks), 1, "the service keeps its desired count")
    check(tasks[0]["taskArn"] != victim["taskArn"], "a replacement task")
    stopped = env.ecs.describe_tasks(cluster=infra.cluster, tasks=[victim["taskArn"]])["tasks"][0]
    eq((stopped["lastStatus"], stopped["stopCode"], stopped["stoppedReason"]), ("STOPPED", "UserInitiated", "poke"), "stopped service task")
    # A stopped task's network interface is gone; a running one's exists.
    def eni(task: dict[str, Any]) -> str:
        return next(d["value"] for d in task["attachments"][0]["details"] if d["name"] == "networkInterfaceId")

    enis = {n["NetworkInterfaceId"] for n in ec2.describe_network_interfaces()["NetworkInterfaces"]}
    check(eni(stopped) not in enis and eni(tasks[0]) in enis, "ENIs follow the tasks")
    # DeleteService stops the tasks; the service is INACTIVE and cannot be updated.
    env.ecs.delete_service(cluster=infra.cluster, service="worker", force=True)
    eq(infra.service_tasks("worker"), [], "no tasks after DeleteService")
    eq(infra.service("worker")["status"], "INACTIVE", "deleted service")
    listed = env.ecs.list_services(cluster=infra.cluster)["serviceArns"]
    check(not any(a.endswith("/worker") for a in listed), f"ListServices leaves out deleted services: {listed}")
    code, _, _ = error_code(lambda: env.ecs.update_service(cluster=infra.cluster, service="worker", desiredCount=1))
    eq(code, "ServiceNotActiveException", "UpdateService of a deleted service")
    # awsvpc tasks in a VPC without DNS hostnames (moto alone answers 500).
    vpc = ec2.create_vpc(CidrBlock="10.70.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.70.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="nodns", Description="nodns", VpcId=vpc)["GroupId"]
    r = env.ecs.run_task(
        cluster=infra.cluster,
        taskDefinition=infra.task_definition("nodns", "repo/nodns:v1"),
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
    )
    eq(r["tasks"][0]["lastStatus"], "PROVISIONING", "RunTask without DNS hostnames")
    eq(r["tasks"][0]["availabilityZone"], f"{REGION}a", "task availability zone from its subnet")


def check_faults(env: Env, infra: Infra) -> None:
    once = lambda name, **kw: env.client(name, retries=1, **kw)  # noqa: E731
    env.ok("POST", "/_slipway/calls/reset")
    faults = env.ok("POST", "/_slipway/faults", {"operation": "ECS.DescribeServices", "count": 2, "status": 400, "code": "ThrottlingException"})
    eq(len(faults["faults"]), 1, "pending faults")
    for i in range(2):
        code, status, headers = error_code(lambda: once("ecs").describe_services(cluster=infra.cluster, services=["web"]))
        eq((code, status, headers.get("x-amzn-errortype")), ("ThrottlingException", 400, "ThrottlingException"), f"throttled call {i + 1}")
    eq(once("ecs").describe_services(cluster=infra.cluster, services=["web"])["services"][0]["serviceName"], "web", "third call answers")
    eq(env.ok("GET", "/_slipway/faults"), {"faults": [], "injected": {"ECS.DescribeServices": {"ThrottlingException": 2}}}, "faults used up, and what was injected")
    eq(env.ok("GET", "/_slipway/calls").get("ECS.DescribeServices"), 3, "faulted calls are counted")

    # The SDK's own retries get through a fault shorter than its attempts.
    env.ok("POST", "/_slipway/faults", {"operation": "ECS.ListServices", "count": 2, "status": 500, "code": "InternalFailure"})
    env.ok("POST", "/_slipway/calls/reset")
    eq(len(env.client("ecs", retries=3).list_services(cluster=infra.cluster)["serviceArns"]), 3, "retried through two 500s")
    eq(env.ok("GET", "/_slipway/calls"), {"ECS.ListServices": 3}, "three attempts counted")

    # Each protocol's wire format.
    env.ok("POST", "/_slipway/faults", {"operation": "STS.GetCallerIdentity", "status": 503, "code": "ServiceUnavailable"})
    eq(error_code(lambda: once("sts").get_caller_identity())[:2], ("ServiceUnavailable", 503), "query protocol (STS) 503")
    env.ok("POST", "/_slipway/faults", {"operation": "ELBv2.DescribeTargetGroups", "code": "Throttling"})
    eq(error_code(lambda: once("elbv2").describe_target_groups())[:2], ("Throttling", 400), "query protocol (ELBv2) throttling")
    env.ok("POST", "/_slipway/faults", {"operation": "IAM.GetRole", "status": 500})
    eq(error_code(lambda: once("iam").get_role(RoleName="x"))[:2], ("InternalFailure", 500), "query protocol (IAM) default code")
    env.ok("POST", "/_slipway/faults", {"operation": "EC2.DescribeVpcs", "status": 500, "code": "InternalError"})
    eq(error_code(lambda: once("ec2").describe_vpcs())[:2], ("InternalError", 500), "ec2 protocol")
    env.ok("POST", "/_slipway/faults", {"operation": "ECR.DescribeRepositories", "code": "ServiceUnavailable"})
    eq(error_code(lambda: once("ecr").describe_repositories())[:2], ("ServiceUnavailable", 503), "awsJson (ECR), status from the code")
    env.ok("POST", "/_slipway/faults", {"operation": "ECS.*", "status": 400, "code": "AccessDeniedException", "message": "nope"})
    try:
        once("ecs").list_clusters()
        raise AssertionError("expected an error")
    except ClientError as e:
        eq((e.response["Error"]["Code"], e.response["Error"]["Message"]), ("AccessDeniedException", "nope"), "wildcard fault with message")

    # Delays: a client with a shorter read timeout gives up; the server still answers later.
    env.ok("POST", "/_slipway/faults", {"operation": "ECS.ListClusters", "delay_seconds": 1.5, "count": 1})
    t0 = time.monotonic()
    try:
        once("ecs", read_timeout=0.5).list_clusters()
        raise AssertionError("expected a read timeout")
    except ReadTimeoutError:
        pass
    check(time.monotonic() - t0 < 1.4, "the client timed out before the delay ended")
    t0 = time.monotonic()
    once("ecs").list_clusters()
    check(time.monotonic() - t0 < 1.0, "the next call is not delayed")
    env.ok("POST", "/_slipway/faults", {"operation": "ECS.ListClusters", "delay_seconds": 0.7})
    t0 = time.monotonic()
    eq(len(once("ecs").list_clusters()["clusterArns"]), 1, "a delayed call still answers")
    check(time.monotonic() - t0 >= 0.7, "the call was delayed")
    env.ok("POST", "/_slipway/faults", {"operation": "ECS.ListClusters", "delay_seconds": 0.3, "status": 503})
    t0 = time.monotonic()
    eq(error_code(lambda: once("ecs").list_clusters())[:2], ("ServiceUnavailable", 503), "delay then error")
    check(time.monotonic() - t0 >= 0.3, "delayed error")

    env.ok("POST", "/_slipway/faults", {"operation": "ECS.ListClusters", "status": 500, "count": 5})
    eq(len(env.ok("GET", "/_slipway/faults")["faults"]), 1, "pending fault listed")
    eq(env.ok("GET", "/_slipway/faults")["faults"][0]["count"], 5, "pending fault count")
    eq(env.ok("DELETE", "/_slipway/faults"), {"faults": [], "injected": {}}, "faults cleared")
    once("ecs").list_clusters()

    # An answer lost after the call was applied: the caller sees a reset connection, the
    # emulator has the change.
    env.ok("POST", "/_slipway/faults", {"operation": "ECS.TagResource", "reset_after": True})
    arn = infra.task_definition("lost-answer", "repo/lost:v1")
    try:
        once("ecs").tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
        raise AssertionError("expected a connection error")
    except ClientError:
        raise
    except Exception as e:  # botocore's ConnectionClosedError / EndpointConnectionError
        check("Connection" in type(e).__name__ or "connection" in str(e).lower(), f"a connection error, got {e!r}")
    tags = env.ecs.list_tags_for_resource(resourceArn=arn)["tags"]
    check({"key": "k", "value": "v"} in tags, f"the call was applied: {tags}")
    eq(env.ok("GET", "/_slipway/faults")["injected"], {"ECS.TagResource": {"reset_after": 1}}, "a lost answer is counted")

    # Faults with a probability hit about that share of calls, repeatably with a seed.
    env.ok("DELETE", "/_slipway/faults")
    env.ok("POST", "/_slipway/faults", {"operation": "ECS.ListClusters", "status": 503, "count": 1000, "probability": 0.25, "seed": 7})
    hits = 0
    for _ in range(200):
        try:
            once("ecs").list_clusters()
        except ClientError:
            hits += 1
    eq(env.ok("GET", "/_slipway/faults")["injected"], {"ECS.ListClusters": {"ServiceUnavailable": hits}}, "injected counts match what the client saw")
    check(25 <= hits <= 75, f"about a quarter of 200 calls faulted: {hits}")
    env.ok("DELETE", "/_slipway/faults")


def check_list_task_definitions(env: Env, infra: Infra) -> None:
    """ListTaskDefinitions as AWS documents it: ASC by family then revision by default, DESC on
    request, pages of at most maxResults with nextToken (moto alone ignores sort and paging)."""
    for i in range(5):
        infra.task_definition("listed", f"repo/listed:v{i}")
    infra.task_definition("listed-other", "repo/other:v1")
    arns = env.ecs.list_task_definitions(familyPrefix="listed")["taskDefinitionArns"]
    eq([a.rsplit(":", 1)[1] for a in arns], ["1", "2", "3", "4", "5"], "ascending by default")
    arns = env.ecs.list_task_definitions(familyPrefix="listed", sort="DESC")["taskDefinitionArns"]
    eq([a.rsplit(":", 1)[1] for a in arns], ["5", "4", "3", "2", "1"], "descending: the newest first")
    eq(all(a.split("/")[-1].startswith("listed:") for a in arns), True, "only the family's own revisions")
    page = env.ecs.list_task_definitions(familyPrefix="listed", sort="DESC", maxResults=2)
    eq([a.rsplit(":", 1)[1] for a in page["taskDefinitionArns"]], ["5", "4"], "first page")
    page = env.ecs.list_task_definitions(familyPrefix="listed", sort="DESC", maxResults=2, nextToken=page["nextToken"])
    eq([a.rsplit(":", 1)[1] for a in page["taskDefinitionArns"]], ["3", "2"], "second page")
    page = env.ecs.list_task_definitions(familyPrefix="listed", sort="DESC", maxResults=2, nextToken=page["nextToken"])
    eq(([a.rsplit(":", 1)[1] for a in page["taskDefinitionArns"]], "nextToken" in page), (["1"], False), "last page")
    env.ok("POST", "/_slipway/config", {"list_page_size": 3})
    page = env.ecs.list_task_definitions(familyPrefix="listed", maxResults=100)
    eq((len(page["taskDefinitionArns"]), "nextToken" in page), (3, True), "the emulator's page size caps a page")
    env.ok("POST", "/_slipway/config", {"list_page_size": 100})
    eq(error_code(lambda: env.ecs.list_task_definitions(maxResults=101))[0], "InvalidParameterException", "maxResults above 100")


def check_create_service_idempotence(env: Env, infra: Infra) -> None:
    """CreateService of a name already ACTIVE: the same clientToken gets the service back (a
    retry whose answer was lost), any other call is refused, as in ECS."""
    td = infra.task_definition("idem", "repo/idem:v1")
    first = env.ecs.create_service(
        cluster=infra.cluster, serviceName="idem", taskDefinition=td, desiredCount=1,
        launchType="FARGATE", networkConfiguration=infra.network, clientToken="token-1",
    )["service"]
    again = env.ecs.create_service(
        cluster=infra.cluster, serviceName="idem", taskDefinition=td, desiredCount=1,
        launchType="FARGATE", networkConfiguration=infra.network, clientToken="token-1",
    )["service"]
    eq(again["serviceArn"], first["serviceArn"], "the same token answers the same service")
    eq(len(again["deployments"]), 1, "no second deployment")
    code, status, _ = error_code(lambda: env.ecs.create_service(
        cluster=infra.cluster, serviceName="idem", taskDefinition=td, desiredCount=1,
        launchType="FARGATE", networkConfiguration=infra.network, clientToken="token-2",
    ))
    eq((code, status), ("InvalidParameterException", 400), "another token is refused")
    run = lambda token: env.ecs.run_task(  # noqa: E731
        cluster=infra.cluster, taskDefinition=td, launchType="FARGATE",
        networkConfiguration=infra.network, clientToken=token,
    )["tasks"][0]["taskArn"]
    eq(run("run-1"), run("run-1"), "RunTask with a token it has seen starts nothing new")
    check(run("run-2") != run("run-1"), "another token starts another task")


def check_reset(env: Env, infra: Infra) -> None:
    env.ok("POST", "/_slipway/config", {"rollout_seconds": 9})
    env.ok("POST", "/_slipway/fail-images", {"pattern": "x"})
    env.ok("POST", "/_slipway/task-exit", {"match": "x"})
    env.ok("POST", "/_slipway/faults", {"operation": "ECS.ListClusters", "status": 500})
    eq(env.ok("POST", "/_slipway/reset"), {"reset": True}, "reset answer")
    eq(env.ok("GET", "/_slipway/calls"), {}, "calls after reset")
    eq(env.ok("GET", "/_slipway/config"), {"rollout_seconds": 1.0, "task_seconds": 0.5, "list_page_size": 100, "stage_seconds": 0.2, "minute_seconds": 0.1}, "config after reset")
    eq(env.ok("GET", "/_slipway/fail-images"), {"patterns": [], "stages": {}}, "fail images after reset")
    eq(env.ok("GET", "/_slipway/task-exit"), {"rules": []}, "task-exit after reset")
    eq(env.ok("GET", "/_slipway/faults"), {"faults": [], "injected": {}}, "faults after reset")
    eq(env.ecs.list_clusters()["clusterArns"], [], "moto state after reset")
    # Everything still works from scratch (the realistic backend is rebuilt by moto).
    fresh = Infra(env, cluster="after-reset")
    fresh.create_service("web", fresh.task_definition("web", "repo/web:v1"), 1)
    eq(fresh.steady("web")["runningCount"], 1, "a service after reset")


def check_parent_death(env: Env, infra: Infra) -> None:
    # A parent that starts the emulator and is then killed: the emulator must exit by itself.
    port = free_port()
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            f"p = subprocess.Popen([sys.executable, {EMULATOR!r}, '--port', '{port}'], stdout=subprocess.PIPE, text=True)\n"
            "print(p.pid, flush=True); p.stdout.readline(); print('up', flush=True); time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    child = int(parent.stdout.readline())  # type: ignore[union-attr]
    eq(parent.stdout.readline().strip(), "up", "the child emulator started")  # type: ignore[union-attr]
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        # A zombie (exited, not reaped by init yet) counts as gone.
        with open(f"/proc/{child}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"

    try:
        wait_for(gone, 5, "the orphaned emulator to exit", interval=0.1)
    except AssertionError:
        os.kill(child, signal.SIGKILL)  # leave nothing behind
        raise


def check_capacity_providers_and_task_definition_fields(env: Env, infra: Infra) -> None:
    """A capacity provider strategy is kept and the launch type left out, as ECS answers; the
    task definition fields adopted services use (FireLens, EFS, dependsOn, pidMode, ...) come
    back as they were registered."""
    td = env.ecs.register_task_definition(
        family="rich",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="512",
        memory="1024",
        pidMode="task",
        ephemeralStorage={"sizeInGiB": 30},
        volumes=[{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "transitEncryption": "ENABLED"}}],
        containerDefinitions=[
            {
                "name": "app",
                "image": "ghcr.io/x/app:1",
                "essential": True,
                "dependsOn": [{"containerName": "log", "condition": "START"}],
                "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}],
                "logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "cloudwatch"}},
                "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
                "linuxParameters": {"initProcessEnabled": True},
            },
            {"name": "log", "image": "fluent-bit:2", "essential": True, "firelensConfiguration": {"type": "fluentbit"}},
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    got = env.ecs.describe_task_definition(taskDefinition=td)["taskDefinition"]
    eq((got["pidMode"], got["ephemeralStorage"]), ("task", {"sizeInGiB": 30}), "task-level fields")
    eq(got["volumes"][0]["efsVolumeConfiguration"]["transitEncryption"], "ENABLED", "EFS volume")
    app, log = got["containerDefinitions"]
    eq(app["dependsOn"], [{"containerName": "log", "condition": "START"}], "dependsOn")
    eq(app["logConfiguration"]["logDriver"], "awsfirelens", "FireLens log driver")
    eq(app["systemControls"][0]["value"], "1024", "systemControls")
    eq(app["linuxParameters"], {"initProcessEnabled": True}, "linuxParameters")
    eq(log["firelensConfiguration"], {"type": "fluentbit"}, "firelensConfiguration")

    env.ecs.create_service(
        cluster=infra.cluster,
        serviceName="spot",
        taskDefinition=td,
        desiredCount=1,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 3}, {"capacityProvider": "FARGATE", "weight": 1, "base": 1}],
        networkConfiguration=infra.network,
    )
    s = infra.service("spot")
    check(s.get("launchType") is None, f"a service on a capacity provider strategy has no launchType: {s.get('launchType')}")
    eq(
        [(c["capacityProvider"], c.get("weight"), c.get("base", 0)) for c in s["capacityProviderStrategy"]],
        [("FARGATE_SPOT", 3, 0), ("FARGATE", 1, 1)],
        "capacityProviderStrategy",
    )


def check_answers_as_aws_gives_them(env: Env, infra: Infra) -> None:
    """GetBucketVersioning's root and CloudFront's invalidation status as AWS's API reference
    has them (moto's differ), and CloudFront calls counted by operation."""
    s3 = env.client("s3")
    s3.create_bucket(Bucket="answers", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="answers", VersioningConfiguration={"Status": "Enabled"})
    raw: dict[str, bytes] = {}

    def keep(http_response: Any, **_: Any) -> None:
        raw["body"] = http_response.content

    s3.meta.events.register("after-call.s3.GetBucketVersioning", keep)
    eq(s3.get_bucket_versioning(Bucket="answers")["Status"], "Enabled", "versioning status")
    check(b"<VersioningConfiguration" in raw["body"] and b"GetBucketVersioningResponse" not in raw["body"],
          f"GetBucketVersioning root: {raw['body'][:200]!r}")
    cf = env.client("cloudfront")
    d = cf.create_distribution(DistributionConfig={
        "CallerReference": "answers", "Comment": "answers", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "answers.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
    })["Distribution"]
    env.ok("POST", "/_slipway/calls/reset", {})
    inv = cf.create_invalidation(DistributionId=d["Id"], InvalidationBatch={
        "Paths": {"Quantity": 1, "Items": ["/index.html"]}, "CallerReference": "r1"})["Invalidation"]
    eq(inv["Status"], "Completed", "CreateInvalidation status")
    got = cf.get_invalidation(DistributionId=d["Id"], Id=inv["Id"])["Invalidation"]
    eq(got["Status"], "Completed", "GetInvalidation status")
    calls = env.ok("GET", "/_slipway/calls")
    eq((calls.get("CloudFront.CreateInvalidation"), calls.get("CloudFront.GetInvalidation")), (1, 1),
       f"CloudFront calls counted by operation: {calls}")


def check_expected_bucket_owner(env: Env, infra: Infra) -> None:
    """S3 refuses a request whose ExpectedBucketOwner is not the bucket's account (403
    AccessDenied), which moto alone does not: for the caller's own bucket, and for one the
    control API gives another account."""
    account = env.client("sts").get_caller_identity()["Account"]
    s3 = env.client("s3")
    s3.create_bucket(Bucket="owned-here", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.head_bucket(Bucket="owned-here", ExpectedBucketOwner=account)
    s3.head_bucket(Bucket="owned-here")
    code, status, _ = error_code(lambda: s3.list_objects_v2(Bucket="owned-here", ExpectedBucketOwner="999999999999"))
    eq((code, status), ("AccessDenied", 403), "ListObjectsV2 with another expected owner")
    # A bucket the control API says is another account's.
    env.ok("POST", "/_slipway/bucket-owners", {"bucket": "owned-here", "account": "222222222222"})
    code, status, _ = error_code(lambda: s3.get_bucket_versioning(Bucket="owned-here", ExpectedBucketOwner=account))
    eq((code, status), ("AccessDenied", 403), "another account's bucket")
    s3.get_bucket_versioning(Bucket="owned-here", ExpectedBucketOwner="222222222222")

def check_service_deployments(env: Env, infra: Infra) -> None:
    """Blue/green, canary and linear deployments: ListServiceDeployments and
    DescribeServiceDeployments follow the lifecycle on its schedule; a failure during bake, an
    alarm set to ALARM (CloudWatch's SetAlarmState) and StopServiceDeployment roll back; a
    PAUSE hook holds it until ContinueServiceDeployment or its timeout."""
    ecs, cw = env.ecs, env.client("cloudwatch")
    env.ok("POST", "/_slipway/config", {"rollout_seconds": 0.1, "stage_seconds": 0.05, "minute_seconds": 0.05})
    tds = [infra.task_definition("sd", f"nginx:{i}") for i in range(1, 6)]
    lb = [{
        "targetGroupArn": infra.target_group, "containerName": "app", "containerPort": 8080,
        "advancedConfiguration": {
            "alternateTargetGroupArn": infra.target_group + "-green", "productionListenerRule": "arn:rule/prod",
            "testListenerRule": "arn:rule/test", "roleArn": "arn:aws:iam::123456789012:role/ecs-lb",
        },
    }]
    bg = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2,
          "deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200, "minimumHealthyPercent": 100}
    infra.create_service("sd", tds[0], 1, loadBalancers=lb)
    ecs.update_service(cluster=infra.cluster, service="sd", deploymentConfiguration=bg)
    infra.steady("sd")
    described = infra.service("sd")
    eq(described["deploymentConfiguration"]["strategy"], "BLUE_GREEN", "strategy kept")
    eq(described["loadBalancers"][0].get("advancedConfiguration", {}).get("testListenerRule"), "arn:rule/test",
       "advancedConfiguration kept")

    def newest() -> dict[str, Any]:
        briefs = ecs.list_service_deployments(cluster=infra.cluster, service="sd")["serviceDeployments"]
        brief = max(briefs, key=lambda b: b["createdAt"])
        return ecs.describe_service_deployments(serviceDeploymentArns=[brief["serviceDeploymentArn"]])["serviceDeployments"][0]

    def settle(what: str) -> tuple[dict[str, Any], list[str]]:
        stages: list[str] = []

        def done() -> dict[str, Any] | None:
            d = newest()
            if not stages or stages[-1] != d["lifecycleStage"]:
                stages.append(d["lifecycleStage"])
            return d if d["status"] in ("SUCCESSFUL", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "STOPPED") else None

        return wait_for(done, 15, what, interval=0.02), stages

    # Blue/green: every stage in order, then SUCCESSFUL on the new revision.
    ecs.update_service(cluster=infra.cluster, service="sd", taskDefinition=tds[1])
    d, stages = settle("the blue/green deployment")
    eq(d["status"], "SUCCESSFUL", f"blue/green status ({d.get('statusReason')})")
    check(stages.index("BAKE_TIME") > stages.index("PRODUCTION_TRAFFIC_SHIFT") > stages.index("TEST_TRAFFIC_SHIFT"),
          f"stages in order: {stages}")
    eq(d["targetServiceRevision"]["requestedProductionTrafficWeight"], 100.0, "all traffic on the new revision")
    eq(infra.steady("sd")["taskDefinition"], tds[1], "blue/green lands on the new revision")

    # Canary with an alarm: ALARM during the canary rolls back, the alarm named.
    cw.put_metric_alarm(AlarmName="sd-5xx", MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    canary = {**bg, "strategy": "CANARY", "bakeTimeInMinutes": 1,
              "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 20},
              "alarms": {"alarmNames": ["sd-5xx"], "enable": True, "rollback": True}}
    ecs.update_service(cluster=infra.cluster, service="sd", taskDefinition=tds[2], deploymentConfiguration=canary)
    wait_for(lambda: newest()["targetServiceRevision"]["requestedProductionTrafficWeight"] == 10.0, 10, "the canary's 10%")
    # The SDKs' RPC v2 CBOR DescribeAlarms, answered from moto's alarms.
    import cbor2
    req = urllib.request.Request(
        env.url + "/service/GraniteServiceVersion20100801/operation/DescribeAlarms",
        data=cbor2.dumps({"AlarmNames": ["sd-5xx", "no-such-alarm"]}), method="POST",
        headers={"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor",
                 "Authorization": f"AWS4-HMAC-SHA256 Credential=t/20260101/{REGION}/monitoring/aws4_request, SignedHeaders=host, Signature=x"})
    with urllib.request.urlopen(req) as resp:
        got = cbor2.loads(resp.read())
        eq(resp.headers.get("smithy-protocol"), "rpc-v2-cbor", "CBOR answer")
    eq([(a["AlarmName"], a["StateValue"]) for a in got["MetricAlarms"]], [("sd-5xx", "OK")], "DescribeAlarms over CBOR")
    cw.set_alarm_state(AlarmName="sd-5xx", StateValue="ALARM", StateReason="test")
    d, _ = settle("the canary's rollback")
    eq(d["status"], "ROLLBACK_SUCCESSFUL", "an alarm rolls the canary back")
    eq(d["alarms"]["triggeredAlarmNames"], ["sd-5xx"], "the alarm that fired")
    eq(infra.steady("sd")["taskDefinition"], tds[1], "back on the previous revision")
    cw.set_alarm_state(AlarmName="sd-5xx", StateValue="OK", StateReason="test")

    # A failure during bake (a fail pattern with a stage) rolls back after production shifted.
    env.ok("POST", "/_slipway/fail-images", {"pattern": "nginx:4", "stage": "BAKE_TIME"})
    ecs.update_service(cluster=infra.cluster, service="sd", taskDefinition=tds[3], deploymentConfiguration={**bg, "alarms": {"alarmNames": [], "enable": False, "rollback": False}})
    d, stages = settle("the failure during bake")
    eq(d["status"], "ROLLBACK_SUCCESSFUL", "a failure during bake rolls back")
    check("BAKE_TIME" in d["statusReason"] and "BAKE_TIME" in stages, f"{d['statusReason']} / {stages}")
    env.ok("DELETE", "/_slipway/fail-images")

    # Linear steps, and StopServiceDeployment rolling one back.
    linear = {**bg, "strategy": "LINEAR", "bakeTimeInMinutes": 0,
              "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 20}}
    ecs.update_service(cluster=infra.cluster, service="sd", taskDefinition=tds[4], deploymentConfiguration=linear)
    wait_for(lambda: newest()["targetServiceRevision"]["requestedProductionTrafficWeight"] == 50.0, 10, "the second linear step")
    ecs.stop_service_deployment(serviceDeploymentArn=newest()["serviceDeploymentArn"], stopType="ROLLBACK")
    d, _ = settle("the stopped linear deployment")
    eq(d["status"], "ROLLBACK_SUCCESSFUL", "StopServiceDeployment rolls back")
    # createdAt filters (the SDKs send epoch seconds; moto hands over datetimes).
    now = time.time()
    eq(ecs.list_service_deployments(cluster=infra.cluster, service="sd", createdAt={"after": now + 60})["serviceDeployments"], [],
       "nothing created after now")
    check(len(ecs.list_service_deployments(cluster=infra.cluster, service="sd", createdAt={"after": now - 600})["serviceDeployments"]) == 4,
          "the four deployments of the last ten minutes")
    code, _, _ = error_code(lambda: ecs.describe_service_deployments(serviceDeploymentArns=[]))
    eq(code, "InvalidParameterException", "no ARN")

    # A PAUSE hook after test traffic holds the deployment there, production traffic unmoved,
    # until ContinueServiceDeployment: CONTINUE goes on, ROLLBACK rolls back, and a hook left
    # waiting past its timeout takes its timeout action.
    paused = {**bg, "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                                        "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"}}]}

    def awaiting() -> dict[str, Any] | None:
        d = newest()
        hooks = [h for h in d.get("lifecycleHookDetails") or [] if h["status"] == "AWAITING_ACTION"]
        return d if hooks else None

    for action, image in (("CONTINUE", tds[0]), ("ROLLBACK", tds[2])):
        ecs.update_service(cluster=infra.cluster, service="sd", taskDefinition=image, deploymentConfiguration=paused)
        d = wait_for(awaiting, 10, f"the pause hook ({action})")
        time.sleep(0.5)  # longer than the rest of the lifecycle: held all the same
        d = newest()
        eq(d["lifecycleStage"], "POST_TEST_TRAFFIC_SHIFT", "held at the hook's stage")
        eq(d["targetServiceRevision"]["requestedProductionTrafficWeight"], 0.0, "no production traffic while held")
        hook = d["lifecycleHookDetails"][0]
        eq((hook["targetType"], hook["timeoutAction"]), ("PAUSE", "ROLLBACK"), "the hook's details")
        check("expiresAt" in hook and hook["hookId"].startswith("ecs-pause-"), f"hook id and expiry: {hook}")
        code, _, _ = error_code(lambda: ecs.continue_service_deployment(
            serviceDeploymentArn=d["serviceDeploymentArn"], hookId="ecs-pause-nope", action=action))
        eq(code, "InvalidParameterException", "an unknown hook id")
        ecs.continue_service_deployment(serviceDeploymentArn=d["serviceDeploymentArn"], hookId=hook["hookId"], action=action)
        d, _ = settle(f"the deployment after {action}")
        eq(d["status"], "SUCCESSFUL" if action == "CONTINUE" else "ROLLBACK_SUCCESSFUL", f"after {action}")
        eq(d["lifecycleHookDetails"][0]["status"], "SUCCEEDED" if action == "CONTINUE" else "FAILED", f"the hook after {action}")
        code, _, _ = error_code(lambda: ecs.continue_service_deployment(
            serviceDeploymentArn=d["serviceDeploymentArn"], hookId=hook["hookId"], action="CONTINUE"))
        eq(code, "InvalidParameterException", "a hook no longer awaiting action")
    eq(infra.steady("sd")["taskDefinition"], tds[0], "on the continued revision after the rollback")
    history = env.ok("GET", "/_slipway/service-deployments", None)["serviceDeployments"]
    last = [h for h in history if h["service"] == "sd"][-1]
    eq([e["event"] for e in last["events"]], ["POST_TEST_TRAFFIC_SHIFT hook AWAITING_ACTION", "POST_TEST_TRAFFIC_SHIFT hook ROLLBACK"],
       "the hook's history")
    shifted = [s["at"] for s in last["schedule"] if s["productionTrafficWeight"] > 0]
    check(last["stoppedAt"] is not None and all(t > last["stoppedAt"] for t in shifted),
          f"production traffic never moved: {last}")
    # The timeout: 1 minute (0.05 s here), then ROLLBACK.
    short = {**paused, "lifecycleHooks": [{**paused["lifecycleHooks"][0], "timeoutConfiguration": {"timeoutInMinutes": 1}}]}
    ecs.update_service(cluster=infra.cluster, service="sd", taskDefinition=tds[1], deploymentConfiguration=short)
    d, _ = settle("the hook's timeout")
    eq(d["status"], "ROLLBACK_SUCCESSFUL", "a hook that timed out rolls back (the default action)")
    eq(d["lifecycleHookDetails"][0]["status"], "TIMED_OUT", "the hook timed out")
    ecs.update_service(cluster=infra.cluster, service="sd", deploymentConfiguration={**bg, "lifecycleHooks": []})
    env.ok("POST", "/_slipway/config", {"rollout_seconds": ROLLOUT, "stage_seconds": 0.2, "minute_seconds": 0.1})


CHECKS = [
    check_control_api,
    check_call_counting,
    check_create_service,
    check_rollout,
    check_update_without_new_deployment,
    check_failure_with_rollback,
    check_failure_without_breaker,
    check_fail_images_endpoint,
    check_run_task,
    check_odds_and_ends,
    check_faults,
    check_list_task_definitions,
    check_create_service_idempotence,
    check_capacity_providers_and_task_definition_fields,
    check_answers_as_aws_gives_them,
    check_expected_bucket_owner,
    check_service_deployments,
    check_reset,
    check_parent_death,
]


def main() -> int:
    port = free_port()
    with tempfile.NamedTemporaryFile("w+", prefix="emulator-", suffix=".log") as log:
        proc = start_emulator(port, log)
        failures = 0
        try:
            env = Env(f"http://127.0.0.1:{port}")
            env.ecs.list_clusters()  # warm up: moto loads backends lazily
            infra = Infra(env)
            # In order: later checks build on the services and settings of earlier ones.
            for fn in CHECKS:
                name = fn.__name__.removeprefix("check_")
                t0 = time.monotonic()
                try:
                    fn(env, infra)
                    print(f"ok    {name} ({time.monotonic() - t0:.1f}s)", flush=True)
                except Exception:
                    failures += 1
                    print(f"FAIL  {name}\n{traceback.format_exc()}", flush=True)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            if failures:
                log.seek(0)
                errors = [line for line in log.read().splitlines() if "HTTP/1.1\" 200" not in line]
                print("emulator stderr (without 200 lines):\n" + "\n".join(errors[-60:]))
        print(f"{len(CHECKS) - failures} passed, {failures} failed")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
