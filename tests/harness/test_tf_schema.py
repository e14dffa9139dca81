"""Checks tf_schema.py's check against known mistakes (tests/fixtures/tf-schema-bad): each must be
reported at its line, and a correct block must pass.

Usage: .venv-schema/bin/python tests/harness/test_tf_schema.py SCHEMA_JSON
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BAD = os.path.join(HERE, "..", "fixtures", "tf-schema-bad")

EXPECTED = [
    ('main.tf:4:', 'aws_iam_role.missing_required: missing required argument "assume_role_policy"'),
    ('main.tf:10:', 'aws_ecs_service.unknown_argument: unknown argument "lanuch_type" (did you mean "launch_type"?)'),
    ('main.tf:15:', 'unknown argument "rollbak" in deployment_circuit_breaker'),
    ('main.tf:20:', 'aws_lb_target_group.block_as_argument: "health_check" is a block, not an argument'),
]


def main() -> int:
    schema = sys.argv[1]
    r = subprocess.run(
        [sys.executable, os.path.join(HERE, "tf_schema.py"), "check", "--schema", schema, BAD],
        capture_output=True,
        text=True,
    )
    out = r.stdout + r.stderr
    failures = []
    if r.returncode != 1:
        failures.append(f"exit {r.returncode}, expected 1")
    for where, what in EXPECTED:
        if not any(where in line and what in line for line in out.splitlines()):
            failures.append(f"not reported: {where} {what}")
    if "aws_iam_policy_document.fine" in out:
        failures.append("a correct block was reported")
    if failures:
        print("FAIL tf_schema check:\n  " + "\n  ".join(failures) + "\n--- output:\n" + out)
        return 1
    print(f"ok    tf_schema check reports each known mistake ({len(EXPECTED)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
