"""Standard output a file on a full disk (cron's `newsbot run >> /var/log/newsbot.log` once the log's
disk fills): one sentence and exit 5, not a traceback, and every alert the terminal could not take is
printed by the next run, once. The disk is a real full tmpfs (mounting needs root; skipped without)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsbot.cli import commands
from tests.conftest import Workspace, newsbot_environment, run_newsbot
from tests.end_to_end.test_database_faults import STORY_LINK, one_sentence, rows, story, tmpfs
from tests.servers import FeedServer, Route, rss

FULL = "newsbot: could not write to standard output: No space left on device"


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    server.add("/wire.xml", Route(rss([story(number) for number in range(12)])))
    yield server
    server.stop()


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", "size=64k") as disk:
        filler = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(filler, b"\0" * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC
        finally:
            os.close(filler)
        yield disk


def test_a_run_whose_output_cannot_be_written_says_so_and_the_next_run_prints_every_alert_once(
    tmp_path: Path, feeds: FeedServer, full_disk: Path
) -> None:
    (tmp_path / "work").mkdir()
    workspace = Workspace(tmp_path / "work")
    workspace.source("Wire", feeds.url + "/wire.xml")

    with (full_disk / "newsbot.log").open("w") as log:
        full = workspace.newsbot("run", stdout=log)

    assert full.returncode == 5, full.stderr
    assert one_sentence(full.stderr) == FULL
    assert (full_disk / "newsbot.log").stat().st_size == 0
    assert not rows(workspace.database, "SELECT id FROM alerts WHERE status = 'sent' AND kind = 'alert'")
    [(error,)] = rows(workspace.database, "SELECT DISTINCT last_error FROM alerts WHERE last_error IS NOT NULL")
    assert error == "could not write it to standard output (No space left on device)"

    later = workspace.newsbot("run")

    assert later.returncode == 0, later.stderr
    printed = Counter(STORY_LINK.findall(later.stdout))
    alerting = {f"https://news.example.com/story-{number}" for number in range(0, 12, 3)}
    assert set(printed) == alerting and set(printed.values()) == {1}
    assert not rows(workspace.database, "SELECT id FROM alerts WHERE status != 'sent'")


def test_any_command_whose_output_cannot_be_written_ends_with_the_sentence(tmp_path: Path, full_disk: Path) -> None:
    """Not only the run: `newsbot demo` prints its summary, `check` its verdict."""
    with (full_disk / "demo.log").open("w") as log:
        demo = run_newsbot("demo", cwd=tmp_path, stdout=log, timeout=120)
    assert demo.returncode == 5, demo.stderr
    assert one_sentence(demo.stderr) == FULL


def test_a_full_disk_elsewhere_is_not_blamed_on_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    """A write names no file, the output's or a temporary file's: standard output's own disk says
    which. A pipe with room left is not the one that failed, and is not sent to /dev/null."""
    status = commands._after_write_failed_for_room(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    assert status == 5
    assert (
        capsys.readouterr().err == "newsbot: a write failed: No space left on device; free some space and try again\n"
    )


CLOSED = (
    "newsbot: standard output is closed (`>&-`?), so nothing could be printed; alerts for the terminal wait "
    "in the outbox: give newsbot a file, or /dev/null"
)


def with_stdout_closed(workspace: Workspace, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`newsbot … >&-`: descriptor 1 closed before Python starts, so sys.stdout is None in the child."""
    workspace.write()
    command = [sys.executable, "-m", "newsbot", arguments[0], "--config", str(workspace.config), *arguments[1:]]
    return subprocess.run(
        command,
        cwd=workspace.folder,
        env=newsbot_environment(workspace.environment),
        stdout=subprocess.DEVNULL,  # replaced: the child closes it before newsbot starts
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(1),
        check=False,
    )


def test_a_run_with_standard_output_closed_keeps_its_alerts_and_says_why(tmp_path: Path, feeds: FeedServer) -> None:
    """It ended in an AttributeError's traceback with one alert stuck "sending" and no run recorded."""
    workspace = Workspace(tmp_path)
    workspace.source("Wire", feeds.url + "/wire.xml")

    closed = with_stdout_closed(workspace, "run")

    assert closed.returncode == 5, closed.stderr
    assert one_sentence(closed.stderr) == CLOSED
    assert not rows(workspace.database, "SELECT id FROM alerts WHERE status = 'sent' AND kind = 'alert'")
    later = workspace.newsbot("run")
    assert later.returncode == 0, later.stderr
    printed = Counter(STORY_LINK.findall(later.stdout))
    alerting = {f"https://news.example.com/story-{number}" for number in range(0, 12, 3)}
    assert set(printed) == alerting and set(printed.values()) == {1}


@pytest.mark.parametrize("command", ["status", "check"])
def test_other_commands_with_standard_output_closed_end_with_the_sentence(workspace: Workspace, command: str) -> None:
    closed = with_stdout_closed(workspace, command)
    assert closed.returncode == 5, closed.stderr
    assert one_sentence(closed.stderr) == CLOSED


def close_output_and_errors() -> None:
    os.close(1)
    os.close(2)


def test_standard_output_and_error_both_closed_still_end_with_exit_5(workspace: Workspace) -> None:
    """`>&- 2>&-`: the sentence cannot be written either, and must not turn into a traceback's exit 1."""
    workspace.write()
    closed = subprocess.run(
        [sys.executable, "-m", "newsbot", "status", "--config", str(workspace.config)],
        cwd=workspace.folder,
        env=newsbot_environment(workspace.environment),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
        preexec_fn=close_output_and_errors,
        check=False,
    )
    assert closed.returncode == 5
