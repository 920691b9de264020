"""The estate from a stack's `odoo-platform:` config, as the program and the policy packs receive it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from odoo_platform.catalogue import CATALOGUE_KEY, read_catalogue, shard_of
from odoo_platform.config import CONFIG_NAMESPACE, Estate, locate, parse_estate
from odoo_platform.errors import EstateConfigError

FOUNDATION = "foundation"  # sharding.FOUNDATION (sharding builds on this module)


def read_estate(stack_dir: Path) -> Estate:
    """Every `odoo-platform:*` key of the stack, so an unknown or misspelled key is an error.

    `stack_dir`: the directory of the stack files, which a `tenantCatalogue` is relative to.
    """
    config = pulumi.Config(CONFIG_NAMESPACE)
    keys = (*CONFIG.get(), *get_config_env())
    values = {key: config.get(key.split(":", 1)[1]) for key in keys if key.startswith(f"{CONFIG_NAMESPACE}:")}
    return estate_from_config(values, stack_dir)


def estate_from_config(values: Mapping[str, str | None], stack_dir: Path) -> Estate:
    """The estate from config as Pulumi hands it over ("namespace:key" -> text); other namespaces are ignored.

    The tenants are the `tenants` list, or the files of the `tenantCatalogue` directory under
    `stack_dir` (a shard stack's: those naming its shard).
    """
    prefix = f"{CONFIG_NAMESPACE}:"
    document = {key[len(prefix):]: decode(value) for key, value in sorted(values.items()) if key.startswith(prefix)}
    if CATALOGUE_KEY not in document:
        return parse_estate(document)
    if "tenants" in document:
        raise EstateConfigError(f"{CATALOGUE_KEY}: is set beside tenants (keep an estate's tenants in one place: remove "
                                f"tenants: or {CATALOGUE_KEY}:)")
    setting = document.pop(CATALOGUE_KEY)
    entries, files = read_catalogue(setting, stack_dir)
    shard = document.get("shard")
    if isinstance(shard, str) and shard not in ("", FOUNDATION):
        members = [index for index, entry in enumerate(entries) if shard_of(entry) == shard]
        if not members:
            raise EstateConfigError(f"shard: no tenant file of {stack_dir / setting} names shard {shard!r} (a tenant's "
                                    "ring and shard: place it; a shard stack left without tenants is emptied with "
                                    "`pulumi destroy`, or its tenants moved with `pulumi state move`)")
        files, entries = [files[i] for i in members], [entries[i] for i in members]
    try:
        estate = parse_estate(document | {"tenants": entries})
    except EstateConfigError as exc:
        raise EstateConfigError(locate(str(exc), files)) from None
    estate._tenant_files = tuple(files)
    return estate


def decode(value: str | None) -> Any:
    # Pulumi hands structured values (lists, objects, numbers) to programs as JSON text.
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value
