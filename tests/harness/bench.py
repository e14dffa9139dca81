"""`make bench`: performance figures for slipway, measured (never asserted in tests).

- validate + render of a generated environment with 1,000 services (target <= 1 s)
- `slipway --version` (target <= 10 ms)
- `lint-migrations` of 1,000 generated migration files, 20 MB of SQL (target <= 1 s)

Prints median and min over repeated runs, wall clock per process: of the release binary, and with
`--pgo PATH` of the profile-guided release build too (`make release-pgo`; tests/harness/pgo.sh).
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

TARGETS = {"validate+render 1000 services": 1.0, "--version": 0.010, "tf-summary 100 MB plan": 2.0,
           "lint-migrations 1000 files / 20 MB": 1.0}

# What a migration holds, by weight: schema changes (the most expensive to lint), data
# backfills and seeds, comments; now and then something the rules flag.
SQL_PIECES = [
    (6, "CREATE TABLE IF NOT EXISTS {t} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        "  account_id bigint NOT NULL,\n  name text NOT NULL,\n  status text NOT NULL DEFAULT 'new',\n"
        "  payload jsonb,\n  created_at timestamptz NOT NULL DEFAULT now()\n);\n"),
    (6, "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS {c} text NULL;\n"),
    (4, "CREATE INDEX CONCURRENTLY IF NOT EXISTS {t}_{c}_idx ON {t} ({c});\n"),
    (3, "ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_check CHECK (char_length({c}) < 200) NOT VALID;\n"
        "ALTER TABLE {t} VALIDATE CONSTRAINT {t}_{c}_check;\n"),
    (8, "INSERT INTO {t} (account_id, name, status, payload) VALUES ({n}, 'seed {n}', 'active', "
        "'{{\"plan\": \"free\", \"note\": \"DROP TABLE is only text here\"}}');\n"),
    (4, "UPDATE {t} SET status = 'migrated' WHERE id BETWEEN {n} AND {n} + 1000 AND status = 'new';\n"),
    (3, "-- {t}: backfill {c} in batches; the old column is dropped in a later release\n"),
    (1, "COMMENT ON COLUMN {t}.{c} IS 'set by the importer';\n"),
    (1, "CREATE OR REPLACE FUNCTION {t}_touch() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
        "BEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND\n$fn$;\n"),
    (1, "ALTER TABLE {t} DROP COLUMN IF EXISTS legacy_{c};\n"),
    (1, "ALTER TABLE {t} RENAME COLUMN {c} TO {c}_v2;\n"),
]


def generate_migrations(dirpath: str, files: int = 1000, total_bytes: int = 20 * 1000 * 1000, seed: int = 7):
    """`files` migration files of `total_bytes` together, deterministic for a given seed."""
    import random
    rng = random.Random(seed)
    weights = [w for w, _ in SQL_PIECES]
    per_file = total_bytes // files
    paths = []
    for i in range(files):
        t = f"table_{i % 97}"
        parts = ["SET lock_timeout = '2s';\nSET statement_timeout = '60s';\n"]
        size = len(parts[0])
        n = 0
        while size < per_file:
            _, piece = rng.choices(SQL_PIECES, weights)[0]
            n += 1
            text = piece.format(t=t, c=f"col_{rng.randrange(40)}", n=n * 1000)
            parts.append(text)
            size += len(text)
        path = os.path.join(dirpath, f"{i:04d}_migration.sql")
        with open(path, "w") as f:
            f.write("".join(parts))
        paths.append(path)
    return paths


def generate_plan(path: str, resources: int = 20000, target_bytes: int = 100 * 1024 * 1024):
    """A `terraform show -json` document (format 1.2) of the given size, written as a stream."""
    kinds = ["aws_iam_role_policy", "aws_security_group_rule", "aws_ecs_service", "aws_s3_bucket", "aws_lb_listener_rule"]
    actions = [["create"], ["update"], ["no-op"], ["delete", "create"], ["delete"], ["read"]]
    pad = max(0, target_bytes // resources - 600)
    with open(path, "w") as f:
        f.write('{"format_version":"1.2","terraform_version":"1.15.5","planned_values":{},"resource_changes":[')
        for i in range(resources):
            kind = kinds[i % len(kinds)]
            act = actions[i % len(actions)]
            mode = "data" if act == ["read"] else "managed"
            blob = json.dumps({"policy": "x" * (pad // 2), "tags": {"n": str(i)}})
            rc = (
                f'{{"address":"{kind}.r{i}","mode":"{mode}","type":"{kind}","name":"r{i}",'
                f'"provider_name":"registry.terraform.io/hashicorp/aws","change":{{"actions":{json.dumps(act)},'
                f'"before":{blob},"after":{blob},"after_unknown":{{}},"before_sensitive":{{}},"after_sensitive":{{}}}}}}'
            )
            f.write(("," if i else "") + rc)
        f.write('],"output_changes":{"url":{"actions":["update"],"before":"a","after":"b","after_unknown":false,'
                '"before_sensitive":false,"after_sensitive":false}},"errored":false}')


def peak_run(cmd):
    """Wall time and peak RSS (bytes) of one process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[:2000]}")
    return elapsed, usage.ru_maxrss * 1024


def generate(dirpath: str, n: int) -> str:
    lines = [
        'account_id = "123456789012"',
        'region     = "eu-west-1"',
        'cluster    = "bench"',
        'repository "app" {',
        "  lifecycle {",
        "    keep_tagged          = 20",
        "    expire_untagged_days = 1",
        "  }",
        "}",
    ]
    services = {}
    for i in range(n):
        name = f"svc-{i:04d}"
        lines += [
            f'service "{name}" {{',
            '  repository    = "app"',
            "  cpu           = 512",
            "  memory        = 1024",
            "  desired_count = 2",
            f"  port          = {3000 + (i % 1000)}",
            '  command       = ["serve", "--port", "8080"]',
            "  environment = {",
            "    APP_ENV   = env.name",
            '    LOG_LEVEL = "info"',
            "  }",
            "  secrets = {",
            f'    DATABASE_URL = "secretsmanager:bench/{name}/database-url"',
            "  }",
            "  health_check {",
            '    command = ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"]',
            "  }",
            "  load_balancer {",
            f'    path_patterns     = ["/{name}/*"]',
            f"    priority          = {i + 1}",
            '    health_check_path = "/health"',
            "  }",
            '  smoke "health" {',
            '    path = "/health"',
            "  }",
            "}",
        ]
        services[name] = {
            "execution_role_arn": f"arn:aws:iam::123456789012:role/bench-{name}-execution",
            "task_role_arn": f"arn:aws:iam::123456789012:role/bench-{name}-task",
            "security_group_id": f"sg-{i:017x}",
            "target_group_arn": f"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/{name}/{i:016x}",
            "log_group_name": f"/ecs/bench/{name}",
        }
    with open(os.path.join(dirpath, "bench.hcl"), "w") as f:
        f.write("\n".join(lines) + "\n")
    outputs = {
        "private_subnet_ids": {"sensitive": False, "type": ["list", "string"], "value": ["subnet-1", "subnet-2"]},
        "ecr_repository_urls": {"sensitive": False, "type": ["map", "string"], "value": {"app": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"}},
        "services": {"sensitive": False, "type": "dynamic", "value": services},
    }
    path = os.path.join(dirpath, "outputs.json")
    with open(path, "w") as f:
        json.dump(outputs, f)
    return path


def timed(cmd, runs):
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samples.append(time.perf_counter() - t)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr.decode()[:2000]}")
    return statistics.median(samples), min(samples)


def measure(s, d, outputs, plan, sql, runs):
    """Every measurement for one binary; returns (results, tf-summary peak RSS, lint findings)."""
    results = {}
    results["validate 1000 services"] = timed([s, "--envs-dir", d, "validate"], runs)
    results["render 1000 services"] = timed(
        [s, "--envs-dir", d, "render", "--env", "bench", "--image-tag", "abc", "--tf-outputs", outputs, "--format", "json"], runs)
    # validate + render is what a CI job runs: both processes, back to back.
    both = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([s, "--envs-dir", d, "validate"], stdout=subprocess.DEVNULL, check=True)
        subprocess.run([s, "--envs-dir", d, "render", "--env", "bench", "--image-tag", "abc", "--tf-outputs", outputs,
                        "--format", "json"], stdout=subprocess.DEVNULL, check=True)
        both.append(time.perf_counter() - t)
    results["validate+render 1000 services"] = (statistics.median(both), min(both))
    results["--version"] = timed([s, "--version"], max(runs, 50))
    tf = [peak_run([s, "tf-summary", plan, "--format", "json"]) for _ in range(5)]
    results["tf-summary 100 MB plan"] = (statistics.median(r[0] for r in tf), min(r[0] for r in tf))
    peak = max(r[1] for r in tf)
    lint = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run([s, "--format", "json", "lint-migrations", *sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lint.append(time.perf_counter() - t)
        if r.returncode not in (0, 1):
            raise SystemExit(f"lint-migrations failed: {r.stderr.decode()[:2000]}")
    found = json.loads(r.stdout)["reports"]["files"]["findings"]
    results["lint-migrations 1000 files / 20 MB"] = (statistics.median(lint), min(lint))
    return results, peak, found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slipway", default="target/release/slipway")
    ap.add_argument("--pgo", default=None,
                    help="also measure this binary: the profile-guided build of `make release-pgo`")
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    builds = [("release", args.slipway)] + ([("release+PGO", args.pgo)] if args.pgo else [])
    with tempfile.TemporaryDirectory() as d:
        outputs = generate(d, 1000)
        size = os.path.getsize(os.path.join(d, "bench.hcl"))
        plan = os.path.join(d, "plan.json")
        generate_plan(plan)
        plan_size = os.path.getsize(plan)
        mig = os.path.join(d, "migrations")
        os.mkdir(mig)
        sql = generate_migrations(mig)
        sql_bytes = sum(os.path.getsize(p) for p in sql)
        measured = [(label, path, *measure(path, d, outputs, plan, sql, args.runs)) for label, path in builds]
    # Both builds must agree on what they found: a faster build that finds something else is wrong.
    if len(measured) == 2 and measured[0][4] != measured[1][4]:
        raise SystemExit("the release and release+PGO builds report different lint findings")
    found = measured[0][4]
    print(f"environment file: 1000 services, {size / 1024:.0f} KiB")
    print(f"plan JSON: 20000 resource changes, {plan_size / 1e6:.1f} MB")
    print(f"migrations: {len(sql)} files, {sql_bytes / 1e6:.1f} MB of SQL; {len(found)} findings")
    for label, path, results, peak, _ in measured:
        print(f"\n{label} ({path}); tf-summary peak RSS {peak / 1e6:.1f} MB = {peak / plan_size:.2f}x the plan "
              f"(target <= 3x) {'ok' if peak <= 3 * plan_size else 'MISSED'}")
        print(f"{'measurement':36} {'median':>10} {'min':>10}  target")
        for name, (med, mn) in results.items():
            target = TARGETS.get(name)
            verdict = "" if target is None else (f"<= {target * 1000:.0f} ms " + ("ok" if med <= target else "MISSED"))
            print(f"{name:36} {med * 1000:8.1f}ms {mn * 1000:8.1f}ms  {verdict}")


if __name__ == "__main__":
    main()
