"""What the outbox drain (alerts.deliver) talks to: a Poster for Slack, the terminal or a dry run."""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from alerts.routing import Destination


class MessageKind(enum.StrEnum):
    """What a message is, in its metadata: lets a reader of the channel tell an alert from its copies."""

    ALERT = "alert"  # one alert, top level or in the thread of an earlier alert about the story
    ALSO_IN = "also_in"  # a copy of an alerted story, in the first alert's thread
    DIGEST = "digest"  # many alerts in one message; posting it delivers them
    DETAIL = "detail"  # one digested alert in full, in the digest's thread (already delivered)
    NOTICE = "notice"  # newsbot's own words: delivery failing, source health


@dataclass(frozen=True)
class Outgoing:
    """One message: the Slack payload, the same facts as plain text, and Slack metadata."""

    payload: dict[str, Any]
    plain: str
    alert_ids: tuple[str, ...]
    thread_ts: str | None = None
    kind: MessageKind = MessageKind.ALERT

    @property
    def metadata(self) -> dict[str, Any]:
        """Read back after a crash or a lost answer (conversations.history, or .replies for a thread
        reply) to tell whether this message went out. Every message newsbot posts carries it."""
        return {"event_type": "newsbot_alert", "event_payload": {"alert_ids": list(self.alert_ids), "kind": self.kind}}


@dataclass(frozen=True)
class PostResult:
    """What Slack said; `permanent` errors will not succeed until the config changes.

    `unknown`: the request may have reached Slack but no answer told whether it was taken (a timeout
    after sending, a reset connection, a body that is not Slack's): the message must be looked up,
    never simply sent again.
    """

    ok: bool
    ts: str | None = None
    channel: str | None = None
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False
    unknown: bool = False


class Poster(Protocol):
    can_look_back: bool  # True with a bot token: a message can be found by its metadata

    def post(self, destination: Destination, message: Outgoing) -> PostResult: ...

    def find(
        self,
        destination: Destination,
        alert_ids: Collection[str],
        since: datetime,
        until: datetime,
        thread_ts: str | None = None,
    ) -> dict[str, PostResult]:
        """Where each of these alerts is in Slack, for attempts started between `since` and `until`
        (in the thread `thread_ts` if the attempts were replies); alerts not found are absent."""
        ...
