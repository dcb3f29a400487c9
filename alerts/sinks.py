"""What the outbox drain (alerts.deliver) talks to: a Poster for Slack, the terminal or a dry run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from alerts.routing import Destination


@dataclass(frozen=True)
class Outgoing:
    """One message: the Slack payload, the same facts as plain text, and Slack metadata."""

    payload: dict[str, Any]
    plain: str
    alert_ids: tuple[str, ...]
    thread_ts: str | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        """Read back after a crash (conversations.history) to tell whether this message went out."""
        return {"event_type": "newsbot_alert", "event_payload": {"alert_ids": list(self.alert_ids)}}


@dataclass(frozen=True)
class PostResult:
    """What Slack said; `permanent` errors will not succeed until the config changes."""

    ok: bool
    ts: str | None = None
    channel: str | None = None
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False


class Poster(Protocol):
    can_look_back: bool  # True with a bot token: a message can be found by its metadata

    def post(self, destination: Destination, message: Outgoing) -> PostResult: ...

    def find(self, destination: Destination, alert_id: str, since: datetime) -> PostResult | None: ...
