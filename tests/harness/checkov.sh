#!/usr/bin/env bash
# Static security checks of the Terraform root and modules with checkov (pinned: 3.3.30, in the
# project venv: `.venv/bin/pip install checkov==3.3.30`). Exits non-zero when any check fails.
# Checks that do not fit the design are skipped inline on the resource, each with its reason
# (`#checkov:skip=ID:reason`); terraform/README.md lists them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${SLIPWAY_VENV:-$root/.venv}
checkov=$venv/bin/checkov
if [[ ! -x $checkov ]]; then
  echo "checkov not found at $checkov: run $venv/bin/pip install checkov==3.3.30" >&2
  exit 1
fi

cd "$root"
status=0
for dir in terraform modules; do
  echo "checkov: $dir/"
  "$checkov" -d "$dir" --skip-download --quiet --compact --framework terraform || status=1
done
exit $status
