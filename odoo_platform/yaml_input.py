"""YAML a user hands us (stack files, price tables, ledgers), read strictly and within bounds.

PyYAML's safe loader lets the last of two equal keys win silently (a second `tenants:`
replaces the first), expands aliases into structures far larger than the file (the
"billion laughs" shape, which exhausted memory once the config was turned into JSON), and
reads values of any size. This loader refuses all three, and non-UTF-8 text, with one line
naming the file, the line and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from odoo_platform.errors import EstateConfigError

MAX_FILE_BYTES = 8 * 1024 * 1024  # a 2,000-tenant stack file is well under 1 MiB
MAX_SCALAR_CHARS = 64 * 1024  # the longest legitimate value is a PEM key of a few KiB
MAX_ALIASES = 100
MAX_NODES = 1_000_000  # nodes after expanding aliases: bounds what an alias chain can multiply


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, counts aliases and bounds scalars."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Refused(self.peek_event().start_mark, f"more than {MAX_ALIASES} aliases (write the values out)")
        return super().compose_node(parent, index)

    def construct_scalar(self, node: Any) -> Any:
        if len(node.value) > MAX_SCALAR_CHARS:
            raise _Refused(node.start_mark, f"a value of {len(node.value)} characters, more than {MAX_SCALAR_CHARS} "
                                            "(shorten it)")
        return super().construct_scalar(node)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool, type(None))):
                raise _Refused(key_node.start_mark, "a mapping key that is not a plain value (use a string key)")
            if key in seen:
                raise _Refused(key_node.start_mark, f"duplicate key {key!r}, first on line {seen[key].line + 1} "
                                                    "(keep one of them)")
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


class _Refused(yaml.YAMLError):
    def __init__(self, mark: Any, problem: str):
        super().__init__(problem)
        self.problem_mark = mark
        self.problem = problem


def read_yaml(path: Path, what: str) -> Any:
    """The document in `path`; `what` says what the file should be, for the error's fix."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise EstateConfigError(f"{path}: {size} bytes, more than the {MAX_FILE_BYTES} a {what} may have "
                                    "(split or shorten it)")
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise EstateConfigError(f"{path}: cannot be read ({exc.strerror}; check the path)") from None
    except UnicodeDecodeError as exc:
        raise EstateConfigError(f"{path}: byte {exc.start} is not UTF-8 (save the {what} as UTF-8)") from None
    return parse_yaml(text, str(path), what)


def parse_yaml(text: str, source: str, what: str) -> Any:
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except _Refused as exc:
        raise EstateConfigError(f"{source}: line {exc.problem_mark.line + 1}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise EstateConfigError(f"{source}:{where} is not valid YAML (fix the indentation or quoting there)") from None
    if _nodes(document, MAX_NODES) > MAX_NODES:
        raise EstateConfigError(f"{source}: its aliases expand to more than {MAX_NODES} values (write the values out "
                                f"instead of nesting aliases; a {what} never needs that many)")
    return document


def _nodes(document: Any, limit: int) -> int:
    """Values in the document with aliases expanded, counting no further than just past `limit`."""
    count, pending = 0, [document]
    while pending and count <= limit:
        value = pending.pop()
        count += 1
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return count
