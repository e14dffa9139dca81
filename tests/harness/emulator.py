"""Starts the AWS emulator (moto server, pinned to 5.2.5) on a loopback port.

Usage: emulator.py --port N [--account ID]

Prints `ready http://127.0.0.1:N` once it answers, then serves until SIGTERM/SIGINT or until
its parent dies (it polls, so a killed test run leaves nothing behind).

It serves moto's own WSGI application (as moto's ThreadedMotoServer builds it) with ECS made
realistic by ecs_realism.py (rolling and failing deployments, task lifecycles and exit codes,
service tasks), behind a small middleware that counts AWS requests per operation, injects
faults, and serves a JSON control API under /_slipway/ (never forwarded to moto):

  GET    /_slipway/calls            {"ECS.DescribeServices": 3, ...}
  POST   /_slipway/calls/reset
  GET    /_slipway/config           {"rollout_seconds": 1.0, "task_seconds": 0.5, "list_page_size": 100}
  POST   /_slipway/config           any of those fields
  GET    /_slipway/fail-images      {"patterns": [...]}
  POST   /_slipway/fail-images      {"pattern": "substring"}   (repeatable)
  DELETE /_slipway/fail-images
  GET    /_slipway/task-exit        {"rules": [...]}
  POST   /_slipway/task-exit        {"match": "...", "exit_code": 0, "reason": "..."}
  DELETE /_slipway/task-exit
  GET    /_slipway/faults           {"faults": [...pending], "injected": {"ECS.UpdateService": {"ThrottlingException": 1}}}
  POST   /_slipway/faults           {"operation": "ECS.DescribeServices", "count": 1,
                                     "status": 400, "code": "ThrottlingException",
                                     "message": "...", "delay_seconds": 0,
                                     "reset_after": false, "probability": 1.0, "seed": null}
  DELETE /_slipway/faults           (and the injected counts)
  GET    /_slipway/service-deployments  {"serviceDeployments": [{"service", "status", "schedule": [...],
                                     "hooks": [...], "events": [...]}]}  (blue/green, canary, linear)
  POST   /_slipway/reset            moto's /moto-api/reset and all of the above to defaults

docs/testing.md ("What the emulator simulates") describes each in full.
"""

from __future__ import annotations

import argparse
import fnmatch
import http
import io
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))

# SigV4 signing name -> the service part of "Service.Operation" in call counts and faults.
SERVICE_NAMES = {
    "ecs": "ECS",
    "ecr": "ECR",
    "sts": "STS",
    "iam": "IAM",
    "ec2": "EC2",
    "elasticloadbalancing": "ELBv2",  # "ELB" when the request is the classic API version
    "logs": "CloudWatchLogs",
    "monitoring": "CloudWatch",
    "secretsmanager": "SecretsManager",
    "ssm": "SSM",
    "kms": "KMS",
    "s3": "S3",
    "cloudfront": "CloudFront",
    "application-autoscaling": "ApplicationAutoScaling",
    "events": "EventBridge",
}
# Query-protocol actions that are sent unsigned.
UNSIGNED_ACTIONS = {"AssumeRoleWithWebIdentity": "sts", "AssumeRoleWithSAML": "sts"}
# Error codes for a fault given only a status, and statuses for one given only a code.
DEFAULT_CODES = {400: "ThrottlingException", 429: "ThrottlingException", 500: "InternalFailure", 503: "ServiceUnavailable"}
DEFAULT_STATUSES = {"InternalFailure": 500, "InternalError": 500, "ServiceUnavailable": 503}

StartResponse = Callable[..., Any]


# --- identifying requests ----------------------------------------------------------------


@dataclass
class AwsCall:
    operation: str  # "ECS.DescribeServices"
    protocol: str  # json | query | ec2 | rest
    signing_name: str
    api_version: str | None


def identify(environ: dict[str, Any]) -> AwsCall | None:
    """The AWS operation a request calls, or None for anything else (e.g. /moto-api)."""
    signing_name = None
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in auth:
        # AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-1/ecs/aws4_request, ...
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) == 5:
            signing_name = scope[3].lower()
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target and "." in target:
        # awsJson: X-Amz-Target: AmazonEC2ContainerServiceV20141113.DescribeServices
        return AwsCall(_service(signing_name or "unknown", None) + "." + target.split(".", 1)[1], "json", signing_name or "", None)
    params = parse_qs(environ.get("QUERY_STRING", ""))
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        params.update(parse_qs(_peek_body(environ).decode("utf-8", "replace")))
    action = (params.get("Action") or [None])[0]
    version = (params.get("Version") or [None])[0]
    if action:
        signing_name = signing_name or UNSIGNED_ACTIONS.get(action, "unknown")
        protocol = "ec2" if signing_name == "ec2" else "query"
        return AwsCall(f"{_service(signing_name, version)}.{action}", protocol, signing_name, version)
    path = environ.get("PATH_INFO", "")
    if path.startswith("/service/") and "/operation/" in path:
        # Smithy RPC v2 CBOR (CloudWatch's protocol in the current SDKs): /service/S/operation/Op
        return AwsCall(f"{_service(signing_name or 'unknown', None)}.{path.rsplit('/', 1)[1]}", "rpcv2cbor", signing_name or "", None)
    if signing_name == "s3":
        return AwsCall(f"S3.{_s3_operation(environ)}", "s3", signing_name, None)
    if signing_name == "cloudfront":
        return AwsCall(f"CloudFront.{_cloudfront_operation(environ)}", "rest", signing_name, None)
    if signing_name:
        # Other REST protocols carry the operation in method + path: count by method.
        return AwsCall(f"{_service(signing_name, None)}.{environ.get('REQUEST_METHOD', 'GET')}", "rest", signing_name, None)
    return None


# S3 sub-resources that turn a bucket request into a bucket-configuration operation.
_S3_BUCKET_SUBRESOURCES = {
    "versioning": "BucketVersioning", "policy": "BucketPolicy", "tagging": "BucketTagging",
    "encryption": "BucketEncryption", "lifecycle": "BucketLifecycleConfiguration",
    "publicAccessBlock": "PublicAccessBlock", "acl": "BucketAcl", "cors": "BucketCors",
    "location": "BucketLocation", "ownershipControls": "BucketOwnershipControls",
}


def _cloudfront_operation(environ: dict[str, Any]) -> str:
    """The CloudFront operation of a request (`/2020-05-31/distribution/...`), as the API
    reference names it; other paths by method."""
    method = environ.get("REQUEST_METHOD", "GET")
    parts = environ.get("PATH_INFO", "/").strip("/").split("/")[1:]
    if parts[:1] == ["distribution"]:
        if len(parts) == 1:
            return {"POST": "CreateDistribution", "GET": "ListDistributions"}.get(method, method)
        if len(parts) == 2:
            return {"GET": "GetDistribution", "DELETE": "DeleteDistribution"}.get(method, method)
        if parts[2] == "invalidation":
            if len(parts) == 3:
                return {"POST": "CreateInvalidation", "GET": "ListInvalidations"}.get(method, method)
            return "GetInvalidation"
        if parts[2] == "config":
            return {"GET": "GetDistributionConfig", "PUT": "UpdateDistribution"}.get(method, method)
    return method


def _s3_operation(environ: dict[str, Any]) -> str:
    """The S3 operation of a path-style request: its name as the S3 API reference gives it."""
    method = environ.get("REQUEST_METHOD", "GET")
    parts = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)
    bucket, key = parts[0], (parts[1] if len(parts) > 1 else "")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if not bucket:
        return "ListBuckets"
    if not key:
        for sub, name in _S3_BUCKET_SUBRESOURCES.items():
            if sub in query:
                return {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, method) + name
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        return {
            "GET": "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects",
            "HEAD": "HeadBucket",
            "PUT": "CreateBucket",
            "DELETE": "DeleteBucket",
        }.get(method, method)
    if method == "PUT" and environ.get("HTTP_X_AMZ_COPY_SOURCE"):
        return "CopyObject"
    if method == "POST" and "uploads" in query:
        return "CreateMultipartUpload"
    return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(method, method)


def _service(signing_name: str, version: str | None) -> str:
    if signing_name == "elasticloadbalancing" and version == "2012-06-01":
        return "ELB"
    return SERVICE_NAMES.get(signing_name, signing_name)


def _peek_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back, so moto still reads all of it."""
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):  # chunked: the server marks the end
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


# --- faults --------------------------------------------------------------------------------


@dataclass
class Fault:
    operation: str  # "ECS.DescribeServices"; shell-style wildcards allowed ("ECS.*", "*")
    count: int = 1  # how many matching requests it affects
    status: int | None = None  # answer with this HTTP status (None: forward to moto)
    code: str | None = None
    message: str | None = None
    delay_seconds: float = 0.0  # wait this long before answering
    # Forward to moto (the call is applied), then reset the connection instead of answering:
    # the caller never learns that it succeeded.
    reset_after: bool = False
    # Each matching request is affected with this probability (count is used up only by those
    # affected); `seed` makes the draw repeatable.
    probability: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def kind(self) -> str:
        if self.reset_after:
            return "reset_after"
        return self.code or ("delay" if self.delay_seconds > 0 else "fault")

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


class Control:
    """State behind the control API: call counts and pending faults. The ECS knobs are
    ecs_realism.SETTINGS."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.faults: list[Fault] = []
        # What was injected: operation -> kind (error code, reset_after, delay) -> count.
        self.injected: dict[str, dict[str, int]] = {}
        # Buckets that belong to another account (bucket -> account), for ExpectedBucketOwner.
        self.bucket_owners: dict[str, str] = {}

    def reset(self) -> None:
        with self.lock:
            self.calls = {}
            self.faults = []
            self.injected = {}
            self.bucket_owners = {}
        self.settings.reset()

    def count(self, operation: str) -> None:
        with self.lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1

    def take_fault(self, operation: str) -> Fault | None:
        """The first pending fault that affects this request (matching, and drawn when it has
        a probability), used up once; recorded in `injected`."""
        with self.lock:
            for fault in self.faults:
                if not fnmatch.fnmatchcase(operation, fault.operation):
                    continue
                if fault.probability < 1.0 and fault._rng.random() >= fault.probability:
                    continue
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                by_kind = self.injected.setdefault(operation, {})
                by_kind[fault.kind()] = by_kind.get(fault.kind(), 0) + 1
                return fault
        return None


def error_response(call: AwsCall, status: int, code: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """An AWS error in the wire format of the call's protocol."""
    request_id = str(uuid.uuid4())
    status_line = f"{status} {_reason_phrase(status)}"
    if call.protocol == "s3":
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        return status_line, [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], xml.encode()
    if call.protocol == "rpcv2cbor":
        import cbor2

        body = cbor2.dumps({"__type": code, "message": message})
        headers = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"), ("x-amzn-RequestId", request_id)]
        return status_line, headers, body
    if call.protocol in ("json", "rest"):
        body = json.dumps({"__type": code, "message": message}).encode()
        content_type = "application/x-amz-json-1.1" if call.protocol == "json" else "application/json"
        headers = [("Content-Type", content_type), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", request_id)]
        return status_line, headers, body
    code_x, message_x = escape(code), escape(message)
    if call.protocol == "ec2":
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{code_x}</Code><Message>{message_x}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
    else:
        kind = "Sender" if status < 500 else "Receiver"
        ns = f"https://{call.signing_name}.amazonaws.com/doc/{call.api_version}/" if call.api_version else ""
        xml = (
            f'<ErrorResponse xmlns="{escape(ns)}"><Error><Type>{kind}</Type><Code>{code_x}</Code>'
            f"<Message>{message_x}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    return status_line, headers, xml.encode()


def _reason_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# --- control API ---------------------------------------------------------------------------


class BadRequest(Exception):
    pass


def _fields(body: Any, allowed: dict[str, tuple[type, ...]], required: Iterable[str] = ()) -> dict[str, Any]:
    """Check a JSON object's fields: known names, expected types, required ones present."""
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    for name, value in body.items():
        if name not in allowed:
            raise BadRequest(f"unknown field {name!r} (expected one of: {', '.join(allowed)})")
        types = allowed[name]
        if value is not None and (not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
            raise BadRequest(f"field {name!r} must be {' or '.join(t.__name__ for t in types)}")
    for name in required:
        if body.get(name) is None:
            raise BadRequest(f"missing field {name!r}")
    return body


NUMBER = (int, float)


class SlipwayMiddleware:
    """Counts AWS calls, injects faults, serves /_slipway/; forwards the rest to moto."""

    def __init__(self, app: Callable[..., Any], control: Control, realism: Any) -> None:
        self.app = app
        self.control = control
        self.realism = realism

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_slipway" or path.startswith("/_slipway/"):
            return self._control_api(environ, start_response)
        call = identify(environ)
        if call is not None:
            self.control.count(call.operation)
            fault = self.control.take_fault(call.operation)
            if fault is not None:
                if fault.delay_seconds > 0:
                    time.sleep(fault.delay_seconds)
                if fault.reset_after:
                    return self._applied_then_reset(environ, start_response)
                if fault.status is not None:
                    status, headers, body = error_response(
                        call, fault.status, fault.code or "InternalFailure", fault.message or "injected by the emulator"
                    )
                    start_response(status, headers + [("Content-Length", str(len(body)))])
                    return [body]
            if call.protocol == "rpcv2cbor":
                return self._rpcv2_cbor(environ, start_response, call)
            if call.protocol == "s3":
                refused = self._foreign_bucket(environ, self.control.bucket_owners)
                if refused is not None:
                    status, headers, body = error_response(call, 403, "AccessDenied", refused)
                    start_response(status, headers + [("Content-Length", str(len(body)))])
                    return [body]
            if call.operation == "S3.GetBucketVersioning":
                return self._rewritten(environ, start_response, [
                    (b"<GetBucketVersioningResponse", b"<VersioningConfiguration"),
                    (b"</GetBucketVersioningResponse>", b"</VersioningConfiguration>"),
                ])
            if call.operation in ("CloudFront.CreateInvalidation", "CloudFront.GetInvalidation"):
                return self._rewritten(environ, start_response, [
                    (b"<Status>COMPLETED</Status>", b"<Status>Completed</Status>"),
                ])
        return self.app(environ, start_response)

    def _rpcv2_cbor(self, environ: dict[str, Any], start_response: StartResponse, call: AwsCall) -> Iterable[bytes]:
        """CloudWatch over Smithy RPC v2 CBOR, which the current AWS SDKs speak and moto 5.2.5
        does not (it serves the query protocol only): DescribeAlarms, answered from moto's own
        CloudWatch backend (alarms made through the query protocol, e.g. boto3's PutMetricAlarm
        and SetAlarmState). Other operations are refused as unknown."""
        import cbor2
        from moto.cloudwatch.models import cloudwatch_backends

        def answer(status: int, value: Any) -> Iterable[bytes]:
            body = cbor2.dumps(value)
            start_response(f"{status} {_reason_phrase(status)}", [
                ("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                ("Content-Length", str(len(body))), ("x-amzn-RequestId", str(uuid.uuid4())),
            ])
            return [body]

        operation = call.operation.split(".", 1)[1]
        if call.signing_name != "monitoring" or operation != "DescribeAlarms":
            status, headers, body = error_response(call, 400, "UnknownOperationException", f"the emulator serves no {call.operation} over RPC v2 CBOR")
            start_response(status, headers + [("Content-Length", str(len(body)))])
            return [body]
        raw = _peek_body(environ)
        params = cbor2.loads(raw) if raw else {}
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/") if "Credential=" in auth else []
        region = scope[2] if len(scope) == 5 else "us-east-1"
        account = os.environ.get("MOTO_ACCOUNT_ID", "123456789012")
        backend = cloudwatch_backends[account][region]
        names = params.get("AlarmNames")
        types = params.get("AlarmTypes") or ["MetricAlarm"]
        alarms = backend.get_alarms_by_alarm_names(names) if names else list(backend.describe_alarms())

        def shape(a: Any) -> dict[str, Any]:
            d = {"AlarmName": a.name, "AlarmArn": a.alarm_arn, "StateValue": a.state_value,
                 "StateReason": a.state_reason, "ActionsEnabled": bool(a.actions_enabled)}
            if getattr(a, "rule", None):
                d["AlarmRule"] = a.rule
            else:
                d.update({k: v for k, v in (("MetricName", a.metric_name), ("Namespace", a.namespace)) if v})
            return d

        out: dict[str, Any] = {"MetricAlarms": [], "CompositeAlarms": []}
        for a in sorted(alarms, key=lambda a: a.name):
            kind = "CompositeAlarm" if getattr(a, "rule", None) else "MetricAlarm"
            if kind in types:
                out["MetricAlarms" if kind == "MetricAlarm" else "CompositeAlarms"].append(shape(a))
        return answer(200, out)

    @staticmethod
    def _foreign_bucket(environ: dict[str, Any], owners: dict[str, str]) -> str | None:
        """S3's `x-amz-expected-bucket-owner` check, which moto 5.2.5 ignores: a request naming
        an owner other than the bucket's account is refused with 403 AccessDenied, as S3 does
        ("If the bucket is owned by a different account, the request fails with the HTTP status
        code 403 Forbidden (access denied)"). The bucket's account is moto's, unless
        /_slipway/bucket-owners says it is another's (moto with MOTO_ACCOUNT_ID set keeps every
        bucket in one account). Path-style requests, as slipway sends them."""
        expected = environ.get("HTTP_X_AMZ_EXPECTED_BUCKET_OWNER")
        if not expected:
            return None
        from moto.s3.models import s3_backends

        bucket = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]
        owner = owners.get(bucket) or (s3_backends.bucket_accounts.get(bucket) or (None, None))[1]
        if owner is None or owner == expected:
            return None
        return "Access Denied"

    def _rewritten(self, environ: dict[str, Any], start_response: StartResponse,
                   replacements: list[tuple[bytes, bytes]]) -> Iterable[bytes]:
        """moto's answer with the parts that differ from AWS's API reference put right:
        - GetBucketVersioning: moto 5.2.5's root is `GetBucketVersioningResponse`; S3's (and the
          SDKs' parsers') is `VersioningConfiguration`;
        - CloudFront invalidations: moto says `COMPLETED`; CloudFront says `Completed`."""
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        body = b"".join(self.app(environ, capture))
        for old, new in replacements:
            body = body.replace(old, new)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], headers + [("Content-Length", str(len(body)))])
        return [body]

    def _applied_then_reset(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Let moto apply the call, read its whole answer, then drop the connection with a
        reset (SO_LINGER 0) so that no byte of the answer reaches the caller."""
        chunks: list[bytes] = []
        result = self.app(environ, lambda status, headers, exc_info=None: chunks.append)
        try:
            for chunk in result:
                chunks.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            # Linger 0: the close werkzeug makes later sends a reset. shutdown() ends the
            # connection now (close() alone would wait for werkzeug's own file objects).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        # werkzeug treats a dropped connection quietly.
        raise ConnectionResetError("the emulator reset the connection after applying the call")

    # -- /_slipway/ --

    def _control_api(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "").rstrip("/")
        routes: dict[str, dict[str, Callable[[Any], Any]]] = {
            "/_slipway/calls": {"GET": self._get_calls},
            "/_slipway/calls/reset": {"POST": self._reset_calls},
            "/_slipway/config": {"GET": self._get_config, "POST": self._set_config},
            "/_slipway/fail-images": {"GET": self._get_fail_images, "POST": self._add_fail_image, "DELETE": self._clear_fail_images},
            "/_slipway/task-exit": {"GET": self._get_task_exits, "POST": self._add_task_exit, "DELETE": self._clear_task_exits},
            "/_slipway/faults": {"GET": self._get_faults, "POST": self._add_fault, "DELETE": self._clear_faults},
            "/_slipway/bucket-owners": {"GET": self._get_bucket_owners, "POST": self._set_bucket_owner},
            "/_slipway/service-deployments": {"GET": self._get_service_deployments},
            "/_slipway/reset": {"POST": self._reset},
        }
        if path not in routes:
            return _json(start_response, 404, {"error": f"no such endpoint {path}", "endpoints": sorted(routes)})
        handler = routes[path].get(method)
        if handler is None:
            return _json(start_response, 405, {"error": f"{method} {path}: use {', '.join(routes[path])}"})
        try:
            raw = _peek_body(environ)
            body = json.loads(raw) if raw.strip() else {}
            return _json(start_response, 200, handler(body))
        except json.JSONDecodeError as e:
            return _json(start_response, 400, {"error": f"invalid JSON: {e}"})
        except BadRequest as e:
            return _json(start_response, 400, {"error": str(e)})

    def _get_service_deployments(self, _: Any) -> dict[str, Any]:
        """Every blue/green, canary and linear deployment of every account and region, with
        the schedule it ran on and its hooks' history (what no AWS API shows)."""
        from moto.ecs.models import ecs_backends

        out = []
        for account, regions in list(ecs_backends.items()):
            for region, backend in list(regions.items()):
                if hasattr(backend, "service_deployment_histories"):
                    out.extend({"account": account, "region": region, **h} for h in backend.service_deployment_histories())
        return {"serviceDeployments": out}

    def _get_bucket_owners(self, _: Any) -> dict[str, str]:
        with self.control.lock:
            return dict(self.control.bucket_owners)

    def _set_bucket_owner(self, body: Any) -> dict[str, str]:
        f = _fields(body, {"bucket": (str,), "account": (str,)}, required=("bucket", "account"))
        if not (len(f["account"]) == 12 and f["account"].isdigit()):
            raise BadRequest("account must be 12 digits")
        with self.control.lock:
            self.control.bucket_owners[f["bucket"]] = f["account"]
            return dict(self.control.bucket_owners)

    def _get_calls(self, _: Any) -> dict[str, int]:
        with self.control.lock:
            return dict(sorted(self.control.calls.items()))

    def _reset_calls(self, _: Any) -> dict[str, int]:
        with self.control.lock:
            self.control.calls = {}
        return {}

    def _get_config(self, _: Any) -> dict[str, float]:
        return self.realism.SETTINGS.config()

    def _set_config(self, body: Any) -> dict[str, float]:
        b = _fields(body, {"rollout_seconds": NUMBER, "task_seconds": NUMBER, "list_page_size": (int,),
                           "stage_seconds": NUMBER, "minute_seconds": NUMBER})
        for name, value in b.items():
            if value is not None and value < 0:
                raise BadRequest(f"field {name!r} must be >= 0")
        if b.get("list_page_size") is not None and not 1 <= b["list_page_size"] <= 100:
            raise BadRequest("field 'list_page_size' must be 1 to 100")
        self.realism.SETTINGS.set_config(b.get("rollout_seconds"), b.get("task_seconds"), b.get("list_page_size"),
                                         b.get("stage_seconds"), b.get("minute_seconds"))
        return self.realism.SETTINGS.config()

    def _get_fail_images(self, _: Any) -> dict[str, Any]:
        return {"patterns": list(self.realism.SETTINGS.fail_images), "stages": dict(self.realism.SETTINGS.fail_stages)}

    def _add_fail_image(self, body: Any) -> dict[str, Any]:
        b = _fields(body, {"pattern": (str,), "stage": (str,)}, required=["pattern"])
        if not b["pattern"]:
            raise BadRequest("field 'pattern' must not be empty (it would match every image)")
        if b.get("stage") is not None and b["stage"] not in self.realism.FAIL_STAGES:
            raise BadRequest(f"field 'stage' must be one of {', '.join(self.realism.FAIL_STAGES)}")
        self.realism.SETTINGS.add_fail_image(b["pattern"], b.get("stage"))
        return self._get_fail_images(None)

    def _clear_fail_images(self, _: Any) -> dict[str, list[str]]:
        self.realism.SETTINGS.clear_fail_images()
        return self._get_fail_images(None)

    def _get_task_exits(self, _: Any) -> dict[str, list[dict[str, Any]]]:
        return {"rules": [asdict(r) for r in self.realism.SETTINGS.task_exits]}

    def _add_task_exit(self, body: Any) -> dict[str, list[dict[str, Any]]]:
        b = _fields(body, {"match": (str,), "exit_code": (int,), "reason": (str,)}, required=["match"])
        rule = self.realism.ExitRule(
            match=b["match"],
            exit_code=b["exit_code"] if b.get("exit_code") is not None else self.realism.DEFAULT_EXIT_CODE,
            reason=b.get("reason") or self.realism.DEFAULT_STOP_REASON,
        )
        self.realism.SETTINGS.add_task_exit(rule)
        return self._get_task_exits(None)

    def _clear_task_exits(self, _: Any) -> dict[str, list[dict[str, Any]]]:
        self.realism.SETTINGS.clear_task_exits()
        return self._get_task_exits(None)

    def _get_faults(self, _: Any) -> dict[str, Any]:
        with self.control.lock:
            return {
                "faults": [f.public() for f in self.control.faults],
                "injected": {op: dict(kinds) for op, kinds in sorted(self.control.injected.items())},
            }

    def _add_fault(self, body: Any) -> dict[str, list[dict[str, Any]]]:
        b = _fields(
            body,
            {
                "operation": (str,),
                "count": (int,),
                "status": (int,),
                "code": (str,),
                "message": (str,),
                "delay_seconds": NUMBER,
                "reset_after": (bool,),
                "probability": NUMBER,
                "seed": (int,),
            },
            required=["operation"],
        )
        status, code = b.get("status"), b.get("code")
        delay = float(b.get("delay_seconds") or 0)
        reset_after = bool(b.get("reset_after"))
        if reset_after and (status is not None or code is not None):
            raise BadRequest("reset_after applies the call and drops its answer: it takes no status or code")
        if status is None and code is None and delay <= 0 and not reset_after:
            raise BadRequest("give status and/or code (an error), delay_seconds (a slow answer), or reset_after (an answer lost)")
        if code is not None and status is None:
            status = DEFAULT_STATUSES.get(code, 400)
        if status is not None:
            if not 400 <= status <= 599:
                raise BadRequest("field 'status' must be an HTTP error status (400-599)")
            code = code or DEFAULT_CODES.get(status, "InternalFailure")
        count = b.get("count") if b.get("count") is not None else 1
        if count < 1:
            raise BadRequest("field 'count' must be >= 1")
        if delay < 0:
            raise BadRequest("field 'delay_seconds' must be >= 0")
        message = b.get("message") or (f"{code} injected by the emulator" if code else None)
        probability = float(b["probability"]) if b.get("probability") is not None else 1.0
        if not 0 < probability <= 1:
            raise BadRequest("field 'probability' must be in (0, 1]")
        fault = Fault(b["operation"], count, status, code, message, delay, reset_after, probability, b.get("seed"))
        with self.control.lock:
            self.control.faults.append(fault)
        return self._get_faults(None)

    def _clear_faults(self, _: Any) -> dict[str, Any]:
        with self.control.lock:
            self.control.faults = []
            self.control.injected = {}
        return {"faults": [], "injected": {}}

    def _reset(self, _: Any) -> dict[str, bool]:
        # moto's own reset, through moto's app, exactly as POST /moto-api/reset does it.
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        environ = EnvironBuilder(path="/moto-api/reset", method="POST").get_environ()
        _, status, _ = run_wsgi_app(self.app, environ, buffered=True)
        if not status.startswith("200"):
            raise BadRequest(f"moto reset answered {status}")
        self.control.reset()
        return {"reset": True}


def _json(start_response: StartResponse, status: int, value: Any) -> list[bytes]:
    body = json.dumps(value).encode()
    start_response(
        f"{status} {_reason_phrase(status)}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


# --- server --------------------------------------------------------------------------------


def main() -> int:
    # Read first: a parent that dies while we start (even right after `ready`) must still
    # be noticed, which reading it later would miss (we would see init as our parent).
    parent = os.getppid()
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--account", default=None)
    args = ap.parse_args()
    if args.account:
        # Before moto is imported: moto reads it once.
        os.environ["MOTO_ACCOUNT_ID"] = args.account

    sys.path.insert(0, HERE)  # ecs_realism.py, whatever the working directory
    import ecs_realism  # asserts moto's version and installs the ECS extensions
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    # What moto's ThreadedMotoServer serves, wrapped in the middleware.
    moto_app = DomainDispatcherApplication(create_backend_app)
    app = SlipwayMiddleware(moto_app, Control(ecs_realism.SETTINGS), ecs_realism)
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    url = f"http://127.0.0.1:{args.port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2).read()
            break
        except Exception:
            if time.monotonic() > deadline:
                print("emulator did not start within 30s", file=sys.stderr)
                return 1
            time.sleep(0.1)
    print(f"ready {url}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        if os.getppid() != parent:
            break
    server.shutdown()
    thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
