#!/usr/bin/env bash
# One stack's deployment, after the environment's approvals and checks: the governance bundle is
# written again with the run's approvals and must pass (policy, calendar, approval matrix), then the
# plan saved by the preview is applied; `pulumi up --plan` fails if the update would differ from it.
# Then the commit is pushed to refs/heads/deployed/<stack>, the only ref the Pulumi Kubernetes Operator
# follows (odoo_platform/delivery/gitops.py): GitOps re-applies approved commits and nothing else.
#   deploy.sh   (env: STACK, OUT, PREVIEW_DIR (the downloaded preview artifact); after stack-env.sh)
set -euo pipefail
: "${STACK:?}" "${OUT:?}" "${PREVIEW_DIR:?}" "${SYSTEM_ACCESSTOKEN:?}"
mkdir -p "$OUT"
bash .azure-pipelines/scripts/governance.sh deploy
pulumi up --stack "$STACK" --yes \
  --policy-pack policypacks/encryption --policy-pack policypacks/segregation \
  --policy-pack policypacks/resilience --policy-pack policypacks/governance --policy-pack policypacks/cloud \
  --plan "$PREVIEW_DIR/update-plan.json" --json > "$OUT/up.json"
# The run's token as an HTTP header from the environment, never on the command line.
GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraheader GIT_CONFIG_VALUE_0="AUTHORIZATION: bearer $SYSTEM_ACCESSTOKEN" \
  git push --force origin "HEAD:refs/heads/deployed/$STACK"
