"""Alerts on the terminal: the sink when no Slack is configured, and the `--dry-run` printer."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from alerts.format import build_message, plain_text
from newsbot.models import Alert, DeliveryOutcome


class TerminalSink:
    """Prints each alert readably; counts as delivered, since the terminal is the destination."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def send(self, alert: Alert) -> DeliveryOutcome:
        print(plain_text(alert), file=self.stream, end="\n\n", flush=True)
        return DeliveryOutcome(alert.id, delivered=True)


class PayloadPrinter:
    """Prints the exact Block Kit payload that Slack would receive (for `newsbot run --dry-run`)."""

    def __init__(self, stream: TextIO | None = None, *, unfurl_links: bool = False):
        self.stream = stream or sys.stdout
        self.unfurl_links = unfurl_links

    def send(self, alert: Alert) -> DeliveryOutcome:
        payload = build_message(alert, unfurl_links=self.unfurl_links)
        print(json.dumps(payload, indent=2, ensure_ascii=False), file=self.stream, flush=True)
        return DeliveryOutcome(alert.id, delivered=True)
