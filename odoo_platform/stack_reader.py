"""The estate from a stack's `odoo-platform:` config, as the program and the policy packs receive it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from odoo_platform.config import CONFIG_NAMESPACE, Estate, parse_estate


def read_estate() -> Estate:
    """Every `odoo-platform:*` key of the stack, so an unknown or misspelled key is an error."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    keys = (*CONFIG.get(), *get_config_env())
    return estate_from_config({key: config.get(key.split(":", 1)[1]) for key in keys if key.startswith(f"{CONFIG_NAMESPACE}:")})


def estate_from_config(values: Mapping[str, str | None]) -> Estate:
    """The estate from config as Pulumi hands it over ("namespace:key" -> text); other namespaces are ignored."""
    prefix = f"{CONFIG_NAMESPACE}:"
    return parse_estate({key[len(prefix):]: decode(value) for key, value in sorted(values.items()) if key.startswith(prefix)})


def decode(value: str | None) -> Any:
    # Pulumi hands structured values (lists, objects, numbers) to programs as JSON text.
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value
