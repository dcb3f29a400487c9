"""Alerts on the terminal: the poster when no Slack is configured, and the `--dry-run` printer."""

from __future__ import annotations

import json
import sys
from collections.abc import Collection
from datetime import datetime
from typing import TextIO

from alerts.routing import Destination
from alerts.sinks import Outgoing, PostResult


class TerminalPoster:
    """Prints each alert readably; the terminal is the destination, so printing is delivering."""

    can_look_back = False

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        print(message.plain, file=self.stream, end="\n\n", flush=True)
        return PostResult(ok=True)

    def find(
        self,
        destination: Destination,
        alert_ids: Collection[str],
        since: datetime,
        until: datetime,
        thread_ts: str | None = None,
    ) -> dict[str, PostResult]:
        return {}


class PayloadPrinter:
    """Prints the exact Block Kit payload Slack would receive, and where (`newsbot run --dry-run`)."""

    can_look_back = False

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        shown = {"destination": destination.label, **message.payload}
        if message.thread_ts:
            shown["thread_ts"] = message.thread_ts
        print(json.dumps(shown, indent=2, ensure_ascii=False), file=self.stream, flush=True)
        return PostResult(ok=True)

    def find(
        self,
        destination: Destination,
        alert_ids: Collection[str],
        since: datetime,
        until: datetime,
        thread_ts: str | None = None,
    ) -> dict[str, PostResult]:
        return {}
