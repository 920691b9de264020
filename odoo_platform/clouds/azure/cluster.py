"""AKS: private API server, Entra ID RBAC without local accounts, KMS-encrypted secrets,
workload identity, Azure CNI overlay with network policy, autoscaling nodes over three zones."""

from __future__ import annotations

import base64

import pulumi
from pulumi_azure_native import containerservice

from odoo_platform.clouds.azure.keys import CRYPTO_USER, grant
from odoo_platform.clouds.azure.network import POD_CIDR
from odoo_platform.clouds.base import ClusterAccess, Foundation, KeyRing
from odoo_platform.config import Environment, Estate
from odoo_platform.labels import cloud_tags

# What a private cluster with its own identity, DNS zone and subnets needs
# (https://learn.microsoft.com/azure/aks/private-clusters#configure-a-private-dns-zone,
#  https://learn.microsoft.com/azure/aks/api-server-vnet-integration#prerequisites):
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
PRIVATE_DNS_ZONE_CONTRIBUTOR = "b12aa53e-6015-4669-85d0-8515ebb3ae7f"


def create_cluster(
    name: str, owner: pulumi.Resource, estate: Estate, foundation: Foundation, key_ring: KeyRing,
    stateful: pulumi.ResourceOptions,
) -> ClusterAccess:
    group = foundation.handles["resource_group"]
    settings = estate.kubernetes
    identity = key_ring.handles["identity"]
    production = estate.environment is Environment.PROD
    client = key_ring.handles["client"]
    zone = foundation.handles["zones"]["apiserver"]
    grants = [
        key_ring.handles["grant"],
        # The KMS plugin encrypts and decrypts with the key (wrap/unwrap alone is not enough).
        grant(f"{name}-kms-access", key_ring.store_id, identity.principal_id, CRYPTO_USER, client.subscription_id,
              stateful),
        grant(f"{name}-network-access", foundation.handles["vnet"].id, identity.principal_id, NETWORK_CONTRIBUTOR,
              client.subscription_id, stateful),
        grant(f"{name}-dns-access", zone.id, identity.principal_id, PRIVATE_DNS_ZONE_CONTRIBUTOR, client.subscription_id,
              stateful),
    ]
    cluster = containerservice.ManagedCluster(
        f"{name}-aks",
        resource_group_name=group.name,
        location=foundation.location,
        dns_prefix=f"odoo-{estate.environment.value}",
        kubernetes_version=settings.version,
        sku=containerservice.ManagedClusterSKUArgs(name="Base", tier="Standard" if production else "Free"),
        identity=containerservice.ManagedClusterIdentityArgs(
            type=containerservice.ResourceIdentityType.USER_ASSIGNED,
            user_assigned_identities=[identity.id],
        ),
        enable_rbac=True,
        disable_local_accounts=True,
        aad_profile=containerservice.ManagedClusterAADProfileArgs(managed=True, enable_azure_rbac=True),
        # A KMS key in a private vault needs API server VNet integration
        # (https://learn.microsoft.com/azure/aks/use-kms-etcd-encryption#turn-on-kms-for-a-private-key-vault).
        api_server_access_profile=containerservice.ManagedClusterAPIServerAccessProfileArgs(
            enable_private_cluster=True,
            disable_run_command=True,
            enable_vnet_integration=True,
            subnet_id=foundation.handles["subnets"]["apiserver"].id,
            private_dns_zone=zone.id,
        ),
        oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
        security_profile=containerservice.ManagedClusterSecurityProfileArgs(
            workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
            azure_key_vault_kms=containerservice.AzureKeyVaultKmsArgs(
                enabled=True,
                key_id=key_ring.handles["key"].key_uri_with_version,
                key_vault_network_access=containerservice.KeyVaultNetworkAccessTypes.PRIVATE,
                key_vault_resource_id=key_ring.store_id,
            ),
        ),
        network_profile=containerservice.ContainerServiceNetworkProfileArgs(
            network_plugin=containerservice.NetworkPlugin.AZURE,
            network_plugin_mode=containerservice.NetworkPluginMode.OVERLAY,
            network_policy=containerservice.NetworkPolicy.CILIUM,
            network_dataplane=containerservice.NetworkDataplane.CILIUM,
            pod_cidr=POD_CIDR,
            outbound_type=containerservice.OutboundType.LOAD_BALANCER,
        ),
        agent_pool_profiles=[
            containerservice.ManagedClusterAgentPoolProfileArgs(
                name="system",
                mode=containerservice.AgentPoolMode.SYSTEM,
                vm_size=settings.node_vm_size or "Standard_D4ds_v5",
                availability_zones=["1", "2", "3"],
                enable_auto_scaling=True,
                min_count=settings.nodes_min,
                max_count=settings.nodes_max,
                count=settings.nodes_min,
                enable_encryption_at_host=True,
                os_type=containerservice.OSType.LINUX,
                os_sku=containerservice.OSSKU.AZURE_LINUX,
                vnet_subnet_id=foundation.handles["subnets"]["nodes"].id,
            )
        ],
        auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
            upgrade_channel=containerservice.UpgradeChannel.PATCH,
            node_os_upgrade_channel=containerservice.NodeOSUpgradeChannel.NODE_IMAGE,
        ),
        tags=cloud_tags(estate),
        opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=grants)),
    )
    credentials = containerservice.list_managed_cluster_user_credentials_output(
        resource_group_name=group.name, resource_name=cluster.name
    )
    kubeconfig = credentials.kubeconfigs.apply(lambda configs: base64.b64decode(configs[0].value).decode())
    return ClusterAccess(
        kubeconfig=pulumi.Output.secret(kubeconfig),
        oidc_issuer=cluster.oidc_issuer_profile.apply(lambda profile: profile.issuer_url if profile else ""),
    )
