"""Alerts on the terminal: the poster when no Slack is configured, and the `--dry-run` printer."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from newsbot.alerts.routing import Destination
from newsbot.alerts.sinks import CannotLookBack, Outgoing, PostResult


class TerminalPoster(CannotLookBack):
    """Prints each alert readably; the terminal is the destination, so printing is delivering."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        return _printed(message.plain + "\n\n", self.stream)


class PayloadPrinter(CannotLookBack):
    """Prints the exact Block Kit payload Slack would receive, and where (`newsbot run --dry-run`)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        shown = {"destination": destination.label, **message.payload}
        if message.thread_ts:
            shown["thread_ts"] = message.thread_ts
        return _printed(json.dumps(shown, indent=2, ensure_ascii=False) + "\n", self.stream)


def _printed(text: str, stream: TextIO) -> PostResult:
    """Delivered once written: a terminal that cannot take it (standard output a file on a full disk)
    is a failed post, and the alert stays in the outbox for the next run."""
    try:
        stream.write(text)
        stream.flush()
    except OSError as error:
        return PostResult(ok=False, error=f"could not write it to standard output ({error.strerror})")
    return PostResult(ok=True)
