"""Plans of large hybrid estates for the estate picture, built directly (no Pulumi run): the picture
reads only `outputs.tenants` and the placements' key, server and vault resources."""

from __future__ import annotations

from typing import Any

RINGS = ("canary", "early", "broad", "broad", "broad")


def _resource(stack: str, type_: str, name: str, parent: str | None = None, component: bool = False,
              depends_on: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:{stack}::odoo-platform::{type_}::{name}", "type": type_, "name": name, "parent": parent,
            "inputs": {}, "protect": not component, "retainOnDelete": False, "dependsOn": list(depends_on),
            "component": component}


def _placement(stack: str, server: str) -> list[dict[str, Any]]:
    """A placement as the program builds it on Azure: key, server and vault components, the key used by both."""
    keys = _resource(stack, "odoo-platform:index:EncryptionKeys", f"keys-{server}", component=True)
    postgres = _resource(stack, "odoo-platform:index:ManagedPostgres", f"postgres-{server}", component=True)
    backup = _resource(stack, "odoo-platform:index:BackupVault", f"backup-{server}", component=True)
    key = _resource(stack, "azure-native:keyvault:Key", f"keys-{server}-cmk", keys["urn"])
    return [keys, postgres, backup, key,
            _resource(stack, "azure-native:dbforpostgresql:Server", f"postgres-{server}-server", postgres["urn"],
                      depends_on=(key["urn"],)),
            _resource(stack, "azure-native:dataprotection:BackupVault", f"backup-{server}-vault", backup["urn"],
                      depends_on=(key["urn"],))]


def hybrid_plan(shared: int, dedicated: int, per_server: int = 14, stack: str = "big-prod") -> dict[str, Any]:
    """`shared` tenants pooled `per_server` to a server (shared, shared-2, ...) and `dedicated` tenants alone."""
    tenants: dict[str, dict[str, Any]] = {}
    for index in range(shared + dedicated):
        name = f"tenant-{index + 1:04d}"
        pool = index // per_server
        server = (f"shared-{pool + 1}" if pool else "shared") if index < shared else f"dedicated-{name}"
        tenants[name] = {"namespace": f"odoo-{name}", "tier": 1 + index % 3, "ring": RINGS[index % len(RINGS)],
                         "postgresServer": server, "isolation": "shared" if index < shared else "dedicated",
                         "image": "registry.example.com/odoo/odoo@sha256:" + "ab" * 32,
                         "hostname": f"{name}.erp.example.com"}
    servers = sorted({t["postgresServer"] for t in tenants.values()})
    resources = [resource for server in servers for resource in _placement(stack, server)]
    return {"stack": stack, "project": "odoo-platform", "config": {}, "resources": resources,
            "outputs": {"tenants": tenants, "postgresServers": {s: f"{s}.postgres.example.com" for s in servers}}}
