"""Clicks on an alert's buttons (alerts.format.feedback_actions), answered through slack-bolt.

slack-bolt checks each HTTP request's signature (`X-Slack-Signature`, HMAC-SHA256 of
`v0:{timestamp}:{body}` with the app's signing secret) and its age (older than 5 minutes is
refused), and answers 401 to anything else before a handler runs; in Socket Mode Slack's own
connection, opened with the app-level token, stands for that. A handler then:

1. acknowledges at once: Slack shows the clicker an error after 3 seconds without an answer, and
   the database may be busy with a run's transaction for a moment;
2. stores the click, and the mute it sets, in one short `BEGIN IMMEDIATE` transaction on its own
   connection (a run's connection takes turns with it: WAL, a busy timeout). What a mute silences
   comes from the stored alert — its watchlist, the vendors its match named, its story's cluster —
   not from the message, so an overflow option (150 characters of value) mutes as much as a button;
3. edits the message (chat.update, channel and ts from the payload): the buttons give way to a
   line saying who judged it and how, "Not relevant — @user", for everyone in the channel.

A click Slack sends twice (a retry, a double click) is stored once (newsbot.storage.feedback).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlite_utils import Database

from newsbot.alerts.format import ACTION_PREFIX, answered, escape, utc_text
from newsbot.alerts.slack import RateLimitWaits, read_retry_handlers
from newsbot.clock import SYSTEM_CLOCK, Clock
from newsbot.configuration.config import SlackConfig
from newsbot.configuration.slack_secrets import redact
from newsbot.errors import StorageError
from newsbot.models import FeedbackAction
from newsbot.storage.database import Storage
from newsbot.storage.database_errors import database_faults
from newsbot.storage.feedback import Click, FeedbackAlert, Mute, MuteTarget

# A click waits this long for a run's transaction to end; the run's are short (one batch of stories),
# and Slack has its answer already.
BUSY_TIMEOUT_MS = 60_000
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SDK_LOGGER = logging.getLogger("newsbot.serve.slack_sdk")  # off: slack-sdk's debug lines quote requests
_SDK_LOGGER.setLevel(logging.CRITICAL + 1)

Report = Callable[[str], None]


@dataclass(frozen=True)
class ClickRequest:
    """What a block_actions payload says about one click on one of newsbot's messages."""

    alert_id: str
    action: FeedbackAction
    user_id: str
    user_name: str
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]


def parse_click(body: dict[str, Any]) -> ClickRequest | None:
    """The click in a payload, or None when it is not one of newsbot's elements as it builds them."""
    try:
        element = body["actions"][0]
        value = json.loads(element.get("value") or element["selected_option"]["value"])
        message, user = body["message"], body["user"]
        return ClickRequest(
            alert_id=str(value["alert"]),
            action=FeedbackAction(value["action"]),
            user_id=str(user["id"]),
            user_name=str(user.get("username") or user.get("name") or ""),
            channel=str((body.get("channel") or {}).get("id") or body["container"]["channel_id"]),
            ts=str(body["container"].get("message_ts") or message["ts"]),
            text=str(message.get("text") or ""),
            blocks=list(message.get("blocks") or []),
        )
    except (KeyError, IndexError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Recorded:
    """A stored click: whether it was new (not a retry or a double click), and the mutes now covering
    what it mutes."""

    new: bool
    mutes: list[Mute]


class FeedbackRecorder:
    """Stores clicks in the run's database, each on a connection of its own (handlers run in threads)."""

    def __init__(self, database: Path, clock: Clock = SYSTEM_CLOCK):
        self.database = database
        self.clock = clock

    def record(self, request: ClickRequest) -> Recorded | None:
        """What storing the click did; None, with nothing stored, when this database never queued
        the alert (a message of another newsbot, or serve pointed at the wrong file)."""
        with database_faults(self.database):
            storage = Storage(Database(self.database))
            try:
                storage.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                alert = storage.feedback_alert(request.alert_id)
                if alert is None:
                    return None
                now = self.clock.now()
                click = Click(request.alert_id, request.user_id, request.user_name, request.action, now)
                days = request.action.mute_days
                until = now + timedelta(days=days) if days else None
                return Recorded(*storage.record_click(click, mute_targets(alert, request.action), until))
            finally:
                storage.close()


def mute_targets(alert: FeedbackAlert, action: FeedbackAction) -> list[MuteTarget]:
    """What a click on this alert mutes: each vendor its match named, or its story's cluster."""
    if action is FeedbackAction.MUTE_CLUSTER:
        return [MuteTarget(alert.watchlist, cluster_id=alert.cluster_id)] if alert.cluster_id else []
    if action.mute_days:
        return [MuteTarget(alert.watchlist, vendor=vendor) for vendor in alert.vendors]
    return []


def note(action: FeedbackAction, user_id: str, user_name: str, mutes: Sequence[Mute]) -> str:
    """The line that replaces the buttons (mrkdwn, escaped): what the click did, and who clicked."""
    who = f"<@{user_id}>" if _USER_ID.match(user_id) else f"@{escape(user_name or user_id)}"
    if action is FeedbackAction.RELEVANT:
        return f"Relevant — {who}"
    if action is FeedbackAction.NOT_RELEVANT:
        return f"Not relevant — {who}"
    if not mutes:
        why = "its story has no cluster yet" if action is FeedbackAction.MUTE_CLUSTER else "it names no vendor"
        return f"Nothing to mute: {why} — {who}"
    until = max(mute.until for mute in mutes)
    ids = ", ".join(f"#{mute.id}" for mute in mutes)
    if action is FeedbackAction.MUTE_CLUSTER:
        muted = "this story's copies"
    else:
        muted = ", ".join(escape(mute.target.vendor or "") for mute in mutes)
    watchlist = escape(mutes[0].target.watchlist)
    return f"Muted {muted} in {watchlist} until {utc_text(until)} (mute {ids}) — {who}"


def feedback_app(
    slack: SlackConfig, recorder: FeedbackRecorder, report: Report, executor: Executor, logger: logging.Logger
) -> App:
    """The Slack app `newsbot serve` runs: one handler for every element newsbot's alerts carry."""
    secrets = [secret for secret in (slack.token, slack.signing_secret, slack.app_token) if secret]
    client = WebClient(
        token=(slack.token or "").strip(),
        base_url=slack.api_url if slack.api_url.endswith("/") else slack.api_url + "/",
        timeout=max(1, round(slack.timeout_seconds)),
        logger=_SDK_LOGGER,
        # chat.update may be repeated; a long-lived server's waits are never cut short
        retry_handlers=read_retry_handlers(slack.max_retry_after_seconds, RateLimitWaits()),
    )
    app = App(
        client=client,
        signing_secret=slack.signing_secret or "",
        logger=logger,
        listener_executor=executor,
    )

    @app.action(re.compile("^" + re.escape(ACTION_PREFIX)))
    def on_click(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        request = parse_click(body)
        if request is None:
            report("ignored a click that is not on one of newsbot's buttons as it builds them")
            return
        answer_click(request, recorder, client, report, secrets)

    return app


def answer_click(
    request: ClickRequest, recorder: FeedbackRecorder, client: WebClient, report: Report, secrets: Sequence[str]
) -> None:
    """Store the click, then show it in the message; each failure is one sentence on serve's output."""
    clicked = f"{request.action.value} on alert {request.alert_id} by {request.user_id}"
    try:
        recorded = recorder.record(request)
    except StorageError as error:
        report(f"{clicked}: NOT stored: {error}")
        return
    if recorded is None:
        report(f"{clicked}: ignored: {recorder.database} has no such alert (is serve using the run's database?)")
        return
    stored = "stored" if recorded.new else "stored before (counted once)"
    report(f"{clicked}: {stored}" + "".join(f"; mute #{mute.id}" for mute in recorded.mutes))
    line = note(request.action, request.user_id, request.user_name, recorded.mutes)
    try:
        blocks = answered(request.blocks, line)
        client.chat_update(channel=request.channel, ts=request.ts, text=request.text, blocks=blocks)
    except Exception as error:  # slack-sdk raises SlackApiError, or urllib's errors as they are
        described = f"Slack says {error.response.get('error')}" if isinstance(error, SlackApiError) else str(error)
        report(redact(f"{clicked}: the message was not updated ({type(error).__name__}: {described})", secrets))
