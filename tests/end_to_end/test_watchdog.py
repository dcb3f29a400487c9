"""A run ends in time even when its own parts cannot stop it, and SIGTERM is a sentence from the start.

Real processes, real signals: a main thread stuck the way a spider callback that never returns
would hold it, and the `newsbot` command signalled while it is still importing.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from newsbot.pipeline.budget import RunBudget
from newsbot.pipeline.watchdog import OVERRUN_EXIT_STATUS, Watchdog
from tests.conftest import REPOSITORY, Workspace, newsbot_environment

STUCK_RUN = textwrap.dedent(
    """
    import resource, sqlite3, sys, time
    from newsbot.pipeline.budget import RunBudget, stop_on_signals
    from newsbot.pipeline.watchdog import Watchdog

    budget = RunBudget(float(sys.argv[1]))
    files = int(sys.argv[3])  # descriptors a long run may hold, past the usual soft limit
    if files:
        resource.setrlimit(resource.RLIMIT_NOFILE, (files + 100, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    kept_open = [open("/dev/null") for _ in range(files)]
    with stop_on_signals(budget), Watchdog(budget, allowance=0.5, overrun=0.5, winding_down=1.0).watching():
        print("stuck", flush=True)
        if sys.argv[2] == "sleep":
            time.sleep(120)  # a callback that never returns: nothing of the run can move
        else:  # inside one call into C, where Python's own signal handler cannot run for minutes
            sqlite3.connect(":memory:").execute(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 10000000000) "
                "SELECT count(*) FROM n"
            ).fetchone()
    """
)


def start_stuck_run(budget_seconds: float, stuck_in: str = "sleep", open_files: int = 0) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", STUCK_RUN, str(budget_seconds), stuck_in, str(open_files)],
        cwd=REPOSITORY,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stdout.readline() == "stuck\n"
    return process


def ended(process: subprocess.Popen[str], timeout: float = 60) -> tuple[str, float]:
    """Its stderr and how long it took to end; killed if it has not ended within `timeout` (a stuck
    child left behind would keep a core busy for minutes)."""
    started = time.monotonic()
    try:
        _, errors = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return errors, time.monotonic() - started


def test_a_stuck_run_ends_itself_past_its_budget_with_a_sentence() -> None:
    started = time.monotonic()
    process = start_stuck_run(budget_seconds=1)
    errors, _ = ended(process)
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
    errors, took = ended(process)

    assert process.returncode == exit_code, errors
    name = signal.Signals(signal_number).name
    assert errors.startswith(f"newsbot: stopped by {name}: the run had not wound down 1 s later"), errors
    assert took < 10


@pytest.mark.parametrize(
    ("signal_number", "exit_code", "open_files"),
    [(signal.SIGTERM, 143, 0), (signal.SIGINT, 130, 0), (signal.SIGTERM, 143, 1100)],
)
def test_a_run_stuck_inside_a_call_into_c_still_ends_soon_after_a_signal(
    signal_number: int, exit_code: int, open_files: int
) -> None:
    """Python's handler waits for the main thread, which a SQLite query holds for minutes: the
    watchdog hears the signal itself (the wakeup fd), or this run would go on until its budget. With
    1,100 files open its pipe is past select()'s limit of 1,023 (the soft limit raised, as a
    service's may be)."""
    hard_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard_limit != resource.RLIM_INFINITY and hard_limit < open_files + 100:
        pytest.skip(f"this machine lets a process open {hard_limit} files")
    process = start_stuck_run(budget_seconds=300, stuck_in="sqlite", open_files=open_files)
    time.sleep(0.3)  # inside the query by now
    process.send_signal(signal_number)
    errors, took = ended(process)

    assert process.returncode == exit_code, errors
    name = signal.Signals(signal_number).name
    assert errors.startswith(f"newsbot: stopped by {name}: the run had not wound down 1 s later"), errors
    assert took < 10


def watchdogs_pipe() -> tuple[int, tuple[int, int]]:
    """Inside a watching block: the watchdog's wakeup fd and which pipe it is (its device and inode),
    read by taking it away for a moment and giving it back."""
    told = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(told)
    found = os.fstat(told)
    return told, (found.st_dev, found.st_ino)


def still_open(descriptor: int, pipe: tuple[int, int]) -> bool:
    """Whether the descriptor is still that pipe (not closed, nor reused for another file since)."""
    try:
        found = os.fstat(descriptor)
    except OSError:
        return False
    return (found.st_dev, found.st_ino) == pipe


def test_watching_gives_the_wakeup_fd_it_took_back() -> None:
    """The process has one wakeup fd: whoever held it before the run (an event loop) has it again
    after; and runs in a row in one process (as tests do) leave none of their pipes open."""
    mine, theirs = os.pipe()
    os.set_blocking(theirs, False)
    try:
        signal.set_wakeup_fd(theirs)
        with Watchdog(RunBudget(300), allowance=1, overrun=1).watching():
            assert watchdogs_pipe()[0] not in (theirs, -1)  # its own, while it watches
        assert signal.set_wakeup_fd(-1) == theirs
        pipes = []
        for _ in range(20):
            with Watchdog(RunBudget(300), allowance=1, overrun=1).watching():
                pipes.append(watchdogs_pipe())
        deadline = time.monotonic() + 5
        while any(still_open(*pipe) for pipe in pipes) and time.monotonic() < deadline:
            time.sleep(0.05)  # each thread closes its pipe a tick after its block ends
        assert not any(still_open(*pipe) for pipe in pipes)
        assert signal.set_wakeup_fd(-1) == -1
    finally:
        signal.set_wakeup_fd(-1)
        os.close(mine)
        os.close(theirs)


def catches_sigterm(pid: int) -> bool:
    """Whether the process has its own SIGTERM handler yet (the kernel's SigCgt mask says so)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        caught = next(line for line in status if line.startswith("SigCgt:")).split()[1]
    return bool(int(caught, 16) & (1 << (signal.SIGTERM - 1)))


def once_it_catches_sigterm(running: subprocess.Popen[str]) -> subprocess.Popen[str]:
    """The process, once it has its own SIGTERM handler: the first thing `newsbot` does, before imports."""
    deadline = time.monotonic() + 10
    while not catches_sigterm(running.pid):
        assert time.monotonic() < deadline and running.poll() is None
        time.sleep(0.002)
    return running


def started(workspace: Workspace, command: str = "status") -> subprocess.Popen[str]:
    return once_it_catches_sigterm(workspace.popen(command))


def assert_signal_is_a_sentence_and_its_exit_status(
    running: subprocess.Popen[str], signal_number: int = signal.SIGTERM
) -> None:
    running.send_signal(signal_number)
    _, errors = running.communicate(timeout=30)

    assert running.returncode == 128 + signal_number, errors
    assert errors == f"newsbot: stopped by {signal.Signals(signal_number).name}\n"


def test_sigterm_the_moment_the_command_can_catch_it_is_a_sentence_and_exit_143(workspace: Workspace) -> None:
    assert_signal_is_a_sentence_and_its_exit_status(started(workspace))


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_while_the_command_imports_is_a_sentence_and_its_exit_status(
    workspace: Workspace, signal_number: int
) -> None:
    # Importing takes about 0.3 s here, less on a faster machine: a signal that came after a quick
    # machine's command had ended waits half as long on the next try, until it lands while the command
    # runs. Raised as an exception in there, it was swallowed or rewrapped by the import it interrupted.
    # On a loaded machine this test's own polling can notice the handler late: the last tries signal
    # the moment it is noticed.
    for after_seconds in (0.15, 0.06, 0.025, 0.01, 0.0, 0.0, 0.0):
        running = started(workspace)
        time.sleep(after_seconds)
        running.send_signal(signal_number)
        output, errors = running.communicate(timeout=30)
        if running.returncode == 0 and output.startswith("No run yet") and not errors:
            continue  # it had ended before the signal
        assert running.returncode == 128 + signal_number, errors
        assert errors == f"newsbot: stopped by {signal.Signals(signal_number).name}\n"
        return
    pytest.fail("newsbot status ended before the signal every time, even sent the moment it caught SIGTERM")


def seconds_to_finish(running: subprocess.Popen[str]) -> float:
    started = time.monotonic()
    running.communicate(timeout=30)
    return time.monotonic() - started


@pytest.mark.parametrize(("command", "its_output"), [("status", "No run yet"), ("check", "/")])
def test_sigterm_at_any_moment_of_the_command_is_a_sentence_and_exit_143_or_its_own_end(
    workspace: Workspace, command: str, its_output: str
) -> None:
    """Thirty moments spread over the command's whole life, its lazy imports included: each ends it
    with the sentence and 143 (whatever it had printed by then), or lets it finish. Raised inside an
    import, the signal was rewrapped into a traceback or swallowed; during Python's teardown it was -15.
    `check` spends longer in its own code after the imports, where the signal unwinds it."""
    start_seconds = min(seconds_to_finish(started(workspace, command)) for _ in range(3))
    for step in range(30):
        running = started(workspace, command)
        time.sleep(start_seconds * 1.1 * step / 30)
        running.send_signal(signal.SIGTERM)
        output, errors = running.communicate(timeout=30)
        ended_first = running.returncode == 0 and output.startswith(its_output) and not errors
        stopped = running.returncode == 143 and errors == "newsbot: stopped by SIGTERM\n"
        assert ended_first or stopped, (step, start_seconds, running.returncode, output, errors)


def started_by_sh(workspace: Workspace, script: str) -> subprocess.Popen[str]:
    """`newsbot status` exec'd by `sh -c SCRIPT` (a script ending in `exec "$0" "$@"`), once it catches SIGTERM."""
    workspace.write()
    command = [sys.executable, "-m", "newsbot", "status", "--config", str(workspace.config)]
    running = subprocess.Popen(
        ["sh", "-c", script, *command],
        cwd=workspace.folder,
        env=newsbot_environment(workspace.environment),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return once_it_catches_sigterm(running)


def test_a_signal_the_command_was_started_ignoring_stays_ignored(workspace: Workspace) -> None:
    """A script's background job starts with SIGINT ignored: a Ctrl-C meant for the script's terminal
    does not stop the job's newsbot (its SIGTERM still would)."""
    running = started_by_sh(workspace, 'trap "" INT; exec "$0" "$@"')
    running.send_signal(signal.SIGINT)
    output, errors = running.communicate(timeout=30)

    assert (running.returncode, errors) == (0, "")
    assert output.startswith("No run yet")


def test_sigterm_with_stderr_closed_still_ends_with_143(workspace: Workspace) -> None:
    running = started_by_sh(workspace, 'exec "$0" "$@" 2>&-')
    running.send_signal(signal.SIGTERM)  # while it imports: the sentence cannot be written, the status says it
    running.communicate(timeout=30)

    assert running.returncode == 143


SIGNALLED = textwrap.dedent(
    """
    import signal, sys
    from newsbot.cli.launch import _raise_once_unless_importing
    from newsbot.pipeline.budget import Terminated

    STOPS = [signal.SIGTERM, signal.SIGINT]
    for number in STOPS:
        for each in STOPS:
            signal.signal(each, _raise_once_unless_importing(STOPS))
        try:
            signal.raise_signal(number)  # outside an import: the command's own code unwinds
        except (Terminated, KeyboardInterrupt) as stop:
            print(type(stop).__name__, flush=True)
    if sys.argv[2] == "twice":  # a second signal while the first unwinds: the process ends there
        signal.raise_signal(int(sys.argv[3]))
    for each in STOPS:
        signal.signal(each, _raise_once_unless_importing(STOPS))
    sys.path.insert(0, sys.argv[1])
    try:
        import signals_itself  # signalled while it is imported: the process ends there and then
    except BaseException as stop:
        print("raised", type(stop).__name__, flush=True)
    print("carried on", flush=True)
    """
)


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("where", ["import", "twice"])
def test_a_stop_signal_inside_an_import_or_a_second_one_ends_the_process_there_and_a_first_one_raises(
    tmp_path: Path, signal_number: int, where: str
) -> None:
    name = signal.Signals(signal_number).name
    (tmp_path / "signals_itself.py").write_text(
        f"import signal\nsignal.raise_signal(signal.{name})\nprint('imported on', flush=True)\n", encoding="utf-8"
    )
    ended = subprocess.run(
        [sys.executable, "-c", SIGNALLED, str(tmp_path), where, str(signal_number)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
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
