"""Release rings: an image digest moves ring by ring, environment by environment.

The ledger (`stacks/releases.yaml`, in the repository next to the stack files) records where
each digest has run. A ring may only run a digest that already ran in the ring before it:
the previous ring of the same environment, or the last ring of the previous environment
for the first ring. `odoo-platform promote` checks the ledger, writes the ring's image into
the stack file and appends to the ledger; the program refuses a stack file whose ring image
skipped a ring, or a production image that never ran in staging's last ring, so a hand edit
cannot bypass the order either.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import yaml

from odoo_platform.config import CONFIG_NAMESPACE, Environment, Estate, parse_image_reference
from odoo_platform.errors import EstateConfigError

ENVIRONMENT_ORDER = (Environment.DEV, Environment.STAGING, Environment.PROD)
LEDGER_NAME = "releases.yaml"


@dataclass(frozen=True)
class Release:
    environment: str
    ring: str
    image: str
    stack: str
    promotedAt: str  # noqa: N815 - the ledger's YAML key
    promotedBy: str  # noqa: N815


def predecessor(environment: Environment, ring: str, ring_order: list[str]) -> Optional[tuple[str, str]]:
    """The (environment, ring) a digest must have run in before `ring` of `environment`."""
    position = ring_order.index(ring)
    if position > 0:
        return environment.value, ring_order[position - 1]
    env_position = ENVIRONMENT_ORDER.index(environment)
    if env_position == 0:
        return None
    return ENVIRONMENT_ORDER[env_position - 1].value, ring_order[-1]


def load_ledger(path: Path) -> list[Release]:
    if not path.is_file():
        return []
    document = yaml.safe_load(path.read_text()) or {}
    try:
        return [Release(**entry) for entry in document.get("releases") or []]
    except TypeError as exc:
        raise EstateConfigError(f"{path}: an entry is malformed ({exc}; keep the fields odoo-platform promote writes)") from None


def has_run(ledger: list[Release], environment: str, ring: str, image: str) -> bool:
    return any(r.environment == environment and r.ring == ring and r.image == image for r in ledger)


def check_rings(estate: Estate, ledger: list[Release]) -> None:
    """Refuse ring images that skipped the ring before them, and a production image that skipped staging."""
    if estate.environment is Environment.PROD:
        # The estate's image is what every ring without its own image runs: in production it must
        # have run in staging's last ring, exactly like an image promoted into prod's first ring.
        refusal = promotion_refusal(estate, ledger, estate.ring_order[0], estate.image)
        if refusal:
            raise EstateConfigError(f"image: {refusal}")
    for ring, image in estate.rings.items():
        if image == estate.image:
            continue
        refusal = promotion_refusal(estate, ledger, ring, image)
        if refusal:
            raise EstateConfigError(f"rings.{ring}: {refusal}")


def image_refusal(estate: Estate, image: str) -> Optional[str]:
    """Why `image` cannot be promoted into this estate at all (a bad reference, a tag, a registry), or None."""
    try:
        reference = parse_image_reference(image)
    except ValueError as exc:
        return str(exc)
    if estate.environment in (Environment.STAGING, Environment.PROD) and not reference.digest:
        return f"{image!r} is a tag; {estate.environment.value} promotes images by digest (use repo@sha256:<64 hex>)"
    if not estate.image_policy.approves(image):
        return (f"{image!r} is not from an approved registry "
                "(add its registry to imagePolicy.approvedRegistries or use an approved one)")
    return None


def promotion_refusal(estate: Estate, ledger: list[Release], ring: str, image: str) -> Optional[str]:
    before = predecessor(estate.environment, ring, estate.ring_order)
    if before is None or has_run(ledger, before[0], before[1], image):
        return None
    return (
        f"{image} has not run in {before[0]}/{before[1]} yet "
        f"(promote it there first with: odoo-platform promote --stack <{before[0]} stack> --ring {before[1]} --image {image})"
    )


def record(path: Path, release: Release) -> None:
    ledger = load_ledger(path)
    header = "# Release ledger: where each image has run. Appended by `odoo-platform promote`; do not edit by hand.\n"
    document = {"releases": [asdict(r) for r in (*ledger, release)]}
    _write_atomically(path, header + yaml.safe_dump(document, sort_keys=False))


def set_ring_image(stack_file: Path, ring: str, image: str, current: dict[str, str]) -> None:
    """Rewrite only the `odoo-platform:rings` line of a stack file, keeping its comments and layout."""
    rings = dict(current) | {ring: image}
    # Emitted by the YAML library, every key and value double-quoted (escapes for quotes, braces,
    # newlines) and never folded: whatever a value holds, it stays one inert scalar on this one line.
    flow = yaml.safe_dump(rings, default_flow_style=True, default_style='"', sort_keys=False, width=math.inf).strip()
    new_line = f"  {CONFIG_NAMESPACE}:rings: {flow}\n"
    lines = stack_file.read_text().splitlines(keepends=True)
    kept: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith("  odoo-platform:rings:"):
            skipping = True
            continue
        if skipping and line.startswith("    "):
            continue
        skipping = False
        kept.append(line)
    position = next(i for i, line in enumerate(kept) if line.rstrip() == "config:") + 1
    kept.insert(position, new_line)
    _write_atomically(stack_file, "".join(kept))


def promoted_by() -> str:
    return os.environ.get("BUILD_REQUESTEDFOREMAIL") or os.environ.get("USER") or "unknown"


def now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _write_atomically(path: Path, content: str) -> None:
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w") as stream:
        stream.write(content)
    os.replace(staging, path)
