#!/usr/bin/env bash
# Checks rendered tfvars against the Terraform root's variables, offline: the key sets must be
# equal (names), and real Terraform must accept the values (types, nullability, validations).
#
# Usage: tests/harness/tf-variables-check.sh TFVARS.json...
#
# The AWS provider cannot be installed offline, so this plans a copy of terraform/variables.tf
# and terraform/settings.tf alone (no resources, no providers) with each file.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
tf=${SLIPWAY_TERRAFORM:-$here/terraform}
(($# > 0)) || { echo "usage: $0 TFVARS.json..." >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/terraform/variables.tf" "$root/terraform/settings.tf" "$work/"
"$tf" -chdir="$work" init -input=false -backend=false >/dev/null

declared=$(sed -n 's/^variable "\([A-Za-z0-9_-]*\)".*/\1/p' "$root/terraform/variables.tf" | sort)
status=0
for file in "$@"; do
  keys=$(python3 -c 'import json,sys; print("\n".join(sorted(json.load(open(sys.argv[1])))))' "$file")
  if [[ $keys != "$declared" ]]; then
    echo "FAIL $file: keys differ from terraform/variables.tf (< tfvars, > variables.tf):" >&2
    diff <(echo "$keys") <(echo "$declared") >&2 || true
    status=1
    continue
  fi
  if out=$("$tf" -chdir="$work" plan -input=false -lock=false -no-color -var-file="$(realpath "$file")" 2>&1); then
    echo "ok   $file"
  else
    echo "FAIL $file:" >&2
    echo "$out" >&2
    status=1
  fi
done
exit $status
