"""`make bench`, ECS half: slipway against the emulator, next to the seeds' hand-run way.

deploy: 20 services from one image tag to another on the emulator, at rollout_seconds 0
(instant) and 1.0: slipway's wall time, its phases, and its wait overhead beyond the emulator's
rollout (target: <= one poll interval); the seeds' way (awscli register-task-definition +
update-service + `ecs wait services-stable` per service) and fabfuel's `ecs deploy` per
service, and the ratios; failure noticed -> rollback started.

apply: the same change (20 services to a new tag, instant rollouts) by `slipway deploy` and by
`slipway apply` of a reviewed plan (`plan --no-terraform` first, not timed): what apply's gates
add over deploy, and the lock's acquire and release latency from apply's report (S3 on the
emulator: GetObject + PutObject If-None-Match, DeleteObject If-Match).

init: `slipway init --from-cluster` of a cluster with 50 services another tool created (the
task-definition corpus, repeated; tests/harness/foreign.py): wall time, read time, the API
calls it made, and whether `slipway diff` of the result is clean (target: a few seconds).

diff: `slipway diff` of a generated environment with N = 1, 10, 50, 200 services (target: 50
services <= 1 s wall), the API calls it made (budget: ceil(N/10) DescribeServices + one
DescribeTaskDefinition per distinct task definition + 12), and the seeds' way: a loop of awscli
`describe-services` + `describe-task-definition` per service, timed once, and the ratio.

site: a static site of 2,000 files (tests/harness/site_seed.py's versioned bucket and
distribution), published once, then one file changed: `slipway deploy` (its one service
unchanged, so the deploy is the site's publish plus slipway's verify and a no-op rollout; the
same deploy with nothing changed is timed too) against the seeds' way for the same change,
awscli `s3 sync --delete` + `cloudfront create-invalidation` + `cloudfront wait
invalidation-completed`.

Infrastructure comes from seed.py (standing in for `terraform apply`), services are created
with boto3 from what `slipway render` produced. Everything runs on 127.0.0.1.
"""

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ACCOUNT = "123456789012"
REGION = "eu-west-1"
CREDS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_EC2_METADATA_DISABLED": "true"}


def wait_interval_ms(rollout):
    """slipway's poll interval at the moment a rollout of `rollout` seconds completes
    (250 ms, growing x1.5, capped at 15 s; see src/rollout/wait.rs)."""
    t, interval = 0.0, 0.25
    while t + interval < rollout:
        t += interval
        interval = min(interval * 1.5, 15.0)
    return interval * 1000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_emulator():
    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "emulator.py"), "--port", str(port), "--account", ACCOUNT],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith("ready "):
        raise SystemExit("the emulator did not start")
    return proc, line.split()[1]


def control(url, path, body=None, method="POST"):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read()
    return json.loads(text) if text else None


LOCK_BUCKET = "bench-terraform-state"


def env_file(n, lock=False):
    lines = [f'account_id = "{ACCOUNT}"', f'region     = "{REGION}"', f'cluster    = "bench-{n}"',
             'repository "app" {', "}"]
    if lock:
        lines += ["deploy {", f'  lock_bucket = "{LOCK_BUCKET}"', "}"]
    for i in range(n):
        name = f"svc-{i:03d}"
        lines += [
            f'service "{name}" {{',
            '  repository    = "app"',
            "  cpu           = 256",
            "  memory        = 512",
            "  desired_count = 1",
            f"  port          = {3000 + i}",
            "  environment = {",
            "    APP_ENV   = env.name",
            '    LOG_LEVEL = "info"',
            "  }",
            "  secrets = {",
            f'    DATABASE_URL = "secretsmanager:bench/{name}/database-url"',
            "  }",
            "  health_check {",
            f'    command = ["CMD-SHELL", "curl -f http://localhost:{3000 + i}/health || exit 1"]',
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


def run(cmd, env=None, check=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if check and r.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr[:2000]}")
    return r


def stage(slipway, envs, work, url, n, push=(), create=True, lock=False):
    """Creates bench-N's infrastructure (and services, unless create=False); returns the
    environment name, outputs file, service names and cluster."""
    import boto3

    name = f"bench{n}"
    with open(os.path.join(envs, f"{name}.hcl"), "w") as f:
        f.write(env_file(n, lock))
    out = os.path.join(work, name)
    run([slipway, "--envs-dir", envs, "render", "--env", name, "--only", "tfvars", "--out", out])
    outputs = os.path.join(out, "outputs.json")
    pushes = [x for tag in push for x in ("--push", tag)] + (["--bucket", LOCK_BUCKET] if lock else [])
    run([sys.executable, os.path.join(HERE, "seed.py"), "--endpoint", url, "--tfvars", os.path.join(out, "tfvars.json"),
         "--out", outputs] + pushes)
    if not create:
        return name, outputs, None, f"bench-{n}"
    doc = json.loads(run([slipway, "--envs-dir", envs, "render", "--env", name, "--image-tag", "v1", "--tf-outputs", outputs,
                          "--format", "json"]).stdout)
    ecs = boto3.client("ecs", endpoint_url=url, region_name=REGION, aws_access_key_id="bench", aws_secret_access_key="bench")
    for svc, td in doc["task_definitions"].items():
        arn = ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
        settings = dict(doc["services"][svc])
        settings["taskDefinition"] = arn
        ecs.create_service(**settings)
    return name, outputs, sorted(doc["services"]), f"bench-{n}"


def awscli_loop(aws, url, cluster, services, env):
    """The seeds' way: per service, describe-services then describe-task-definition."""
    t = time.perf_counter()
    for s in services:
        r = run([aws, "--endpoint-url", url, "--region", REGION, "ecs", "describe-services", "--cluster", cluster,
                 "--services", s, "--output", "json"], env=env)
        td = json.loads(r.stdout)["services"][0]["taskDefinition"]
        run([aws, "--endpoint-url", url, "--region", REGION, "ecs", "describe-task-definition", "--task-definition", td,
             "--output", "json"], env=env)
    return time.perf_counter() - t


def slipway_deploy(slipway, envs, name, outputs, tag, env, expect=0, smoke=None):
    """`smoke`: the flags of a deploy with smoke checks (default: --no-smoke)."""
    t = time.perf_counter()
    r = run([slipway, "--envs-dir", envs, "--format", "json", "deploy", "--env", name, "--image-tag", tag,
             "--tf-outputs", outputs, *(smoke if smoke is not None else ["--no-smoke"])], env=env, check=False)
    wall = time.perf_counter() - t
    if r.returncode != expect:
        raise SystemExit(f"deploy {tag}: exit {r.returncode}, expected {expect}: {r.stderr[-3000:]}")
    return wall, json.loads(r.stdout)


def bench_deploy(slipway, aws, ecs_cli, url, work, envs, env, runs):
    n = 20
    control(url, "/_slipway/reset", {})
    tags = [f"v{i}" for i in range(1, 2 * runs + 5)]
    fail_tag = tags[-1]
    name, outputs, _, cluster = stage(slipway, envs, work, url, n, push=tags, create=False)
    control(url, "/_slipway/config", {"rollout_seconds": 0, "task_seconds": 0})
    slipway_deploy(slipway, envs, name, outputs, "v1", env)
    results = {}
    tag_i = iter(tags[1:])
    for rollout in (0.0, 1.0):
        control(url, "/_slipway/config", {"rollout_seconds": rollout})
        walls, waits, phases = [], [], None
        for _ in range(runs):
            wall, report = slipway_deploy(slipway, envs, name, outputs, next(tag_i), env)
            walls.append(wall)
            phases = dict(report["phases"])
            waits.append(phases["wait"])
        results[rollout] = (statistics.median(walls), statistics.median(waits), phases)
    control(url, "/_slipway/config", {"rollout_seconds": 0})

    # The seeds' way: per service, register the rendered task definition, update, wait.
    tag = next(tag_i)
    doc = json.loads(run([slipway, "--envs-dir", envs, "render", "--env", name, "--image-tag", tag, "--tf-outputs", outputs,
                          "--format", "json"]).stdout)
    peers = {}
    if os.path.exists(aws):
        t = time.perf_counter()
        for svc, td in sorted(doc["task_definitions"].items()):
            path = os.path.join(work, f"td-{svc}.json")
            with open(path, "w") as f:
                json.dump(td, f)
            base = [aws, "--endpoint-url", url, "--region", REGION, "ecs"]
            r = run(base + ["register-task-definition", "--cli-input-json", f"file://{path}", "--output", "json"], env=env)
            arn = json.loads(r.stdout)["taskDefinition"]["taskDefinitionArn"]
            run(base + ["update-service", "--cluster", cluster, "--service", svc, "--task-definition", arn, "--output", "json"], env=env)
            run(base + ["wait", "services-stable", "--cluster", cluster, "--services", svc], env=env)
        peers["awscli"] = time.perf_counter() - t
    if os.path.exists(ecs_cli):
        tag = next(tag_i)
        penv = dict(env, AWS_DEFAULT_REGION=REGION)
        t = time.perf_counter()
        for svc in sorted(doc["task_definitions"]):
            run([ecs_cli, "deploy", cluster, svc, "--tag", tag, "--timeout", "120"], env=penv)
        peers["ecs-deploy"] = time.perf_counter() - t

    # Failure noticed -> rollback started.
    control(url, "/_slipway/config", {"rollout_seconds": 0.5})
    slipway_deploy(slipway, envs, name, outputs, "v1", env)
    control(url, "/_slipway/fail-images", {"pattern": f":{fail_tag}"})
    noticed = []
    for _ in range(runs):
        _, report = slipway_deploy(slipway, envs, name, outputs, fail_tag, env, expect=4)
        noticed.append(report["rollback_started_after_secs"])
    return n, results, peers, statistics.median(noticed), max(noticed)


def bench_apply(slipway, url, work, envs, env, runs):
    """Deploy and apply of the same change, alternately, with the lock; medians."""
    n = 20
    control(url, "/_slipway/reset", {})
    tags = [f"v{i}" for i in range(1, 2 * runs + 3)]
    name, outputs, _, _ = stage(slipway, envs, work, url, n, push=tags, create=False, lock=True)
    control(url, "/_slipway/config", {"rollout_seconds": 0, "task_seconds": 0})
    slipway_deploy(slipway, envs, name, outputs, "v1", env)
    plan = os.path.join(work, "apply-plan.json")
    deploys, applies, acquire, release = [], [], [], []
    for i in range(runs):
        wall, _ = slipway_deploy(slipway, envs, name, outputs, tags[1 + 2 * i], env)
        deploys.append(wall)
        run([slipway, "--envs-dir", envs, "plan", "--env", name, "--image-tag", tags[2 + 2 * i], "--no-terraform",
             "--tf-outputs", outputs, "--out", plan], env=env)
        t = time.perf_counter()
        r = run([slipway, "--envs-dir", envs, "--format", "json", "apply", "--env", name, "--plan", plan,
                 "--tf-outputs", outputs, "--no-smoke"], env=env, check=False)
        applies.append(time.perf_counter() - t)
        if r.returncode != 0:
            raise SystemExit(f"apply: exit {r.returncode}: {r.stderr[-3000:]}")
        report = json.loads(r.stdout)
        acquire.append(report["lock"]["acquired_in_ms"])
        release.append(report["lock"]["released_in_ms"])
    med = statistics.median
    return n, med(deploys), med(applies), (med(acquire), max(acquire)), (med(release), max(release))


def bench_site(slipway, aws, url, work, envs, env, runs, files=2000):
    """Publish of a 2,000-file site with one changed file: slipway deploy against awscli."""
    control(url, "/_slipway/reset", {})
    name, outputs, _, _ = stage(slipway, envs, work, url, 1, push=["v1"])
    bucket = "bench-site"
    seeded = json.loads(run([sys.executable, os.path.join(HERE, "site_seed.py"), "--endpoint", url, "--region", REGION,
                             "--bucket", bucket]).stdout)
    peer_bucket = "bench-site-awscli"
    peer = json.loads(run([sys.executable, os.path.join(HERE, "site_seed.py"), "--endpoint", url, "--region", REGION,
                           "--bucket", peer_bucket]).stdout)
    site = os.path.join(work, "site")
    for i in range(files):
        d = os.path.join(site, "assets" if i % 4 else "pages", f"g{i % 20:02d}")
        os.makedirs(d, exist_ok=True)
        ext = ".html" if i % 4 == 0 else (".js" if i % 4 == 1 else ".css")
        with open(os.path.join(d, f"f{i:04d}{ext}"), "w") as f:
            f.write(f"/* file {i} */\n" + "x" * 2000)
    with open(os.path.join(site, "index.html"), "w") as f:
        f.write("<html>0</html>")
    with open(os.path.join(envs, f"{name}.hcl"), "a") as f:
        f.write(f'''
site "web" {{
  bucket          = "{bucket}"
  distribution_id = "{seeded["distribution_id"]}"
  dir             = "site"
  cache_control   = {{ "index.html" = "no-cache", "assets/**" = "public, max-age=31536000, immutable" }}
}}
''')
    control(url, "/_slipway/config", {"rollout_seconds": 0, "task_seconds": 0})
    slipway_deploy(slipway, envs, name, outputs, "v1", env)  # the first publish: every file
    aws_env = dict(env)
    sync = [aws, "--endpoint-url", url, "--region", REGION, "s3", "sync", site, f"s3://{peer_bucket}", "--delete",
            "--only-show-errors"]
    run(sync, env=aws_env)
    unchanged, changed, peers = [], [], []
    for i in range(runs):
        wall, _ = slipway_deploy(slipway, envs, name, outputs, "v1", env)
        unchanged.append(wall)
        with open(os.path.join(site, "index.html"), "w") as f:
            f.write(f"<html>{i + 1}</html>")
        wall, report = slipway_deploy(slipway, envs, name, outputs, "v1", env)
        uploaded = report["sites"][0]["published"]["uploaded"]
        if uploaded != ["index.html"]:
            raise SystemExit(f"expected one upload, got {uploaded}")
        changed.append(wall)
        t = time.perf_counter()
        run(sync, env=aws_env)
        inv = json.loads(run([aws, "--endpoint-url", url, "--region", REGION, "cloudfront", "create-invalidation",
                              "--distribution-id", peer["distribution_id"], "--paths", "/index.html", "--output", "json"],
                             env=aws_env).stdout)["Invalidation"]["Id"]
        run([aws, "--endpoint-url", url, "--region", REGION, "cloudfront", "wait", "invalidation-completed",
             "--distribution-id", peer["distribution_id"], "--id", inv], env=aws_env)
        peers.append(time.perf_counter() - t)
    med = statistics.median
    return files, med(unchanged), med(changed), med(peers), min(changed), min(peers)


STRATEGIES = {
    "blue_green": '    strategy  = "blue_green"\n    bake_time = "10m"',
    # With a smoke check: the deployment holds at slipway's pause hook after the test traffic
    # shift while the check runs against the test listener (a local server here).
    "blue_green+checks": '    strategy  = "blue_green"\n    bake_time = "10m"',
    "canary": '    strategy         = "canary"\n    bake_time        = "5m"\n    canary_percent   = 10\n    canary_bake_time = "5m"',
    "linear": '    strategy              = "linear"\n    bake_time             = "5m"\n    linear_step_percent   = 25\n    linear_step_bake_time = "2m"',
}


def strategy_slug(strategy):
    return strategy.replace("_", "-").replace("+", "-")


def strategy_env(strategy):
    checks = ['  smoke "health" {', '    path = "/health"', "  }"] if strategy.endswith("+checks") else []
    return "\n".join([
        f'account_id = "{ACCOUNT}"', f'region     = "{REGION}"', f'cluster    = "bench-{strategy_slug(strategy)}"',
        'repository "app" {', "}", "alb {", "  test_listener_port = 8443", "}",
        'service "web" {', '  repository    = "app"', "  cpu           = 256", "  memory        = 512",
        "  desired_count = 1", "  port          = 3000",
        "  load_balancer {", '    path_patterns     = ["/*"]', "    priority          = 10",
        '    health_check_path = "/health"', "  }",
        "  deployment {", STRATEGIES[strategy], "  }", *checks, "}",
    ]) + "\n"


def health_server():
    """A local server answering 200 to every GET: the test listener and production of the
    `+checks` variant."""
    import http.server
    import threading

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def bench_strategies(slipway, url, work, envs, env, runs):
    """For each strategy: how long deploy's wait takes beyond the simulated lifecycle of the
    service deployment (its createdAt to finishedAt, as the emulator reports them)."""
    import boto3

    ecs = boto3.client("ecs", endpoint_url=url, region_name=REGION, aws_access_key_id="bench", aws_secret_access_key="bench")
    out = {}
    base = health_server()
    for strategy in STRATEGIES:
        control(url, "/_slipway/reset", {})
        tags = [f"v{i}" for i in range(1, runs + 2)]
        name = f"bench{strategy.replace('_', '').replace('+', '')}"
        smoke = ["--smoke-base-url", base, "--smoke-test-base-url", base] if strategy.endswith("+checks") else None
        with open(os.path.join(envs, f"{name}.hcl"), "w") as f:
            f.write(strategy_env(strategy))
        d = os.path.join(work, name)
        run([slipway, "--envs-dir", envs, "render", "--env", name, "--only", "tfvars", "--out", d])
        outputs = os.path.join(d, "outputs.json")
        run([sys.executable, os.path.join(HERE, "seed.py"), "--endpoint", url, "--tfvars", os.path.join(d, "tfvars.json"),
             "--out", outputs] + [x for t in tags for x in ("--push", t)])
        control(url, "/_slipway/config", {"rollout_seconds": 0.5, "task_seconds": 0, "stage_seconds": 0.1,
                                         "minute_seconds": 0.1})
        cluster = f"bench-{strategy_slug(strategy)}"
        slipway_deploy(slipway, envs, name, outputs, tags[0], env, smoke=smoke)
        rows = []
        for tag in tags[1:]:
            _, report = slipway_deploy(slipway, envs, name, outputs, tag, env, smoke=smoke)
            wait = dict(report["phases"])["wait"]
            briefs = ecs.list_service_deployments(cluster=cluster, service="web")["serviceDeployments"]
            sd = max(briefs, key=lambda b: b["createdAt"])
            lifecycle = (sd["finishedAt"] - sd["createdAt"]).total_seconds()
            # How long the pause hook held it: from AWAITING_ACTION to slipway's answer.
            held = None
            histories = control(url, "/_slipway/service-deployments", method="GET")["serviceDeployments"]
            mine = next(h for h in histories if h["serviceDeploymentArn"] == sd["serviceDeploymentArn"])
            if len(mine["events"]) >= 2:
                held = mine["events"][1]["at"] - mine["events"][0]["at"]
            rows.append((wait, lifecycle, wait - lifecycle, held))
        out[strategy] = rows
    return out


def print_strategies(result, runs):
    if not result:
        return
    med = statistics.median
    print(f"\nblue/green, canary, linear: deploy's wait beyond the simulated lifecycle (median of {runs} runs; max)")
    for strategy, rows in result.items():
        over = [r[2] for r in rows]
        held = [r[3] for r in rows if r[3] is not None]
        gate = f"; held at the hook {med(held) * 1000:.0f} ms (max {max(held) * 1000:.0f})" if held else ""
        print(f"  {strategy:17s} lifecycle {med([r[1] for r in rows]) * 1000:6.0f} ms, wait {med([r[0] for r in rows]) * 1000:6.0f} ms,"
              f" beyond it {med(over) * 1000:5.0f} ms (max {max(over) * 1000:.0f}){gate}")


def bench_init(slipway, url, work, env, runs, n=50):
    """init --from-cluster of n corpus services: medians of wall and read time, API calls."""
    control(url, "/_slipway/reset", {})
    corpus = os.path.join(HERE, "..", "fixtures", "taskdefs")
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus) if f.endswith(".json") and f != "features.json")
    copies = math.ceil(n / len(files))
    out = run([sys.executable, os.path.join(HERE, "foreign.py"), "--endpoint", url, "--account", ACCOUNT, "--region", REGION,
               "--cluster", "adopt", "corpus", *files, "--copies", str(copies), "--limit", str(n)], env=env)
    created = json.loads(out.stdout)["services"]
    names = [s["name"] for s in created]
    walls, reads, calls = [], [], None
    for i in range(runs):
        d = os.path.join(work, f"init-{i}")
        os.makedirs(d)
        control(url, "/_slipway/calls/reset", {})
        args = [slipway, "--envs-dir", os.path.join(d, "envs"), "--format", "json", "init", "--env", "adopted",
                "--from-cluster", "adopt", "--region", REGION]
        t = time.perf_counter()
        r = run(args, env=env, check=False)
        walls.append(time.perf_counter() - t)
        if r.returncode != 0:
            raise SystemExit(f"init: exit {r.returncode}: {r.stderr[-3000:]}")
        reads.append(json.loads(r.stdout)["seconds"]["read"])
        calls = control(url, "/_slipway/calls", method="GET")
    none = os.path.join(work, "none.json")
    with open(none, "w") as f:
        f.write("{}")
    r = run([slipway, "--envs-dir", os.path.join(work, "init-0", "envs"), "--format", "json", "diff", "--env", "adopted",
             "--tf-outputs", none], env=env, check=False)
    doc = json.loads(r.stdout)
    changed = [s["service"] for s in doc["services"] if s["action"] != "unchanged"]
    med = statistics.median
    return len(names), med(walls), min(walls), med(reads), sum(calls.values()), calls, changed


def print_init(result, runs):
    if result:
        n, wall, best, read, total, calls, changed = result
        print(f"\nslipway init --from-cluster, {n} services (median of {runs} runs)")
        print(f"  wall {wall * 1000:.0f} ms (best {best * 1000:.0f} ms), of which reading the cluster {read * 1000:.0f} ms; "
              f"{total} API calls: " + ", ".join(f"{k} {v}" for k, v in sorted(calls.items())))
        print(f"  diff of the adopted file: {n - len(changed)} of {n} services unchanged"
              + (f"; changed: {', '.join(changed)} (plain variables whose names look secret are withheld)" if changed else ""))


def print_apply(result, runs):
    if result:
        n, deploy, apply, (acq, acq_max), (rel, rel_max) = result
        print(f"\nslipway apply vs deploy of the same change, {n} services, instant rollouts (median of {runs} runs)")
        print(f"  deploy {deploy * 1000:.0f} ms, apply {apply * 1000:.0f} ms: apply adds {(apply - deploy) * 1000:.0f} ms "
              "(its gates: plan file and fingerprint, env files, HEAD, live state read twice)")
        print(f"  lock acquire: median {acq:.1f} ms (max {acq_max:.1f}); release: median {rel:.1f} ms (max {rel_max:.1f})")


def print_diff(rows, runs):
    if rows:
        print("\nslipway diff on the emulator (release build; median/min of "
              f"{runs} runs; calls counted by the emulator)")
        print(f"{'N':>4} {'median':>9} {'min':>9} {'calls':>6} {'budget':>6}  {'awscli loop':>11} {'ratio':>7}  breakdown")
        for n, med, mn, total, budget, calls, peer in rows:
            target = " (target <= 1000 ms: " + ("ok" if med <= 1.0 else "MISSED") + ")" if n == 50 else ""
            peer_s = f"{peer:10.2f}s" if peer is not None else "        n/a"
            ratio = f"{peer / med:6.1f}x" if peer is not None else "    n/a"
            within = "ok" if total <= budget else "OVER"
            breakdown = ", ".join(f"{k.split('.')[1]} {v}" for k, v in sorted(calls.items()))
            print(f"{n:>4} {med * 1000:7.0f}ms {mn * 1000:7.0f}ms {total:>6} {budget:>6} {within}  {peer_s} {ratio}  {breakdown}{target}")


def print_deploy(deploy, runs):
    if deploy:
        n, results, peers, noticed_med, noticed_max = deploy
        print(f"\nslipway deploy of {n} services on the emulator (median of {runs} runs)")
        for rollout, (wall, wait, phases) in results.items():
            over = wait - rollout
            print(f"  rollout {rollout:.1f}s: wall {wall * 1000:.0f} ms; wait {wait * 1000:.0f} ms = rollout + {over * 1000:.0f} ms "
                  f"(target: overhead <= one poll interval, {wait_interval_ms(rollout):.0f} ms: "
                  f"{'ok' if over * 1000 <= wait_interval_ms(rollout) else 'MISSED'}); phases "
                  + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in phases.items()))
        inst = results[0.0][0]
        for peer, secs in peers.items():
            print(f"  {peer:10} per service, sequential: {secs:.1f} s = {secs / inst:.0f}x slipway's {inst * 1000:.0f} ms")
        print(f"  failure noticed -> rollback started: median {noticed_med * 1000:.1f} ms, max {noticed_max * 1000:.1f} ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slipway", default="target/release/slipway")
    ap.add_argument("--aws", default=".venv-peers/bin/aws")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="1,10,50,200")
    ap.add_argument("--ecs-deploy", default=".venv-peers/bin/ecs")
    ap.add_argument("--only", choices=["diff", "deploy", "apply", "init", "site", "strategies"], default=None)
    args = ap.parse_args()
    slipway = os.path.abspath(args.slipway)
    env = dict(os.environ, **CREDS)
    os.environ.update(CREDS)
    proc, url = start_emulator()
    env["AWS_ENDPOINT_URL"] = url
    rows = []
    try:
        with tempfile.TemporaryDirectory() as work:
            envs = os.path.join(work, "envs")
            os.makedirs(envs)
            sizes = [int(x) for x in args.sizes.split(",")] if args.only in (None, "diff") else []
            for n in sizes:
                control(url, "/_slipway/reset", {})
                name, outputs, services, cluster = stage(slipway, envs, work, url, n)
                cmd = [slipway, "--envs-dir", envs, "diff", "--env", name, "--image-tag", "v1", "--tf-outputs", outputs,
                       "--format", "json", "--detailed-exitcode"]
                first = run(cmd, env=env)
                if first.returncode != 0:
                    raise SystemExit(f"bench{n}: expected no changes, got:\n{first.stdout[:3000]}")
                samples = []
                for _ in range(args.runs):
                    t = time.perf_counter()
                    run(cmd, env=env)
                    samples.append(time.perf_counter() - t)
                control(url, "/_slipway/calls/reset", {})
                run(cmd, env=env)
                calls = control(url, "/_slipway/calls", method="GET")
                budget = math.ceil(n / 10) + n + 12
                total = sum(calls.values())
                peer = awscli_loop(args.aws, url, cluster, services, env) if os.path.exists(args.aws) else None
                rows.append((n, statistics.median(samples), min(samples), total, budget, calls, peer))
            print_diff(rows, args.runs)
            deploy = None
            if args.only in (None, "deploy"):
                deploy = bench_deploy(slipway, os.path.abspath(args.aws), os.path.abspath(args.ecs_deploy), url, work, envs,
                                      env, args.runs)
            print_deploy(deploy, args.runs)
            applied = None
            if args.only in (None, "apply"):
                applied = bench_apply(slipway, url, work, envs, env, args.runs)
            print_apply(applied, args.runs)
            adopted = None
            if args.only in (None, "init"):
                adopted = bench_init(slipway, url, work, env, args.runs)
            print_init(adopted, args.runs)
            if args.only in (None, "strategies"):
                print_strategies(bench_strategies(slipway, url, work, envs, env, args.runs), args.runs)
            if args.only in (None, "site"):
                if not os.path.exists(args.aws):
                    raise SystemExit(f"{args.aws} is missing: `make bench` installs the peers")
                n, unchanged, changed, peer, best, peer_best = bench_site(
                    slipway, os.path.abspath(args.aws), url, work, envs, env, args.runs)
                print(f"\nstatic site of {n} files, one file changed (median of {args.runs} runs; best)")
                print(f"  slipway deploy: {changed * 1000:.0f} ms ({best * 1000:.0f}); the same deploy with nothing "
                      f"changed: {unchanged * 1000:.0f} ms")
                print(f"  awscli s3 sync --delete + create-invalidation + wait: {peer * 1000:.0f} ms "
                      f"({peer_best * 1000:.0f}); ratio {peer / changed:.1f}x")
    finally:
        proc.terminate()

if __name__ == "__main__":
    main()
