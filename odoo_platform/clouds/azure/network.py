"""Azure foundation: resource group, virtual network, subnets and private DNS zones, peered with the
networks workloads and the deploying agent run in."""

from __future__ import annotations

import ipaddress

import pulumi
from pulumi_azure_native import network, privatedns, resources

from odoo_platform.clouds.base import Foundation
from odoo_platform.config import Estate, PeerNetwork
from odoo_platform.errors import EstateConfigError
from odoo_platform.labels import cloud_tags

VNET = "10.40.0.0/16"
NODE_SUBNET = "10.40.16.0/20"
POD_CIDR = "10.244.0.0/16"  # Azure CNI overlay
DATABASE_SUBNET = "10.40.8.0/24"
ENDPOINT_SUBNET = "10.40.9.0/24"
API_SERVER_SUBNET = "10.40.10.0/28"
"""API server VNet integration: a delegated subnet of at least /28
(https://learn.microsoft.com/azure/aks/api-server-vnet-integration#create-a-private-aks-cluster-with-api-server-vnet-integration-using-bring-your-own-vnet)."""
DATABASE_CIDRS = (DATABASE_SUBNET, ENDPOINT_SUBNET)
ARCHIVE_CIDRS = (ENDPOINT_SUBNET,)  # the storage account's private endpoint (blob)
CLUSTER_CIDRS = (NODE_SUBNET, POD_CIDR)
PRIVATE_ZONES = {
    "postgres": "privatelink.postgres.database.azure.com",
    "redis": "privatelink.redis.cache.windows.net",
    "blob": "privatelink.blob.core.windows.net",
    "vault": "privatelink.vaultcore.azure.net",
}


def api_server_zone(region: str) -> str:
    """The private DNS zone of a private AKS API server, owned by the estate so peered networks can be linked to it
    (https://learn.microsoft.com/azure/aks/private-clusters#configure-a-private-dns-zone)."""
    return f"privatelink.{region}.azmk8s.io"


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
    subnets = {"nodes": nodes, "postgres": databases, "endpoints": endpoints}
    zone_names = dict(PRIVATE_ZONES)
    if estate.kubernetes.create_cluster:
        subnets["apiserver"] = subnet(
            "apiserver", API_SERVER_SUBNET,
            delegations=[network.DelegationArgs(name="aks-apiserver", service_name="Microsoft.ContainerService/managedClusters")],
        )
        zone_names["apiserver"] = api_server_zone(estate.region)
    peers = _peers(estate)
    for role, peer in peers.items():
        _peer(f"{name}-peer-{role}", group, vnet, peer, child)
    zones = {}
    for role, zone_name in zone_names.items():
        zone = privatedns.PrivateZone(
            f"{name}-dns-{role}", resource_group_name=group.name, private_zone_name=zone_name, location="Global",
            tags=tags, opts=child,
        )
        # The estate's own network and every peered one resolve the zone (logical names as before).
        links = {f"{name}-dns-{role}-link": vnet.id,
                 **{f"{name}-dns-{role}-link-{peer_role}": peer.virtual_network_id for peer_role, peer in peers.items()}}
        for link_name, network_id in links.items():
            privatedns.VirtualNetworkLink(
                link_name,
                resource_group_name=group.name,
                private_zone_name=zone.name,
                virtual_network=privatedns.SubResourceArgs(id=network_id),
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
        handles={"resource_group": group, "vnet": vnet, "subnets": subnets, "zones": zones},
    )


def _peers(estate: Estate) -> dict[str, PeerNetwork]:
    """The networks peered with the estate's: where workloads run (an existing cluster) and where the agent runs."""
    peers = {"workloads": estate.azure.workload_network, "agent": estate.azure.agent_network}
    chosen = {role: peer for role, peer in peers.items() if peer is not None}
    own = ipaddress.ip_network(VNET)
    for role, peer in chosen.items():
        for prefix in peer.address_space:
            # Peered virtual networks must not overlap
            # (https://learn.microsoft.com/azure/virtual-network/virtual-network-manage-peering#requirements-and-constraints).
            if ipaddress.ip_network(prefix).overlaps(own):
                field = "workloadNetwork" if role == "workloads" else "agentNetwork"
                raise EstateConfigError(f"azure.{field}.addressSpace: {prefix} overlaps the estate's network {VNET} "
                                        "(peered networks may not overlap; use a network outside it)")
    if (chosen.get("workloads") and chosen.get("agent")
            and chosen["workloads"].virtual_network_id == chosen["agent"].virtual_network_id):
        del chosen["agent"]  # one peering and one set of links serve both
    return chosen


def _peer(name: str, group: resources.ResourceGroup, vnet: network.VirtualNetwork, peer: PeerNetwork,
          opts: pulumi.ResourceOptions) -> None:
    """Peering is created on both sides; the remote side needs Network Contributor on the peer network."""
    parts = peer.virtual_network_id.split("/")
    network.VirtualNetworkPeering(
        name,
        resource_group_name=group.name,
        virtual_network_name=vnet.name,
        remote_virtual_network=network.SubResourceArgs(id=peer.virtual_network_id),
        allow_virtual_network_access=True,
        allow_forwarded_traffic=False,
        opts=opts,
    )
    network.VirtualNetworkPeering(
        f"{name}-back",
        resource_group_name=parts[4],
        virtual_network_name=parts[8],
        remote_virtual_network=network.SubResourceArgs(id=vnet.id),
        allow_virtual_network_access=True,
        allow_forwarded_traffic=False,
        opts=opts,
    )


def private_endpoint(
    name: str, foundation: Foundation, target_id: pulumi.Input[str], target_name: pulumi.Input[str], group_id: str,
    zone_role: str, opts: pulumi.ResourceOptions, tags: dict[str, str],
) -> network.PrivateEndpoint:
    """A private endpoint in the endpoints subnet, registered in the matching private DNS zone.

    Named after its target (2-64 characters): the auto-name of a dedicated tenant's endpoint would pass 64."""
    group = foundation.handles["resource_group"]
    endpoint = network.PrivateEndpoint(
        f"{name}-pe",
        private_endpoint_name=pulumi.Output.concat(target_name, f"-{group_id.lower()}-pe"),
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
