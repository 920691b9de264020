"""Shared (ReadWriteMany) storage for Odoo filestores: one encrypted EFS file system per estate,
a mount target in each zone, and the `efs-sc` StorageClass giving each volume its own access point."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from odoo_platform.clouds.aws.firewall import security_group
from odoo_platform.clouds.base import Foundation
from odoo_platform.config import Estate

STORAGE_CLASS = "efs-sc"
NFS_PORT = 2049
EFS_CSI_DRIVER = "efs.csi.aws.com"


def create_file_system(
    name: str, owner: pulumi.Resource, estate: Estate, foundation: Foundation, tags: dict[str, str]
) -> aws.efs.FileSystem:
    """The file system and its mount targets; on an existing cluster also the StorageClass (the ambient kubeconfig's
    cluster must run the EFS CSI driver); a created cluster gets it from `create_cluster`."""
    child = pulumi.ResourceOptions(parent=owner)
    stateful = pulumi.ResourceOptions(parent=owner, protect=True, retain_on_delete=True)
    key = aws.kms.Key(
        f"{name}-efs-cmk", description=f"odoo-platform {estate.environment.value} filestores (EFS)",
        enable_key_rotation=True, rotation_period_in_days=90, deletion_window_in_days=30, tags=tags, opts=stateful,
    )
    file_system = aws.efs.FileSystem(
        f"{name}-filestore",
        encrypted=True,
        kms_key_id=key.arn,
        performance_mode="generalPurpose",
        throughput_mode="elastic",
        lifecycle_policies=[aws.efs.FileSystemLifecyclePolicyArgs(transition_to_ia="AFTER_30_DAYS")],
        tags=tags | {"Name": f"{name}-filestore"},
        opts=stateful,
    )
    aws.efs.BackupPolicy(
        f"{name}-filestore-backup", file_system_id=file_system.id,
        backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="ENABLED"), opts=child,
    )
    # NFS from the nodes only: the kernel of the node running the pod mounts the volume.
    # https://docs.aws.amazon.com/efs/latest/ug/network-access.html
    firewall = security_group(f"{name}-efs", foundation, NFS_PORT, "EFS (NFS)", tags, child)
    for zone, subnet in zip(foundation.handles["zones"], foundation.handles["database_subnets"], strict=True):
        aws.efs.MountTarget(
            f"{name}-efs-{zone}", file_system_id=file_system.id, subnet_id=subnet.id, security_groups=[firewall.id],
            opts=child,
        )
    if not estate.kubernetes.create_cluster:
        storage_class(name, owner, file_system, None)
    return file_system


def storage_class(
    name: str, owner: pulumi.Resource, file_system: aws.efs.FileSystem, provider: Optional[pulumi.ProviderResource]
) -> k8s.storage.v1.StorageClass:
    """Dynamic provisioning by EFS access points: each PVC gets its own directory and POSIX identity.
    https://github.com/kubernetes-sigs/aws-efs-csi-driver/blob/master/docs/README.md#dynamic-provisioning"""
    return k8s.storage.v1.StorageClass(
        f"{name}-{STORAGE_CLASS}",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=STORAGE_CLASS),
        provisioner=EFS_CSI_DRIVER,
        parameters=file_system.id.apply(lambda fs: {
            "provisioningMode": "efs-ap", "fileSystemId": fs, "directoryPerms": "700", "basePath": "/filestores",
        }),
        reclaim_policy="Retain",
        volume_binding_mode="Immediate",
        opts=pulumi.ResourceOptions(parent=owner, provider=provider),
    )
