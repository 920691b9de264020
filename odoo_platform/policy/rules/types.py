"""Resource type tokens and naming conventions the rules share."""

from __future__ import annotations

import re

AZURE_PG = "azure-native:dbforpostgresql:Server"
RDS = "aws:rds/instance:Instance"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
INGRESS_ROUTE = "kubernetes:traefik.io/v1alpha1:IngressRoute"
TLS_OPTION = "kubernetes:traefik.io/v1alpha1:TLSOption"
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY", re.IGNORECASE)
STATEFUL = (AZURE_PG, RDS, "azure-native:dataprotection:BackupVault", "aws:backup/vault:Vault",
            "kubernetes:core/v1:PersistentVolumeClaim")


def tenant_namespace(name: str) -> bool:
    return name.startswith("odoo-")
