#!/usr/bin/env bash
# Drift check of one stack, run with the environment's read-only identity after stack-env.sh:
#   1. export the state as it is (the rollback point, should the refresh itself need undoing:
#      `pulumi stack import`; it holds only ciphertext for secrets and stays on the agent),
#   2. refresh it from the cloud (outputs become what really runs; inputs too, for most providers),
#   3. compare the refreshed export with the offline plan of the last deployed commit, whose values
#      were approved (`odoo-platform drift`), and let the engine say whether anything would change
#      (`pulumi preview --expect-no-changes`).
# The report says `passed` only if both agree; the exit status is non-zero otherwise.
#   drift.sh   (env: STACK, OUT)
set -uo pipefail
: "${STACK:?}" "${OUT:?}"
dir="$OUT/$STACK"
mkdir -p "$dir"
state="$AGENT_TEMPDIRECTORY/drift-$STACK"
mkdir -p "$state"
pulumi stack export --stack "$STACK" --file "$state/before-refresh.json" || exit 3
pulumi refresh --yes --skip-preview --stack "$STACK" --json > "$dir/refresh.json" || exit 3
pulumi stack export --stack "$STACK" --file "$state/refreshed.json" || exit 3

deployed="$(pulumi stack history --stack "$STACK" --json | python3 .azure-pipelines/scripts/deployed-commit.py)" || exit 3
if [ -z "$deployed" ]; then
  echo "##vso[task.logissue type=error]$STACK was never deployed: nothing to compare"
  exit 3
fi
git worktree add --detach "$state/deployed-source" "$deployed" || exit 3
(cd "$state/deployed-source" && PYTHONPATH="$PWD" odoo-platform plan --stack "$STACK" --no-policy --out "$dir/approved") || exit 3

odoo-platform drift --state "$state/refreshed.json" --plan "$dir/approved/plan.json" --out "$dir/drift.json"
drift_status=$?
pulumi preview --expect-no-changes --diff --stack "$STACK" --json > "$dir/preview.json"
preview_status=$?
if [ "$preview_status" -ne 0 ] && [ -f "$dir/drift.json" ]; then
  # The engine sees changes the property comparison does not: the report must not say passed.
  python3 - "$dir/drift.json" "$preview_status" <<'PY'
import json, sys
path, status = sys.argv[1], int(sys.argv[2])
report = json.load(open(path))
report["passed"] = False
report["preview"] = {"expectNoChanges": "failed", "exitCode": status, "report": "preview.json"}
open(path, "w").write(json.dumps(report, indent=2) + "\n")
PY
fi
if [ "$drift_status" -ne 0 ]; then exit "$drift_status"; fi
exit "$preview_status"
