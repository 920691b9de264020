"""Azure foundation: resource group, virtual network, subnets and private DNS zones."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import network, privatedns, resources

from odoo_platform.clouds.base import Foundation
from odoo_platform.config import Estate
from odoo_platform.labels import cloud_tags

VNET = "10.40.0.0/16"
NODE_SUBNET = "10.40.16.0/20"
POD_CIDR = "10.244.0.0/16"  # Azure CNI overlay
DATABASE_SUBNET = "10.40.8.0/24"
ENDPOINT_SUBNET = "10.40.9.0/24"
DATABASE_CIDRS = (DATABASE_SUBNET, ENDPOINT_SUBNET)
ARCHIVE_CIDRS = (ENDPOINT_SUBNET,)  # the storage account's private endpoint (blob)
CLUSTER_CIDRS = (NODE_SUBNET, POD_CIDR)
PRIVATE_ZONES = {
    "postgres": "privatelink.postgres.database.azure.com",
    "redis": "privatelink.redis.cache.windows.net",
    "blob": "privatelink.blob.core.windows.net",
    "vault": "privatelink.vaultcore.azure.net",
}


def create_foundation(name: str, owner: pulumi.Resource, estate: Estate) -> Foundation:
    child = pulumi.ResourceOptions(parent=owner)
    tags = cloud_tags(estate)
    group = resources.ResourceGroup(f"{name}-rg", location=estate.region, tags=tags, opts=child)
    vnet = network.VirtualNetwork(
        f"{name}-vnet",
        resource_group_name=group.name,
        location=estate.region,
        address_space=network.AddressSpaceArgs(address_prefixes=[VNET]),
        tags=tags,
        opts=child,
    )

    def subnet(role: str, prefix: str, **extra: object) -> network.Subnet:
        return network.Subnet(
            f"{name}-snet-{role}",
            resource_group_name=group.name,
            virtual_network_name=vnet.name,
            address_prefix=prefix,
            default_outbound_access=False,
            opts=child,
            **extra,  # type: ignore[arg-type]
        )

    nodes = subnet("nodes", NODE_SUBNET)
    databases = subnet(
        "postgres",
        DATABASE_SUBNET,
        delegations=[
            network.DelegationArgs(name="postgres-flexible-servers", service_name="Microsoft.DBforPostgreSQL/flexibleServers")
        ],
    )
    endpoints = subnet(
        "endpoints", ENDPOINT_SUBNET, private_endpoint_network_policies=network.VirtualNetworkPrivateEndpointNetworkPolicies.ENABLED
    )
    zones = {}
    for role, zone_name in PRIVATE_ZONES.items():
        zone = privatedns.PrivateZone(
            f"{name}-dns-{role}", resource_group_name=group.name, private_zone_name=zone_name, location="Global",
            tags=tags, opts=child,
        )
        privatedns.VirtualNetworkLink(
            f"{name}-dns-{role}-link",
            resource_group_name=group.name,
            private_zone_name=zone.name,
            virtual_network=privatedns.SubResourceArgs(id=vnet.id),
            registration_enabled=False,
            location="Global",
            tags=tags,
            opts=child,
        )
        zones[role] = zone
    return Foundation(
        location=estate.region,
        database_cidrs=DATABASE_CIDRS,
        cluster_cidrs=CLUSTER_CIDRS,
        handles={"resource_group": group, "vnet": vnet, "subnets": {"nodes": nodes, "postgres": databases,
                                                                       "endpoints": endpoints}, "zones": zones},
    )


def private_endpoint(
    name: str, foundation: Foundation, target_id: pulumi.Input[str], group_id: str, zone_role: str,
    opts: pulumi.ResourceOptions, tags: dict[str, str],
) -> network.PrivateEndpoint:
    """A private endpoint in the endpoints subnet, registered in the matching private DNS zone."""
    group = foundation.handles["resource_group"]
    endpoint = network.PrivateEndpoint(
        f"{name}-pe",
        resource_group_name=group.name,
        location=foundation.location,
        subnet=network.SubnetArgs(id=foundation.handles["subnets"]["endpoints"].id),
        private_link_service_connections=[
            network.PrivateLinkServiceConnectionArgs(name=f"{name}-{group_id}", private_link_service_id=target_id,
                                                     group_ids=[group_id])
        ],
        tags=tags,
        opts=opts,
    )
    network.PrivateDnsZoneGroup(
        f"{name}-pe-dns",
        resource_group_name=group.name,
        private_endpoint_name=endpoint.name,
        private_dns_zone_configs=[
            network.PrivateDnsZoneConfigArgs(name=zone_role, private_dns_zone_id=foundation.handles["zones"][zone_role].id)
        ],
        opts=opts,
    )
    return endpoint
