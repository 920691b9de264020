"""The estate as a Graphviz diagram: placements (keys, server, vault) and tenants with their rings."""

from __future__ import annotations

from typing import Any


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def estate_dot(plan: dict[str, Any]) -> str:
    tenants = plan["outputs"].get("tenants") or {}
    placements = sorted({t["postgresServer"] for t in tenants.values()})
    title = _quote("odoo-platform estate " + plan["stack"])
    lines = [
        f"digraph {_quote(plan['stack'])} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fillcolor="#ffffff"];',
        f"  label={title}; labelloc=t;",
    ]
    for placement in placements:
        dedicated = placement != "shared"
        colour = "#fde2e2" if dedicated else "#e2ecfd"
        lines += [
            f"  subgraph {_quote('cluster_' + placement)} {{",
            f"    label={_quote(('dedicated: ' if dedicated else 'shared: ') + placement)}; style=filled; fillcolor={_quote(colour)};",
            f"    {_quote('keys-' + placement)} [label={_quote('keys ' + placement)}, shape=hexagon];",
            f"    {_quote('postgres-' + placement)} [label={_quote('PostgreSQL ' + placement)}, shape=cylinder];",
            f"    {_quote('backup-' + placement)} [label={_quote('backup vault ' + placement)}, shape=folder];",
            f"    {_quote('keys-' + placement)} -> {_quote('postgres-' + placement)} [style=dashed, label=encrypts];",
            f"    {_quote('postgres-' + placement)} -> {_quote('backup-' + placement)} [label=backs up];",
            "  }",
        ]
    lines.append(f"  subgraph cluster_kubernetes {{ label={_quote('Kubernetes')}; style=dashed;")
    for name, tenant in sorted(tenants.items()):
        label = f"{tenant['namespace']}\\ntier {tenant['tier']}, ring {tenant['ring']}"
        lines.append(f"    {_quote('ns-' + name)} [label={_quote(label)}];")
    lines.append("  }")
    for name, tenant in sorted(tenants.items()):
        lines.append(f"  {_quote('ns-' + name)} -> {_quote('postgres-' + tenant['postgresServer'])};")
    lines.append("}")
    return "\n".join(lines) + "\n"
