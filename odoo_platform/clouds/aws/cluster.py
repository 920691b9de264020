"""EKS: private API endpoint reachable from the deploying agent only, KMS-encrypted secrets, access
entries (no aws-auth ConfigMap), an IAM OIDC provider for IRSA, managed add-ons (VPC CNI with its
network policy agent, EFS CSI driver), the AWS Load Balancer Controller, and managed nodes
autoscaling over three zones."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from odoo_platform.clouds.aws.names import short_name
from odoo_platform.clouds.aws.storage import storage_class
from odoo_platform.clouds.base import ClusterAccess, Foundation, KeyRing
from odoo_platform.config import ChartImage, Estate
from odoo_platform.errors import EstateConfigError
from odoo_platform.labels import cloud_tags
from odoo_platform.sharding import estate_stack

CLUSTER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)
# https://docs.aws.amazon.com/eks/latest/userguide/efs-csi.html (the managed policy the driver's controller needs)
EFS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
EFS_CSI_SERVICE_ACCOUNT = "kube-system:efs-csi-controller-sa"
LBC_SERVICE_ACCOUNT = "kube-system:aws-load-balancer-controller"
LBC_CHART_REPOSITORY = "https://aws.github.io/eks-charts"
LBC_CHART_VERSION = "1.13.4"
# The tag the controller puts on what it creates; its permissions to change or delete are limited to tagged resources.
# https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/deploy/installation/#setup-iam-role-for-service-accounts
LBC_TAGS = ("elbv2.k8s.aws/cluster", "service.k8s.aws/cluster", "ingress.k8s.aws/cluster")


def _attach(name: str, role: aws.iam.Role, policies: Sequence[str], opts: pulumi.ResourceOptions) -> None:
    # One attachment per policy: `managed_policy_arns` on the role is deprecated in pulumi-aws 7.
    # https://www.pulumi.com/registry/packages/aws/api-docs/iam/role/ (managedPolicyArns)
    for index, policy in enumerate(policies):
        aws.iam.RolePolicyAttachment(f"{name}-policy-{index}", role=role.name, policy_arn=policy, opts=opts)


def _role_name(estate_name: str, purpose: str) -> str:
    # Role names are global to the account, at most 64 characters:
    # https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
    return short_name("odoo", estate_name, purpose, limit=64)


def _service_role(name: str, purpose: str, service: str, policies: Sequence[str], tags: dict[str, str],
                  opts: pulumi.ResourceOptions) -> aws.iam.Role:
    role = aws.iam.Role(
        name,
        name=_role_name(estate_stack(), purpose),
        assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Principal": {"Service": service}}]}),
        tags=tags,
        opts=opts,
    )
    _attach(name, role, policies, opts)
    return role


def _irsa_role(name: str, purpose: str, provider: aws.iam.OpenIdConnectProvider, subject: str, tags: dict[str, str],
               opts: pulumi.ResourceOptions) -> aws.iam.Role:
    """A role only `subject` (namespace:serviceaccount) of this cluster can assume.
    https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html"""
    issuer = provider.url.apply(lambda url: url.removeprefix("https://"))
    policy = pulumi.Output.all(provider.arn, issuer).apply(lambda values: json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Principal": {"Federated": values[0]},
            "Condition": {"StringEquals": {f"{values[1]}:sub": f"system:serviceaccount:{subject}",
                                           f"{values[1]}:aud": "sts.amazonaws.com"}},
        }],
    }))
    return aws.iam.Role(name, name=_role_name(estate_stack(), purpose), assume_role_policy=policy, tags=tags, opts=opts)


def create_cluster(
    name: str, owner: pulumi.Resource, estate: Estate, foundation: Foundation, key_ring: KeyRing,
    stateful: pulumi.ResourceOptions,
) -> ClusterAccess:
    if not estate.aws.deploy_agent_cidrs:
        raise EstateConfigError(
            "aws.deployAgentCidrs: is required with kubernetes.createCluster (the EKS endpoint is private: name the "
            "address range of the agent running `pulumi up` inside the VPC or a peered network)"
        )
    child = pulumi.ResourceOptions(parent=owner)
    settings = estate.kubernetes
    tags = cloud_tags(estate)
    # https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html (name: 1-100 characters)
    cluster_name = short_name("odoo", estate_stack(), limit=100)
    subnets = [s.id for s in foundation.handles["node_subnets"]]
    # The private endpoint answers inside the VPC only; this group admits the deploying agent to it and nothing else.
    # https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html#private-access
    api_access = aws.ec2.SecurityGroup(
        f"{name}-api-sg", vpc_id=foundation.handles["vpc_id"], description="EKS API reachable from the deploying agent",
        ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=443, to_port=443, cidr_blocks=list(
            estate.aws.deploy_agent_cidrs), description="Kubernetes API from the deploying agent")],
        tags=tags, opts=child,
    )
    cluster_role = _service_role(f"{name}-eks-role", "eks", "eks.amazonaws.com", (CLUSTER_POLICY,), tags, child)
    cluster = aws.eks.Cluster(
        f"{name}-eks",
        name=cluster_name,
        version=settings.version,
        role_arn=cluster_role.arn,
        vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=subnets, endpoint_private_access=True,
                                                endpoint_public_access=False, security_group_ids=[api_access.id]),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            resources=["secrets"], provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key_ring.key_id)
        ),
        access_config=aws.eks.ClusterAccessConfigArgs(authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True),
        enabled_cluster_log_types=["api", "audit", "authenticator"],
        deletion_protection=True,
        tags=tags,
        opts=stateful,
    )
    # IRSA: pods exchange their service account token for a role through the cluster's OIDC issuer.
    # https://docs.aws.amazon.com/eks/latest/userguide/enable-iam-roles-for-service-accounts.html
    issuer = cluster.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"])
    oidc = aws.iam.OpenIdConnectProvider(
        f"{name}-oidc", url=issuer,
        client_id_lists=["sts.amazonaws.com"], tags=tags, opts=child,
    )
    # NetworkPolicies are only enforced once the VPC CNI runs its network policy agent.
    # https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy-configure.html
    cni = aws.eks.Addon(
        f"{name}-vpc-cni", cluster_name=cluster.name, addon_name="vpc-cni",
        configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
        resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE", tags=tags, opts=child,
    )
    node_role = _service_role(f"{name}-node-role", "nodes", "ec2.amazonaws.com", NODE_POLICIES, tags, child)
    nodes = aws.eks.NodeGroup(
        f"{name}-nodes",
        cluster_name=cluster.name,
        node_role_arn=node_role.arn,
        subnet_ids=subnets,
        instance_types=[settings.node_vm_size or "m7g.xlarge"],
        ami_type="AL2023_ARM_64_STANDARD",
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=settings.nodes_min, max_size=settings.nodes_max, desired_size=settings.nodes_min
        ),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=owner, depends_on=[cni]),
    )
    efs_role = _irsa_role(f"{name}-efs-csi-role", "efs-csi", oidc, EFS_CSI_SERVICE_ACCOUNT, tags, child)
    _attach(f"{name}-efs-csi-role", efs_role, (EFS_CSI_POLICY,), child)
    aws.eks.Addon(
        f"{name}-efs-csi", cluster_name=cluster.name, addon_name="aws-efs-csi-driver",
        service_account_role_arn=efs_role.arn, resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE", tags=tags, opts=pulumi.ResourceOptions(parent=owner, depends_on=[nodes]),
    )
    lbc_role = _irsa_role(f"{name}-lbc-role", "load-balancer-controller", oidc, LBC_SERVICE_ACCOUNT, tags, child)
    aws.iam.RolePolicy(f"{name}-lbc-policy", role=lbc_role.name, policy=json.dumps(load_balancer_controller_policy()),
                       opts=child)
    kubeconfig = pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority).apply(
        lambda values: _kubeconfig(values[0], values[1], values[2]["data"], estate.region)
    )

    def install(provider: pulumi.ProviderResource) -> None:
        on_cluster = pulumi.ResourceOptions(parent=owner, provider=provider, depends_on=[nodes])
        storage_class(name, owner, foundation.handles["file_system"], provider)
        # Provisions the load balancer in front of Traefik in the subnets tagged kubernetes.io/role/elb.
        # https://docs.aws.amazon.com/eks/latest/userguide/lbc-helm.html
        k8s.helm.v3.Release(
            f"{name}-load-balancer-controller",
            name="aws-load-balancer-controller",
            chart="aws-load-balancer-controller",
            version=LBC_CHART_VERSION,
            namespace="kube-system",
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=LBC_CHART_REPOSITORY),
            atomic=True,
            values={
                "clusterName": cluster.name, "region": estate.region, "vpcId": foundation.handles["vpc_id"],
                "replicaCount": 2,
                "serviceAccount": {"create": True, "name": LBC_SERVICE_ACCOUNT.split(":")[1],
                                   "annotations": {"eks.amazonaws.com/role-arn": lbc_role.arn}},
                # The chart's one image (aws/eks-charts stable/aws-load-balancer-controller 1.13.4, commit a69a33a633a2:
                # values.yaml `image` {repository, tag}, no digest key; templates/deployment.yaml renders
                # "repository:tag", so the digest rides in the tag). Empty: the chart's
                # public.ecr.aws/eks/aws-load-balancer-controller:v2.13.4.
                **({"image": ChartImage.of(settings.load_balancer_controller_image).repository_values()}
                   if settings.load_balancer_controller_image else {}),
            },
            opts=on_cluster,
        )

    return ClusterAccess(
        kubeconfig=pulumi.Output.secret(kubeconfig),
        oidc_issuer=issuer,
        oidc_provider_id=oidc.arn,
        install=install,
    )


def load_balancer_controller_policy() -> dict:
    """What the controller calls: reads are unrestricted; creating load balancers and security groups requires its
    cluster tag, and changing or deleting them requires that the resource carries it.
    https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/deploy/installation/"""
    tagged_request = {"Null": {f"aws:RequestTag/{LBC_TAGS[0]}": "false"}}
    reads = [
        "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
        "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections", "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups", "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags",
        "ec2:GetCoipPoolUsage", "ec2:DescribeCoipPools", "ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools",
        "ec2:DescribeRouteTables",
        "elasticloadbalancing:Describe*", "acm:ListCertificates", "acm:DescribeCertificate",
        "iam:ListServerCertificates", "iam:GetServerCertificate", "shield:GetSubscriptionState",
        "wafv2:GetWebACL", "wafv2:GetWebACLForResource", "waf-regional:GetWebACL", "waf-regional:GetWebACLForResource",
        "cognito-idp:DescribeUserPoolClient",
    ]
    owned = {"Null": {f"aws:ResourceTag/{LBC_TAGS[0]}": "false"}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": reads, "Resource": "*"},
            {"Sid": "ServiceLinkedRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
             "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
            {"Sid": "CreateTagged", "Effect": "Allow",
             "Action": ["ec2:CreateSecurityGroup", "elasticloadbalancing:CreateLoadBalancer",
                        "elasticloadbalancing:CreateTargetGroup"],
             "Resource": "*", "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": list(LBC_TAGS)}}},
            {"Sid": "TagSecurityGroupOnCreate", "Effect": "Allow", "Action": "ec2:CreateTags",
             "Resource": "arn:aws:ec2:*:*:security-group/*",
             "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}} | tagged_request},
            {"Sid": "TagLoadBalancingOnCreate", "Effect": "Allow", "Action": "elasticloadbalancing:AddTags",
             "Resource": "*", "Condition": {"StringEquals": {"elasticloadbalancing:CreateAction": [
                 "CreateTargetGroup", "CreateLoadBalancer"]}} | tagged_request},
            # Opening the nodes' own security group to the load balancer's: that group is not the controller's.
            {"Sid": "NodeIngress", "Effect": "Allow",
             "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"], "Resource": "*"},
            {"Sid": "ChangeOwn", "Effect": "Allow",
             "Action": ["ec2:DeleteSecurityGroup",
                        "ec2:CreateTags", "ec2:DeleteTags", "elasticloadbalancing:AddTags",
                        "elasticloadbalancing:RemoveTags", "elasticloadbalancing:ModifyLoadBalancerAttributes",
                        "elasticloadbalancing:SetIpAddressType", "elasticloadbalancing:SetSecurityGroups",
                        "elasticloadbalancing:SetSubnets", "elasticloadbalancing:DeleteLoadBalancer",
                        "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
                        "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:RegisterTargets",
                        "elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:CreateListener",
                        "elasticloadbalancing:DeleteListener", "elasticloadbalancing:ModifyListener",
                        "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
                        "elasticloadbalancing:ModifyRule", "elasticloadbalancing:AddListenerCertificates",
                        "elasticloadbalancing:RemoveListenerCertificates"],
             "Resource": "*", "Condition": owned},
        ],
    }


def _kubeconfig(name: str, endpoint: str, ca_data: str, region: str) -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "users": [{"name": name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", name, "--region", region]}}}],
    })
