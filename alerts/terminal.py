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
        print(message.plain, file=self.stream, end="\n\n", flush=True)
        return PostResult(ok=True)


class PayloadPrinter(CannotLookBack):
    """Prints the exact Block Kit payload Slack would receive, and where (`newsbot run --dry-run`)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        shown = {"destination": destination.label, **message.payload}
        if message.thread_ts:
            shown["thread_ts"] = message.thread_ts
        print(json.dumps(shown, indent=2, ensure_ascii=False), file=self.stream, flush=True)
        return PostResult(ok=True)
