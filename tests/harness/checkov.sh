#!/usr/bin/env bash
# Static security checks of the Terraform root and modules with checkov (pinned: 3.3.30, in its
# own venv `.venv-lint`, made by `make lint`: checkov pins older boto3/botocore than moto wants,
# so it must not share the test venv). Exits non-zero when any check fails.
# Checks that do not fit the design are skipped inline on the resource, each with its reason
# (`#checkov:skip=ID:reason`); terraform/README.md lists them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${SLIPWAY_LINT_VENV:-$root/.venv-lint}
checkov=$venv/bin/checkov
if [[ ! -x $checkov ]]; then
  echo "checkov not found at $checkov: run \`make lint\` (it creates $venv)" >&2
  exit 1
fi

cd "$root"
status=0
for dir in terraform modules; do
  echo "checkov: $dir/"
  "$checkov" -d "$dir" --skip-download --quiet --compact --framework terraform || status=1
done
exit $status
