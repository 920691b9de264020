"""Stack plans reused from earlier runs: a content-addressed store, keyed by everything that can change a plan.

A stack's plan is a function of its config (values, secret keys, stack name, region), of the
tenant files it reads (a catalogued estate), of the code (this package, the program's entry
point, Pulumi.yaml, the release ledger), of the installed distributions and Python, and for a
shard stack of the foundation's outputs it reads. The key is a digest of all of them: a plan
is reused only when a cold run would produce it byte for byte, and never across code versions.

An entry is one file, `<key>.plan`: a header line (format, key, the body's digest and the
stack's recorded outputs, which shard stacks read), then the stack's plan.json exactly as it
is written. Entries are written to a temporary file renamed into place, so readers see whole
entries only; one that is unreadable or does not match its digest is a miss, never an error.
The store deletes only its own entry files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, Any, Mapping

import odoo_platform
from odoo_platform.catalogue import CATALOGUE_KEY
from odoo_platform.config import CONFIG_NAMESPACE
from odoo_platform.errors import ToolFailure
from odoo_platform.offline.stackfiles import Project, StackConfig
from odoo_platform.releases import LEDGER_NAME
from odoo_platform.stack_reader import estate_from_config

CACHE_DIR_ENV = "ODOO_PLATFORM_CACHE_DIR"
FORMAT = 1
SUFFIX = ".plan"
ENTRY = re.compile(r"^[0-9a-f]{64}\.plan$")
STAGING = re.compile(r"^\.[0-9a-f]{64}\..+\.tmp$")
"""An entry being written (`put`): one left by a killed run is removed once it is old."""
MAX_BYTES = 4 << 30
"""Past this much, entries are pruned, least recently used first (a 1,000-tenant estate's stacks are ~0.5 GiB)."""
RECENT_SECONDS = 3600
"""An entry used this recently is never pruned: a concurrent run may be about to read it."""


def default_dir() -> Path:
    """`$ODOO_PLATFORM_CACHE_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/odoo-platform/plans`."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "odoo-platform" / "plans"
    try:
        home = Path.home()
    except RuntimeError:  # no HOME and no passwd entry for this uid (some containers): a directory never writable
        home = Path("/nonexistent")
    return home / ".cache" / "odoo-platform" / "plans"


@functools.cache
def _package_digest() -> str:
    # Every file of the package, by path relative to it: code, templates, price tables, the cron scaler's script.
    # Bytecode is derived from the sources, and written by whoever imports them: left out.
    package = Path(odoo_platform.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(f"{path.relative_to(package).as_posix()}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_digest(project: Project) -> str:
    """The package, and the project's own files the program reads: its entry point, Pulumi.yaml and the release ledger."""
    digest = hashlib.sha256(_package_digest().encode())
    for path in (project.main, project.root / "Pulumi.yaml", project.stack_config_dir / LEDGER_NAME):
        digest.update(f"\0{path.name}\0".encode())
        digest.update(path.read_bytes() if path.is_file() else b"(absent)")
    return digest.hexdigest()


@functools.cache
def environment_digest() -> str:
    """Python's version and every installed distribution's name and version (the SDKs and providers among them)."""
    installed = sorted({(d.metadata["Name"] or "", d.version) for d in metadata.distributions()})
    return hashlib.sha256(json.dumps([sys.version, installed]).encode()).hexdigest()


def stack_key(project: Project, stack: str, config: StackConfig, region: str,
              references: Mapping[str, Any] | None = None) -> str:
    """The key of one stack's plan. `references`: the other stacks' outputs the stack is handed (a shard: the foundation's)."""
    tenants = None
    if f"{CONFIG_NAMESPACE}:{CATALOGUE_KEY}" in config.values:
        # The tenants the program reads from the catalogue, as it reads them: a shard stack's own
        # members, the foundation's and a single stack's all (a bad file fails here as in the program).
        estate = estate_from_config(config.values, project.stack_config_dir)
        tenants = [tenant.model_dump(mode="json") for tenant in estate.tenants]
    document = {
        "format": FORMAT, "project": project.name, "stack": stack, "region": region,
        "config": dict(sorted(config.values.items())), "secretKeys": sorted(config.secret_keys), "tenants": tenants,
        "references": references, "code": code_digest(project), "environment": environment_digest(),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """A stored stack plan: its recorded outputs at hand, the plan read from the file when asked."""

    path: Path
    outputs: dict[str, Any]
    body_offset: int

    def plan(self) -> dict[str, Any]:
        with self.path.open("rb") as stream:
            stream.seek(self.body_offset)
            return json.loads(stream.read())

    def copy_plan(self, target: IO[str]) -> None:
        """Write the plan's JSON, as stored (exactly the stack's plan.json), without holding it in memory."""
        with self.path.open(encoding="utf-8") as stream:
            stream.seek(self.body_offset)
            shutil.copyfileobj(stream, target)


class PlanStore:
    """Stack plans by key in `directory` (a cold run, `--no-cache`, gets a temporary directory of its own)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.used: set[str] = set()
        """Keys read in this run: never pruned by it."""

    def get(self, key: str) -> Entry | None:
        """The entry stored under `key`, or None if it is missing, unreadable or damaged."""
        path = self.directory / f"{key}{SUFFIX}"
        try:
            with path.open("rb") as stream:
                line = stream.readline()
                header = json.loads(line)
                body = hashlib.sha256()
                for block in iter(lambda: stream.read(1 << 20), b""):
                    body.update(block)
            if header["format"] != FORMAT or header["key"] != key or header["sha256"] != body.hexdigest():
                return None
            os.utime(path)  # most recently used: pruning goes by modification time
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self.used.add(key)
        return Entry(path=path, outputs=header["outputs"], body_offset=len(line))

    def put(self, key: str, plan: dict[str, Any], outputs: dict[str, Any]) -> None:
        """Store a plan (as plan.json is written: two-space indent, a final newline) under `key`, atomically."""
        body = (json.dumps(plan, indent=2) + "\n").encode()
        header = json.dumps({"format": FORMAT, "key": key, "sha256": hashlib.sha256(body).hexdigest(), "outputs": outputs})
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(header.encode() + b"\n")
                stream.write(body)
            os.replace(staging, self.directory / f"{key}{SUFFIX}")
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise

    def prune(self, max_bytes: int = MAX_BYTES) -> None:
        """Delete least recently used entries past `max_bytes`: never one used now or lately, nothing but entries."""
        try:
            entries = [(p.stat(), p) for p in self.directory.iterdir() if ENTRY.match(p.name) and p.is_file()]
        except OSError:
            return
        total = sum(status.st_size for status, _ in entries)
        recent = time.time() - RECENT_SECONDS
        try:
            abandoned = [p for p in self.directory.iterdir() if STAGING.match(p.name) and p.stat().st_mtime < recent]
        except OSError:
            abandoned = []
        for path in abandoned:
            path.unlink(missing_ok=True)
        for status, path in sorted(entries, key=lambda item: item[0].st_mtime):
            if total <= max_bytes:
                break
            if status.st_mtime >= recent or path.name[: -len(SUFFIX)] in self.used:
                continue
            path.unlink(missing_ok=True)
            total -= status.st_size


def plan_stack(project: Project, stack: str, config: StackConfig, region: str,
               store: PlanStore | None) -> tuple[dict[str, Any], bool]:
    """One stack's plan, and whether it was planned (not found in `store` under its key; then stored there)."""
    from odoo_platform.offline.engine import run_program
    from odoo_platform.offline.plan import build_plan

    key = stack_key(project, stack, config, region) if store else ""
    entry = store.get(key) if store else None
    if entry is not None:
        return entry.plan(), False
    recording = run_program(project, stack, config, region=region)
    plan = build_plan(recording, config)
    if store:
        unchanged(project, stack, config, region, None, key)
        store.put(key, plan, recording.stack_outputs)
    return plan, True


def unchanged(project: Project, stack: str, config: StackConfig, region: str, references: Mapping[str, Any] | None,
              key: str) -> None:
    """Refuse a plan whose inputs changed while the program ran (a tenant file, the ledger, the code edited or
    checked out meanwhile): stored under the key of the inputs it started from, it would be reused for them."""
    if stack_key(project, stack, config, region, references) != key:
        raise ToolFailure(f"the inputs of stack {stack} (its config, tenant files, release ledger or code) changed "
                          "while it was planned: plan again")
