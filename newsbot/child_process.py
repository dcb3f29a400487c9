"""Starting one of newsbot's own modules as a child process that speaks pickle over its pipes.

A plain child, not multiprocessing: its only handle on the parent is its stdin, so a parent killed
by SIGKILL leaves it at end-of-file and it exits, where a multiprocessing worker can be left
waiting. It shares the run's process group: cron's or systemd's stop reaches it too.

It ignores SIGINT from before its interpreter starts: a terminal's Ctrl-C reaches the whole group,
and the run stops its children itself. Ignored in the child's own code, the signal still killed it
while it imported (a few hundred milliseconds), with a KeyboardInterrupt traceback on the terminal.
A shell's `trap '' INT` sets the disposition and `exec` keeps it, and Python leaves an ignored
SIGINT ignored; subprocess has no option for it that is safe in a process with threads. An image
without /bin/sh (distroless) starts the child directly rather than not at all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from newsbot.log_capture import collected_by

PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
# What cron, systemd or a terminal send the whole group: a child ended by one of them stopped with
# the run, which is no failure of the child's to report.
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGHUP, signal.SIGINT})
SHELL = "/bin/sh"
LoggedLine = tuple[str, int, str, bool]  # logger's name, level, message, logged with HELPER_FAILED
# `extra=` of the warning that says a child could not start or died, and the run goes on without it.
HELPER_FAILED = {"newsbot_helper_failed": True}


def is_helper_failure(record: logging.LogRecord) -> bool:
    """Whether the record was logged with HELPER_FAILED (here, or in a child and logged again here)."""
    return bool(getattr(record, "newsbot_helper_failed", False))


def start_module(module: str, *args: str) -> subprocess.Popen[bytes]:
    """`python -m module args…` with this newsbot importable, its stdin and stdout piped to us."""
    path = os.pathsep.join(filter(None, (PACKAGE_ROOT, os.environ.get("PYTHONPATH"))))
    ignoring_ctrl_c = [SHELL, "-c", 'trap "" INT; exec "$0" "$@"'] if os.path.exists(SHELL) else []
    return subprocess.Popen(
        [*ignoring_ctrl_c, sys.executable, "-m", module, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path},
    )


def answers_pipe() -> BinaryIO:
    """In the child: its stdout as the pipe its answers go to; a stray print goes to stderr instead,
    where it cannot corrupt them."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return answers


class LinesLogged(logging.Handler):
    """In the child: each record of `level` or worse, as a line its answers carry to the parent."""

    def __init__(self, lines: list[LoggedLine], level: int) -> None:
        super().__init__(level)
        self._lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format must not break the child's work
            message = str(record.msg)
        # A helper's helper (the second crawling process's reading process) failed: the run keeps it too.
        self._lines.append((record.name, record.levelno, message, is_helper_failure(record)))


def log_again(lines: Iterable[LoggedLine]) -> None:
    """In the parent: a child's lines, each under its own logger, where the run collects them as its own."""
    for name, level, message, helper_failed in lines:
        logging.getLogger(name).log(level, "%s", message, extra=HELPER_FAILED if helper_failed else None)


def how_it_ended(status: int) -> str:
    """A child's exit status (negative: the signal that ended it) as words for a warning."""
    return f"signal {-status}" if status < 0 else f"exit status {status}"


class HelperFailures(logging.Handler):
    """The warnings logged with HELPER_FAILED while it is installed, in order, each once. A run keeps
    them in its summary: on stderr alone, a clustering process the OOM killer ended was gone from
    view once cron's mail was, and `status` said nothing needed attention."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.addFilter(is_helper_failure)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.lines:
            self.lines.append(message)


def helper_failures() -> contextlib.AbstractContextManager[HelperFailures]:
    """Collect, from every thread, the helpers' failures while the block runs."""
    return collected_by(HelperFailures())
