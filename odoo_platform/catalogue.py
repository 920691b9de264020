"""The tenant catalogue: an estate's tenants in files, one `<tenant>.yaml` per tenant.

A stack's config is handed to policy packs in one environment variable (`PULUMI_CONFIG`),
which Linux caps at 128 KiB (MAX_ARG_STRLEN); an inline `tenants:` list passes it at about
900 tenants. With `tenantCatalogue: tenants/<estate>` in the stack file, the program reads
the tenants from that directory (relative to the directory of the stack files) and the
config stays the same size whatever the estate's size. A shard stack reads the same
directory and keeps the tenants whose own `ring` and `shard` name it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from odoo_platform.config import Tenant
from odoo_platform.errors import EstateConfigError
from odoo_platform.yaml_input import read_yaml

CATALOGUE_KEY = "tenantCatalogue"
SUFFIX = ".yaml"


def catalogue_dir(setting: Any, root: Path) -> Path:
    """The catalogue directory a `tenantCatalogue` setting names (relative: to the stack files' directory)."""
    if not isinstance(setting, str) or not setting.strip():
        raise EstateConfigError(f"{CATALOGUE_KEY}: {setting!r} is not a directory name (write e.g. "
                                f"{CATALOGUE_KEY}: tenants/<estate>, relative to the stack files)")
    directory = root / setting
    if not directory.is_dir():
        raise EstateConfigError(f"{CATALOGUE_KEY}: {directory} is not a directory (create it with one <tenant>{SUFFIX} "
                                "per tenant, or list the tenants under tenants:)")
    return directory


def catalogue_files(directory: Path) -> list[Path]:
    """Every tenant file, in name order (the order tenants are read in, whatever the file system's).

    Anything else but hidden files is refused: a tenant whose file were renamed `acme.yml` and
    skipped would be planned away, its namespace and filestore volume deleted with it.
    """
    entries = sorted(p for p in directory.iterdir() if not p.name.startswith("."))
    stray = next((p for p in entries if not p.name.endswith(SUFFIX) or not p.is_file()), None)
    if stray is not None:
        raise EstateConfigError(f"{stray}: is not a <tenant>{SUFFIX} file (a tenant catalogue holds one file per tenant, "
                                f"named <tenant>{SUFFIX}: rename it, or move it out of {directory})")
    if not entries:
        raise EstateConfigError(f"{CATALOGUE_KEY}: {directory} holds no <tenant>{SUFFIX} file (add one per tenant)")
    return entries


def read_entry(path: Path) -> dict[str, Any]:
    """One tenant's entry, as it would be written under `tenants:`; its name is its file's."""
    status = path.stat()
    return dict(_entry(path, status.st_mtime_ns, status.st_size))


@functools.lru_cache(maxsize=16384)
def _entry(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    # Keyed by the file's state: a process that reads the catalogue again (a worker planning one
    # shard stack after another, a command reading the estate twice) parses only what changed.
    entry = read_yaml(path, "tenant file")
    if not isinstance(entry, dict):
        raise EstateConfigError(f"{path}: is not a mapping (write the tenant's fields: name, tier, users, hostname, ...)")
    stem = path.name[: -len(SUFFIX)]
    name = entry.setdefault("name", stem)
    if name != stem:
        raise EstateConfigError(f"{path}: name {name!r} differs from the file's name (rename the file to {name}{SUFFIX} "
                                "or remove name:)")
    return entry


def read_catalogue(setting: Any, root: Path) -> tuple[list[dict[str, Any]], list[Path]]:
    """The tenants of a catalogue, and the file each came from (same order)."""
    files = catalogue_files(catalogue_dir(setting, root))
    return [read_entry(path) for path in files], files


def shard_of(entry: dict[str, Any]) -> str:
    """The shard stack (`<ring>-<n>`) an entry's own ring and shard (default 1) place it in, as sharding.shards_of.

    Field types are checked when the estate is parsed; here a mistyped value simply names no shard.
    """
    return f"{entry.get('ring', Tenant.model_fields['ring'].default)}-{entry.get('shard') or 1}"
