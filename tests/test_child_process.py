"""newsbot.child_process: how newsbot's own child processes start."""

from __future__ import annotations

import logging
import pickle
import signal
import time

import pytest

from newsbot.child_process import HELPER_FAILED, LinesLogged, LoggedLine, helper_failures, log_again, start_module


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


def test_a_helper_failure_a_child_ships_back_is_still_one_the_run_keeps() -> None:
    """The second crawling process runs a reading process of its own; when that one dies, the
    crawling process logs the failure and ships the line to the run, which logs it again. The flag
    was lost on the way, and the run's summary and `status` never heard of it."""
    shipped: list[LoggedLine] = []
    child_side = logging.getLogger("tests.child_side")
    child_side.propagate = False  # as in the child, where this handler is the only one
    child_side.addHandler(LinesLogged(shipped, logging.WARNING))
    try:
        child_side.warning("the reading process ended (%s)", "signal 9", extra=HELPER_FAILED)
        child_side.warning("a feed's robots.txt could not be read")
    finally:
        child_side.handlers.clear()
        child_side.propagate = True  # the run's side logs the lines again under their own names
    with helper_failures() as failures:
        log_again(pickle.loads(pickle.dumps(shipped)))  # as it crosses the pipe

    assert [message for _, _, message, _ in shipped] == [
        "the reading process ended (signal 9)",
        "a feed's robots.txt could not be read",
    ]
    assert failures.lines == ["the reading process ended (signal 9)"]
