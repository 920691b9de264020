#!/usr/bin/env bash
# One stack's preview against the real cloud with every policy pack; the plan is saved so the deploy
# stage applies exactly what was reviewed (`pulumi up --plan`), then the governance bundle is written.
#   preview.sh   (env: STACK, OUT, GOVERNANCE True|False; after stack-env.sh)
set -euo pipefail
: "${STACK:?}" "${OUT:?}" "${GOVERNANCE:?}"
mkdir -p "$OUT"
pulumi preview --stack "$STACK" --diff \
  --policy-pack policypacks/encryption --policy-pack policypacks/segregation \
  --policy-pack policypacks/resilience --policy-pack policypacks/governance --policy-pack policypacks/cloud \
  --save-plan "$OUT/update-plan.json" --json > "$OUT/preview.json"
# Template booleans arrive as True/False.
if [ "${GOVERNANCE,,}" = true ]; then
  bash .azure-pipelines/scripts/governance.sh preview
fi
