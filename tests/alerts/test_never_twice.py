"""Never twice (bot token), measured: a message Slack took is found, not resent — after a lost answer
(too late, garbled, reset), after a crash, in a busy channel, in a thread — and never lost.

Most tests run delivery in-process (BotPoster + Storage + deliver() against FakeSlack, a 1 s
timeout) so the unhappy paths stay fast; a crash is reproduced for real either by recording an
attempt and posting without recording the answer (what a SIGKILL between the two leaves behind),
or, in the last test, by SIGKILLing `newsbot run` at seeded random moments.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from newsbot.alerts.deliver import Policy, deliver
from newsbot.alerts.format import build_message, plain_text
from newsbot.alerts.routing import Destination
from newsbot.alerts.sinks import Outgoing
from newsbot.alerts.slack import LISTED_TYPES, BotPoster, Redactor, WebhookPoster
from newsbot.models import AlertKind, FetchResult, FetchStatus, Match, RuleHit, Severity, Story
from newsbot.storage.database import Storage
from newsbot.storage.records import alert_id
from tests.conftest import Workspace
from tests.deadhosts import FullBacklogHost, UntrustedTlsHost
from tests.servers import GARBLED, FakeSlack, FeedServer, Route, SlackReply, recent, rss

NEWS = Destination(label="#vendor-news", channel="#vendor-news")
FIRST, SECOND = "SMS and 2FA vendors", "Signalling"


def bot(slack: FakeSlack) -> BotPoster:
    return BotPoster(token=slack.token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=1)


def policy(**options: Any) -> Policy:
    return Policy(route=lambda match: NEWS, seconds_between_messages=0, **options)


def queue(storage: Storage, count: int, watchlist: str = FIRST, first: int = 0) -> list[str]:
    """`count` stories, each matched by `watchlist`: their alert ids, oldest first."""
    now = datetime.now(UTC)
    stories = [
        Story(
            id=f"story-{number}",
            url=f"https://wire.example/kaleyra-{number}",
            title=f"Kaleyra breach, part {number}",
            summary="Customer records leaked.",
            text="",
            source="Wire",
            published_at=now,
        )
        for number in range(first, first + count)
    ]
    storage.record_fetch(FetchResult("Wire", "https://wire.example/feed", FetchStatus.OK), stories, now)
    hit = RuleHit("vendor-breach", Severity.MEDIUM, ("Kaleyra", "leaked"))
    for story in stories:
        storage.record_matches(story, [Match(watchlist, (hit,))], now)
    return [alert_id(story.id, watchlist) for story in stories]


def rows(storage: Storage, sql: str) -> list[tuple]:
    return [tuple(row) for row in storage.db.execute(sql).fetchall()]


def status_of(storage: Storage, alert: str) -> tuple[str, str | None]:
    [(status, ts)] = rows(storage, f"SELECT status, slack_ts FROM alerts WHERE id = '{alert}'")
    return status, ts


def posts(slack: FakeSlack) -> int:
    return len(slack.requests_to("/api/chat.postMessage"))


def as_if_minutes_ago(storage: Storage, minutes: float = 10) -> None:
    """Every attempt in flight started `minutes` ago, as the next cron run sees it: long past the
    time Slack could still store its message."""
    when = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")
    with storage.transaction():
        storage.db.execute("UPDATE alerts SET attempt_started_at = ? WHERE status = 'sending'", [when])


def wait_until(condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def crashed_after_posting(storage: Storage, poster: BotPoster, alert: str, thread_ts: str | None = None) -> str:
    """What a SIGKILL between Slack's answer and its record leaves: the attempt recorded, the message
    in Slack, the answer lost. Returns the message's ts."""
    [queued] = [due for due in storage.due_alerts(datetime.now(UTC)) if due.id == alert]
    storage.start_attempt([alert], NEWS.label, datetime.now(UTC), thread_ts)
    message = Outgoing(build_message(queued), plain_text(queued), (alert,), thread_ts=thread_ts)
    result = poster.post(NEWS, message)
    assert result.ok and result.ts
    return result.ts


# --------------------------------------------------------------------------------------------
# An answer lost after Slack took the message
# --------------------------------------------------------------------------------------------

LOST_ANSWERS = {
    "answered after the client's timeout": SlackReply(misbehave="late", delay=2.5),
    "a proxy's HTML page with 200": SlackReply(200, GARBLED, misbehave="garble"),
    "a proxy's HTML page with 502": SlackReply(502, GARBLED, misbehave="garble"),
    "a proxy's HTML page with 503": SlackReply(503, GARBLED, misbehave="garble"),  # not retried blindly
    "JSON cut short": SlackReply(200, '{"ok": true, "channel": "C0VEN', misbehave="garble"),
    "the connection reset": SlackReply(misbehave="reset"),
    # Slack's reference: after these "it's possible some aspect of the operation succeeded"
    "internal_error with 500 after storing it": SlackReply(500, "internal_error", misbehave="accept_error"),
    "internal_error with 503 after storing it": SlackReply(503, "internal_error", misbehave="accept_error"),
    "fatal_error with 200 after storing it": SlackReply(200, "fatal_error", misbehave="accept_error"),
}


@pytest.mark.parametrize("lost", LOST_ANSWERS.values(), ids=LOST_ANSWERS.keys())
def test_a_message_slack_took_is_found_not_resent_when_the_answer_is_lost(
    storage: Storage, slack: FakeSlack, lost: SlackReply
) -> None:
    [alert] = queue(storage, 1)
    slack.script = [lost]

    report = deliver(storage, bot(slack), policy())
    again = deliver(storage, bot(slack), policy())

    [message] = slack.delivered
    assert message["metadata"]["event_payload"]["alert_ids"] == [alert]
    assert posts(slack) == 1, "the post was repeated"
    assert status_of(storage, alert) == ("sent", message["ts"])
    assert report.sent == 1 and report.errors == []
    assert again.sent == 0 and len(slack.delivered) == 1


def test_a_lost_answer_for_a_message_slack_never_took_stays_in_flight_then_goes_once(
    storage: Storage, slack: FakeSlack
) -> None:
    """A reset before Slack took it looks the same from here: looked up, not found, not resent while
    Slack might still store it (another pass of the run right after, too); a run after that window
    looks again and only then sends."""
    [alert] = queue(storage, 1)
    slack.script = [SlackReply(misbehave="drop")]

    first = deliver(storage, bot(slack), policy())
    in_flight = rows(storage, "SELECT status, last_error FROM alerts")
    next_pass = deliver(storage, bot(slack), policy())
    posts_then = posts(slack)
    as_if_minutes_ago(storage)
    next_run = deliver(storage, bot(slack), policy())

    [(status, error)] = in_flight
    assert status == "sending" and "resent only if still missing 15 s after it left" in error
    assert first.sent == 0 and "could not reach Slack or lost its answer" in first.errors[0]
    assert next_pass.sent == 0 and posts_then == 1, "resent while Slack could still be storing it"
    [message] = slack.delivered
    assert next_run.sent == 1 and status_of(storage, alert) == ("sent", message["ts"])
    assert posts(slack) == 2


def test_a_message_slack_stores_late_is_not_resent_by_the_next_pass(storage: Storage, slack: FakeSlack) -> None:
    """Slack stores the message 3 s after it arrived, the client gives up after 1 s: the look-up then
    misses it, and so does the next delivery pass of the same run a moment later. Neither resends;
    a look after Slack stored it finds it."""
    [alert] = queue(storage, 1)
    slack.script = [SlackReply(misbehave="accept_late", delay=3)]
    poster = bot(slack)

    first = deliver(storage, poster, policy())
    second = deliver(storage, poster, policy())
    status_between = status_of(storage, alert)
    wait_until(lambda: len(slack.delivered) == 1)
    third = deliver(storage, poster, policy())

    assert "not in Slack yet" in first.errors[0] and first.sent == second.sent == third.sent == 0
    assert status_between == ("sending", None)
    [message] = slack.delivered
    assert posts(slack) == 1 and status_of(storage, alert) == ("sent", message["ts"])


REFUSALS = {
    "Slack's own 500": [SlackReply(500, "service_unavailable")],
    "Slack's own 503, twice": [SlackReply(503, "service_unavailable"), SlackReply(503, "service_unavailable")],
    "rate limited for a second": [SlackReply(429, "rate_limited", {"Retry-After": "1"})],
}


@pytest.mark.parametrize("refusals", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refusal_before_slack_took_the_message_is_retried_within_the_run(
    storage: Storage, slack: FakeSlack, refusals: list[SlackReply]
) -> None:
    [alert] = queue(storage, 1)
    slack.script = list(refusals)

    report = deliver(storage, bot(slack), policy())

    [message] = slack.delivered
    assert posts(slack) == len(refusals) + 1
    assert report.sent == 1 and status_of(storage, alert) == ("sent", message["ts"])


def test_a_refused_connection_is_retried_within_the_run(storage: Storage, slack: FakeSlack) -> None:
    [alert] = queue(storage, 1)
    slack.refuse_connections(0.2)  # slack-sdk's first retry comes after 0.5 s or more

    report = deliver(storage, bot(slack), policy())

    [message] = slack.delivered
    assert report.sent == 1 and status_of(storage, alert) == ("sent", message["ts"])


def test_a_refused_connection_is_a_plain_failure_not_an_unknown_outcome(storage: Storage, slack: FakeSlack) -> None:
    [alert] = queue(storage, 1)
    slack.refuse_connections(None)

    report = deliver(storage, bot(slack), policy())

    assert "could not reach Slack (URLError" in report.errors[0] and "Connection refused" in report.errors[0]
    assert status_of(storage, alert) == ("pending", None), "it never left: no look-up needed, sent next time"


def test_when_slack_cannot_be_asked_the_alert_waits_in_flight(storage: Storage, slack: FakeSlack) -> None:
    [alert] = queue(storage, 1)
    poster = bot(slack)
    crashed_after_posting(storage, poster, alert)
    slack.token = "xoxb-rotated"  # history cannot be read: invalid_auth

    report = deliver(storage, poster, policy())

    assert "could not check Slack's history" in report.errors[0]
    assert status_of(storage, alert)[0] == "sending" and len(slack.delivered) == 1


# --------------------------------------------------------------------------------------------
# After a crash: history pages, thread replies
# --------------------------------------------------------------------------------------------


def test_a_busy_channel_after_a_crash_does_not_cause_a_resend(storage: Storage, slack: FakeSlack) -> None:
    [alert] = queue(storage, 1)
    poster = bot(slack)
    ts = crashed_after_posting(storage, poster, alert)
    slack.chatter("vendor-news", 250)

    deliver(storage, poster, policy())

    assert posts(slack) == 1 and status_of(storage, alert) == ("sent", ts)
    history = slack.requests_to_method("conversations.history")
    assert len(history) >= 2, "one page of 200 cannot reach back past 250 messages"
    assert all(int(request["limit"]) <= 200 and request["oldest"] for request in history)


def test_a_reply_in_a_storys_thread_is_found_in_the_thread_after_a_crash(storage: Storage, slack: FakeSlack) -> None:
    """The second watchlist's alert about a story goes into the first alert's thread; history does
    not return replies, so the look-back reads the thread (conversations.replies), every page."""
    [parent] = queue(storage, 1)
    [reply] = queue(storage, 1, watchlist=SECOND)
    poster = bot(slack)
    deliver(storage, poster, policy(), should_stop=lambda: len(slack.delivered) == 1)
    parent_ts = status_of(storage, parent)[1]
    assert parent_ts and status_of(storage, reply)[0] == "pending"
    slack.chatter("vendor-news", 250, thread_ts=parent_ts)  # replies come oldest first: ours on page two
    ts = crashed_after_posting(storage, poster, reply, thread_ts=parent_ts)

    deliver(storage, poster, policy())

    assert posts(slack) == 2 and status_of(storage, reply) == ("sent", ts)
    assert len(slack.requests_to_method("conversations.replies")) >= 2


def test_an_also_in_reply_a_crash_interrupted_is_looked_up_and_sent_if_missing(
    storage: Storage, slack: FakeSlack
) -> None:
    [parent] = queue(storage, 1)
    poster = bot(slack)
    deliver(storage, poster, policy())
    copy = Story("story-copy", "https://daily.example/kaleyra", "Kaleyra data leaked", "", "", "Daily")
    storage.record_fetch(FetchResult("Daily", "https://daily.example/feed", FetchStatus.OK), [copy], datetime.now(UTC))
    hit = RuleHit("vendor-breach", Severity.MEDIUM, ("Kaleyra",))
    storage.record_matches(copy, [Match(FIRST, (hit,))], datetime.now(UTC), {FIRST: (AlertKind.ALSO_IN, parent)})
    also_in = alert_id(copy.id, FIRST)
    # Killed 10 minutes ago after recording the attempt, before the reply left: the look-up finds
    # nothing, so it goes.
    ten_minutes_ago = datetime.now(UTC) - timedelta(minutes=10)
    storage.start_attempt([also_in], "C0VENDOR1", ten_minutes_ago, status_of(storage, parent)[1])

    deliver(storage, poster, policy())
    deliver(storage, poster, policy())

    replies = [message for message in slack.delivered if message.get("thread_ts")]
    assert len(replies) == 1 and replies[0]["metadata"]["event_payload"] == {"alert_ids": [also_in], "kind": "also_in"}
    assert status_of(storage, also_in) == ("sent", replies[0]["ts"])
    assert slack.requests_to_method("conversations.replies"), "it was looked up before being sent"


# --------------------------------------------------------------------------------------------
# Private channels and users: where to look
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("channel", "resolved_by"), [("#soc-private", "list"), ("U0ANALYST1", "open")])
def test_a_lost_answer_to_a_private_channel_or_a_user_is_found(
    storage: Storage, slack: FakeSlack, channel: str, resolved_by: str
) -> None:
    """The first post of a run, so no channel id is known: a private channel's name is resolved over
    private channels too (Slack lists public ones only, unless asked), a user id by its DM."""
    [alert] = queue(storage, 1)
    slack.script = [SlackReply(misbehave="reset")]
    there = Destination(label=channel, channel=channel)

    report = deliver(storage, bot(slack), Policy(route=lambda match: there, seconds_between_messages=0))

    [message] = slack.delivered
    assert report.errors == [] and report.sent == 1
    assert posts(slack) == 1 and status_of(storage, alert) == ("sent", message["ts"])
    [call] = slack.requests_to_method(f"conversations.{resolved_by}")
    assert call == {"users": channel} if resolved_by == "open" else call["types"] == LISTED_TYPES


@pytest.mark.parametrize("minutes", [20, -20], ids=["Slack's clock ahead", "Slack's clock behind"])
def test_a_lost_answer_is_found_when_this_machines_clock_is_off(
    storage: Storage, slack: FakeSlack, minutes: int
) -> None:
    """The look-up's window was the attempt's start, by this machine's clock, ± 5 minutes: on a machine
    ten minutes off, Slack's message was not in it, and the next pass sent the alert again."""
    [alert] = queue(storage, 1)
    slack.clock_offset = minutes * 60
    slack.script = [SlackReply(misbehave="reset")]

    deliver(storage, bot(slack), policy())

    [message] = slack.delivered
    assert posts(slack) == 1 and status_of(storage, alert) == ("sent", message["ts"])


def test_a_look_up_uses_the_channel_id_slack_returned_before(storage: Storage, slack: FakeSlack) -> None:
    """A later run (a new poster, nothing cached) looks where Slack said the destination's messages
    went, without resolving the name at all."""
    [first, second] = queue(storage, 2)
    there = Destination(label="#soc-private", channel="#soc-private")
    rules = Policy(route=lambda match: there, seconds_between_messages=0)
    deliver(storage, bot(slack), rules, should_stop=lambda: posts(slack) == 1)
    slack.script = [SlackReply(misbehave="reset")]

    report = deliver(storage, bot(slack), rules)

    assert report.errors == [] and posts(slack) == 2
    assert [status_of(storage, alert)[0] for alert in (first, second)] == ["sent", "sent"]
    assert slack.requests_to_method("conversations.history")
    assert slack.requests_to_method("conversations.list") == []


# --------------------------------------------------------------------------------------------
# Webhooks cannot look back: `delivery` decides, for crashes and lost answers alike
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lost",
    [
        SlackReply(misbehave="reset"),
        SlackReply(200, GARBLED, misbehave="garble"),
        SlackReply(500, "internal_error", misbehave="accept_error"),
        SlackReply(200, "fatal_error", misbehave="accept_error"),
        SlackReply(201, "accepted", misbehave="accept_error"),  # a relay in front of Slack: 2xx refuses nothing
        SlackReply(202, "queued", misbehave="accept_error"),
    ],
    ids=["reset", "HTML page", "internal_error", "fatal_error", "201 accepted", "202 queued"],
)
@pytest.mark.parametrize(("at_most_once", "copies", "final"), [(False, 2, "sent"), (True, 1, "unconfirmed")])
def test_a_lost_webhook_answer_follows_the_delivery_setting(
    storage: Storage, slack: FakeSlack, at_most_once: bool, copies: int, final: str, lost: SlackReply
) -> None:
    [alert] = queue(storage, 1)
    webhook = Destination(label="the default webhook", webhook_url=slack.webhook_url)
    poster = WebhookPoster(timeout=1, max_retry_after_seconds=1, secrets=(slack.webhook_url,))
    rules = Policy(route=lambda match: webhook, seconds_between_messages=0, at_most_once=at_most_once)
    slack.script = [lost]

    first = deliver(storage, poster, rules)
    deliver(storage, poster, rules)

    assert status_of(storage, alert)[0] == final and len(slack.delivered) == copies
    assert "at_most_once" in first.errors[0] if at_most_once else "at_least_once" in first.errors[0]
    assert "canary-secret" not in " ".join(first.errors)


def queued_long_ago(storage: Storage, alert: str, hours: float) -> None:
    """An alert queued `hours` ago and tried once."""
    when = (datetime.now(UTC) - timedelta(hours=hours)).isoformat(timespec="seconds")
    with storage.transaction():
        storage.db.execute("UPDATE alerts SET attempts = 1, created_at = ? WHERE id = ?", [when, alert])


def test_an_unconfirmed_alert_is_not_announced_as_failing_delivery(storage: Storage, slack: FakeSlack) -> None:
    """An old unconfirmed alert waits for nothing (status lists it): while Slack works there is no
    "delivery is failing" notice, and it does not date the episode of a real failure later."""
    [old] = queue(storage, 1)
    storage.mark_unconfirmed(old, "its outcome is unknown")
    queued_long_ago(storage, old, hours=7)
    webhook = Destination(label="the default webhook", webhook_url=slack.webhook_url)
    rules = Policy(route=lambda match: webhook, seconds_between_messages=0, at_most_once=True, notices_to=webhook)
    poster = WebhookPoster(timeout=1, max_retry_after_seconds=1, secrets=(slack.webhook_url,))
    queue(storage, 1, first=1)

    working = deliver(storage, poster, rules)
    notices_while_working = [m["text"] for m in slack.delivered if "delivery is failing" in m["text"]]
    [stuck] = queue(storage, 1, first=2)  # a real failure: refused 6.5 hours ago, Slack asked to wait
    storage.mark_failed([stuck], "Slack answered HTTP 429", datetime.now(UTC) + timedelta(hours=1))
    queued_long_ago(storage, stuck, hours=6.5)
    queue(storage, 1, first=3)
    deliver(storage, poster, rules)

    assert working.sent == 1 and notices_while_working == []
    [notice] = [m["text"] for m in slack.delivered if "delivery is failing" in m["text"]]
    assert "1 alerts have waited" in notice and "HTTP 429" in notice
    assert storage.alert_status(old) == "unconfirmed" and len(storage.undelivered()) == 2  # status shows both


# --------------------------------------------------------------------------------------------
# should_stop: no new message starts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("digest_over", "stop_after"), [(20, 0), (20, 2), (3, 1)])
def test_should_stop_starts_no_new_message_and_keeps_the_rest(
    storage: Storage, slack: FakeSlack, digest_over: int, stop_after: int
) -> None:
    alerts = queue(storage, 5 if digest_over == 20 else 300)

    report = deliver(
        storage, bot(slack), policy(digest_over=digest_over), should_stop=lambda: posts(slack) >= stop_after
    )

    sent = {alert for alert, status in rows(storage, "SELECT id, status FROM alerts") if status == "sent"}
    pending = {alert for alert, status in rows(storage, "SELECT id, status FROM alerts") if status == "pending"}
    assert report.stopped and posts(slack) == stop_after
    assert sent == {alert for alert, _ in slack.alert_ids()}  # what Slack has, and nothing else
    assert sent | pending == set(alerts) and pending


# --------------------------------------------------------------------------------------------
# Secrets in errors
# --------------------------------------------------------------------------------------------

SECRETS = [
    ("xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx", ["xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"]),
    ("xoxb-1234567890-abcdef\nGhIjKlMnOp", ["xoxb-1234567890-abcdef", "GhIjKlMnOp"]),
    ("  xoxb-1234567890-abcdef GhIjKlMnOp\t", ["xoxb-1234567890-abcdef", "GhIjKlMnOp"]),
    ("https://hooks.slack.com/services/T0001/B0002/XXXXsecretXXXX", ["/services/T0001/B0002/XXXXsecretXXXX"]),
    ("hooks.slack.com/services/T0001/B0002/XXXXsecretXXXX", ["XXXXsecretXXXX"]),
    ("https://hooks.slack.com/services/T0001/B0002/XXXX secretXXXX\n", ["XXXX secretXXXX", "secretXXXX"]),
]


@pytest.mark.parametrize(("secret", "pieces"), SECRETS)
def test_redaction_covers_every_piece_of_a_secret(secret: str, pieces: list[str]) -> None:
    redact = Redactor([secret])
    shown = [secret, secret.strip(), repr(secret), *pieces, f"Invalid header value b'Bearer {secret!r}'"]
    for text in shown:
        redacted = redact(f"error: {text} (end)")
        assert "<secret>" in redacted
        for piece in pieces:
            assert piece not in redacted, redacted
    assert redact("Slack rejected the token for https://hooks.slack.com/") == (
        "Slack rejected the token for https://hooks.slack.com/"
    )


@pytest.mark.parametrize("token", ["xoxb-canary-token-XYZ\nSECRETPART", "xoxb-canary token-XYZ"])
def test_a_token_with_whitespace_never_appears_in_an_error(storage: Storage, slack: FakeSlack, token: str) -> None:
    queue(storage, 1)
    poster = BotPoster(token=token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=0)

    report = deliver(storage, poster, policy())

    assert report.errors and report.sent == 0
    for piece in token.split():
        assert piece not in " ".join(report.errors) and repr(piece)[1:-1] not in " ".join(report.errors)


WEBHOOK_FAULTS = {
    "a space in it": lambda base: f"{base}/services/T000/B000/canary-secret secret-part-XYZ",
    "a newline in it": lambda base: f"{base}/services/T000/B000/canary-secret\nsecret-part-XYZ",
    "no scheme": lambda base: f"{base.removeprefix('http://')}/services/T000/B000/canary-secret-part-XYZ",
}


@pytest.mark.parametrize("broken", WEBHOOK_FAULTS.values(), ids=WEBHOOK_FAULTS.keys())
def test_a_broken_webhook_url_never_appears_in_an_error(storage: Storage, slack: FakeSlack, broken) -> None:
    [alert] = queue(storage, 1)
    url = broken(slack.url)
    webhook = Destination(label="the default webhook", webhook_url=url)
    poster = WebhookPoster(timeout=1, max_retry_after_seconds=0, secrets=(url,))

    report = deliver(storage, poster, Policy(route=lambda match: webhook, seconds_between_messages=0))

    errors = " ".join(report.errors)
    assert "could not reach Slack" in errors and "canary-secret" not in errors and "part-XYZ" not in errors
    assert status_of(storage, alert)[0] == "pending", "the request never left: a plain failure, retried later"


# --------------------------------------------------------------------------------------------
# SIGKILL at random moments: 0 lost, 0 doubled
# --------------------------------------------------------------------------------------------

VOCABULARY = [a + b + c for a in "bdfgklmnprstvz" for b in "aeiou" for c in ("n", "r", "s", "l", "")]
SIGNALLING = (
    "name: Signalling\nvendors:\n  - name: Mitto AG\n    aliases: [Mitto]\n  - name: Kaleyra\n"
    "topics:\n  ss7: [SS7]\nrules:\n  - name: ss7\n    all: [vendors, ss7]\n"
)


def story_text(rng: random.Random, lead: str) -> str:
    """A lead naming a vendor and a topic, then 70 random words: distinct stories never cluster."""
    return lead + " " + " ".join(rng.choice(VOCABULARY) for _ in range(70)) + "."


class Newsroom:
    """Two feeds that grow run by run: stories for one watchlist or both (threads), copies of
    earlier stories in the second outlet (also-in replies), and now and then a burst (a digest)."""

    LEADS = (
        ("Kaleyra confirms breach", "Kaleyra said customer records were leaked in a breach."),
        ("Mitto sold SS7 access", "Mitto AG sold SS7 access to surveillance firms, a report says."),
        ("Kaleyra SS7 flaw", "Kaleyra found an SS7 hole that leaked messages in a breach."),
    )

    def __init__(self, feeds: FeedServer, seed: int):
        self.rng = random.Random(seed)
        self.feeds = feeds
        self.wire: list[dict[str, str]] = []
        self.daily: list[dict[str, str]] = []
        self.count = 0

    def add(self, number: int, leads: tuple[tuple[str, str], ...] = LEADS) -> None:
        for _ in range(number):
            self.count += 1
            title, lead = self.rng.choice(leads)
            text = story_text(self.rng, lead)
            self.wire.append(self._item(f"{title} #{self.count}", f"https://wire.example/{self.count}", text))
            if self.rng.random() < 0.3:  # the same report, retitled and trimmed, in another outlet
                copy = "Reportedly, " + text[: int(len(text) * 0.9)]
                self.daily.append(self._item(f"Report {self.count}", f"https://daily.example/{self.count}", copy))
        self.feeds.routes["/wire.xml"] = Route(rss(self.wire[-40:]))
        self.feeds.routes["/daily.xml"] = Route(rss(self.daily[-40:]))

    @staticmethod
    def _item(title: str, link: str, text: str) -> dict[str, str]:
        return {"title": title, "link": link, "description": text, "pubDate": recent()}


def unsteady_slack(rng: random.Random) -> list[SlackReply]:
    """Answers that leave room for a kill between Slack taking a message and newsbot recording it,
    and now and then an answer that is lost or a refusal."""
    choices = [
        (0.45, SlackReply(misbehave="late", delay=0.08)),  # taken, answered 80 ms later
        (0.35, SlackReply(delay=0.05)),  # taken 50 ms after it arrived
        (0.08, SlackReply(misbehave="reset")),  # taken, answer lost
        (0.04, SlackReply(200, GARBLED, misbehave="garble")),  # taken, answer not Slack's
        (0.04, SlackReply(misbehave="drop")),  # not taken, answer lost
        (0.04, SlackReply(500, "service_unavailable")),  # refused
    ]
    weights = [weight for weight, _ in choices]
    return [rng.choices([reply for _, reply in choices], weights)[0] for _ in range(3000)]


def threaded_alerts(slack: FakeSlack) -> list[dict]:
    """A second watchlist's alerts, in the thread of the first alert about their story."""
    return [m for m in slack.delivered if m.get("thread_ts") and m["metadata"]["event_payload"]["kind"] == "alert"]


def kill_at_random(workspace: Workspace, slack: FakeSlack, rng: random.Random, after_a_thread: bool = False) -> None:
    """SIGKILL a run at a random moment; `after_a_thread`: once Slack took a threaded alert."""
    run = workspace.popen("run")
    before = len(slack.delivered)
    if after_a_thread:
        deadline = time.monotonic() + 30
        while not threaded_alerts(slack) and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.1))
    elif rng.random() < 0.75:  # within ~0.1 s of the k-th message Slack took in this run: mid-send
        wanted = before + rng.randint(1, 3)
        deadline = time.monotonic() + 8
        while len(slack.delivered) < wanted and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.1))
    else:  # anywhere: fetching, storing, matching, sending
        time.sleep(rng.uniform(0.2, 2.0))
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=10)


def wait_out_post_window(database: Path, seconds: float = 3 * 1 + 10 + 2) -> None:
    """Until Slack can no longer be storing a message an attempt in flight sent (BotPoster's
    post_window for a 1 s timeout and no Retry-After wait, plus a second for stored times' rounding):
    a cron run comes minutes after a crash; this test's runs come seconds apart."""
    with sqlite3.connect(database) as connection:
        [(latest,)] = connection.execute("SELECT max(attempt_started_at) FROM alerts WHERE status = 'sending'")
    if latest:
        left = datetime.fromisoformat(latest) + timedelta(seconds=seconds) - datetime.now(UTC)
        time.sleep(max(0.0, left.total_seconds()))


@pytest.mark.timeout(360)  # 31 runs as subprocesses, each killed or ended: about 65 s on an idle machine
def test_sigkill_at_random_moments_loses_nothing_and_doubles_nothing(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    rng = random.Random(20261202)
    workspace.watchlist("signalling.yaml").write_text(SIGNALLING, encoding="utf-8")
    workspace.source("Wire", feed_server.url + "/wire.xml")
    workspace.source("Daily", feed_server.url + "/daily.xml")
    workspace.use_slack_token(slack, digest_over=6, timeout_seconds=1, max_retry_after_seconds=0)
    newsroom = Newsroom(feed_server, seed=7)
    # The first run meets a story both watchlists match and a steady Slack, and is killed only after
    # the second alert went into the first one's thread: the runs after it meet threads whatever
    # the kills' timing.
    newsroom.add(1, leads=Newsroom.LEADS[2:])
    slack.script = [SlackReply(), SlackReply()]
    kill_at_random(workspace, slack, rng, after_a_thread=True)
    slack.script = unsteady_slack(rng)

    for run in range(1, 30):
        newsroom.add(rng.choice([1, 2, 3]) if run % 7 else 9)  # every seventh run a burst: a digest
        kill_at_random(workspace, slack, rng)
    slack.script = []
    wait_out_post_window(workspace.database)
    final = workspace.newsbot("run")
    settled = len(slack.delivered)
    idle = workspace.newsbot("run")

    assert final.returncode == 0 and idle.returncode == 0, final.stderr + idle.stderr
    with sqlite3.connect(workspace.database) as connection:
        statuses = dict(connection.execute("SELECT id, status FROM alerts").fetchall())
    assert len(statuses) >= 40 and set(statuses.values()) == {"sent"}
    delivered = Counter(alert for alert, kind in slack.alert_ids() if kind != "detail")
    details = Counter(alert for alert, kind in slack.alert_ids() if kind == "detail")
    lost = [alert for alert in statuses if delivered[alert] == 0]
    doubled = [alert for alert, copies in delivered.items() if copies > 1]
    assert (lost, doubled) == ([], []), f"{len(lost)} lost, {len(doubled)} doubled of {len(statuses)}"
    assert set(delivered) == set(statuses) and max(details.values(), default=1) == 1
    assert len(slack.delivered) == settled, "a run with nothing new sent something"
    # The faults this was meant to meet did happen.
    kinds = Counter(kind for _, kind in slack.alert_ids())
    assert kinds["digest"] >= 1 and kinds["also_in"] >= 1 and threaded_alerts(slack)
    assert slack.requests_to_method("conversations.history") and slack.requests_to_method("conversations.replies")


@pytest.mark.parametrize(("at_most_once", "final", "copies"), [(False, "sent", 1), (True, "unconfirmed", 0)])
def test_an_alert_in_flight_to_a_webhook_follows_the_delivery_setting_after_a_switch_to_a_token(
    storage: Storage, slack: FakeSlack, at_most_once: bool, final: str, copies: int
) -> None:
    """A run killed while posting to a webhook, then the config changed to a bot token: the token
    cannot look for a webhook's message, so `delivery` decides, as it did with the webhook."""
    [alert] = queue(storage, 1)
    storage.start_attempt([alert], "the default webhook", datetime.now(UTC))
    as_if_minutes_ago(storage)

    report = deliver(storage, bot(slack), policy(at_most_once=at_most_once))
    again = deliver(storage, bot(slack), policy(at_most_once=at_most_once))

    assert status_of(storage, alert)[0] == final
    assert posts(slack) == copies
    assert not slack.requests_to("/api/conversations.history")  # no look in a channel named "the default webhook"
    assert not any("channel" in error for error in report.errors + again.errors), report.errors


# --------------------------------------------------------------------------------------------
# A post that provably never reached Slack is a plain failure, even for a webhook at_most_once
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("unreachable", ["a connection that never completes", "a certificate refused"])
def test_a_webhook_post_that_never_left_waits_for_the_next_run_even_at_most_once(
    storage: Storage, slack: FakeSlack, tmp_path: Path, unreachable: str
) -> None:
    """at_most_once never resends what may have landed; these never left (urllib failed while it
    connected or shook hands, before writing a byte), so they are not "may have landed"."""
    alerts = queue(storage, 2)
    host = FullBacklogHost() if unreachable.startswith("a connection") else UntrustedTlsHost(tmp_path)
    try:
        url = host.url + FakeSlack.WEBHOOK_PATH
        down = Destination(label="the default webhook", webhook_url=url)
        poster = WebhookPoster(timeout=1, max_retry_after_seconds=1, secrets=(url,))
        failed = deliver(
            storage, poster, Policy(route=lambda match: down, seconds_between_messages=0, at_most_once=True)
        )
    finally:
        host.stop()
    up = Destination(label="the default webhook", webhook_url=slack.webhook_url)
    poster = WebhookPoster(timeout=1, max_retry_after_seconds=1, secrets=(slack.webhook_url,))
    later = deliver(storage, poster, Policy(route=lambda match: up, seconds_between_messages=0, at_most_once=True))

    assert failed.sent == 0 and "could not reach Slack (URLError" in failed.errors[0], failed.errors
    assert "it is not sent again" not in " ".join(failed.errors)
    assert later.sent == 2 and [status_of(storage, alert)[0] for alert in alerts] == ["sent", "sent"]
    assert len(slack.delivered) == 2
    assert getattr(host, "handshakes", 0) == 0


@pytest.mark.parametrize("webhook", [False, True], ids=["token", "webhook"])
@pytest.mark.parametrize(
    ("retry_after", "waits_at_most"),
    [("-5", None), ("inf", None), ("nan", None), ("soon", None), ("1e12", timedelta(hours=1))],
)
def test_a_429_whose_retry_after_means_no_wait_or_too_long_a_one_keeps_the_alert_pending(
    storage: Storage, slack: FakeSlack, webhook: bool, retry_after: str, waits_at_most: timedelta | None
) -> None:
    """A 429 says Slack did not post: the alert stays pending, however odd the header (`inf` once
    ended the run with a traceback, `-5` made slack-sdk's own handler raise and the post look lost)."""
    [alert] = queue(storage, 1)
    slack.script = [SlackReply(429, "ratelimited", headers={"Retry-After": retry_after})]
    poster, rules = (webhook_poster(slack), webhook_policy(slack)) if webhook else (bot(slack), policy())

    report = deliver(storage, poster, rules)

    [(status, next_attempt)] = rows(storage, f"SELECT status, next_attempt_at FROM alerts WHERE id = '{alert}'")
    assert report.sent == 0 and status == "pending" and len(slack.delivered) == 0, report.errors
    if waits_at_most is None:
        assert next_attempt is None
    else:
        wait = datetime.fromisoformat(next_attempt) - datetime.now(UTC)
        assert waits_at_most - timedelta(minutes=1) < wait <= waits_at_most


@pytest.mark.parametrize("webhook", [False, True], ids=["token", "webhook"])
def test_a_fractional_retry_after_is_waited_for_and_the_post_retried_in_the_run(
    storage: Storage, slack: FakeSlack, webhook: bool
) -> None:
    [alert] = queue(storage, 1)
    slack.script = [SlackReply(429, "ratelimited", headers={"Retry-After": "0.5"})]
    poster, rules = (webhook_poster(slack), webhook_policy(slack)) if webhook else (bot(slack), policy())

    report = deliver(storage, poster, rules)

    assert report.sent == 1 and status_of(storage, alert)[0] == "sent" and len(slack.delivered) == 1, report.errors


def webhook_poster(slack: FakeSlack) -> WebhookPoster:
    return WebhookPoster(timeout=1, max_retry_after_seconds=1, secrets=(slack.webhook_url,))


def webhook_policy(slack: FakeSlack) -> Policy:
    webhook = Destination(label="the default webhook", webhook_url=slack.webhook_url)
    return Policy(route=lambda match: webhook, seconds_between_messages=0, at_most_once=True)
