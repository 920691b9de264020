#!/usr/bin/env bash
# The change's governance, in the job that previews or deploys it (README: "Change governance"):
# offline plan with every policy pack, the diff against the estate's last deployed commit, the
# freeze calendar, and the evidence bundle with the author and approvers from Azure DevOps.
#   governance.sh preview|deploy   (env: STACK, OUT, APPROVER_ROLES, SYSTEM_ACCESSTOKEN, SYSTEM_COLLECTIONURI,
#                                   SYSTEM_TEAMPROJECT, BUILD_REPOSITORY_ID, BUILD_SOURCEVERSION, BUILD_BUILDID,
#                                   BUILD_REQUESTEDFOREMAIL; after stack-env.sh has selected the stack)
# Writes $OUT/governance (plans, diff, freeze decision) and the bundle $OUT/evidence. Exits non-zero
# when policy or the calendar refuses; on incomplete approvals too, except in a preview (the approvals
# are given at the environment's gate, after the preview, by people reading this bundle).
set -euo pipefail
mode="$1"
: "${STACK:?}" "${OUT:?}" "${SYSTEM_ACCESSTOKEN:?}"
work="$OUT/governance"
mkdir -p "$work"  # --out needs an existing parent

# A policy violation (exit 1) still gets its bundle: evidence reads the policy report and exits 1 too.
planned=0
odoo-platform plan --stack "$STACK" --out "$work/plan" || planned=$?
if [ "$planned" -ne 0 ] && [ "$planned" -ne 1 ]; then exit "$planned"; fi

deployed="$(pulumi stack history --stack "$STACK" --json | python3 .azure-pipelines/scripts/deployed-commit.py)"
baseline=()
if [ -n "$deployed" ]; then
  git worktree add --detach "$work/deployed-source" "$deployed"
  # That commit's code and config, so the diff is exactly what this run changes.
  (cd "$work/deployed-source" && PYTHONPATH="$PWD" odoo-platform plan --stack "$STACK" --no-policy --out "$work/deployed")
  odoo-platform diff "$work/deployed/plan.json" "$work/plan/plan.json" --format json > "$work/diff.json"
  baseline=(--baseline "$work/deployed/plan.json")
  risk="$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["risk"]; print("low" if r == "none" else r)' "$work/diff.json")"
else
  risk=high  # a stack's first deployment creates everything: no calendar exception for it
fi
freeze=0
odoo-platform freeze check --stack "$STACK" --risk "$risk" --format json > "$work/freeze.json" || freeze=$?

# Author and approvers from Azure DevOps, with the run's own token (never printed, not in argv).
header="$(mktemp)"
trap 'rm -f "$header"' EXIT
(umask 077 && printf 'Authorization: Bearer %s\n' "$SYSTEM_ACCESSTOKEN" > "$header")
api="${SYSTEM_COLLECTIONURI}${SYSTEM_TEAMPROJECT}/_apis"
curl -fsS -H "@$header" -o "$work/pull-requests.json" \
  "$api/git/repositories/$BUILD_REPOSITORY_ID/pullrequests?searchCriteria.status=completed&searchCriteria.targetRefName=refs/heads/main&\$top=100&api-version=7.1"
approvals=()
if [ "$mode" = deploy ]; then
  curl -fsS -H "@$header" -o "$work/approvals.json" \
    "$api/pipelines/approvals?state=completed&\$expand=steps&top=200&api-version=7.1"
  approvals=(--approvals "$work/approvals.json")
fi
roles=()
IFS=';' read -r -a mapping <<< "${APPROVER_ROLES:-}"
for item in "${mapping[@]}"; do roles+=(--role "$item"); done
people="$(python3 .azure-pipelines/scripts/approvers.py --commit "$BUILD_SOURCEVERSION" --run "$BUILD_BUILDID" \
  --requested-for "$BUILD_REQUESTEDFOREMAIL" --pull-requests "$work/pull-requests.json" "${approvals[@]}" "${roles[@]}")"
author="$(sed -n 's/^author //p' <<< "$people")"
approvers=()
while read -r approver; do approvers+=(--approver "$approver"); done < <(sed -n 's/^approver //p' <<< "$people")

status=0
# Written even when the calendar refuses: the bundle records the refusal.
odoo-platform evidence --plan "$work/plan/plan.json" "${baseline[@]}" --out "$OUT/evidence" \
  --author "$author" "${approvers[@]}" || status=$?
# evidence writes the bundle first, then exits 1 (policy failed), 4 (calendar refused) or 6 (approvals incomplete).
if [ "$mode" = preview ] && [ "$status" -eq 6 ]; then
  echo "approvals are incomplete: the environment's approvers decide on this bundle"
  status=0
fi
if [ "$status" -eq 0 ] && [ "$freeze" -ne 0 ]; then
  status="$freeze"
fi
exit "$status"
