#!/usr/bin/env bash
# The delivery stack (stacks/delivery: environments, checks, connections, branch policies) previewed,
# applied and checked for drift by a pipeline like the estates, so the gates themselves are governed.
#   delivery-stack.sh preview|up|drift   (env: OUT, AWS_ROLE_ARN, AWS_REGION, PULUMI_BACKEND_URL,
#                                         PREVIEW_DIR for up; from AzureCLI@2: servicePrincipalId, tenantId, idToken)
# The azuredevops provider signs in with the connection's identity (workload identity federation); the
# aws provider, which writes the IAM trust of the AWS connections, with the same token exchanged for
# AWS_ROLE_ARN.
set -euo pipefail
mode="$1"
: "${OUT:?}" "${AWS_ROLE_ARN:?}" "${AWS_REGION:?}"
mkdir -p "$OUT"
out="$(cd "$OUT" && pwd)"
cd stacks/delivery
export CLOUD=azure STACK=fin-hosting STACK_FILE=Pulumi.fin-hosting.yaml
source ../../.azure-pipelines/scripts/stack-env.sh
token_file="$AGENT_TEMPDIRECTORY/aws-web-identity-token"
(umask 077 && printf '%s' "$idToken" > "$token_file")
export AWS_WEB_IDENTITY_TOKEN_FILE="$token_file" AWS_ROLE_SESSION_NAME="ado-delivery-$BUILD_BUILDID"
pack=(--policy-pack ../../policypacks/governance)
case "$mode" in
  preview)
    pulumi preview --stack fin-hosting --diff "${pack[@]}" --save-plan "$out/update-plan.json" --json > "$out/preview.json"
    ;;
  up)
    : "${PREVIEW_DIR:?}"
    pulumi up --stack fin-hosting --yes "${pack[@]}" --plan "$PREVIEW_DIR/update-plan.json" --json > "$out/up.json"
    ;;
  drift)
    # Read-only: the refresh is previewed, never written; any difference fails the check.
    pulumi preview --stack fin-hosting --refresh --expect-no-changes --diff --json > "$out/drift-preview.json"
    ;;
  *)
    echo "usage: delivery-stack.sh preview|up|drift" >&2
    exit 2
    ;;
esac
