"""What a first `pulumi up` on AWS needs beyond what the SDK types accept (issue 18): RWX storage,
egress, the load balancer path, IRSA, enforced NetworkPolicies, and the network answer for an
existing cluster or a private endpoint."""

from __future__ import annotations

import json
import re

import pytest

from odoo_platform.config import DEFAULT_APPROVED_REGISTRIES
from odoo_platform.errors import EstateConfigError
from tests.conftest import AWS_CREATED, AWS_EXISTING, DIGEST, by_name, estate, resources_of
from tests.stack_plans import plan_of


def _aws(**changes) -> dict:
    return estate(cloud="aws", region="eu-central-1", **changes)


def test_filestores_get_efs_behind_nfs_from_the_nodes_and_the_efs_sc_class():
    plan = plan_of("aws-hybrid-prod")
    (file_system,) = resources_of(plan, "aws:efs/fileSystem:FileSystem")
    assert file_system["protect"] and file_system["inputs"]["encrypted"] is True
    assert file_system["inputs"]["kmsKeyId"].startswith("arn:aws:kms:")
    targets = resources_of(plan, "aws:efs/mountTarget:MountTarget")
    assert len({t["inputs"]["subnetId"] for t in targets}) == 3
    groups = {g["urn"]: g for g in resources_of(plan, "aws:ec2/securityGroup:SecurityGroup")}
    for target in targets:
        (group,) = [groups[d] for d in target["dependsOn"] if d in groups]
        assert group["inputs"]["ingress"] == [{"protocol": "tcp", "fromPort": 2049, "toPort": 2049, "description":
                                               "EFS (NFS) from cluster nodes",
                                               "cidrBlocks": ["10.50.16.0/20", "10.50.32.0/20", "10.50.48.0/20"]}]
    (storage_class,) = resources_of(plan, "kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage_class["inputs"]["metadata"]["name"] == "efs-sc"
    assert storage_class["inputs"]["provisioner"] == "efs.csi.aws.com"
    assert storage_class["inputs"]["parameters"]["fileSystemId"].startswith("fs-")
    addons = {a["inputs"]["addonName"]: a["inputs"] for a in resources_of(plan, "aws:eks/addon:Addon")}
    assert addons["aws-efs-csi-driver"]["serviceAccountRoleArn"].startswith("arn:aws:iam:")
    # Tenant PVCs ask for the class the adapter names.
    claims = [c for c in resources_of(plan, "kubernetes:core/v1:PersistentVolumeClaim")
              if "ReadWriteMany" in c["inputs"]["spec"]["accessModes"]]
    assert claims and {c["inputs"]["spec"]["storageClassName"] for c in claims} == {"efs-sc"}


def test_network_policies_are_enforced_and_irsa_has_its_provider():
    plan = plan_of("aws-hybrid-prod")
    addons = {a["inputs"]["addonName"]: a["inputs"] for a in resources_of(plan, "aws:eks/addon:Addon")}
    assert json.loads(addons["vpc-cni"]["configurationValues"]) == {"enableNetworkPolicy": "true"}
    (provider,) = resources_of(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider["inputs"]["clientIdLists"] == ["sts.amazonaws.com"]
    assert provider["inputs"]["url"].startswith("https://oidc.eks.")
    roles = {r["name"]: json.loads(r["inputs"]["assumeRolePolicy"]) for r in resources_of(plan, "aws:iam/role:Role")}
    trust = roles["cluster-efs-csi-role"]["Statement"][0]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert list(trust["Condition"]["StringEquals"].values()) == [
        "system:serviceaccount:kube-system:efs-csi-controller-sa", "sts.amazonaws.com"]


def test_nodes_leave_by_a_nat_gateway_in_their_own_zone_and_the_load_balancer_has_public_subnets():
    plan = plan_of("aws-hybrid-prod")
    resources = by_name(plan)
    for zone in "abc":
        nat = resources[f"estate-nat-{zone}"]
        assert resources[f"estate-public-{zone}"]["urn"] in nat["dependsOn"]
        routes = resources[f"estate-nodes-{zone}-routes"]["inputs"]["routes"]
        assert len(routes) == 1 and routes[0]["cidrBlock"] == "0.0.0.0/0"
        assert nat["urn"] in resources[f"estate-nodes-{zone}-routes"]["dependsOn"]
        assert resources[f"estate-public-{zone}"]["inputs"]["tags"]["kubernetes.io/role/elb"] == "1"
        assert resources[f"estate-nodes-{zone}"]["inputs"]["tags"]["kubernetes.io/role/internal-elb"] == "1"
    assert resources["estate-db-routes"]["inputs"].get("routes") in (None, [])  # databases never leave the VPC
    (release,) = [r for r in resources_of(plan, "kubernetes:helm.sh/v3:Release")
                  if r["inputs"]["chart"] == "aws-load-balancer-controller"]
    annotations = release["inputs"]["values"]["serviceAccount"]["annotations"]
    assert annotations["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam:")
    assert not resources_of(plan, "aws:ec2/vpcEndpoint:VpcEndpoint")


def test_no_role_uses_the_deprecated_managed_policy_arns():
    for stack in ("aws-staging", "aws-hybrid-prod"):
        plan = plan_of(stack)
        assert all("managedPolicyArns" not in r["inputs"] for r in resources_of(plan, "aws:iam/role:Role"))
    attached = {a["inputs"]["policyArn"] for a in resources_of(plan_of("aws-hybrid-prod"),
                                                                 "aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy" in attached
    assert "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy" in attached


def test_the_final_snapshot_name_follows_replacements():
    plan = plan_of("aws-hybrid-prod")
    ids = {r["name"]: r["inputs"] for r in resources_of(plan, "random:index/randomId:RandomId")}
    keepers = ids["postgres-shared-final-snapshot-id"]["keepers"]
    assert set(keepers) == {"identifier", "kms", "engine", "subnets"}  # what forces an RDS replacement
    server = by_name(plan)["postgres-shared-server"]["inputs"]
    assert keepers["identifier"] == server["identifier"] == "odoo-aws-hybrid-prod-shared"
    assert re.fullmatch(rf"{server['identifier']}-final-[0-9a-f]{{8}}", server["finalSnapshotIdentifier"])


def test_an_existing_cluster_gets_the_databases_in_its_own_vpc():
    plan = plan_of("aws-staging")
    (block,) = resources_of(plan, "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation")
    assert block["inputs"] == {"vpcId": "vpc-0c4f2a9e81b3d5f17", "cidrBlock": "10.50.8.0/22"}
    assert not resources_of(plan, "aws:ec2/vpc:Vpc") and not resources_of(plan, "aws:ec2/natGateway:NatGateway")
    for subnet in resources_of(plan, "aws:ec2/subnet:Subnet"):
        assert block["urn"] in subnet["dependsOn"]
    for group in resources_of(plan, "aws:ec2/securityGroup:SecurityGroup"):
        assert group["inputs"]["ingress"][0]["cidrBlocks"] == ["10.40.0.0/16"]  # the existing nodes
    (storage_class,) = resources_of(plan, "kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage_class["inputs"]["metadata"]["name"] == "efs-sc"


ECR = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/mirror"
ECR_CHART_IMAGES = {"traefikImage": f"{ECR}/traefik:v3.4.3", "kyvernoImages": {name: f"{ECR}/kyverno-{name.lower()}:v1.13.2" for name in (
    "admissionController", "init", "backgroundController", "cleanupController", "reportsController", "cli", "kubectl")}}


@pytest.mark.parametrize("changes,message", [
    ({}, r"aws\.existingVpc: is required when kubernetes\.createCluster is false"),
    ({"kubernetes": {"createCluster": True}}, r"aws\.deployAgentCidrs: is required with kubernetes\.createCluster"),
    ({"kubernetes": {"createCluster": True}, "aws": AWS_EXISTING | AWS_CREATED},
     r"aws\.existingVpc: is for an existing cluster only"),
    ({"aws": {"existingVpc": {"vpcId": "vpc-0c4f2a9e81b3d5f17", "nodeCidrs": ["10.50.0.0/16"]}}},
     r"aws\.existingVpc\.nodeCidrs: 10\.50\.0\.0/16 overlaps 10\.50\.8\.0/22"),
    ({"aws": AWS_EXISTING | {"egress": "endpoints"}, "image": DIGEST},
     r"kubernetes\.traefikImage: is empty, so the chart pulls its own public image, which aws\.egress: endpoints"),
    ({"aws": AWS_EXISTING | {"egress": "endpoints"}, "image": DIGEST, "kubernetes": ECR_CHART_IMAGES,
      "imagePolicy": {"signingKey": "awskms:///alias/cosign", "approvedRegistries": [*DEFAULT_APPROVED_REGISTRIES, ECR]}},
     r"image: .* is not in ECR of eu-central-1, and aws\.egress: endpoints"),
])
def test_an_aws_estate_without_a_network_answer_is_refused(plan_for, changes, message):
    with pytest.raises(EstateConfigError, match=message):
        plan_for(_aws(**changes))


def test_traefik_gets_an_internet_facing_load_balancer_that_keeps_client_addresses():
    def traefik_values(stack: str) -> dict:
        (release,) = [r for r in resources_of(plan_of(stack), "kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "traefik"]
        return release["inputs"]["values"]["service"]

    annotations = traefik_values("aws-hybrid-prod")["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert "preserve_client_ip.enabled=true" in annotations["service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"]
    assert "annotations" not in traefik_values("hybrid-prod")  # Azure's load balancer needs none
