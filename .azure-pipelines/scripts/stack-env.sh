# Sourced by every step that talks to a stack (after `set -euo pipefail`): the cloud identity,
# the state backend, the stack and the cluster's credentials. Inputs (the step's `env:`):
#   CLOUD azure|aws, STACK, STACK_FILE (default stacks/Pulumi.$STACK.yaml), PULUMI_BACKEND_URL, AWS_ROLE_ARN and AWS_REGION (aws),
#   CLUSTER_NAME and CLUSTER_RESOURCE_GROUP (a cluster the stack does not create, else empty),
#   AGENT_TEMPDIRECTORY, BUILD_BUILDID; from AzureCLI@2 with addSpnToEnvironment:
#   servicePrincipalId, tenantId, idToken (workload identity federation: no secret exists).
: "${CLOUD:?}" "${STACK:?}" "${PULUMI_BACKEND_URL:?}" "${AGENT_TEMPDIRECTORY:?}"

stack_file="${STACK_FILE:-stacks/Pulumi.$STACK.yaml}"
# A self-managed backend uses the passphrase provider (and waits for a passphrase) unless the stack
# file names its secrets provider and the data key that provider wrapped
# (https://www.pulumi.com/docs/iac/concepts/secrets/#configuring-secrets-encryption). The key is
# written by `pulumi stack init/change-secrets-provider` with access to the vault: refuse without it
# rather than let a run mint a data key of its own.
for key in secretsprovider encryptedkey; do
  if ! grep -q "^$key: " "$stack_file"; then
    echo "##vso[task.logissue type=error]$stack_file has no '$key:' (run 'pulumi stack change-secrets-provider' for $STACK once and commit the file)"
    exit 3
  fi
done

case "$CLOUD" in
  azure)
    # The azure-native provider reads ARM_*; the azblob backend uses the Azure CLI login of this task
    # and the account named in its URL (?storage_account=), never ARM_*.
    export ARM_USE_OIDC=true ARM_CLIENT_ID="$servicePrincipalId" ARM_TENANT_ID="$tenantId" ARM_OIDC_TOKEN="$idToken"
    ARM_SUBSCRIPTION_ID="$(az account show --query id -o tsv)"
    export ARM_SUBSCRIPTION_ID
    # The exec plugin of AKS kubeconfigs (kubelogin) reuses this task's Azure CLI login.
    export AAD_LOGIN_METHOD=azurecli
    ;;
  aws)
    # The service connection is used only for its Azure DevOps OIDC token; the role trusts the
    # connection's issuer and subject (stacks/delivery) and no AWS key exists anywhere.
    : "${AWS_ROLE_ARN:?}" "${AWS_REGION:?}"
    token_file="$AGENT_TEMPDIRECTORY/aws-web-identity-token"
    (umask 077 && printf '%s' "$idToken" > "$token_file")
    export AWS_WEB_IDENTITY_TOKEN_FILE="$token_file" AWS_ROLE_SESSION_NAME="ado-$BUILD_BUILDID"
    ;;
  *)
    echo "##vso[task.logissue type=error]CLOUD must be azure or aws, not '$CLOUD'"
    exit 3
    ;;
esac

pulumi login "$PULUMI_BACKEND_URL"
pulumi stack select "$STACK"  # never --create: a stack is initialised once, with its secrets provider

export KUBECONFIG="$AGENT_TEMPDIRECTORY/kubeconfig-$STACK"
if [ -n "${CLUSTER_NAME:-}" ]; then
  # An existing cluster: the program deploys through the ambient kubeconfig.
  if [ "$CLOUD" = azure ]; then
    az aks get-credentials --resource-group "$CLUSTER_RESOURCE_GROUP" --name "$CLUSTER_NAME" --file "$KUBECONFIG" --overwrite-existing
    kubelogin convert-kubeconfig --login azurecli --kubeconfig "$KUBECONFIG"
  else
    aws eks update-kubeconfig --name "$CLUSTER_NAME" --region "$AWS_REGION" --kubeconfig "$KUBECONFIG"
  fi
  # A private API server answers only inside its network: fail here, not halfway through an update.
  kubectl --kubeconfig "$KUBECONFIG" get --raw /readyz
fi
# A cluster the stack creates needs nothing here: the program builds its provider from the
# cluster's kubeconfig, whose exec plugin (kubelogin, aws eks get-token) uses this login.
