"""newsbot.child_process: how newsbot's own child processes start."""

from __future__ import annotations

import signal
import time

import pytest

from newsbot.child_process import start_module


def test_ctrl_c_while_a_child_is_still_importing_neither_kills_it_nor_prints_a_traceback(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A terminal's Ctrl-C reaches every process of the group, a child still importing too; the run
    stops its children itself."""
    child = start_module("tests.child_that_imports_slowly")
    time.sleep(0.3)  # well inside its second of importing
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=30)

    assert (child.returncode, out) == (0, b"imported\n")
    assert "KeyboardInterrupt" not in capfd.readouterr().err


def test_a_child_still_ends_on_the_signals_a_stop_sends() -> None:
    """Only Ctrl-C is ignored: cron's or systemd's SIGTERM still ends a child (and the shell that
    started it is gone: the pid is the interpreter's)."""
    child = start_module("tests.child_that_imports_slowly")
    time.sleep(0.3)
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=30)

    assert child.returncode == -signal.SIGTERM
