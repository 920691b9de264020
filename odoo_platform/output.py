"""Where commands write: a directory or file they own, replaced whole, never anything else.

An output directory carries a marker file naming the command that wrote it and its files.
A command replaces a directory only when it is new, empty or marked (or holds nothing but
the files odoo-platform writes, as directories written before the marker existed do); any
other directory or file is refused, so `--out .` or `--out ~/work` can never delete a
user's files. Writing goes to a staging directory beside the target, renamed over it in
one step; the staging directory is removed on any failure or signal the process can catch.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, Mapping, Union

from odoo_platform.errors import EstateConfigError

MARKER = ".odoo-platform-output"
# What odoo-platform's output directories have ever held: a directory with nothing else
# (written before the marker existed) is recognisably ours.
KNOWN_ENTRIES = {
    "plan.json", "manifests.yaml", "policy-report.json", "stacks", "summary.json", "diff.json", "diff.md", "estate.dot",
    "estate.svg", "cost.json", "cost.txt", "cost.svg", "drift.json", "evidence.md", "evidence.html", "SHA256SUMS",
}


Content = Union[str, Callable[[IO[str]], None]]
"""A file's text, or a function writing it to a stream (a large plan is never one string in memory)."""


class OutputError(EstateConfigError):
    """An output path the command may not write: bad input, exit code 2."""


class Stopped(BaseException):
    """The user stopped the command (Ctrl-C, SIGTERM, SIGHUP): nothing more is written.

    While an output is being written, the stop unwinds the write so its staging is removed
    (and it is checked again before the final rename). At any other time nothing of ours is
    half-written, and the process ends at once: an exception raised inside the Pulumi SDK's
    event loop is caught there and can leave it waiting forever for RPCs that never finish.
    """

    received: int | None = None
    writing = 0
    """Writes in progress (write_dir, write_file)."""

    def __init__(self, number: int):
        super().__init__(number)
        self.signal = number

    @classmethod
    def request(cls, number: int) -> None:
        cls.received = number
        if cls.writing:
            raise cls(number)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + number)

    @classmethod
    def check(cls) -> None:
        if cls.received is not None:
            raise cls(cls.received)


def check_dir(target: Path, flag: str) -> Path:
    """The absolute directory a command may replace, or an error naming `flag` and the fix."""
    target = Path(os.path.abspath(target))
    if target.parent == target:
        raise OutputError(f"{flag}: {target} is the file system root (give a new or empty directory)")
    _check_parent(target, flag)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise OutputError(f"{flag}: {target} is a file, not a directory (give a new or empty directory)")
    if target.is_dir() and not _owned(target):
        raise OutputError(f"{flag}: {target} is a non-empty directory odoo-platform did not write "
                          "(give a new or empty directory, or one an earlier odoo-platform run wrote)")
    return target


def write_dir(target: Path, files: Mapping[str, Content], command: str, flag: str = "--out") -> Path:
    """Write `files` (relative path -> text or writer) as the whole directory `target`, atomically."""
    target = check_dir(target, flag)
    Stopped.writing += 1
    try:
        return _write_dir(target, files, command, flag)
    finally:
        Stopped.writing -= 1


def _write_dir(target: Path, files: Mapping[str, Content], command: str, flag: str) -> Path:
    with _writing(target, flag):
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with _writing(target, flag):
            for name, content in files.items():
                path = staging / name
                if staging not in Path(os.path.normpath(path)).parents:
                    raise ValueError(f"output file {name!r} would be outside its directory")
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("w") as stream:
                    if isinstance(content, str):
                        stream.write(content)
                    else:
                        content(stream)
            if MARKER not in files:
                (staging / MARKER).write_text(marker_text(command, files))
            Stopped.check()
            _replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


@contextmanager
def _writing(target: Path, flag: str) -> Iterator[None]:
    """A file system that refuses the write (read-only, full, not a real directory) is the path's fault: exit 2."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"{flag}: cannot write {target} ({exc.strerror or exc}; give a path in a directory "
                          "you can write)") from None


def marker_text(command: str, names: Iterable[str]) -> str:
    """The marker's content; a caller that checksums its files includes it (see the evidence bundle)."""
    return json.dumps({"writtenBy": f"odoo-platform {command}", "files": sorted(set(names) - {MARKER})}) + "\n"


def check_file(target: Path, flag: str, ours: Callable[[str], bool]) -> Path:
    """A file a command may (over)write: new, or recognisably an earlier output of the same kind."""
    target = Path(os.path.abspath(target))
    _check_parent(target, flag)
    if target.is_dir():
        raise OutputError(f"{flag}: {target} is a directory (give a file name)")
    if target.exists():
        try:
            recognised = target.is_file() and not target.is_symlink() and ours(target.read_text())
        except (OSError, UnicodeDecodeError):
            recognised = False
        if not recognised:
            raise OutputError(f"{flag}: {target} exists and odoo-platform did not write it (give a new file name)")
    return target


def write_file(target: Path, content: str, flag: str, ours: Callable[[str], bool]) -> Path:
    """Write one file atomically (a staged file renamed over it), if `check_file` allows it."""
    target = check_file(target, flag, ours)
    Stopped.writing += 1
    try:
        return _write_file(target, content, flag)
    finally:
        Stopped.writing -= 1


def _write_file(target: Path, content: str, flag: str) -> Path:
    with _writing(target, flag):
        handle, staging = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with _writing(target, flag), os.fdopen(handle, "w") as stream:
            stream.write(content)
            stream.flush()
            Stopped.check()
            os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return target


def _check_parent(target: Path, flag: str) -> None:
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(f"{flag}: {parent} does not exist (create it first, or give a path in an existing directory)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{flag}: {parent} is not writable (give a path in a directory you can write)")


def _owned(directory: Path) -> bool:
    entries = {entry.name: entry for entry in directory.iterdir()}
    if not entries or MARKER in entries:
        return True
    # Written before the marker existed: a plan or bundle and nothing else (per-stack plans under stacks/).
    return (
        entries.keys() <= KNOWN_ENTRIES
        and bool({"plan.json", "summary.json"} & entries.keys())
        and all(entry.is_file() and not entry.is_symlink() for name, entry in entries.items() if name != "stacks")
        and ("stacks" not in entries or _only_stack_plans(entries["stacks"]))
    )


def _only_stack_plans(directory: Path) -> bool:
    return directory.is_dir() and not directory.is_symlink() and all(
        stack.is_dir() and {entry.name for entry in stack.iterdir()} == {"plan.json"} for stack in directory.iterdir())


def _replace(new: Path, target: Path) -> None:
    """Rename `new` over `target`; the old directory is kept aside until the new one is in place."""
    if not target.exists():
        os.rename(new, target)
        return
    retired = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.rename(target, retired)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)
