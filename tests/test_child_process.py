"""newsbot.child_process: how newsbot's own child processes start."""

from __future__ import annotations

import signal
import time

import pytest

from newsbot.child_process import start_module


def ignores_sigint(pid: int) -> bool:
    """Whether the process ignores SIGINT yet (the kernel's SigIgn mask says so)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        ignored = next(line for line in status if line.startswith("SigIgn:")).split()[1]
    return bool(int(ignored, 16) & (1 << (signal.SIGINT - 1)))


def test_ctrl_c_while_a_child_is_still_importing_neither_kills_it_nor_prints_a_traceback(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A terminal's Ctrl-C reaches every process of the group, a child still importing too; the run
    stops its children itself."""
    child = start_module("tests.child_that_imports_slowly")
    deadline = time.monotonic() + 10
    while not ignores_sigint(child.pid):  # set before the child's interpreter starts its second of importing
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.002)
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
