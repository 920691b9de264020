"""Progress: one line on a terminal's stderr, rewritten in place and cleared; nothing anywhere else."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from odoo_platform import cli, progress
from odoo_platform.cli import main
from odoo_platform.progress import CLEAR_LINE, TerminalProgress
from tests.conftest import ROOT, estate, write_stack


class Terminal(io.StringIO):
    """A stderr that says it is a terminal (and has no file descriptor: 80 columns)."""

    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_redraws_at_most_ten_times_a_second():
    terminal, clock = Terminal(), Clock()
    reporter = TerminalProgress(terminal, clock)
    reporter.step("planning dev")
    for _ in range(500):  # a burst of registrations within the same tenth of a second
        reporter.registered()
    assert terminal.getvalue() == CLEAR_LINE + "planning dev"
    clock.now = 0.1
    reporter.registered()
    assert terminal.getvalue().endswith(CLEAR_LINE + "planning dev: 501 resources registered")
    assert terminal.getvalue().count(CLEAR_LINE) == 2


def test_stacks_and_resources_share_the_line_and_a_step_starts_again():
    terminal, clock = Terminal(), Clock()
    reporter = TerminalProgress(terminal, clock)
    reporter.step("planning big")
    clock.now = 1
    reporter.registered(1200)
    clock.now = 2
    reporter.stack_planned("big-foundation", 1, 3)
    assert terminal.getvalue().endswith(
        CLEAR_LINE + "planning big: stacks planned 1/3 (big-foundation), 1,200 resources registered")
    reporter.step("running 2 policy packs: a, b")
    assert terminal.getvalue().endswith(CLEAR_LINE + "running 2 policy packs: a, b")


def test_a_line_never_wraps():
    terminal = Terminal()
    TerminalProgress(terminal).step("x" * 200)
    assert terminal.getvalue() == CLEAR_LINE + "x" * 79


def test_clear_erases_the_line_once_and_only_if_one_was_drawn():
    terminal = Terminal()
    reporter = TerminalProgress(terminal)
    reporter.clear()
    assert terminal.getvalue() == ""
    reporter.step("planning dev")
    reporter.clear()
    reporter.clear()
    assert terminal.getvalue() == CLEAR_LINE + "planning dev" + CLEAR_LINE


def test_a_stop_while_the_line_is_drawn_still_goes_on():
    class Refusing(Terminal):
        """A buffered stderr refuses a write from a signal handler that interrupted one of its writes."""

        def write(self, text: str) -> int:
            raise RuntimeError("reentrant call inside <_io.BufferedWriter name='<stderr>'>")

    terminal = Terminal()
    reporter = TerminalProgress(terminal)
    reporter.step("planning dev")
    reporter._stream = Refusing()
    reporter.clear()  # the line is cosmetic: the stop goes on


@pytest.mark.parametrize(("stream", "enabled"), [(io.StringIO(), True), (Terminal(), False)],
                         ids=["not a terminal", "disabled"])
def test_quiet_unless_enabled_on_a_terminal(stream, enabled):
    with progress.reporting(stream, enabled) as reporter:
        assert progress.current() is reporter
        reporter.step("planning dev")
        reporter.registered(10)
    assert stream.getvalue() == ""
    assert type(progress.current()) is progress.Progress


def test_the_line_is_cleared_when_the_block_ends_by_an_error():
    terminal = Terminal()
    with pytest.raises(ValueError), progress.reporting(terminal):
        progress.current().step("planning dev")
        raise ValueError("bad config")
    assert terminal.getvalue().endswith(CLEAR_LINE)


def test_a_stop_clears_the_line_before_the_process_ends(monkeypatch):
    terminal, stopped = Terminal(), []
    # Stopped.request ends the process (os._exit), past any `finally`.
    monkeypatch.setattr(cli.Stopped, "request", lambda number: stopped.append(terminal.getvalue()))
    with progress.reporting(terminal):
        progress.current().step("planning dev")
        cli._stop(signal.SIGINT, None)
    assert stopped == [CLEAR_LINE + "planning dev" + CLEAR_LINE]


SMALL = estate(tenants=[{"name": "solo", "tier": 3, "users": 4, "hostname": "solo.erp.example.com"}])


def test_json_output_has_no_progress(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "stderr", Terminal())
    config = write_stack(tmp_path / "small.yaml", SMALL)
    assert main(["plan", "--stack", "dev", "--config", str(config), "--out", str(tmp_path / "o"), "--format", "json",
                 "--no-policy"]) == 0
    assert sys.stderr.getvalue() == ""
    assert capsys.readouterr().out.startswith("{")


@pytest.mark.slow  # two plans in subprocesses, one on a pseudo-terminal: the reporter itself is tested above
def test_a_plan_shows_progress_on_a_terminal_and_prints_the_same(tmp_path):
    config = write_stack(tmp_path / "small.yaml", SMALL)
    argv = [sys.executable, "-m", "odoo_platform", "plan", "--stack", "dev", "--config", str(config),
            "--out", str(tmp_path / "o"), "--no-policy", "--no-cache"]  # both runs plan: the same stdout
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    piped = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    primary, secondary = os.openpty()
    try:
        process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=secondary, text=True, env=env)
        os.close(secondary)
        shown = bytearray()
        reader = threading.Thread(target=_read_all, args=(primary, shown))
        reader.start()
        stdout, _ = process.communicate(timeout=120)
        reader.join(timeout=10)
    finally:
        os.close(primary)
    assert piped.returncode == process.returncode == 0
    assert piped.stderr == ""
    assert stdout == piped.stdout
    line = shown.decode()
    assert re.search(re.escape(CLEAR_LINE) + r"planning dev: [\d,]+ resources registered", line)
    assert line.endswith(CLEAR_LINE)  # nothing of it is left when the summary is printed


def _read_all(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the process has gone and closed the terminal
            return
        if not chunk:
            return
        into += chunk
