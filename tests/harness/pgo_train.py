"""The training run of `make release-pgo` (tests/harness/pgo.sh): slipway's own workloads, run once
each by the instrumented binary, so that the profile says which code is hot.

The generated inputs come from bench.py's generators with other sizes and another seed than
`make bench` measures with, so the profile is not fitted to the benchmark's exact files. The
migration fixtures (tests/fixtures/migrations: seed 003's operations, syntax errors, DO blocks,
ignore comments) and `make demo` (plan, apply, deploy, rollback and status on the AWS emulator)
cover the paths the generators do not.
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(cmd, ok=(0,), env=None):
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    if r.returncode not in ok:
        raise SystemExit(f"training step failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.decode()[:2000]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slipway", required=True, help="the instrumented binary")
    ap.add_argument("--no-demo", action="store_true", help="skip `make demo` (it needs the project venv)")
    args = ap.parse_args()
    s = os.path.abspath(args.slipway)
    with tempfile.TemporaryDirectory() as d:
        outputs = bench.generate(d, 300)
        run([s, "--envs-dir", d, "validate"])
        run([s, "--envs-dir", d, "render", "--env", "bench", "--image-tag", "t1", "--tf-outputs", outputs,
             "--format", "json"])
        run([s, "--version"])
        plan = os.path.join(d, "plan.json")
        bench.generate_plan(plan, resources=3000, target_bytes=15 * 1024 * 1024)
        run([s, "tf-summary", plan, "--format", "json"])
        run([s, "tf-summary", plan])
        mig = os.path.join(d, "migrations")
        os.mkdir(mig)
        sql = bench.generate_migrations(mig, files=250, total_bytes=5 * 1000 * 1000, seed=1234)
        # Exit 1 is expected: the generated files hold findings that block.
        run([s, "--format", "json", "lint-migrations", *sql], ok=(0, 1))
        run([s, "lint-migrations", *sql[:50]], ok=(0, 1))
        fixtures = sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "migrations", "**", "*.sql"),
                                    recursive=True))
        run([s, "--format", "json", "lint-migrations", *fixtures], ok=(0, 1))
        if not args.no_demo:
            env = dict(os.environ, DEMO_OUT=os.path.join(d, "demo"))
            run([os.path.join(ROOT, "tests", "harness", "demo.sh"), s], env=env)


if __name__ == "__main__":
    main()
