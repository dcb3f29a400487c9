"""`newsbot run`'s progress line: shown live on a terminal, never in cron's output.

The terminal is a real pseudo-terminal (os.openpty) holding the CLI's stdin, stdout and stderr, as
when a person types the command; its output post-processing is off, so every carriage return read
back is one newsbot wrote. Cron's case is the same command with pipes, as tests/conftest.py runs it.
"""

from __future__ import annotations

import fcntl
import io
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator

import pytest

from newsbot.alerts.routing import TERMINAL
from newsbot.alerts.sinks import Outgoing, PostResult
from newsbot.alerts.terminal import TerminalPoster
from newsbot.cli.progress import ERASE_TO_END_OF_LINE, TerminalProgress, progress_line, run_progress
from newsbot.models import RunSummary
from newsbot.pipeline.progress import RunProgress, no_progress
from tests.conftest import REPOSITORY, Workspace
from tests.feed_items import MITTO_SS7
from tests.servers import FeedServer, Route, recent, rss

ROBOCALLS = {
    "title": "Regulator publishes robocall rules",
    "link": "https://news.example.com/robocalls",
    "description": "Carriers must authenticate caller ID.",
    "pubDate": recent(),
}
NUMBERING = {
    "title": "Numbering plan consultation opens",
    "link": "https://news.example.com/numbering",
    "description": "The regulator asks carriers about number portability.",
    "pubDate": recent(),
}
FRAME = re.compile(rb"\r([^\r\n\x1b]*)\x1b\[K")  # one drawing of the line; an empty one takes it down
PROGRESS = re.compile(rb"(?:\r[^\r\n\x1b]*\x1b\[K)+\n?")  # every drawing, and the newline that ends the line
SUMMARY = re.compile(r"^newsbot run: .*, \d+\.\ds$", re.MULTILINE)


class TerminalRun:
    """`newsbot COMMAND` with stdin, stdout and stderr on one pseudo-terminal, `columns` wide."""

    def __init__(self, workspace: Workspace, *arguments: str, term: str = "xterm", columns: int = 120):
        workspace.write()
        self.master, terminal = os.openpty()
        attributes = termios.tcgetattr(terminal)
        attributes[1] &= ~termios.OPOST  # "\n" stays "\n": a "\r" read back is newsbot's own
        termios.tcsetattr(terminal, termios.TCSANOW, attributes)
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        environment = {key: value for key, value in os.environ.items() if not key.startswith("SLACK_")}
        environment.update({**workspace.environment, "PYTHONPATH": str(REPOSITORY), "TERM": term})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "newsbot", *workspace._with_config(arguments)],
            cwd=workspace.folder,
            env=environment,
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            start_new_session=True,
        )
        os.close(terminal)  # the child holds it now: reading the master ends (EIO) when the child does
        self.output = b""

    def read_until(self, needle: bytes, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while needle not in self.output:
            assert time.monotonic() < deadline, f"{needle!r} never appeared in {self.output!r}"
            assert self._read(deadline - time.monotonic()), f"the run ended without {needle!r}: {self.output!r}"

    def end(self, seconds: float = 60) -> int:
        """Read until the run ends; its exit status."""
        deadline = time.monotonic() + seconds
        while self._read(deadline - time.monotonic()):
            assert time.monotonic() < deadline, f"the run did not end: {self.output!r}"
        os.close(self.master)
        return self.process.wait(timeout=max(1, deadline - time.monotonic()))

    def finish(self) -> bytes:
        """The whole output of a run that went well."""
        assert self.end() == 0, self.output
        return self.output

    def _read(self, seconds: float) -> bool:
        """Read what is there (waiting at most `seconds`); False once the terminal is closed."""
        ready, _, _ = select.select([self.master], [], [], max(0, seconds))
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every copy of the terminal is closed, the child has ended
            return False
        self.output += chunk
        return bool(chunk)


def frames(output: bytes) -> list[str]:
    """Each drawing of the progress line, in order (not the ones that take it down)."""
    return [frame.decode() for frame in FRAME.findall(output) if frame]


def without_progress(output: bytes) -> str:
    return PROGRESS.sub(b"", output).decode()


def same_seconds(text: str) -> str:
    return re.sub(r", \d+\.\ds$", ", N.Ns", text, flags=re.MULTILINE)


def sources_done(frame: str) -> int:
    found = re.match(r"sources (\d+)/", frame)
    assert found, frame
    return int(found.group(1))


@pytest.fixture
def feeds(feed_server: FeedServer) -> Iterator[tuple[FeedServer, threading.Event]]:
    """Three feeds; the third answers only when the test opens its gate. One item alerts."""
    gate = threading.Event()
    feed_server.add("/wire.xml", Route(rss([{**MITTO_SS7, "pubDate": recent()}])))
    feed_server.add("/desk.xml", Route(rss([ROBOCALLS])))
    feed_server.add("/slow.xml", Route(rss([NUMBERING]), gate=gate))
    yield feed_server, gate
    gate.set()  # a failed test must not leave the server's thread waiting


def configure(workspace: Workspace, server: FeedServer) -> None:
    """No Slack: alerts are printed on the terminal, in the middle of the progress."""
    for name, path in (("Wire", "/wire.xml"), ("Desk", "/desk.xml"), ("Slow", "/slow.xml")):
        workspace.source(name, server.url + path)
    workspace.settings["fetch"]["timeout_seconds"] = 60  # the gated feed must not time out


def test_a_run_on_a_terminal_shows_live_progress_and_ends_with_the_usual_output(
    tmp_path_factory: pytest.TempPathFactory, feeds: tuple[FeedServer, threading.Event]
) -> None:
    server, gate = feeds
    on_terminal = Workspace(tmp_path_factory.mktemp("terminal"))
    configure(on_terminal, server)
    run = TerminalRun(on_terminal, "run")
    # Two sources are in, the third is held: the line says so, and the stage worker's pass
    # (which prints the alert) brings its counts while the crawl still waits.
    run.read_until(b"sources 2/3, 2 new stories, 1 matches, 1 alerts sent")
    assert b"sources 3/3" not in run.output
    gate.set()
    output = run.finish()

    piped = Workspace(tmp_path_factory.mktemp("cron"))
    configure(piped, server)
    cron = piped.newsbot("run")

    drawn = frames(output)
    assert drawn[0] == "sources 0/3, 0 new stories, 0 matches, 0 alerts sent"
    assert drawn[-1] == "sources 3/3, 3 new stories, 1 matches, 1 alerts sent"
    assert [sources_done(frame) for frame in drawn] == sorted(sources_done(frame) for frame in drawn)
    # The line ends with a newline, then the summary; the alert was printed on a line of its own.
    assert re.search(rb"\rsources 3/3[^\r\n]*\x1b\[K\nnewsbot run: 3 sources", output), output
    assert b"\r" + ERASE_TO_END_OF_LINE.encode() + b"[HIGH] SMS and 2FA vendors: Mitto AG" in output, output
    # Without its progress, the terminal got exactly what cron gets.
    assert cron.returncode == 0 and cron.stderr == "", cron.stderr
    assert same_seconds(without_progress(output)) == same_seconds(cron.stdout)
    assert len(SUMMARY.findall(cron.stdout)) == 1, cron.stdout


def test_cron_output_has_no_progress_at_all(workspace: Workspace, feeds: tuple[FeedServer, threading.Event]) -> None:
    server, gate = feeds
    configure(workspace, server)
    gate.set()

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "\r" not in result.stdout and "\x1b" not in result.stdout and "sources 3/3" not in result.stdout
    alert, summary = result.stdout.split("\n\n")  # the alert as the terminal prints it, then the summary
    assert alert.startswith("[HIGH] SMS and 2FA vendors: Mitto AG co-founder sold SS7 access")
    assert re.fullmatch(
        r"newsbot run: 3 sources \(0 unchanged, 0 failed\), 3 entries, 3 new stories \(0 too old to alert\), "
        r"1 matches, 1 alerts sent, 0 pending, \d+\.\ds\n",
        summary,
    ), summary


def test_a_run_stopped_with_ctrl_c_ends_the_line_before_its_last_sentence(
    workspace: Workspace, feeds: tuple[FeedServer, threading.Event]
) -> None:
    server, _ = feeds
    configure(workspace, server)
    run = TerminalRun(workspace, "run")
    run.read_until(b"sources 2/3")
    run.process.send_signal(signal.SIGINT)  # what Ctrl-C sends

    assert run.end() == 130, run.output
    assert re.search(rb"\x1b\[K\nnewsbot: stopped by SIGINT: [^\r]*\n$", run.output), run.output


@pytest.mark.parametrize(
    ("arguments", "term"),
    [(("run", "--quiet"), "xterm"), (("-v", "run"), "xterm"), (("run",), "dumb")],
    ids=["quiet", "verbose", "dumb-terminal"],
)
def test_no_progress_on_a_terminal_that_asked_for_other_output(
    workspace: Workspace, feeds: tuple[FeedServer, threading.Event], arguments: tuple[str, ...], term: str
) -> None:
    server, gate = feeds
    configure(workspace, server)
    gate.set()

    output = TerminalRun(workspace, *arguments, term=term).finish()

    assert b"Mitto AG co-founder" in output  # the run did run, and printed its alert
    assert b"\x1b[K" not in output and b"sources 3/3" not in output and b"\r" not in output, output


class Terminal(io.StringIO):
    """What a terminal keeps of what was written to it, for the in-process tests below."""

    def isatty(self) -> bool:
        return True


def state(done: int, stories: int = 0) -> RunProgress:
    return RunProgress(sources_done=done, sources_total=500, new_stories=stories, matches=0, alerts_sent=0)


def test_a_burst_of_updates_is_drawn_at_most_ten_times_a_second_and_its_last_state_is_drawn() -> None:
    screen = Terminal()
    line = TerminalProgress(screen)
    began = time.monotonic()
    for done in range(1, 501):
        line(state(done, stories=done * 3))
        time.sleep(0.002)
    elapsed = time.monotonic() - began
    deadline = time.monotonic() + 5
    while progress_line(state(500, stories=1500)) not in screen.getvalue():  # drawn once the interval passed
        assert time.monotonic() < deadline, screen.getvalue()[-300:]
        time.sleep(0.02)
    line.close()

    drawn = frames(screen.getvalue().encode())
    assert len(drawn) <= elapsed * 10 + 2, (len(drawn), elapsed)
    assert drawn[0] == progress_line(state(1, stories=3))
    assert drawn[-1] == progress_line(state(500, stories=1500))
    assert screen.getvalue().endswith(ERASE_TO_END_OF_LINE + "\n")
    assert screen.getvalue().count("\n") == 1


def test_an_alert_printed_on_the_terminal_is_not_written_into_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    screen = Terminal()
    message = Outgoing(payload={}, plain="[HIGH] SMS and 2FA vendors: Mitto AG", alert_ids=("a1",))
    with run_progress(TerminalPoster(screen), quiet=False, verbose=0, stream=screen) as (poster, progress):
        progress(state(1))
        result = poster.post(TERMINAL, message)
        progress(state(2))

    assert result == PostResult(ok=True)
    assert screen.getvalue().startswith(f"\r{progress_line(state(1))}{ERASE_TO_END_OF_LINE}")
    after_first = screen.getvalue().removeprefix(f"\r{progress_line(state(1))}{ERASE_TO_END_OF_LINE}")
    # taken down, the alert from the first column, then the line again, ended by the block's end
    assert after_first.startswith(f"\r{ERASE_TO_END_OF_LINE}{message.plain}\n\n\r")
    assert after_first.endswith(f"{progress_line(state(2))}{ERASE_TO_END_OF_LINE}\n")


def test_no_terminal_no_progress_and_the_poster_is_left_alone() -> None:
    poster = TerminalPoster(io.StringIO())
    with run_progress(poster, quiet=False, verbose=0, stream=io.StringIO()) as (used, progress):
        assert used is poster and progress is no_progress
    with run_progress(poster, quiet=True, verbose=0, stream=Terminal()) as (used, progress):
        assert used is poster and progress is no_progress


class GoneTerminal(Terminal):
    def write(self, text: str) -> int:
        raise OSError(5, "Input/output error")


def test_a_terminal_that_went_away_does_not_stop_the_run() -> None:
    line = TerminalProgress(GoneTerminal())
    line(state(1))
    line(state(2))
    line.close()  # nothing raised: the run carries on without its line


def test_a_line_never_drawn_is_not_ended_either() -> None:
    screen = Terminal()
    TerminalProgress(screen).close()
    assert screen.getvalue() == ""


def test_progress_counts_a_source_done_however_it_ended() -> None:
    summary = RunSummary(
        sources_ok=2, sources_not_modified=1, failed_sources={"A": "404"}, cut_short={"B": "budget"}, new_stories=7
    )
    summary.matches, summary.alerts_sent = 3, 2
    assert RunProgress.of(summary, 9) == RunProgress(5, 9, 7, 3, 2)
