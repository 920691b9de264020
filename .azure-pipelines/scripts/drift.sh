#!/usr/bin/env bash
# Drift check of one stack, run after the cloud login of the calling template:
#   1. refresh the state from the cloud (outputs become what really runs),
#   2. let the engine say whether anything would change (preview --expect-no-changes),
#   3. compare the exported state with the approved offline plan of main, with risk classes.
# Reports go to $REPORT_DIR for publishing; the exit status is non-zero on blocking drift.
set -uo pipefail
stack="$1"
report_dir="$2"
mkdir -p "$report_dir/$stack"
pulumi refresh --yes --skip-preview --stack "$stack" --json > "$report_dir/$stack/refresh.json"
pulumi stack export --stack "$stack" --file "$report_dir/$stack/state.json"
.venv/bin/odoo-platform plan --stack "$stack" --no-policy --out "$report_dir/$stack/approved"
.venv/bin/odoo-platform drift --state "$report_dir/$stack/state.json" --plan "$report_dir/$stack/approved/plan.json" \
  --out "$report_dir/$stack/drift.json"
drift_status=$?
pulumi preview --expect-no-changes --diff --stack "$stack" --json > "$report_dir/$stack/preview.json"
preview_status=$?
# The state export holds only ciphertext for secrets, but it is not evidence: keep the report, drop the state.
rm -f "$report_dir/$stack/state.json"
if [ "$drift_status" -ne 0 ]; then exit "$drift_status"; fi
exit "$preview_status"
