#!/usr/bin/env bash
# `make demo`: the main job end to end on local defaults, offline, on the AWS emulator.
#   1. validate both example systems (SCR Platform, Specboard)
#   2. render Terraform variables for staging
#   3. start the AWS emulator and create what terraform/ would create from those variables
#      (seed.py stands in for `terraform apply`: the AWS provider cannot be installed offline;
#      it says so, and uses slipway's own tfvars), and push two images (CI's `docker push`)
#   4. plan: the ECS diff against the empty cluster, a plan file, the PR comment (dry run)
#   5. apply the reviewed plan behind its gates (fingerprint, nothing moved, approval, account,
#      the lock in S3), then its rollout with progress: verify, migrate, register, update, wait
#   6. break a deploy (the emulator fails the image as the circuit breaker would) and watch
#      slipway roll back to the last healthy revision
#   7. status: which version runs where
set -euo pipefail
slipway=${1:-target/debug/slipway}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=${SLIPWAY_VENV:-$here/../../.venv}/bin/python
out=${DEMO_OUT:-out/demo}
rm -rf "$out" && mkdir -p "$out"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "validate: SCR Platform (envs/) and Specboard (examples/specboard/envs/)"
"$slipway" validate --strict
"$slipway" --envs-dir examples/specboard/envs validate --strict

step "render tfvars for staging (needs no Terraform outputs)"
"$slipway" render --env staging --only tfvars --out "$out/staging"

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
step "start the AWS emulator on 127.0.0.1:$port (moto 5.2.5 + slipway's ECS realism)"
"$py" "$here/emulator.py" --port "$port" --account 111111111111 >"$out/emulator.log" 2>&1 &
emu=$!
trap 'kill $emu 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do grep -q ready "$out/emulator.log" 2>/dev/null && break; sleep 0.2; done
grep -q ready "$out/emulator.log" || { echo "emulator did not start"; exit 1; }
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE
control() { curl -sf -X POST "$AWS_ENDPOINT_URL/_slipway/$1" -H 'content-type: application/json' -d "$2" >/dev/null; }
control config '{"rollout_seconds": 2.0, "task_seconds": 1.0}'

good=$(git rev-parse --short=7 HEAD 2>/dev/null || echo 1a2b3c4)
bad=broken-$good
step "create the staging infrastructure (seed.py stands in for terraform apply of terraform/) and push images $good and $bad"
"$py" "$here/seed.py" --endpoint "$AWS_ENDPOINT_URL" --tfvars "$out/staging/tfvars.json" \
  --out "$out/staging/terraform-outputs.json" --push "$good" --push "$bad" --bucket scr-terraform-state
outputs="$out/staging/terraform-outputs.json"

step "plan: what a deploy of $good would change (ECS half; Terraform needs the AWS provider, offline it cannot run)"
"$slipway" plan --env staging --image-tag "$good" --no-terraform --tf-outputs "$outputs" \
  --out "$out/plans/staging.json" --detailed-exitcode || [ $? -eq 2 ]
step "the PR comment for that plan (dry run: GitHub is out of reach here)"
"$slipway" comment --plan "$out/plans/staging.json" --dry-run | head -40

fingerprint=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["fingerprint"][:12])' "$out/plans/staging.json")
step "apply the reviewed plan $fingerprint: gates, lock, then verify, migrate, register, update, wait (smoke checks need the real ALB: skipped)"
"$slipway" apply --env staging --plan "$out/plans/staging.json" --fingerprint "$fingerprint" \
  --tf-outputs "$outputs" --no-smoke

step "apply it again: refused, the live state moved since that plan (exit 3)"
set +e
"$slipway" apply --env staging --plan "$out/plans/staging.json" --fingerprint "$fingerprint" \
  --tf-outputs "$outputs" --no-smoke
code=$?
set -e
echo "apply exited $code (3 = refused by a gate)"
[ "$code" -eq 3 ]

step "plan again: nothing left to change"
"$slipway" diff --env staging --image-tag "$good" --tf-outputs "$outputs" --detailed-exitcode

step "break a deploy: the emulator fails $bad as the circuit breaker would; slipway rolls back (exit 4)"
control fail-images "{\"pattern\": \":$bad\"}"
set +e
"$slipway" deploy --env staging --image-tag "$bad" --tf-outputs "$outputs" --no-smoke
code=$?
set -e
echo "deploy exited $code (4 = failed and rolled back)"
[ "$code" -eq 4 ]

step "status: which version runs where"
"$slipway" status --env staging
step "done: artefacts and the plan file in $out"
