"""A run ends in time even when its own parts cannot stop it, and SIGTERM is a sentence from the start.

Real processes, real signals: a main thread stuck the way a spider callback that never returns
would hold it, and the `newsbot` command signalled while it is still importing.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from newsbot.pipeline.watchdog import OVERRUN_EXIT_STATUS
from tests.conftest import REPOSITORY, Workspace

STUCK_RUN = textwrap.dedent(
    """
    import sys, time
    from newsbot.pipeline.budget import RunBudget, stop_on_signals
    from newsbot.pipeline.watchdog import Watchdog

    budget = RunBudget(float(sys.argv[1]))
    with stop_on_signals(budget), Watchdog(budget, allowance=0.5, overrun=0.5, winding_down=1.0).watching():
        print("stuck", flush=True)
        time.sleep(120)  # a callback that never returns: nothing of the run can move
    """
)


def start_stuck_run(budget_seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", STUCK_RUN, str(budget_seconds)],
        cwd=REPOSITORY,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stdout.readline() == "stuck\n"
    return process


def test_a_stuck_run_ends_itself_past_its_budget_with_a_sentence() -> None:
    started = time.monotonic()
    process = start_stuck_run(budget_seconds=1)
    _, errors = process.communicate(timeout=60)
    took = time.monotonic() - started

    assert process.returncode == OVERRUN_EXIT_STATUS, errors
    # "1 s" when the watchdog's ticks keep time; a loaded machine can wake it a second late
    assert re.match(r"newsbot: the run was still going \d+ s after its budget of 1 s", errors), errors
    assert "the rest is fetched and sent by the next run" in errors and "Traceback" not in errors
    assert took < 30  # not the 120 s the stuck callback would take


@pytest.mark.parametrize(("signal_number", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stuck_run_signalled_ends_itself_soon_after(signal_number: int, exit_code: int) -> None:
    process = start_stuck_run(budget_seconds=300)
    process.send_signal(signal_number)
    signalled = time.monotonic()
    _, errors = process.communicate(timeout=60)
    took = time.monotonic() - signalled

    assert process.returncode == exit_code, errors
    name = signal.Signals(signal_number).name
    assert errors.startswith(f"newsbot: stopped by {name}: the run had not wound down 1 s later"), errors
    assert took < 10


def catches_sigterm(pid: int) -> bool:
    """Whether the process has its own SIGTERM handler yet (the kernel's SigCgt mask says so)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        caught = next(line for line in status if line.startswith("SigCgt:")).split()[1]
    return bool(int(caught, 16) & (1 << (signal.SIGTERM - 1)))


def started_status(workspace: Workspace) -> subprocess.Popen[str]:
    """`newsbot status` as soon as it has its own SIGTERM handler: the first thing it does, before imports."""
    running = workspace.popen("status")
    deadline = time.monotonic() + 10
    while not catches_sigterm(running.pid):
        assert time.monotonic() < deadline and running.poll() is None
        time.sleep(0.002)
    return running


def assert_signal_is_a_sentence_and_its_exit_status(
    running: subprocess.Popen[str], signal_number: int = signal.SIGTERM
) -> None:
    running.send_signal(signal_number)
    _, errors = running.communicate(timeout=30)

    assert running.returncode == 128 + signal_number, errors
    assert errors == f"newsbot: stopped by {signal.Signals(signal_number).name}\n"


def test_sigterm_the_moment_the_command_can_catch_it_is_a_sentence_and_exit_143(workspace: Workspace) -> None:
    assert_signal_is_a_sentence_and_its_exit_status(started_status(workspace))


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_while_the_command_imports_is_a_sentence_and_its_exit_status(
    workspace: Workspace, signal_number: int
) -> None:
    # Importing takes about 0.3 s here, less on a faster machine: a signal that would come after a
    # quick machine's exit waits half as long on the next try, until it lands while the command runs.
    # Raised as an exception in there, it was swallowed or rewrapped by the import it interrupted.
    for after_seconds in (0.15, 0.06, 0.025, 0.01):
        running = started_status(workspace)
        time.sleep(after_seconds)
        if running.poll() is None:
            break
        running.communicate(timeout=30)
    else:
        pytest.fail("newsbot status ended within 10 ms of catching SIGTERM every time; nothing was signalled")
    assert_signal_is_a_sentence_and_its_exit_status(running, signal_number)


def seconds_to_finish(running: subprocess.Popen[str]) -> float:
    started = time.monotonic()
    running.communicate(timeout=30)
    return time.monotonic() - started


def test_sigterm_at_any_moment_of_the_command_is_a_sentence_and_exit_143_or_its_own_end(workspace: Workspace) -> None:
    """Forty moments spread over the command's whole life, its lazy imports included: each ends it
    with the sentence and 143 (whatever it had printed by then), or lets it finish. Raised inside an
    import, the signal was rewrapped into a traceback or swallowed; during Python's teardown it was -15."""
    start_seconds = min(seconds_to_finish(started_status(workspace)) for _ in range(3))
    for step in range(40):
        running = started_status(workspace)
        time.sleep(start_seconds * 1.1 * step / 40)
        running.send_signal(signal.SIGTERM)
        output, errors = running.communicate(timeout=30)
        ended_first = running.returncode == 0 and output.startswith("No run yet") and not errors
        stopped = running.returncode == 143 and errors == "newsbot: stopped by SIGTERM\n"
        assert ended_first or stopped, (step, start_seconds, running.returncode, output, errors)


SIGNALLED = textwrap.dedent(
    """
    import signal, sys
    from newsbot.cli.launch import _raise_unless_importing
    from newsbot.pipeline.budget import Terminated

    signal.signal(signal.SIGTERM, _raise_unless_importing)
    signal.signal(signal.SIGINT, _raise_unless_importing)
    for number in (signal.SIGTERM, signal.SIGINT):
        try:
            signal.raise_signal(number)  # outside an import: the command's own code unwinds
        except (Terminated, KeyboardInterrupt) as stop:
            print(type(stop).__name__, flush=True)
    sys.path.insert(0, sys.argv[1])
    try:
        import signals_itself  # signalled while it is imported: the process ends there and then
    except BaseException as stop:
        print("raised", type(stop).__name__, flush=True)
    print("carried on", flush=True)
    """
)


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_inside_an_import_ends_the_process_there_and_outside_one_raises(
    tmp_path: Path, signal_number: int
) -> None:
    name = signal.Signals(signal_number).name
    (tmp_path / "signals_itself.py").write_text(
        f"import signal\nsignal.raise_signal(signal.{name})\nprint('imported on', flush=True)\n", encoding="utf-8"
    )
    ended = subprocess.run(
        [sys.executable, "-c", SIGNALLED, str(tmp_path)], cwd=REPOSITORY, capture_output=True, text=True, check=False
    )

    assert ended.stdout == "Terminated\nKeyboardInterrupt\n"
    assert (ended.returncode, ended.stderr) == (128 + signal_number, f"newsbot: stopped by {name}\n")


FAKE_CLOCK_RUN = textwrap.dedent(
    """
    import time
    from datetime import timedelta
    from newsbot.pipeline.budget import RunBudget
    from newsbot.pipeline.watchdog import Watchdog
    from tests.fakeclock import FakeClock

    clock = FakeClock()
    budget = RunBudget(1, clock)
    with Watchdog(budget, allowance=0.5, overrun=0.5).watching():
        clock.advance(timedelta(hours=1))  # a test's clock races ahead: the run is not late for that
        time.sleep(0.6)  # two ticks of the watchdog, 1.4 s inside its real-time limit
    print("alive", flush=True)
    """
)


def test_the_watchdog_keeps_real_time_whatever_clock_the_run_is_given() -> None:
    process = subprocess.run(
        [sys.executable, "-c", FAKE_CLOCK_RUN], cwd=REPOSITORY, capture_output=True, text=True, check=False
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout == "alive\n"
