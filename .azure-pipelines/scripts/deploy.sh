#!/usr/bin/env bash
# One stack's deployment, after the environment's approvals and checks: the governance bundle is
# written again with the run's approvals and must pass (policy, calendar, approval matrix), then the
# plan saved by the preview is applied; `pulumi up --plan` fails if the update would differ from it.
#   deploy.sh   (env: STACK, OUT, PREVIEW_DIR (the downloaded preview artifact); after stack-env.sh)
set -euo pipefail
: "${STACK:?}" "${OUT:?}" "${PREVIEW_DIR:?}"
mkdir -p "$OUT"
bash .azure-pipelines/scripts/governance.sh deploy
pulumi up --stack "$STACK" --yes \
  --policy-pack policypacks/encryption --policy-pack policypacks/segregation \
  --policy-pack policypacks/resilience --policy-pack policypacks/governance \
  --plan "$PREVIEW_DIR/update-plan.json" --json > "$OUT/up.json"
