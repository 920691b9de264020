"""The estate picture: which tenants share a server, which are dedicated, which key encrypts what and
which vault holds whose backups, readable at any number of tenants.

One model (`estate_model`) feeds every rendering: the DOT graph (laid out by Graphviz), the SVG
(Graphviz's layout, or a grid of cards where Graphviz is not installed) and the report's tables.
Large groups are summarised (counts, tiers, rings); the full tenant list is the report's table.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from odoo_platform.config import Estate as EstateConfig
from odoo_platform.errors import ToolFailure

SHARED, DEDICATED = "shared", "dedicated"
COLOURS = {SHARED: "#e2ecfd", DEDICATED: "#fde2e2"}
# Beyond this many placements of one kind, the kind is drawn as one group with counts: every
# placement of a kind has the same shape (its own key, server and vault), only its tenants differ.
DRAWN_PLACEMENTS = 3
# A tenant group names its tenants up to this many; a larger group shows counts by tier and ring.
NAMED_TENANTS = 12
KEY_TYPES = {"azure-native:keyvault:Key", "aws:kms/key:Key"}
# What a placement key protects, by the component (named <role>-<server>) of the resources that use it.
ENCRYPTED_ROLES = {"postgres": "database", "backup": "backups", "redis": "cache"}
_POOLED = re.compile(r"shared(-[0-9]+)?")


def placement_kind(server: str) -> str:
    """`shared`, `shared-2`, ... are pooled shared servers; `dedicated-<tenant>` is one tenant's own."""
    if _POOLED.fullmatch(server):
        return SHARED
    if server.startswith("dedicated-"):
        return DEDICATED
    raise ValueError(f"postgres server {server!r} is neither pooled shared (shared, shared-N) nor dedicated-<tenant>")


@dataclass(frozen=True)
class Tenant:
    name: str
    namespace: str
    tier: int
    ring: str
    server: str
    kind: str


@dataclass(frozen=True)
class Placement:
    server: str
    kind: str
    tenants: tuple[Tenant, ...]
    key: str | None
    """The placement's customer key (a plan resource name); None where the plan holds no servers (a shard stack)."""
    encrypts: tuple[str, ...]
    vault: str | None
    """The component holding the placement's backups."""


@dataclass(frozen=True)
class Group:
    """What the picture draws as one box: a placement, or every placement of one kind (summarised)."""

    kind: str
    title: str
    placements: tuple[Placement, ...]
    ring_order: tuple[str, ...]

    @property
    def tenants(self) -> tuple[Tenant, ...]:
        return tuple(t for p in self.placements for t in p.tenants)

    @property
    def summarised(self) -> bool:
        return len(self.placements) > 1

    def tenant_lines(self) -> list[str]:
        """Counts by tier and ring, then the names where few enough to read."""
        tenants = self.tenants
        tiers = Counter(t.tier for t in tenants)
        rings = Counter(t.ring for t in tenants)
        lines = [
            f"{len(tenants)} tenant{'s' if len(tenants) != 1 else ''}",
            " · ".join(f"tier {tier}: {count}" for tier, count in sorted(tiers.items())),
            "rings " + " · ".join(f"{ring} {rings[ring]}" for ring in sorted(rings, key=self._ring_rank)),
        ]
        if len(tenants) <= NAMED_TENANTS:
            names = [t.name for t in tenants]
            lines += [", ".join(names[i:i + 3]) for i in range(0, len(names), 3)]
        else:
            lines.append("(each tenant: the report's tenant table)")
        return lines

    @property
    def encrypts(self) -> tuple[str, ...]:
        """What every key of the group encrypts: nothing is claimed for "each" that one key does not do."""
        keyed = [p for p in self.placements if p.key]
        return tuple(role for role in ENCRYPTED_ROLES.values() if keyed and all(role in p.encrypts for p in keyed))

    def _ring_rank(self, ring: str) -> tuple[int, str]:
        return (self.ring_order.index(ring) if ring in self.ring_order else len(self.ring_order), ring)

    def resource_lines(self) -> tuple[str, str, str]:
        """Key, server and vault, named for one placement and counted for a summarised group (where a
        shard stack's plan holds no servers, they are in its foundation stack)."""
        placements = self.placements
        first, count = placements[0], len(placements)
        keyed = [p for p in placements if p.key]
        protects = "encrypts " + (", ".join(self.encrypts) or "nothing in this plan")
        vaults = sum(1 for p in placements if p.vault)
        if not self.summarised:
            return (f"key {first.key}\n{protects}" if first.key else "key: in the foundation stack",
                    f"PostgreSQL {first.server}",
                    f"backup vault {first.vault}" if first.vault else "backup vault: in the foundation stack")
        sizes = sorted(len(p.tenants) for p in placements)
        each = (f"{sizes[0]} to {sizes[-1]}" if sizes[0] != sizes[-1] else str(sizes[0])) + \
            (" tenant each" if sizes[-1] == 1 else " tenants each")
        keys = len({p.key for p in keyed})
        return (f"{keys} keys, {'one per server' if keys == count else f'for {count} servers'}\neach {protects}"
                if keyed else "keys: in the foundation stack",
                f"{count} PostgreSQL servers\n{first.server} … {placements[-1].server}\n{each}",
                f"{vaults} backup vaults, {'one per server' if vaults == count else f'for {count} servers'}"
                if vaults else "backup vaults: in the foundation stack")


@dataclass(frozen=True)
class Estate:
    stack: str
    placements: tuple[Placement, ...]
    ring_order: tuple[str, ...]

    @property
    def tenants(self) -> tuple[Tenant, ...]:
        return tuple(sorted((t for p in self.placements for t in p.tenants), key=lambda t: t.name))

    def groups(self) -> list[Group]:
        groups: list[Group] = []
        for kind in (SHARED, DEDICATED):
            members = tuple(p for p in self.placements if p.kind == kind)
            if len(members) > DRAWN_PLACEMENTS:
                groups.append(Group(kind, f"{kind} × {len(members)} placements", members, self.ring_order))
            else:
                groups += [Group(kind, f"{kind}: {p.server}", (p,), self.ring_order) for p in members]
        return groups


def _server_order(server: str) -> tuple[int, str]:
    """Pooled servers by number (shared, shared-2, ..., shared-10), dedicated ones by name."""
    pooled = _POOLED.fullmatch(server)
    return (int(pooled.group(1)[1:]) if pooled and pooled.group(1) else 1 if pooled else 0, server)


def estate_model(plan: dict[str, Any]) -> Estate:
    tenants = plan["outputs"].get("tenants") or {}
    by_server: dict[str, list[Tenant]] = {}
    for name, info in sorted(tenants.items()):
        server = info["postgresServer"]
        by_server.setdefault(server, []).append(
            Tenant(name, info["namespace"], int(info["tier"]), info["ring"], server, placement_kind(server)))
    components = {r["urn"]: r["name"] for r in plan["resources"] if r["component"]}
    keys = {components.get(r["parent"]): r for r in plan["resources"] if r["type"] in KEY_TYPES}
    users: dict[str, set[str]] = {}
    for resource in plan["resources"]:
        for dependency in resource["dependsOn"]:
            users.setdefault(dependency, set()).add(components.get(resource["parent"]) or "")
    placements = []
    for server in sorted(by_server, key=lambda s: (placement_kind(s) == DEDICATED, _server_order(s))):
        key = keys.get(f"keys-{server}")
        encrypts = tuple(role for prefix, role in ENCRYPTED_ROLES.items()
                         if key and f"{prefix}-{server}" in users.get(key["urn"], set()))
        vault = f"backup-{server}" if f"backup-{server}" in components.values() else None
        placements.append(Placement(server, placement_kind(server), tuple(by_server[server]),
                                    key["name"] if key else None, encrypts, vault))
    ring_order = plan["config"].get("odoo-platform:ringOrder") or EstateConfig.model_fields["ring_order"].get_default(
        call_default_factory=True)
    return Estate(plan["stack"], tuple(placements), tuple(ring_order))


def dot_quote(text: str) -> str:
    """Every DOT identifier and attribute value goes through here: a quoted string, newlines as \\n."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(**attributes: str) -> str:
    return "[" + ", ".join(f"{key}={dot_quote(value)}" for key, value in attributes.items()) + "]"


def estate_dot(plan: dict[str, Any]) -> str:
    estate = estate_model(plan)
    lines = [
        f"digraph {dot_quote(estate.stack)} {{",
        "  graph " + _attrs(rankdir="LR", label=f"odoo-platform estate {estate.stack}{legend(estate)}", labelloc="t",
                            fontname="Helvetica", nodesep="0.25", ranksep="0.6") + ";",
        f"  node {_attrs(shape='box', style='rounded,filled', fontname='Helvetica', fontsize='11', fillcolor='#ffffff')};",
        f"  edge {_attrs(fontname='Helvetica', fontsize='10', color='#555555')};",
    ]
    # A left-to-right graph stacks its clusters bottom-up: the last emitted is drawn on top, so the
    # groups are emitted last first to read top-down in the report's order (shared, then dedicated).
    for index, group in reversed(list(enumerate(estate.groups()))):
        node = f"g{index}"
        key, server, vault = group.resource_lines()
        lines += [
            f"  subgraph {dot_quote('cluster_' + node)} {{",
            f"    graph {_attrs(label=group.title, style='filled', fillcolor=COLOURS[group.kind], color='#555555')};",
            f"    {dot_quote(node + '-tenants')} {_attrs(label=chr(10).join(group.tenant_lines()))};",
            f"    {dot_quote(node + '-key')} {_attrs(label=key, shape='hexagon')};",
            f"    {dot_quote(node + '-server')} {_attrs(label=server, shape='cylinder')};",
            f"    {dot_quote(node + '-vault')} {_attrs(label=vault, shape='folder')};",
            f"    {dot_quote(node + '-tenants')} -> {dot_quote(node + '-server')} {_attrs(label='databases on')};",
            f"    {dot_quote(node + '-server')} -> {dot_quote(node + '-vault')} {_attrs(label='backs up to')};",
        ]
        lines += [f"    {dot_quote(node + '-key')} -> {dot_quote(node + target)} {_attrs(label='encrypts', style='dashed')};"
                  for role, target in (("database", "-server"), ("backups", "-vault")) if role in group.encrypts]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def legend(estate: Estate) -> str:
    """One line under the title: how many tenants share and how many are dedicated."""
    kinds = Counter(t.kind for t in estate.tenants)
    servers = Counter(p.kind for p in estate.placements)
    return (f"\n{kinds[SHARED]} tenant(s) on {servers[SHARED]} pooled shared server(s) (blue); "
            f"{kinds[DEDICATED]} dedicated tenant(s), each on its own server (red)")


def estate_svg(plan: dict[str, Any]) -> str:
    """Graphviz's layout where `dot` is installed (a failure of `dot` is an error, never a silent
    fallback); otherwise a grid of the same groups."""
    dot = shutil.which("dot")
    if not dot:
        return _card_svg(estate_model(plan))
    result = subprocess.run([dot, "-Tsvg"], input=estate_dot(plan), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ToolFailure(f"Graphviz could not lay out the estate diagram: {result.stderr.strip()}")
    return result.stdout


def _card_svg(estate: Estate) -> str:
    groups = estate.groups()
    columns, card_w, gap, line_h = 3, 330, 20, 16
    cards = [(group, [*_wrap(group.title), "", *"\n".join(group.resource_lines()).split("\n"), "", *group.tenant_lines()])
             for group in groups]
    heights = [24 + line_h * len(lines) for _, lines in cards]
    row_heights = [max(heights[i:i + columns]) for i in range(0, len(cards), columns)]
    title_lines = ["odoo-platform estate " + estate.stack, *legend(estate).strip().split("\n")]
    top = 20 + 20 * len(title_lines)
    width = gap + columns * (card_w + gap)
    height = top + sum(row_heights) + gap * (len(row_heights) + 1)
    parts = ["<!-- odoo-platform card layout: Graphviz is not installed -->",
             f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             'font-family="Helvetica" font-size="12">']
    parts += [f'<text x="{gap}" y="{24 + 20 * i}" font-size="{16 if i == 0 else 12}">{escape(text)}</text>'
              for i, text in enumerate(title_lines)]
    y = top + gap
    for row, row_height in enumerate(row_heights):
        for column, (group, lines) in enumerate(cards[row * columns:(row + 1) * columns]):
            x = gap + column * (card_w + gap)
            parts.append(f'<rect x="{x}" y="{y}" width="{card_w}" height="{heights[row * columns + column]}" rx="8" '
                         f'fill="{COLOURS[group.kind]}" stroke="#555"/>')
            parts += [f'<text x="{x + 12}" y="{y + 22 + line_h * i}">{escape(text)}</text>'
                      for i, text in enumerate(lines) if text]
        y += row_height + gap
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _wrap(text: str, width: int = 48) -> list[str]:
    lines: list[str] = [""]
    for word in text.split():
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    return lines
