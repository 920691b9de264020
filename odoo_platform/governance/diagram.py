"""The estate as a Graphviz diagram: placements (keys, server, vault) and tenants with their rings."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any
from xml.sax.saxutils import escape


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


def estate_svg(plan: dict[str, Any]) -> str:
    """SVG of the estate: Graphviz's layout of the DOT where `dot` is installed, otherwise a
    two-column layout of the same graph (placements left, tenant namespaces right)."""
    dot = shutil.which("dot")
    if dot:
        result = subprocess.run([dot, "-Tsvg"], input=estate_dot(plan), capture_output=True, text=True, check=False)
        if result.returncode == 0:
            return result.stdout
    return _column_svg(plan)


def _column_svg(plan: dict[str, Any]) -> str:
    tenants = sorted((plan["outputs"].get("tenants") or {}).items())
    placements = sorted({t["postgresServer"] for _, t in tenants})
    box_w, box_h, gap = 260, 64, 24
    placement_y = {p: 60 + i * (box_h * 3 + gap) for i, p in enumerate(placements)}
    tenant_y = {name: 60 + i * (box_h + gap) for i, (name, _) in enumerate(tenants)}
    height = max([*placement_y.values(), *tenant_y.values(), 0]) + box_h * 3 + gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="760" height="{height}" font-family="Helvetica" font-size="12">',
             f'<text x="20" y="30" font-size="16">{escape("odoo-platform estate " + plan["stack"])}</text>']
    for placement, y in placement_y.items():
        colour = "#fde2e2" if placement != "shared" else "#e2ecfd"
        label = ("dedicated: " if placement != "shared" else "shared: ") + placement
        parts.append(f'<rect x="20" y="{y}" width="{box_w}" height="{box_h * 3 - 8}" rx="8" fill="{colour}" stroke="#555"/>')
        parts.append(f'<text x="30" y="{y + 18}">{escape(label)}</text>')
        for row, item in enumerate(("keys", "PostgreSQL", "backup vault")):
            parts.append(f'<text x="40" y="{y + 44 + row * 22}">{escape(item)}</text>')
    for name, tenant in tenants:
        y = tenant_y[name]
        parts.append(f'<rect x="480" y="{y}" width="{box_w}" height="{box_h}" rx="8" fill="#ffffff" stroke="#555"/>')
        parts.append(f'<text x="490" y="{y + 24}">{escape(tenant["namespace"])}</text>')
        detail = "tier {}, ring {}".format(tenant["tier"], tenant["ring"])
        parts.append(f'<text x="490" y="{y + 46}">{escape(detail)}</text>')
        target = placement_y[tenant["postgresServer"]] + box_h
        parts.append(f'<line x1="480" y1="{y + box_h / 2}" x2="{20 + box_w}" y2="{target}" stroke="#777"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
