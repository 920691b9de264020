"""EKS: private API endpoint, KMS-encrypted secrets, access entries (no aws-auth ConfigMap),
IRSA-ready OIDC issuer, managed nodes autoscaling over three zones."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from odoo_platform.clouds.base import ClusterAccess, Foundation, KeyRing
from odoo_platform.config import Estate
from odoo_platform.labels import cloud_tags

CLUSTER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)


def _role(name: str, service: str, policies: tuple[str, ...], tags: dict[str, str], opts: pulumi.ResourceOptions) -> aws.iam.Role:
    return aws.iam.Role(
        name,
        assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Principal": {"Service": service}}]}),
        managed_policy_arns=list(policies),
        tags=tags,
        opts=opts,
    )


def create_cluster(
    name: str, owner: pulumi.Resource, estate: Estate, foundation: Foundation, key_ring: KeyRing,
    stateful: pulumi.ResourceOptions,
) -> ClusterAccess:
    child = pulumi.ResourceOptions(parent=owner)
    settings = estate.kubernetes
    tags = cloud_tags(estate)
    subnets = [s.id for s in foundation.handles["node_subnets"]]
    cluster = aws.eks.Cluster(
        f"{name}-eks",
        version=settings.version,
        role_arn=_role(f"{name}-eks-role", "eks.amazonaws.com", (CLUSTER_POLICY,), tags, child).arn,
        vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=subnets, endpoint_private_access=True, endpoint_public_access=False),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            resources=["secrets"], provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key_ring.key_id)
        ),
        access_config=aws.eks.ClusterAccessConfigArgs(authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True),
        enabled_cluster_log_types=["api", "audit", "authenticator"],
        deletion_protection=True,
        tags=tags,
        opts=stateful,
    )
    aws.eks.NodeGroup(
        f"{name}-nodes",
        cluster_name=cluster.name,
        node_role_arn=_role(f"{name}-node-role", "ec2.amazonaws.com", NODE_POLICIES, tags, child).arn,
        subnet_ids=subnets,
        instance_types=[settings.node_vm_size or "m7g.xlarge"],
        ami_type="AL2023_ARM_64_STANDARD",
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=settings.nodes_min, max_size=settings.nodes_max, desired_size=settings.nodes_min
        ),
        tags=tags,
        opts=child,
    )
    kubeconfig = pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority).apply(
        lambda values: _kubeconfig(values[0], values[1], values[2]["data"], estate.region)
    )
    return ClusterAccess(
        kubeconfig=pulumi.Output.secret(kubeconfig),
        oidc_issuer=cluster.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"] if ids else ""),
    )


def _kubeconfig(name: str, endpoint: str, ca_data: str, region: str) -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "users": [{"name": name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", name, "--region", region]}}}],
    })
