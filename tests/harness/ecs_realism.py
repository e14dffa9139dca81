"""ECS realism for the emulator, written against moto 5.2.5's internals.

moto's ECS backend stores services, task definitions and tasks well, but nothing in it moves:
UpdateService keeps one PRIMARY deployment on the old task definition, RunTask tasks step to
STOPPED one DescribeTasks at a time and always exit 0, ListTasks ignores serviceName, and
CreateService drops several settings. This module extends moto's own backend (a subclass of
`moto.ecs.models.EC2ContainerServiceBackend`, installed as the class moto instantiates for
every account and region) so that:

- services roll: every new task definition (or forceNewDeployment) starts a new PRIMARY
  deployment that completes after `rollout_seconds` while the previous one drains as ACTIVE;
- deployments whose image matches a fail pattern fail, and the deployment circuit breaker
  rolls them back when the service asks for it;
- one-off tasks (RunTask) go PROVISIONING -> PENDING -> RUNNING -> STOPPED over
  `task_seconds` and exit with the code a rule chose;
- each service has task objects for its running tasks, which ListTasks(serviceName) and
  DescribeTasks return.

Time is the wall clock, evaluated lazily whenever ECS state is read; nothing runs in the
background. Timing and failure rules are read when a deployment or task *starts*, so changing
them never rewrites something already under way.

The knobs live in `SETTINGS`; emulator.py exposes them over HTTP (`/_slipway/...`).
"""

from __future__ import annotations

import base64
import math
import random
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import moto

PINNED_MOTO = "5.2.5"
if moto.__version__ != PINNED_MOTO:
    raise ImportError(
        f"tests/harness/ecs_realism.py extends moto {PINNED_MOTO}'s ECS internals, but moto "
        f"{moto.__version__} is installed; install moto[server]=={PINNED_MOTO} "
        "(tests/harness/requirements.txt) or port this module to the new version"
    )

from moto.ec2 import ec2_backends  # noqa: E402
from moto.ec2.models.elastic_network_interfaces import NetworkInterface  # noqa: E402
from moto.ecs import models as ecs_models  # noqa: E402
from moto.ecs.exceptions import ECSException, InvalidParameterException  # noqa: E402
from moto.ecs.responses import EC2ContainerServiceResponse  # noqa: E402
from moto.utilities.utils import get_partition  # noqa: E402

DEFAULT_ROLLOUT_SECONDS = 1.0
DEFAULT_TASK_SECONDS = 0.5
DEFAULT_EXIT_CODE = 0
DEFAULT_STOP_REASON = "Essential container in task exited"
CIRCUIT_BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
# What ECS returns for a service created without a deploymentConfiguration.
DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}
MAX_SERVICE_EVENTS = 100  # ECS keeps the newest 100
# ListTaskDefinitions answers at most maxResults (1-100, default 100) per page, and AWS may
# answer fewer: the emulator's pages hold at most this many (lower it to exercise paging).
DEFAULT_LIST_PAGE_SIZE = 100
# Blue/green, canary and linear deployments: each lifecycle stage takes stage_seconds (SCALE_UP
# takes rollout_seconds), and a minute of bake time takes minute_seconds.
DEFAULT_STAGE_SECONDS = 0.2
DEFAULT_MINUTE_SECONDS = 0.1
TRAFFIC_STRATEGIES = ("BLUE_GREEN", "CANARY", "LINEAR")
# Stages a fail pattern may name: where the new revision fails (default SCALE_UP: its tasks do
# not start, as the circuit breaker sees it).
FAIL_STAGES = (
    "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME",
)


# --- settings (the control API's ECS knobs) ---------------------------------------------------


@dataclass
class ExitRule:
    match: str  # substring of the container's command (joined by spaces) or of its image
    exit_code: int = DEFAULT_EXIT_CODE
    reason: str = DEFAULT_STOP_REASON

    def matches(self, command: str, image: str) -> bool:
        return self.match in command or self.match in image


class Settings:
    """Timing and failure rules; read when a deployment or a one-off task starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.rollout_seconds = DEFAULT_ROLLOUT_SECONDS
            self.task_seconds = DEFAULT_TASK_SECONDS
            self.list_page_size = DEFAULT_LIST_PAGE_SIZE
            self.stage_seconds = DEFAULT_STAGE_SECONDS
            self.minute_seconds = DEFAULT_MINUTE_SECONDS
            self.fail_images: list[str] = []
            self.fail_stages: dict[str, str] = {}  # pattern -> stage (blue/green, canary, linear)
            self.task_exits: list[ExitRule] = []

    def config(self) -> dict[str, float]:
        return {
            "rollout_seconds": self.rollout_seconds,
            "task_seconds": self.task_seconds,
            "list_page_size": self.list_page_size,
            "stage_seconds": self.stage_seconds,
            "minute_seconds": self.minute_seconds,
        }

    def set_config(
        self,
        rollout_seconds: float | None = None,
        task_seconds: float | None = None,
        list_page_size: int | None = None,
        stage_seconds: float | None = None,
        minute_seconds: float | None = None,
    ) -> None:
        with self._lock:
            if rollout_seconds is not None:
                self.rollout_seconds = float(rollout_seconds)
            if task_seconds is not None:
                self.task_seconds = float(task_seconds)
            if list_page_size is not None:
                self.list_page_size = int(list_page_size)
            if stage_seconds is not None:
                self.stage_seconds = float(stage_seconds)
            if minute_seconds is not None:
                self.minute_seconds = float(minute_seconds)

    def add_fail_image(self, pattern: str, stage: str | None = None) -> None:
        with self._lock:
            if pattern not in self.fail_images:
                self.fail_images.append(pattern)
            if stage:
                self.fail_stages[pattern] = stage
            else:
                self.fail_stages.pop(pattern, None)

    def clear_fail_images(self) -> None:
        with self._lock:
            self.fail_images = []
            self.fail_stages = {}

    def fail_stage(self, image: str | None) -> str:
        """Where a deployment of a failing image fails (SCALE_UP unless its pattern says)."""
        for p, stage in self.fail_stages.items():
            if image and p in image:
                return stage
        return "SCALE_UP"

    def add_task_exit(self, rule: ExitRule) -> None:
        with self._lock:
            self.task_exits.append(rule)

    def clear_task_exits(self) -> None:
        with self._lock:
            self.task_exits = []

    def failing_image(self, task_definition: ecs_models.TaskDefinition) -> str | None:
        """The first container image of the task definition that matches a fail pattern."""
        patterns = list(self.fail_images)
        for cd in task_definition.container_definitions:
            image = cd.get("image") or ""
            if any(p in image for p in patterns):
                return image
        return None

    def exit_rule(self, command: str, image: str) -> ExitRule | None:
        """The most recently added rule that matches, if any."""
        for rule in reversed(list(self.task_exits)):
            if rule.matches(command, image):
                return rule
        return None


SETTINGS = Settings()

# One lock around every read-modify of simulated state: the server is threaded, and two
# concurrent DescribeServices advancing the same service would otherwise start tasks twice.
_LOCK = threading.RLock()


def _dt(t: float) -> datetime:
    """A wall-clock time as moto stores timestamps (naive UTC)."""
    return datetime.fromtimestamp(t, timezone.utc).replace(tzinfo=None)


def _deployment_id() -> str:
    return f"ecs-svc/{random.randrange(10**18, 10**19)}"


def _breaker_threshold(desired: int) -> int:
    """Failed tasks after which ECS's circuit breaker trips (AWS: 0.5 x desired, 3..200)."""
    return min(200, max(3, math.ceil(desired / 2)))


# --- deployments ---------------------------------------------------------------------------


@dataclass
class Deployment:
    """One ECS deployment of a service, rendered into moto's `Service.deployments`."""

    id: str
    task_definition: str
    desired: int
    t0: float  # when it started (wall clock)
    duration: float  # rollout_seconds when it started
    failing_image: str | None  # matched a fail pattern when it started: it cannot succeed
    rollback: bool  # started by the circuit breaker (a failing rollback does not roll back)
    api: dict[str, Any]  # launchType, networkConfiguration, ... copied from the service
    status: str = "PRIMARY"
    rollout_state: str = "IN_PROGRESS"
    running: int = 0
    pending: int = 0
    failed: int = 0
    failed_tasks_made: int = 0  # STOPPED task objects made for `failed`
    drain_from: int = 0  # running count when it stopped being PRIMARY
    updated: float = 0.0

    def progress(self, t: float) -> None:
        """Counts of the PRIMARY deployment at time t (a completed one follows desiredCount)."""
        if self.rollout_state == "COMPLETED":
            self.running, self.pending = self.desired, 0
            return
        if self.rollout_state == "FAILED":
            self.running, self.pending = 0, 0
            return
        frac = 1.0 if self.duration <= 0 else min(max((t - self.t0) / self.duration, 0.0), 1.0)
        if self.failing_image and self.desired > 0:
            # Tasks keep being launched and keep failing; none ever runs.
            self.running, self.pending = 0, self.desired
            self.failed = math.floor(frac * _breaker_threshold(self.desired))
        else:
            self.running = min(self.desired, math.floor(frac * self.desired))
            self.pending = self.desired - self.running

    def reason(self) -> str:
        if self.rollout_state == "FAILED":
            return CIRCUIT_BREAKER_REASON
        if self.rollout_state == "COMPLETED":
            return f"ECS deployment {self.id} completed."
        return f"ECS deployment {self.id} in progress."

    def to_api(self) -> dict[str, Any]:
        d = {
            "id": self.id,
            "status": self.status,
            "taskDefinition": self.task_definition,
            "desiredCount": self.desired if self.status == "PRIMARY" else self.drain_from,
            "pendingCount": self.pending,
            "runningCount": self.running,
            "failedTasks": self.failed,
            "createdAt": _dt(self.t0),
            "updatedAt": _dt(self.updated),
            "rolloutState": self.rollout_state,
            "rolloutStateReason": self.reason(),
            **self.api,
        }
        return {k: v for k, v in d.items() if v is not None}


@dataclass
class ServiceSim:
    """Simulation state attached to a moto Service as `service.slipway`."""

    deployments: list[Deployment] = field(default_factory=list)  # PRIMARY first
    last_completed_td: str | None = None  # where the circuit breaker rolls back to
    service_deployments: list[ServiceDeployment] = field(default_factory=list)  # oldest first

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]


# Lifecycle stages a hook may name (the API's DeploymentLifecycleHookStage, less those of
# Managed Instances).
HOOK_STAGES = (
    "RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT",
)
DEFAULT_HOOK_TIMEOUT_MINUTES = 1440  # the API's default timeoutInMinutes


@dataclass
class PauseHook:
    """A PAUSE lifecycle hook of one service deployment at one stage: the deployment holds at
    the start of that stage until ContinueServiceDeployment (CONTINUE or ROLLBACK) or the
    timeout (then its timeout action). A minute of timeout takes minute_seconds."""

    hook_id: str
    stage: str
    timeout_seconds: float
    timeout_action: str  # ROLLBACK | CONTINUE
    status: str = "PENDING"  # not reached yet; then AWAITING_ACTION, SUCCEEDED, FAILED, TIMED_OUT
    since: float | None = None  # when the deployment reached the stage
    resolved_at: float | None = None

    @property
    def expires_at(self) -> float | None:
        return None if self.since is None else self.since + self.timeout_seconds

    def to_api(self) -> dict[str, Any]:
        d: dict[str, Any] = {"hookId": self.hook_id, "targetType": "PAUSE", "status": self.status,
                             "timeoutAction": self.timeout_action}
        if self.expires_at is not None:
            d["expiresAt"] = _dt(self.expires_at)
        return d


def _pause_hooks(config: dict[str, Any]) -> list[PauseHook]:
    """The PAUSE hooks of a deploymentConfiguration, one per stage it names."""
    out = []
    for hook in config.get("lifecycleHooks") or []:
        if hook.get("targetType") != "PAUSE":
            continue  # Lambda hooks are not simulated
        timeout = hook.get("timeoutConfiguration") or {}
        minutes = float(timeout.get("timeoutInMinutes") or DEFAULT_HOOK_TIMEOUT_MINUTES)
        for stage in hook.get("lifecycleStages") or []:
            out.append(PauseHook(
                hook_id="ecs-pause-" + base64.urlsafe_b64encode(uuid.uuid4().bytes * 2).decode().rstrip("="),
                stage=stage,
                timeout_seconds=minutes * SETTINGS.minute_seconds,
                timeout_action=timeout.get("action") or "ROLLBACK",
            ))
    return out


@dataclass
class ServiceDeployment:
    """A blue/green, canary or linear deployment as ListServiceDeployments and
    DescribeServiceDeployments show it (moto has neither). Its lifecycle is a schedule fixed
    when it starts: (start time, stage, the new revision's share of production traffic); a
    PAUSE hook holds it at its stage, and the rest of the schedule moves by the time held."""

    arn: str
    service_arn: str
    cluster_arn: str
    target: str  # service revision ARN
    target_td: str
    source: str | None
    source_td: str | None
    config: dict[str, Any]
    schedule: list[tuple[float, str, float]]
    t0: float
    end: float  # when it completes, unless it fails
    fail_at: float | None  # when a failing image strikes (its stage's start)
    status: str = "IN_PROGRESS"
    status_reason: str | None = None
    stopped_at: float | None = None  # a rollback started (alarm, failure, StopServiceDeployment)
    finished_at: float | None = None
    rollback_reason: str | None = None
    triggered: list[str] = field(default_factory=list)
    hooks: list[PauseHook] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)  # hooks' history (control API)

    def held(self) -> PauseHook | None:
        return next((h for h in self.hooks if h.status == "AWAITING_ACTION"), None)

    def clock(self, now: float) -> float:
        """Where the schedule stands at `now`: held at a paused hook's stage."""
        h = self.held()
        return now if h is None or h.since is None else min(now, h.since)

    def resume(self, h: PauseHook, t: float) -> None:
        """Hook h, which held the deployment, is done at t: the rest of the schedule moves by
        the time it held."""
        assert h.since is not None
        delta = t - h.since
        self.schedule = [(start + delta if start > h.since else start, st, w) for start, st, w in self.schedule]
        self.end += delta
        if self.fail_at is not None and self.fail_at > h.since:
            self.fail_at += delta

    def history(self) -> dict[str, Any]:
        """What the control API shows: the schedule as it ran (or will run), and the hooks."""
        return {
            "serviceDeploymentArn": self.arn, "status": self.status, "createdAt": self.t0,
            "stoppedAt": self.stopped_at, "finishedAt": self.finished_at,
            "schedule": [{"at": start, "stage": st, "productionTrafficWeight": w} for start, st, w in self.schedule],
            "hooks": [{"hookId": h.hook_id, "stage": h.stage, "status": h.status, "since": h.since,
                       "resolvedAt": h.resolved_at} for h in self.hooks],
            "events": [{"at": t, "event": e} for t, e in self.events],
        }

    def stage_at(self, t: float) -> tuple[str, float]:
        stage, weight = self.schedule[0][1], 0.0
        for start, st, w in self.schedule:
            if t >= start:
                stage, weight = st, w
        return stage, weight

    def to_api(self, now: float, desired: int) -> dict[str, Any]:
        if self.status == "SUCCESSFUL":
            stage, weight = "CLEAN_UP", 100.0
        elif self.stopped_at is not None:
            stage, weight = self.stage_at(self.stopped_at)[0], 0.0
        else:
            stage, weight = self.stage_at(self.clock(now))
        alarms = self.config.get("alarms") or {}
        names = alarms.get("alarmNames") or []
        if not alarms.get("enable") or not names:
            alarm_status = "DISABLED"
        elif self.triggered:
            alarm_status = "TRIGGERED"
        elif self.status == "SUCCESSFUL":
            alarm_status = "MONITORING_COMPLETE"
        else:
            alarm_status = "MONITORING"
        target_running = desired if self.status in ("IN_PROGRESS", "SUCCESSFUL") and stage not in ("RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP") else 0
        d: dict[str, Any] = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": _dt(self.t0),
            "startedAt": _dt(self.t0),
            "updatedAt": _dt(min(now, self.finished_at or now)),
            "targetServiceRevision": {
                "arn": self.target, "requestedTaskCount": desired, "runningTaskCount": target_running,
                "pendingTaskCount": desired - target_running, "requestedProductionTrafficWeight": weight,
                "requestedTestTrafficWeight": 100.0 if stage not in ("RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP") else 0.0,
            },
            "status": self.status,
            "lifecycleStage": stage,
            "deploymentConfiguration": self.config,
            "alarms": {"status": alarm_status, "alarmNames": names, "triggeredAlarmNames": list(self.triggered)},
        }
        if self.source:
            d["sourceServiceRevisions"] = [{
                "arn": self.source, "requestedTaskCount": desired, "runningTaskCount": desired,
                "pendingTaskCount": 0, "requestedProductionTrafficWeight": 100.0 - weight,
            }]
        if self.status_reason:
            d["statusReason"] = self.status_reason
        reached = [h.to_api() for h in self.hooks if h.status != "PENDING"]
        if reached:
            d["lifecycleHookDetails"] = reached
        if self.finished_at is not None:
            d["finishedAt"] = _dt(self.finished_at)
        if self.stopped_at is not None:
            d["stoppedAt"] = _dt(self.stopped_at)
            d["rollback"] = {"reason": self.rollback_reason, "startedAt": _dt(self.stopped_at),
                             "serviceRevisionArn": self.source}
        return d


def _schedule(config: dict[str, Any], t0: float) -> tuple[list[tuple[float, str, float]], float]:
    """The lifecycle of a blue/green, canary or linear deployment from t0, and when it ends."""
    stage_s, minute_s = SETTINGS.stage_seconds, SETTINGS.minute_seconds
    strategy = config.get("strategy")
    out: list[tuple[float, str, float]] = []
    t = t0

    def add(stage: str, weight: float, seconds: float) -> None:
        nonlocal t
        out.append((t, stage, weight))
        t += seconds

    add("RECONCILE_SERVICE", 0.0, stage_s)
    add("PRE_SCALE_UP", 0.0, stage_s)
    add("SCALE_UP", 0.0, SETTINGS.rollout_seconds)
    add("POST_SCALE_UP", 0.0, stage_s)
    add("TEST_TRAFFIC_SHIFT", 0.0, stage_s)
    add("POST_TEST_TRAFFIC_SHIFT", 0.0, stage_s)
    if strategy == "CANARY":
        c = config.get("canaryConfiguration") or {}
        add("PRODUCTION_TRAFFIC_SHIFT", float(c.get("canaryPercent", 5.0)), float(c.get("canaryBakeTimeInMinutes", 10)) * minute_s)
        add("PRODUCTION_TRAFFIC_SHIFT", 100.0, stage_s)
    elif strategy == "LINEAR":
        lc = config.get("linearConfiguration") or {}
        step = float(lc.get("stepPercent", 10.0))
        wait = float(lc.get("stepBakeTimeInMinutes", 6)) * minute_s
        w = step
        while w < 100.0:
            add("PRODUCTION_TRAFFIC_SHIFT", round(w, 1), wait)
            w += step
        add("PRODUCTION_TRAFFIC_SHIFT", 100.0, stage_s)
    else:
        add("PRODUCTION_TRAFFIC_SHIFT", 100.0, stage_s)
    add("POST_PRODUCTION_TRAFFIC_SHIFT", 100.0, stage_s)
    add("BAKE_TIME", 100.0, float(config.get("bakeTimeInMinutes") or 0) * minute_s)
    add("CLEAN_UP", 100.0, stage_s)
    return out, t


def _alarms_in_alarm(account: str, region: str, names: list[str]) -> list[str]:
    """Which of the alarms are in ALARM in moto's CloudWatch (SetAlarmState sets them)."""
    from moto.cloudwatch.models import cloudwatch_backends

    alarms = cloudwatch_backends[account][region].alarms
    return [n for n in names if n in alarms and alarms[n].state_value == "ALARM"]


# --- tasks ---------------------------------------------------------------------------------


class SimTask(ecs_models.Task):
    """A moto Task whose status the emulator sets from the wall clock.

    moto's Task is a ManagedState that steps one state per DescribeTasks; instances made or
    adopted here get this class instead (`task.__class__ = SimTask`, see `_adopt_task`), so
    `last_status` is plain data and `advance()` does nothing.
    """

    # moto derives a model's service from its module name ("moto.<service>....").
    __module__ = "moto.ecs.models"

    sim_kind: str  # "service" | "oneoff"
    sim_t0: float
    sim_duration: float
    sim_status: str
    sim_user_stopped: bool = False

    @property
    def last_status(self) -> str:
        return self.sim_status

    @last_status.setter
    def last_status(self, value: str) -> None:
        self.sim_status = value

    def advance(self) -> None:
        pass


# One-off task timeline as fractions of task_seconds.
_PENDING_AT, _RUNNING_AT, _EXITED_AT = 0.1, 0.25, 0.8


# --- the backend ---------------------------------------------------------------------------


class RealisticECSBackend(ecs_models.EC2ContainerServiceBackend):
    """moto's ECS backend with rolling deployments, task lifecycles and service tasks."""

    # moto finds a backend's URL table from its module name (moto.ecs.models -> moto.ecs.urls).
    __module__ = "moto.ecs.models"

    # -- services --

    def create_service(  # type: ignore[override]
        self,
        cluster_str: str,
        service_name: str,
        desired_count: int,
        task_definition_str: str | None = None,
        load_balancers: list[dict[str, Any]] | None = None,
        scheduling_strategy: list[dict[str, Any]] | None = None,
        tags: list[dict[str, str]] | None = None,
        deployment_controller: dict[str, str] | None = None,
        launch_type: str | None = None,
        service_registries: list[dict[str, Any]] | None = None,
        platform_version: str | None = None,
        propagate_tags: str = "NONE",
        network_configuration: dict[str, dict[str, list[str]]] | None = None,
        role_arn: str | None = None,
    ) -> ecs_models.Service:
        with _LOCK:
            if task_definition_str:
                td = self.describe_task_definition(task_definition_str)
                self._check_network(td, network_configuration)
            service = super().create_service(
                cluster_str,
                service_name,
                desired_count,
                task_definition_str,
                load_balancers,
                scheduling_strategy,
                tags,
                deployment_controller,
                launch_type,
                service_registries=service_registries,
                platform_version=platform_version,
                propagate_tags=propagate_tags,
                network_configuration=network_configuration,
                role_arn=role_arn,
            )
            now = time.time()
            service.created_at = _dt(now)
            service.deployment_configuration = _merge_deployment_configuration(None, None)
            service.enable_execute_command = False
            service.enable_ecs_managed_tags = False
            service.events = []
            service.slipway = None
            if service.deployment_controller.get("type", "ECS") == "ECS" and service.task_definition:
                # Replace moto's static deployment with one that progresses.
                service.slipway = ServiceSim()
                service.deployments = []
                self._start_deployment(service, service.task_definition, now)
                self._refresh_service(service, now)
            return service

    def apply_create_settings(self, service: ecs_models.Service, settings: dict[str, Any]) -> None:
        """Settings of CreateService that moto's response handler does not pass on."""
        with _LOCK:
            for attr, value in settings.items():
                if attr == "deployment_configuration":
                    value = _merge_deployment_configuration(None, value)
                setattr(service, attr, value)
            sim = getattr(service, "slipway", None)
            config = getattr(service, "deployment_configuration", None) or {}
            if sim is not None and sim.deployments and config.get("strategy") in TRAFFIC_STRATEGIES:
                # CreateService with blue/green, canary or linear: its first deployment follows
                # that lifecycle too (with no revision to shift traffic from).
                self._start_service_deployment(service, sim.primary, sim.primary.t0)
            if settings.get("capacity_provider_strategy"):
                # A service placed by a capacity provider strategy has no launch type: ECS
                # leaves launchType out of DescribeServices (moto would report one).
                service.launch_type = None

    def update_service(self, service_properties: dict[str, Any]) -> ecs_models.Service:
        with _LOCK:
            props = dict(service_properties)
            cluster_str = props.get("cluster") or "default"
            service = self._get_service(cluster_str, props["service"].split("/")[-1])
            if service.status != "ACTIVE":
                raise ECSException("ServiceNotActiveException", "Service was not ACTIVE.")
            now = time.time()
            self._refresh_service(service, now)

            # moto would store the task definition string as given and only renew the
            # deployment id on forceNewDeployment: take those two over.
            td_str = props.pop("task_definition", None)
            force = bool(props.pop("force_new_deployment", False))
            deployment_configuration = props.pop("deployment_configuration", None)
            td = self.describe_task_definition(td_str) if td_str else None
            if td is not None:
                self._check_network(td, props.get("network_configuration") or service.network_configuration)

            # moto sets every other given property (desiredCount, networkConfiguration, ...).
            service = super().update_service(props)
            if deployment_configuration is not None:
                service.deployment_configuration = _merge_deployment_configuration(
                    getattr(service, "deployment_configuration", None), deployment_configuration
                )

            sim: ServiceSim | None = getattr(service, "slipway", None)
            if sim is None:
                if td is not None:
                    service.task_definition = td.arn
                return service
            sim.primary.desired = service.desired_count
            if (td is not None and td.arn != sim.primary.task_definition) or force:
                self._start_deployment(service, td.arn if td else sim.primary.task_definition, now)
            self._refresh_service(service, now)
            return service

    def describe_services(self, cluster_str: str, service_names_or_arns: list[str]):  # type: ignore[override]
        with _LOCK:
            self._refresh_all(time.time())
            return super().describe_services(cluster_str, service_names_or_arns)

    def list_services(self, cluster_str: str, scheduling_strategy: str | None = None, launch_type: str | None = None) -> list[str]:
        with _LOCK:
            self._refresh_all(time.time())
            # Deleted (INACTIVE) services stay describable for a while but are not listed.
            inactive = {s.arn for s in self.services.values() if s.status != "ACTIVE"}
            return [a for a in super().list_services(cluster_str, scheduling_strategy, launch_type) if a not in inactive]

    def delete_service(self, cluster_name: str, service_name: str, force: bool) -> ecs_models.Service:
        with _LOCK:
            now = time.time()
            self._refresh_all(now)
            service = super().delete_service(cluster_name, service_name, force)
            if service.status == "INACTIVE" and getattr(service, "slipway", None):
                for task in self._service_tasks(service):
                    if task.last_status != "STOPPED":
                        self._stop_service_task(task, now, "Service deleted", "ServiceSchedulerInitiated")
                service.slipway = None
                service.deployments = []
                service.running_count = service.pending_count = 0
            return service

    def describe_clusters(self, cluster_names: list[str]):  # type: ignore[override]
        with _LOCK:
            self._refresh_all(time.time())
            clusters, failures = super().describe_clusters(cluster_names)
            # moto keeps these counters by hand; count what is there instead.
            for cluster in clusters:
                tasks = self.tasks.get(cluster.name, {}).values()
                cluster.running_tasks_count = sum(1 for t in tasks if t.last_status == "RUNNING")
                cluster.pending_tasks_count = sum(
                    1 for t in tasks if t.last_status in ("PROVISIONING", "PENDING", "ACTIVATING")
                )
                cluster.active_services_count = sum(
                    1 for s in self.services.values() if s.cluster_name == cluster.name and s.status == "ACTIVE"
                )
            return clusters, failures

    # -- tasks --

    def run_task(  # type: ignore[override]
        self,
        cluster_str: str,
        task_definition_str: str,
        count: int,
        overrides: dict[str, Any] | None,
        started_by: str,
        tags: list[dict[str, str]] | None,
        launch_type: str | None,
        networking_configuration: dict[str, Any] | None = None,
        group: str | None = None,
        platform_version: str | None = None,
        capacity_provider_strategy: list[dict[str, Any]] | None = None,
    ) -> list[ecs_models.Task]:
        with _LOCK:
            tasks = super().run_task(
                cluster_str,
                task_definition_str,
                count,
                overrides,
                started_by,
                tags,
                launch_type,
                networking_configuration,
                group,
                platform_version,
                capacity_provider_strategy,
            )
            td = self.describe_task_definition(task_definition_str)
            now = time.time()
            for task in tasks:
                self._adopt_task(task, td, overrides or {}, now, kind="oneoff")
            return tasks

    def describe_tasks(self, cluster_str: str, tasks: list[str]) -> list[ecs_models.Task]:
        with _LOCK:
            now = time.time()
            self._refresh_all(now)
            found = super().describe_tasks(cluster_str, tasks)
            for task in found:
                if isinstance(task, SimTask) and task.sim_kind == "oneoff":
                    self._refresh_oneoff(task, now)
            return found

    def list_tasks(  # type: ignore[override]
        self,
        cluster_str: str | None = None,
        container_instance: str | None = None,
        family: str | None = None,
        started_by: str | None = None,
        service_name: str | None = None,
        desiredStatus: str | None = None,
    ) -> list[ecs_models.Task]:
        with _LOCK:
            now = time.time()
            self._refresh_all(now)
            for cluster_tasks in self.tasks.values():
                for task in cluster_tasks.values():
                    if isinstance(task, SimTask) and task.sim_kind == "oneoff":
                        self._refresh_oneoff(task, now)
            # ECS lists tasks whose desiredStatus is RUNNING unless asked otherwise.
            found = super().list_tasks(
                cluster_str, container_instance, family, started_by, None, desiredStatus or "RUNNING"
            )
            if service_name:
                service = self._get_service(cluster_str or "default", service_name.split("/")[-1])
                found = [
                    t for t in found if t.group == f"service:{service.name}" and t.cluster_name == service.cluster_name
                ]
            return found

    def stop_task(self, cluster_str: str, task_str: str, reason: str) -> ecs_models.Task:
        with _LOCK:
            now = time.time()
            self._refresh_all(now)
            task = self._find_task(cluster_str, task_str)
            if isinstance(task, SimTask) and task.last_status != "STOPPED":
                if task.sim_kind == "oneoff":
                    self._refresh_oneoff(task, now)
                if task.last_status != "STOPPED":
                    task.sim_user_stopped = True
                    self._stop_service_task(task, now, reason or "Task stopped by user", "UserInitiated", exit_code=143)
                return task
            return super().stop_task(cluster_str, task_str, reason)

    @staticmethod
    def _calculate_task_resource_requirements(task_definition: ecs_models.TaskDefinition) -> dict[str, Any]:  # type: ignore[override]
        """moto's version adds None (-> 500) for containers without memory/memoryReservation,
        which every Fargate task definition with only task-level memory has. Count those as 0
        and fall back to the task-level memory."""
        req: dict[str, Any] = {"CPU": 0, "MEMORY": 0, "PORTS": [], "PORTS_UDP": []}
        for cd in task_definition.container_definitions:
            # CloudFormation passes capitalised keys, boto lower-case ones.
            req["CPU"] += int(cd.get("cpu", cd.get("Cpu", 0)) or 0)
            memory = next(
                (cd[k] for k in ("Memory", "MemoryReservation", "memory", "memoryReservation") if cd.get(k) is not None),
                0,
            )
            req["MEMORY"] += int(memory)
            for pm in cd.get("portMappings", cd.get("PortMappings", [])) or []:
                host_port = pm.get("hostPort", pm.get("HostPort"))
                if host_port is not None:
                    req["PORTS"].append(host_port)
        if not req["MEMORY"] and task_definition.memory:
            try:
                req["MEMORY"] = int(task_definition.memory)
            except ValueError:  # "2 GB" is valid ECS syntax too
                pass
        return req

    # -- simulation internals --

    def _check_network(self, td: ecs_models.TaskDefinition, network_configuration: dict[str, Any] | None) -> None:
        # ECS refuses this at CreateService/UpdateService; moto would fail later, on the tasks.
        if td.network_mode == "awsvpc" and not (network_configuration or {}).get("awsvpcConfiguration"):
            raise InvalidParameterException(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified."
            )

    def _refresh_all(self, now: float) -> None:
        for service in list(self.services.values()):
            if service.status == "ACTIVE" and getattr(service, "slipway", None):
                self._refresh_service(service, now)

    def _start_deployment(self, service: ecs_models.Service, td_arn: str, t: float, rollback: bool = False) -> Deployment:
        sim: ServiceSim = service.slipway
        for d in sim.deployments:
            if d.status == "PRIMARY":
                d.status = "ACTIVE"
                d.drain_from = d.running
                d.pending = 0
                d.updated = t
        td = self.describe_task_definition(td_arn)
        api = {
            "launchType": service.launch_type,
            "platformVersion": service.platform_version,
            "platformFamily": "Linux" if service.launch_type == "FARGATE" else None,
            "networkConfiguration": service.network_configuration or None,
            "capacityProviderStrategy": getattr(service, "capacity_provider_strategy", None),
        }
        dep = Deployment(
            id=_deployment_id(),
            task_definition=td.arn,
            desired=service.desired_count,
            t0=t,
            duration=SETTINGS.rollout_seconds,
            failing_image=SETTINGS.failing_image(td),
            rollback=rollback,
            api=api,
            updated=t,
        )
        sim.deployments.insert(0, dep)
        config = getattr(service, "deployment_configuration", None) or {}
        if not rollback and config.get("strategy") in TRAFFIC_STRATEGIES:
            self._start_service_deployment(service, dep, t)
        return dep

    def _revision_arn(self, service: ecs_models.Service) -> str:
        cluster = service.cluster_arn.rsplit("/", 1)[-1]
        return f"arn:{get_partition(self.region_name)}:ecs:{self.region_name}:{self.account_id}:service-revision/{cluster}/{service.name}/{random.randrange(10**18, 10**19)}"

    def _start_service_deployment(self, service: ecs_models.Service, dep: Deployment, t: float) -> None:
        """A blue/green, canary or linear deployment: its lifecycle follows `_schedule`, the
        tasks' rollout spans all of it, and a failing image fails at its stage (then ECS rolls
        back, as it does)."""
        sim: ServiceSim = service.slipway
        config = {k: (dict(v) if isinstance(v, dict) else v) for k, v in service.deployment_configuration.items()}
        schedule, end = _schedule(config, t)
        fail_at = None
        if dep.failing_image:
            stage = SETTINGS.fail_stage(dep.failing_image)
            fail_at = next(start for start, st, _ in schedule if st == stage)
            if stage == "SCALE_UP":
                fail_at += SETTINGS.rollout_seconds  # the tasks fail to start by its end
            dep.failing_image = None  # the service deployment fails, not the tasks' rollout
        dep.duration = end - t
        cluster = service.cluster_arn.rsplit("/", 1)[-1]
        previous = sim.service_deployments[-1] if sim.service_deployments else None
        if sim.last_completed_td is None:
            source = None
        elif previous and previous.target_td == sim.last_completed_td:
            source = previous.target
        else:
            source = self._revision_arn(service)
        sim.service_deployments.append(ServiceDeployment(
            arn=f"arn:{get_partition(self.region_name)}:ecs:{self.region_name}:{self.account_id}:service-deployment/{cluster}/{service.name}/{random.randrange(10**18, 10**19)}",
            service_arn=service.arn,
            cluster_arn=service.cluster_arn,
            target=self._revision_arn(service),
            target_td=dep.task_definition,
            source=source,
            source_td=sim.last_completed_td,
            config=config,
            schedule=schedule,
            t0=t,
            end=end,
            fail_at=fail_at,
            hooks=_pause_hooks(config),
        ))
        # A newer deployment replaces one still under way (ECS stops it).
        for older in sim.service_deployments[:-1]:
            if older.status == "IN_PROGRESS":
                older.status, older.status_reason, older.finished_at = "STOPPED", "replaced by a newer deployment", t

    def _refresh_service_deployments(self, service: ecs_models.Service, now: float) -> None:
        """Advance the newest service deployment to `now`: a failure at its time, an alarm in
        ALARM (seen now), completion, and the end of a rollback."""
        sim: ServiceSim = service.slipway
        if not sim.service_deployments:
            return
        sd = sim.service_deployments[-1]
        stage_s = SETTINGS.stage_seconds
        if sd.status == "IN_PROGRESS":
            self._reach_hooks(service, sd, now)
        if sd.status == "IN_PROGRESS":
            alarms = sd.config.get("alarms") or {}
            fired = _alarms_in_alarm(self.account_id, self.region_name, alarms.get("alarmNames") or []) if alarms.get("enable") else []
            if sd.held() is not None:
                # Held at a hook: only what already struck (a failure before the hook's stage,
                # an alarm) moves it.
                if sd.fail_at is not None and sd.fail_at <= sd.clock(now):
                    stage = sd.stage_at(sd.fail_at)[0]
                    self._roll_back_service_deployment(service, sd, sd.fail_at, f"the new revision failed during {stage}")
                elif fired:
                    self._alarm_fired(service, sd, fired, alarms, now)
            elif sd.fail_at is not None and sd.fail_at <= min(now, sd.end):
                stage = sd.stage_at(sd.fail_at)[0]
                self._roll_back_service_deployment(service, sd, sd.fail_at, f"the new revision failed during {stage}")
            elif fired and now < sd.end:
                self._alarm_fired(service, sd, fired, alarms, now)
            elif now >= sd.end:
                sd.status, sd.finished_at = "SUCCESSFUL", sd.end
                sd.status_reason = "Service deployment completed successfully."
        if sd.status == "ROLLBACK_IN_PROGRESS" and sd.stopped_at is not None and now >= sd.stopped_at + stage_s:
            sd.status, sd.finished_at = "ROLLBACK_SUCCESSFUL", sd.stopped_at + stage_s

    def _alarm_fired(self, service: ecs_models.Service, sd: ServiceDeployment, fired: list[str],
                     alarms: dict[str, Any], now: float) -> None:
        """Alarms in ALARM: a rollback when the deployment asks for one, else it stops."""
        sd.triggered = fired
        why = f"alarm(s) in ALARM: {', '.join(fired)}"
        if alarms.get("rollback"):
            self._roll_back_service_deployment(service, sd, now, why)
        else:
            held = sd.held()
            if held is not None:
                held.status, held.resolved_at = "FAILED", now
            sd.status, sd.status_reason, sd.finished_at = "STOPPED", why, now

    def _reach_hooks(self, service: ecs_models.Service, sd: ServiceDeployment, now: float) -> None:
        """Hold at each PAUSE hook's stage once the schedule reaches it, and apply the timeout
        action of one that waited too long (one hook at a time, in the schedule's order)."""
        while sd.status == "IN_PROGRESS":
            h = sd.held()
            if h is not None:
                expires = h.expires_at
                if expires is None or now < expires:
                    return
                h.status = "TIMED_OUT"
                sd.events.append((expires, f"{h.stage} hook timed out: {h.timeout_action}"))
                self._resume(service, sd, h, expires)
                if h.timeout_action == "CONTINUE":
                    continue
                self._roll_back_service_deployment(service, sd, expires, f"the {h.stage} lifecycle hook timed out")
                return
            starts = {st: start for start, st, _ in reversed(sd.schedule)}  # each stage's first start
            nxt = min(
                (x for x in sd.hooks if x.status == "PENDING" and x.stage in starts),
                key=lambda x: starts[x.stage], default=None,
            )
            if nxt is None or starts[nxt.stage] > now:
                return
            if sd.fail_at is not None and sd.fail_at < starts[nxt.stage]:
                return  # the failure strikes first
            nxt.status, nxt.since = "AWAITING_ACTION", starts[nxt.stage]
            sd.events.append((nxt.since, f"{nxt.stage} hook AWAITING_ACTION"))
            # The tasks' rollout spans the lifecycle: it may last as long as the hook holds.
            green = next((d for d in service.slipway.deployments if d.task_definition == sd.target_td), None)
            if green is not None:
                green.duration += nxt.timeout_seconds

    def _resume(self, service: ecs_models.Service, sd: ServiceDeployment, h: PauseHook, t: float) -> None:
        sd.resume(h, t)
        if h.status == "AWAITING_ACTION":
            h.status = "SUCCEEDED"
        h.resolved_at = t
        green = next((d for d in service.slipway.deployments if d.task_definition == sd.target_td), None)
        if green is not None:
            green.duration = sd.end - green.t0

    def _service_deployment(self, arn: str, now: float) -> tuple[ecs_models.Service, ServiceDeployment]:
        """The service deployment `arn` and its service, brought up to `now` (under _LOCK)."""
        for service in self.services.values():
            sim = getattr(service, "slipway", None)
            for sd in sim.service_deployments if sim else []:
                if sd.arn == arn:
                    self._refresh_service(service, now)
                    return service, sd
        raise ECSException("ServiceDeploymentNotFoundException", f"Service deployment {arn} not found.")

    def continue_service_deployment(self, arn: str, hook_id: str, action: str) -> str:
        """ContinueServiceDeployment: the hook must be AWAITING_ACTION and the deployment
        IN_PROGRESS (the API reference's prerequisites)."""
        with _LOCK:
            now = time.time()
            service, sd = self._service_deployment(arn, now)
            hook = next((h for h in sd.hooks if h.hook_id == hook_id), None)
            if hook is None:
                raise InvalidParameterException(f"The hook {hook_id} is not a hook of {arn}.")
            if sd.status != "IN_PROGRESS" or hook.status != "AWAITING_ACTION":
                raise InvalidParameterException(
                    f"The hook {hook_id} is {hook.status} and the service deployment {sd.status}: "
                    "only a hook in AWAITING_ACTION of a deployment IN_PROGRESS can be continued."
                )
            sd.events.append((now, f"{hook.stage} hook {action}"))
            if action == "ROLLBACK":
                hook.status = "FAILED"
                self._resume(service, sd, hook, now)
                self._roll_back_service_deployment(service, sd, now, "ContinueServiceDeployment asked for a rollback")
            else:
                self._resume(service, sd, hook, now)
            self._refresh_service(service, now)
            return arn

    def service_deployment_histories(self) -> list[dict[str, Any]]:
        with _LOCK:
            now = time.time()
            self._refresh_all(now)
            out = []
            for service in self.services.values():
                sim = getattr(service, "slipway", None)
                for sd in sim.service_deployments if sim else []:
                    out.append({"service": service.name, **sd.history()})
            return out

    def _roll_back_service_deployment(self, service: ecs_models.Service, sd: ServiceDeployment, t: float, reason: str) -> None:
        sim: ServiceSim = service.slipway
        held = sd.held()
        if held is not None:
            held.status, held.resolved_at = "FAILED", t
        sd.status, sd.stopped_at = "ROLLBACK_IN_PROGRESS", t
        sd.status_reason = sd.rollback_reason = f"Service deployment rolled back because {reason}."
        green = next((d for d in sim.deployments if d.task_definition == sd.target_td), None)
        if green is not None:
            sim.deployments.remove(green)
        if sd.source_td:
            back = self._start_deployment(service, sd.source_td, t, rollback=True)
            back.duration = SETTINGS.stage_seconds  # blue never stopped serving
        else:
            # A new service has nothing to go back to: ECS stops the deployment.
            sd.status, sd.finished_at = "STOPPED", t
            sd.status_reason = f"Service deployment stopped because {reason} (no earlier revision to roll back to)."
        self._event(service, t, f"(service {service.name}) {sd.status_reason}")

    def stop_service_deployment(self, arn: str, stop_type: str) -> str:
        with _LOCK:
            now = time.time()
            service, sd = self._service_deployment(arn, now)
            if sd.status != "IN_PROGRESS":
                raise ECSException("ConflictException", f"The service deployment is {sd.status}.")
            if stop_type == "ABORT":
                sd.status, sd.status_reason, sd.stopped_at, sd.finished_at = "STOPPED", "Stopped by StopServiceDeployment.", now, now
            else:
                self._roll_back_service_deployment(service, sd, now, "StopServiceDeployment asked for it")
            self._refresh_service(service, now)
            return arn

    def service_deployments_of(self, cluster_str: str, service_str: str) -> list[tuple[ServiceDeployment, int]]:
        with _LOCK:
            now = time.time()
            service = self._get_service(cluster_str, service_str.split("/")[-1])
            self._refresh_service(service, now)
            sim = getattr(service, "slipway", None)
            return [(sd, service.desired_count) for sd in (sim.service_deployments if sim else [])]

    def find_service_deployments(self, arns: list[str]) -> list[dict[str, Any]]:
        with _LOCK:
            now = time.time()
            self._refresh_all(now)
            found = {}
            for service in self.services.values():
                sim = getattr(service, "slipway", None)
                for sd in sim.service_deployments if sim else []:
                    if sd.arn in arns:
                        found[sd.arn] = sd.to_api(now, service.desired_count)
            return [found[a] for a in arns if a in found]

    def _refresh_service(self, service: ecs_models.Service, now: float) -> None:
        """Advance a service's deployments to `now`, one transition at a time, so that each
        transition (completion, failure, rollback) happens at its own time even when nobody
        looked for a while."""
        sim: ServiceSim | None = getattr(service, "slipway", None)
        if sim is None or not sim.deployments:
            return
        self._refresh_service_deployments(service, now)
        name = service.name
        while True:
            primary = sim.primary
            end = primary.t0 + primary.duration
            if primary.rollout_state != "IN_PROGRESS" or now < end:
                self._apply_counts(service, now)
                break
            self._apply_counts(service, end)
            if not primary.failing_image or primary.desired == 0:
                primary.rollout_state = "COMPLETED"
                primary.updated = end
                sim.deployments = [primary]  # the ACTIVE ones have drained
                sim.last_completed_td = primary.task_definition
                self._apply_counts(service, end)
                self._event(service, end, f"(service {name}) (deployment {primary.id}) deployment completed.")
                self._event(service, end, f"(service {name}) has reached a steady state.")
                continue
            primary.rollout_state = "FAILED"
            primary.failed = _breaker_threshold(primary.desired)
            primary.updated = end
            self._apply_counts(service, end)
            self._event(service, end, f"(service {name}) deployment {primary.id} deployment failed: tasks failed to start.")
            breaker = (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
            if breaker.get("enable") and breaker.get("rollback") and sim.last_completed_td and not primary.rollback:
                sim.deployments.remove(primary)
                dep = self._start_deployment(service, sim.last_completed_td, end, rollback=True)
                self._event(
                    service,
                    end,
                    f"(service {name}) rolling back to deployment {dep.id} with task definition {dep.task_definition}.",
                )
        service.deployments = [d.to_api() for d in sim.deployments]
        service.task_definition = sim.primary.task_definition
        service.running_count = sum(d.running for d in sim.deployments)
        service.pending_count = sum(d.pending for d in sim.deployments)

    def _apply_counts(self, service: ecs_models.Service, t: float) -> None:
        """Counts of every deployment at time t, then the task objects to match them."""
        sim: ServiceSim = service.slipway
        primary = sim.primary
        before = (primary.running, primary.pending, primary.failed)
        primary.progress(t)
        if (primary.running, primary.pending, primary.failed) != before:
            primary.updated = t
        # ACTIVE deployments drain as the new one comes up (minimumHealthyPercent 100):
        # oldest first, one old task stopped per new task running.
        budget = primary.running
        for d in reversed(sim.deployments[1:]):
            stop = min(d.drain_from, budget)
            budget -= stop
            if d.running != d.drain_from - stop:
                d.running = d.drain_from - stop
                d.updated = t
        self._sync_tasks(service, t)

    def _service_tasks(self, service: ecs_models.Service) -> list[SimTask]:
        group = f"service:{service.name}"
        return [
            t
            for t in self.tasks.get(service.cluster_name, {}).values()
            if isinstance(t, SimTask) and t.sim_kind == "service" and t.group == group
        ]

    def _sync_tasks(self, service: ecs_models.Service, t: float) -> None:
        """Start and stop task objects so each deployment has `running` RUNNING tasks, and
        make a STOPPED task for every failed launch."""
        sim: ServiceSim = service.slipway
        name = service.name
        cluster = self.clusters[service.cluster_name]
        live = {d.id: d for d in sim.deployments}
        scaling_reason = f"Scaling activity initiated by (deployment {sim.primary.id})"
        running: dict[str, list[SimTask]] = {}
        stopped: list[SimTask] = []
        for task in self._service_tasks(service):
            if task.last_status != "RUNNING":
                continue
            if task.started_by in live:
                running.setdefault(task.started_by, []).append(task)
            else:
                stopped.append(task)
        started: list[SimTask] = []
        for d in sim.deployments:
            have = running.get(d.id, [])
            if len(have) > d.running:
                stopped.extend(have[d.running :])
            td = None
            for _ in range(d.running - len(have)):
                td = td or self.describe_task_definition(d.task_definition)
                task = self._service_task(service, cluster, td, d, t)
                if task is not None:
                    started.append(task)
            while d.failed_tasks_made < d.failed:
                td = td or self.describe_task_definition(d.task_definition)
                self._failed_task(service, cluster, td, d, t)
                d.failed_tasks_made += 1
        for task in stopped:
            self._stop_service_task(task, t, scaling_reason, "ServiceSchedulerInitiated")
        if started:
            ids = " ".join(f"(task {task.id})" for task in started)
            self._event(service, t, f"(service {name}) has started {len(started)} tasks: {ids}.")
        if stopped:
            ids = " ".join(f"(task {task.id})" for task in stopped)
            self._event(service, t, f"(service {name}) has stopped {len(stopped)} running tasks: {ids}.")

    def _new_task(
        self,
        service: ecs_models.Service,
        cluster: ecs_models.Cluster,
        td: ecs_models.TaskDefinition,
        dep: Deployment,
        t: float,
    ) -> SimTask | None:
        tags = []
        if service.propagate_tags == "SERVICE":
            tags = list(service.tags)
        elif service.propagate_tags == "TASK_DEFINITION":
            tags = list(td.tags)
        if getattr(service, "enable_ecs_managed_tags", False):
            tags += [
                {"key": "aws:ecs:clusterName", "value": cluster.name},
                {"key": "aws:ecs:serviceName", "value": service.name},
            ]
        try:
            task = ecs_models.Task(
                cluster=cluster,
                task_definition=td,
                container_instance_arn=None,
                resource_requirements=self._calculate_task_resource_requirements(td),
                backend=self,
                group=f"service:{service.name}",
                launch_type=service.launch_type or "",
                started_by=dep.id,
                tags=tags,
                networking_configuration=service.network_configuration or None,
                platform_version=service.platform_version,
            )
        except Exception as e:  # never let a read (DescribeServices) fail on a task object
            print(f"ecs_realism: cannot make a task for service {service.name}: {e!r}", file=sys.stderr)
            return None
        self._adopt_task(task, td, {}, t, kind="service")
        self.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        return task

    def _service_task(self, service, cluster, td, dep: Deployment, t: float) -> SimTask | None:
        task = self._new_task(service, cluster, td, dep, t)
        if task is not None:
            task.last_status = "RUNNING"
            task.connectivity = "CONNECTED"
            task.connectivity_at = task.pull_started_at = task.pull_stopped_at = task.started_at = _dt(t)
            for c in task.containers:
                c.last_status = "RUNNING"
        return task

    def _failed_task(self, service, cluster, td, dep: Deployment, t: float) -> None:
        task = self._new_task(service, cluster, td, dep, t)
        if task is None:
            return
        reason = (
            f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
            f"failed to resolve ref {dep.failing_image}: not found"
        )
        task.pull_started_at = _dt(t)
        for c in task.containers:
            c.last_status = "STOPPED"
            if c.image == dep.failing_image:
                c.reason = reason
        self._stopped(task, t, reason, "TaskFailedToStart")

    def _stop_service_task(self, task: SimTask, t: float, reason: str, stop_code: str, exit_code: int = 0) -> None:
        for c in task.containers:
            if c.last_status == "RUNNING":
                c.exitCode = exit_code
            c.last_status = "STOPPED"
        task.stopping_at = task.execution_stopped_at = _dt(t)
        self._stopped(task, t, reason, stop_code)

    def _stopped(self, task: SimTask, t: float, reason: str, stop_code: str) -> None:
        task.last_status = "STOPPED"
        task.desired_status = "STOPPED"
        task.stopped_reason = reason
        task.stop_code = stop_code
        task.stopped_at = _dt(t)
        self._release_eni(task)

    def _adopt_task(self, task: ecs_models.Task, td: ecs_models.TaskDefinition, overrides: dict[str, Any], t: float, kind: str) -> None:
        """Make a moto Task a SimTask with one container per container definition (moto
        describes the first container only) and the fields a real task has."""
        task.__class__ = SimTask
        task.sim_kind = kind
        task.sim_t0 = t
        task.sim_duration = SETTINGS.task_seconds
        task.sim_status = "PROVISIONING"
        task.desired_status = "RUNNING"
        task.stopped_reason = None
        task.created_at = _dt(t)
        task.cpu = overrides.get("cpu") or td.cpu
        task.memory = overrides.get("memory") or td.memory
        task.availability_zone = self._availability_zone(task)
        by_name = {o.get("name"): o for o in overrides.get("containerOverrides") or []}
        task.containers = []
        essential_rule = None
        for cd in td.container_definitions:
            c = ecs_models.Container(td)  # moto's container, then describe this definition
            c.name = cd.get("name")
            c.image = cd.get("image")
            c.task_arn = task.task_arn
            c.container_arn = (
                f"arn:{get_partition(task.region_name)}:ecs:{task.region_name}:{self.account_id}:"
                f"container/{task.cluster_name}/{task.id}/{uuid.uuid4()}"
            )
            c.cpu = str(cd.get("cpu", 0))
            c.memory = str(cd["memory"]) if cd.get("memory") is not None else None
            c.memory_reservation = str(cd["memoryReservation"]) if cd.get("memoryReservation") is not None else None
            c.exitCode = None
            c.reason = None
            c.health_status = "UNKNOWN"
            c.last_status = "PENDING"
            eni_ip = _attachment_detail(task, "privateIPv4Address")
            if eni_ip:
                c.network_interfaces = [{"attachmentId": task.attachments[0]["id"], "privateIpv4Address": eni_ip}]
            command = (by_name.get(c.name) or {}).get("command") or cd.get("command") or []
            rule = SETTINGS.exit_rule(" ".join(command), c.image or "") if kind == "oneoff" else None
            c.sim_exit_code = rule.exit_code if rule else DEFAULT_EXIT_CODE
            if rule and essential_rule is None and cd.get("essential", True):
                essential_rule = rule
            task.containers.append(c)
        task.sim_stop_reason = essential_rule.reason if essential_rule else DEFAULT_STOP_REASON

    def _refresh_oneoff(self, task: SimTask, now: float) -> None:
        """PROVISIONING -> PENDING -> RUNNING -> DEPROVISIONING -> STOPPED over task_seconds."""
        if task.sim_user_stopped or task.last_status == "STOPPED":
            return
        T, t0 = task.sim_duration, task.sim_t0
        frac = 1.0 if T <= 0 else (now - t0) / T

        def at(f: float) -> datetime:
            return _dt(t0 + f * T)

        if frac >= _PENDING_AT:
            task.last_status = "PENDING"
            task.pull_started_at = at(_PENDING_AT)
        if frac >= _RUNNING_AT:
            task.last_status = "RUNNING"
            task.pull_stopped_at = task.started_at = task.connectivity_at = at(_RUNNING_AT)
            task.connectivity = "CONNECTED"
            for c in task.containers:
                c.last_status = "RUNNING"
        if frac >= _EXITED_AT:
            # The essential container exited: ECS stops the task.
            task.last_status = "DEPROVISIONING"
            task.desired_status = "STOPPED"
            task.stopping_at = task.execution_stopped_at = at(_EXITED_AT)
            task.stop_code = "EssentialContainerExited"
            task.stopped_reason = task.sim_stop_reason
            for c in task.containers:
                c.last_status = "STOPPED"
                c.exitCode = c.sim_exit_code
        if frac >= 1.0:
            self._stopped(task, t0 + T, task.sim_stop_reason, "EssentialContainerExited")

    def _find_task(self, cluster_str: str, task_str: str) -> ecs_models.Task | None:
        cluster = self._get_cluster(cluster_str)
        task_id = task_str.split("/")[-1]
        for arn, task in self.tasks.get(cluster.name, {}).items():
            if arn.endswith(task_id):
                return task
        return None

    def _availability_zone(self, task: ecs_models.Task) -> str | None:
        subnet_id = _attachment_detail(task, "subnetId")
        if not subnet_id:
            return None
        try:
            return ec2_backends[self.account_id][self.region_name].get_subnet(subnet_id).availability_zone
        except Exception:
            return None

    def _release_eni(self, task: ecs_models.Task) -> None:
        """A stopped task's network interface goes away, as in ECS."""
        for att in task.attachments:
            if att.get("type") != "ElasticNetworkInterface" or att.get("status") == "DELETED":
                continue
            eni_id = next((d["value"] for d in att["details"] if d["name"] == "networkInterfaceId"), None)
            try:
                ec2_backends[self.account_id][self.region_name].delete_network_interface(eni_id)
            except Exception:
                pass
            att["status"] = "DELETED"

    @staticmethod
    def _event(service: ecs_models.Service, t: float, message: str) -> None:
        service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": _dt(t), "message": message})
        del service.events[MAX_SERVICE_EVENTS:]


def _attachment_detail(task: ecs_models.Task, name: str) -> str | None:
    for att in task.attachments:
        for d in att.get("details", []):
            if d.get("name") == name:
                return d.get("value")
    return None


def _merge_deployment_configuration(current: dict[str, Any] | None, given: dict[str, Any] | None) -> dict[str, Any]:
    """ECS's defaults, then what the service had, then what the request gives."""
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_DEPLOYMENT_CONFIGURATION.items()}
    for source in (current or {}, given or {}):
        for k, v in source.items():
            if isinstance(v, dict) and isinstance(merged.get(k), dict):
                merged[k] = {**merged[k], **v}
            else:
                merged[k] = v
    return merged


# --- installation --------------------------------------------------------------------------

# CreateService parameters moto's response handler drops, and the Service attribute each is
# kept in (the serializer finds them by botocore's snake_case name).
_CREATE_SERVICE_SETTINGS = {
    "deploymentConfiguration": "deployment_configuration",
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "enableExecuteCommand": "enable_execute_command",
    "enableECSManagedTags": "enable_ecs_managed_tags",
    "placementConstraints": "placement_constraints",
    "placementStrategy": "placement_strategy",
    "capacityProviderStrategy": "capacity_provider_strategy",
    "availabilityZoneRebalancing": "availability_zone_rebalancing",
}

_moto_create_service = EC2ContainerServiceResponse.create_service


def _create_service_keeping_settings(self: EC2ContainerServiceResponse):  # type: ignore[no-untyped-def]
    result = _moto_create_service(self)
    settings = {}
    for param, attr in _CREATE_SERVICE_SETTINGS.items():
        value = self._get_param(param)
        if value is not None:
            settings[attr] = value
    self.ecs_backend.apply_create_settings(result.result["service"], settings)
    return result


def _list_task_definitions(self: EC2ContainerServiceResponse):  # type: ignore[no-untyped-def]
    """ListTaskDefinitions as AWS answers it (moto ignores sort and paging and answers in
    registration order): ASC by family then revision unless sort=DESC, at most maxResults
    (default 100, and at most the emulator's page size) per page, with an opaque nextToken."""
    from moto.core.responses import ActionResult

    family = self._get_param("familyPrefix")
    status = self._get_param("status", "ACTIVE")
    order = (self._get_param("sort") or "ASC").upper()
    if order not in ("ASC", "DESC"):
        raise InvalidParameterException(f"Invalid sort order: {order}")
    max_results = self._get_param("maxResults")
    if max_results is not None and not 1 <= int(max_results) <= 100:
        raise InvalidParameterException("maxResults must be between 1 and 100.")
    page = min(int(max_results or 100), SETTINGS.list_page_size)
    tds = [
        td
        for by_rev in self.ecs_backend.task_definitions.values()
        for td in by_rev.values()
        if (family is None or td.family == family) and td.status == status
    ]
    tds.sort(key=lambda td: (td.family, td.revision), reverse=order == "DESC")
    token = self._get_param("nextToken")
    start = 0
    if token:
        try:
            start = int(base64.b64decode(token).decode().split(":", 1)[1])
        except Exception:
            raise InvalidParameterException("Invalid nextToken")
    arns = [td.arn for td in tds[start : start + page]]
    out: dict[str, Any] = {"taskDefinitionArns": arns}
    if start + page < len(tds):
        out["nextToken"] = base64.b64encode(f"offset:{start + page}".encode()).decode()
    return ActionResult(out)


def _create_service_idempotent(self: EC2ContainerServiceResponse):  # type: ignore[no-untyped-def]
    """CreateService as ECS treats a name that is taken: the same clientToken (a retry whose
    answer was lost) gets the existing service back; anything else is refused ("Creation of
    service was not idempotent."), where moto would replace the service."""
    from moto.core.responses import ActionResult

    cluster_str = self._get_param("cluster", "default")
    name = self._get_param("serviceName")
    token = self._get_param("clientToken")
    with _LOCK:
        try:
            existing = self.ecs_backend._get_service(cluster_str, name)
        except Exception:
            existing = None
        if existing is not None and existing.status == "ACTIVE":
            if token and getattr(existing, "slipway_client_token", None) == token:
                self.ecs_backend._refresh_service(existing, time.time())
                return ActionResult({"service": existing})
            raise InvalidParameterException("Creation of service was not idempotent.")
        result = _create_service_keeping_settings(self)
        result.result["service"].slipway_client_token = token
        return result


_moto_run_task = EC2ContainerServiceResponse.run_task


def _run_task_idempotent(self: EC2ContainerServiceResponse):  # type: ignore[no-untyped-def]
    """RunTask with a clientToken ECS has seen answers the tasks that call started (a retry
    whose answer was lost starts nothing twice)."""
    token = self._get_param("clientToken")
    backend = self.ecs_backend
    with _LOCK:
        seen = getattr(backend, "slipway_run_tokens", None)
        if seen is None:
            seen = backend.slipway_run_tokens = {}
        if token and token in seen:
            from moto.core.responses import ActionResult

            return ActionResult({"tasks": seen[token], "failures": []})
        result = _moto_run_task(self)
        if token:
            seen[token] = result.result["tasks"]
        return result


def _epoch(v: Any) -> float | None:
    """A timestamp parameter: moto parses it into a datetime (naive UTC, or aware), or leaves
    the epoch seconds the JSON carried."""
    if v is None:
        return None
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=timezone.utc)).timestamp()
    return float(v)


def _list_service_deployments(self: EC2ContainerServiceResponse):  # type: ignore[no-untyped-def]
    """ListServiceDeployments (moto has none): the service's blue/green, canary and linear
    deployments, filtered by status and createdAt, oldest first, maxResults (default 20) per
    page with an opaque nextToken. The API reference promises no order: callers must not rely
    on this one."""
    from moto.core.responses import ActionResult

    service = self._get_param("service")
    cluster = self._get_param("cluster", "default")
    statuses = self._get_param("status") or []
    created = self._get_param("createdAt") or {}
    after, before = _epoch(created.get("after")), _epoch(created.get("before"))
    max_results = int(self._get_param("maxResults") or 20)
    if not 1 <= max_results <= 100:
        raise InvalidParameterException("maxResults must be between 1 and 100.")
    rows = []
    for sd, _ in self.ecs_backend.service_deployments_of(cluster, service):
        if statuses and sd.status not in statuses:
            continue
        if (after is not None and sd.t0 < after) or (before is not None and sd.t0 > before):
            continue
        brief = {
            "serviceDeploymentArn": sd.arn, "serviceArn": sd.service_arn, "clusterArn": sd.cluster_arn,
            "createdAt": _dt(sd.t0), "startedAt": _dt(sd.t0), "targetServiceRevisionArn": sd.target,
            "status": sd.status,
        }
        if sd.finished_at is not None:
            brief["finishedAt"] = _dt(sd.finished_at)
        if sd.status_reason:
            brief["statusReason"] = sd.status_reason
        rows.append(brief)
    token = self._get_param("nextToken")
    start = int(base64.b64decode(token).decode().split(":", 1)[1]) if token else 0
    out: dict[str, Any] = {"serviceDeployments": rows[start : start + max_results]}
    if start + max_results < len(rows):
        out["nextToken"] = base64.b64encode(f"offset:{start + max_results}".encode()).decode()
    return ActionResult(out)


def _describe_service_deployments(self: EC2ContainerServiceResponse):  # type: ignore[no-untyped-def]
    """DescribeServiceDeployments (moto has none): 1 to 20 ARNs; unknown ones are failures."""
    from moto.core.responses import ActionResult

    arns = self._get_param("serviceDeploymentArns") or []
    if not 1 <= len(arns) <= 20:
        raise InvalidParameterException("serviceDeploymentArns must hold 1 to 20 ARNs.")
    found = self.ecs_backend.find_service_deployments(arns)
    known = {d["serviceDeploymentArn"] for d in found}
    failures = [{"arn": a, "reason": "MISSING"} for a in arns if a not in known]
    return ActionResult({"serviceDeployments": found, "failures": failures})


def _stop_service_deployment(self: EC2ContainerServiceResponse):  # type: ignore[no-untyped-def]
    """StopServiceDeployment (moto has none): ROLLBACK (default) or ABORT."""
    from moto.core.responses import ActionResult

    arn = self._get_param("serviceDeploymentArn")
    stop_type = self._get_param("stopType") or "ROLLBACK"
    if stop_type not in ("ROLLBACK", "ABORT"):
        raise InvalidParameterException(f"Invalid stopType: {stop_type}")
    return ActionResult({"serviceDeploymentArn": self.ecs_backend.stop_service_deployment(arn, stop_type)})


def _continue_service_deployment(self: EC2ContainerServiceResponse):  # type: ignore[no-untyped-def]
    """ContinueServiceDeployment (moto has none): CONTINUE (default) or ROLLBACK a PAUSE hook."""
    from moto.core.responses import ActionResult

    arn = self._get_param("serviceDeploymentArn")
    hook_id = self._get_param("hookId")
    action = self._get_param("action") or "CONTINUE"
    if not arn or not hook_id:
        raise InvalidParameterException("serviceDeploymentArn and hookId are required.")
    if action not in ("CONTINUE", "ROLLBACK"):
        raise InvalidParameterException(f"Invalid action: {action}")
    return ActionResult({"serviceDeploymentArn": self.ecs_backend.continue_service_deployment(arn, hook_id, action)})


def install() -> None:
    """Make moto build RealisticECSBackend for every account and region, and keep the
    CreateService settings. Idempotent; must run before the first ECS request."""
    if ecs_models.ecs_backends.backend is RealisticECSBackend:
        return
    if len(ecs_models.ecs_backends):
        raise RuntimeError("ecs_realism.install() must run before moto creates ECS backends")
    ecs_models.ecs_backends.backend = RealisticECSBackend
    EC2ContainerServiceResponse.create_service = _create_service_idempotent  # type: ignore[method-assign]
    EC2ContainerServiceResponse.list_task_definitions = _list_task_definitions  # type: ignore[method-assign]
    EC2ContainerServiceResponse.run_task = _run_task_idempotent  # type: ignore[method-assign]
    EC2ContainerServiceResponse.list_service_deployments = _list_service_deployments  # type: ignore[attr-defined]
    EC2ContainerServiceResponse.describe_service_deployments = _describe_service_deployments  # type: ignore[attr-defined]
    EC2ContainerServiceResponse.stop_service_deployment = _stop_service_deployment  # type: ignore[attr-defined]
    EC2ContainerServiceResponse.continue_service_deployment = _continue_service_deployment  # type: ignore[attr-defined]
    # moto's ECS reads eni.private_dns_name, which an ENI only has when its VPC has DNS
    # hostnames enabled (AttributeError -> 500 otherwise); ECS leaves the value empty.
    NetworkInterface.private_dns_name = None  # type: ignore[attr-defined]


def reset() -> None:
    """Forget every knob (moto's own state is reset through /moto-api/reset)."""
    SETTINGS.reset()


install()
