"""Security groups: each data service admits its port from the cluster's nodes and nothing else."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from odoo_platform.clouds.base import Foundation


def security_group(name: str, foundation: Foundation, port: int, what: str, tags: dict[str, str],
                   opts: pulumi.ResourceOptions) -> aws.ec2.SecurityGroup:
    """Admit `port` from the cluster's node subnets only; no other ingress."""
    return aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=foundation.handles["vpc_id"],
        description=f"{what} reachable from the estate's cluster nodes only",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=port, to_port=port, cidr_blocks=list(foundation.cluster_cidrs),
                description=f"{what} from cluster nodes",
            )
        ],
        tags=tags,
        opts=opts,
    )
