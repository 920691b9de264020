"""Stack files (`stacks/Pulumi.<stack>.yaml`) read the way the Pulumi CLI reads them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from odoo_platform.errors import EstateConfigError
from odoo_platform.yaml_input import read_yaml

SECRET_PLACEHOLDER = "[secret]"


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    main: Path
    stack_config_dir: Path

    def stack_names(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"


@dataclass(frozen=True)
class StackConfig:
    """Config as the language host hands it to a program: "ns:key" -> string (JSON for structures)."""

    values: dict[str, str]
    secret_keys: list[str] = field(default_factory=list)

    def masked(self) -> dict[str, Any]:
        """Config for people and tools: values decoded, secrets replaced."""
        shown: dict[str, Any] = {}
        for key, value in sorted(self.values.items()):
            if key in self.secret_keys:
                shown[key] = SECRET_PLACEHOLDER
                continue
            try:
                shown[key] = json.loads(value)
            except ValueError:
                shown[key] = value
        return shown


def load_project(root: Path) -> Project:
    document = read_yaml(root / "Pulumi.yaml", "Pulumi project file")
    if not isinstance(document, dict) or not isinstance(document.get("name"), str):
        raise EstateConfigError(f"{root / 'Pulumi.yaml'}: has no project name (write name: <project> as Pulumi does)")
    main = root / document.get("main", ".")
    return Project(
        root=root,
        name=document["name"],
        main=main if main.suffix == ".py" else main / "__main__.py",
        stack_config_dir=root / document.get("stackConfigDir", "."),
    )


def read_stack_config(project: Project, path: Path) -> StackConfig:
    """Read a stack file; a key without a namespace belongs to the project, as in the CLI."""
    document = read_yaml(path, "stack file") or {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise EstateConfigError(f"{path}: has no 'config:' mapping (write the estate under config: as in stacks/)")
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in str(key) else f"{project.name}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Ciphertext only the real secrets provider can open; the program sees a placeholder.
            values[full_key] = SECRET_PLACEHOLDER
            secret_keys.append(full_key)
        elif isinstance(value, str):
            values[full_key] = value
        else:
            values[full_key] = json.dumps(value)
    return StackConfig(values=values, secret_keys=secret_keys)
