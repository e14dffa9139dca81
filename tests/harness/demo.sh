#!/usr/bin/env bash
# `make demo`: the main job end to end on local defaults, offline.
#   1. validate both example systems (SCR Platform, Specboard)
#   2. render Terraform variables for staging
#   3. start the AWS emulator and create what terraform/ would create from those variables
#      (seed.py stands in for `terraform apply` because the AWS provider cannot be installed
#      offline: it says so, and uses slipway's own tfvars)
#   4. render task definitions and service settings from the resulting outputs, and register
#      them in the emulator through the real AWS SDK (the round trip the tests check)
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
step "start the AWS emulator on 127.0.0.1:$port"
"$py" "$here/emulator.py" --port "$port" --account 111111111111 >"$out/emulator.log" 2>&1 &
emu=$!
trap 'kill $emu 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q ready "$out/emulator.log" 2>/dev/null && break; sleep 0.2; done
grep -q ready "$out/emulator.log" || { echo "emulator did not start"; exit 1; }

step "create the staging infrastructure in the emulator (seed.py stands in for terraform apply of terraform/)"
"$py" "$here/seed.py" --endpoint "http://127.0.0.1:$port" --tfvars "$out/staging/tfvars.json" --out "$out/staging/terraform-outputs.json"
echo "outputs: $out/staging/terraform-outputs.json"

step "render ECS artefacts from the outputs"
"$slipway" render --env staging --image-tag "$(git rev-parse --short=12 HEAD 2>/dev/null || echo demo)" \
  --tf-outputs "$out/staging/terraform-outputs.json" --out "$out/staging"

step "register the rendered task definitions through the AWS SDK"
for td in "$out"/staging/task-definitions/*.json; do
  AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo "$py" - "$td" "http://127.0.0.1:$port" <<'PY'
import json, sys, boto3
td = json.load(open(sys.argv[1]))
ecs = boto3.client("ecs", endpoint_url=sys.argv[2], region_name="eu-west-1")
r = ecs.register_task_definition(**td)["taskDefinition"]
print(f"registered {r['taskDefinitionArn']}")
PY
done
step "done: artefacts in $out/staging"
