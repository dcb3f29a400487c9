"""What the outbox drain (alerts.deliver) talks to: a Poster for Slack, the terminal or a dry run."""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from newsbot.alerts.routing import Destination
from newsbot.errors import NewsbotError


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
    """What Slack said about one message.

    `unknown`: the request may have reached Slack but no answer told whether it was taken (a timeout
    after sending, a reset connection, a body that is not Slack's): the message must be looked up,
    never simply sent again. `kind`: for a message found by a look-up, what its metadata says it is.
    `refused_this_message`: Slack's error is about this message (its blocks, its length, the thread
    it replies in), not the place it goes to: one such message once held back every later alert to
    its channel, run after run.
    """

    ok: bool
    ts: str | None = None
    channel: str | None = None
    error: str | None = None
    retry_after: float | None = None
    unknown: bool = False
    kind: MessageKind | None = None
    refused_this_message: bool = False  # Slack refused what it holds (invalid_blocks): others may go there


class LookBackError(NewsbotError):
    """Raised by Poster.find when Slack could not be asked whether a message went out."""


class Poster(Protocol):
    can_look_back: bool  # True with a bot token: a message can be found by its metadata
    # How long after an attempt started Slack may still store its message (every try, every wait the
    # client allows, and a margin): a look-up that misses earlier proves nothing.
    post_window: timedelta

    def post(self, destination: Destination, message: Outgoing) -> PostResult: ...

    def waits_end_when(self, should_stop: Callable[[], bool]) -> None:
        """The waits a post makes within itself (a 429's Retry-After) end early once `should_stop`
        says so: the post then fails as Slack's refusal, and the alert is not left in flight."""
        ...

    def find(
        self,
        destination: Destination,
        alert_ids: Collection[str],
        since: datetime,
        until: datetime,
        thread_ts: str | None = None,
    ) -> dict[str, PostResult]:
        """Where each of these alerts is in Slack, for attempts started between `since` and `until`
        (in the thread `thread_ts` if the attempts were replies); alerts not found are absent.

        Raises LookBackError when Slack cannot be asked (or the poster has no way to look): the
        caller then keeps the alerts in flight rather than risk a double post.
        """
        ...


class CannotLookBack:
    """For posters with no way to find a message again (webhook, terminal, dry run): delivery asks
    `can_look_back` and never calls find(); if something does, it is told it cannot."""

    can_look_back = False
    post_window = timedelta(0)

    def waits_end_when(self, should_stop: Callable[[], bool]) -> None:
        """Nothing to end: the terminal and a dry run never wait (a webhook's poster overrides it)."""

    def find(
        self,
        destination: Destination,
        alert_ids: Collection[str],
        since: datetime,
        until: datetime,
        thread_ts: str | None = None,
    ) -> dict[str, PostResult]:
        raise LookBackError(f"{type(self).__name__} cannot look messages up")
