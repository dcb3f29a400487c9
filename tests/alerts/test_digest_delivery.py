"""Digest truth: an alert is marked sent only if it reached Slack whole, in a digest message or its
thread — every link intact exactly once, every rule and matched word shown, Slack's limits kept —
for in-run digests (bot token and webhook) and `newsbot digest`. Also: no bidi control from a feed
reaches Slack, so a headline cannot reorder the message around it."""

from __future__ import annotations

import io
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from newsbot.alerts.deliver import Policy, deliver
from newsbot.alerts.digest import plan_digests, post_digests
from newsbot.alerts.format import (
    BLOCK_LIMIT,
    DIGEST_MESSAGE_CHARS,
    HEADER_LIMIT,
    HIDDEN_CONTROLS,
    SECTION_LIMIT,
    TEXT_LIMIT,
    build_also_in,
    build_digest,
    build_message,
    plain_also_in,
    plain_digest,
    plain_text,
    safe_link_target,
)
from newsbot.alerts.routing import TERMINAL, Destination
from newsbot.alerts.sinks import MessageKind, Outgoing
from newsbot.alerts.slack import BotPoster, WebhookPoster
from newsbot.alerts.terminal import TerminalPoster
from newsbot.models import Alert, AlertKind, FetchResult, FetchStatus, Match, RuleHit, Severity, Story
from newsbot.storage.database import Storage
from newsbot.storage.records import alert_id
from tests.servers import FakeSlack, SlackReply

NEWS = Destination(label="#vendor-news", channel="#vendor-news")
WATCHLIST = "SMS and 2FA vendors"


def long_story(rng: random.Random, number: int) -> Story:
    """Titles and URLs long enough to break a naive digest, with characters Slack treats specially."""
    path = "/".join(f"seg{rng.randint(0, 10**6)}" for _ in range(rng.randint(20, 110)))
    title = f"Kaleyra & <partners> breach #{number}: " + " ".join(["leaked customer records"] * rng.randint(5, 25))
    return Story(
        id=f"story-{number}",
        url=f"https://news.example/{number}/{path}?q={number}|x<y>",
        title=title,
        summary="Customer records leaked.",
        text="",
        source=f"Wire & Co {number % 3}",
        published_at=datetime.now(UTC),
    )


def hits(number: int) -> tuple[RuleHit, ...]:
    return (
        RuleHit("vendor-breach", Severity.MEDIUM, ("Kaleyra", "leaked", f"term-{number}")),
        RuleHit(f"rule-{number % 7}", Severity.HIGH if number % 5 == 0 else Severity.LOW, (f"word-{number}",)),
    )


def alerts_by_hand(count: int, seed: int = 1) -> list[Alert]:
    rng = random.Random(seed)
    return [
        Alert(id=f"alert-{number}", story=long_story(rng, number), match=Match(WATCHLIST, hits(number)))
        for number in range(count)
    ]


def queue_long(storage: Storage, count: int) -> list[Story]:
    rng = random.Random(count)
    stories = [long_story(rng, number) for number in range(count)]
    now = datetime.now(UTC)
    storage.record_fetch(FetchResult("Wire", "https://news.example/feed", FetchStatus.OK), stories, now)
    for number, story in enumerate(stories):
        storage.record_matches(story, [Match(WATCHLIST, hits(number))], now)
    return stories


def texts(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for block in blocks:
        if "text" in block:
            yield block["type"], block["text"]["text"]
        for element in block.get("elements", []):
            yield block["type"], element["text"]


def assert_within_limits(payload: dict[str, Any]) -> None:
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header" and len(blocks[0]["text"]["text"]) <= HEADER_LIMIT
    assert len(blocks) <= BLOCK_LIMIT and len(payload["text"]) <= TEXT_LIMIT
    sections = [text for kind, text in texts(blocks) if kind == "section"]
    assert all(len(text) <= SECTION_LIMIT for text in sections)
    assert sum(map(len, sections)) <= DIGEST_MESSAGE_CHARS


def links_in(blocks: list[dict[str, Any]], stories: list[Story]) -> Counter[str]:
    """How often each story's link appears intact (`<target|label>` or `<target>`) in the blocks."""
    everything = "\n".join(text for _, text in texts(blocks))
    return Counter(
        {
            story.id: len(re.findall(re.escape(f"<{safe_link_target(story.url)}") + "[|>]", everything))
            for story in stories
        }
    )


def digest_messages(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack.delivered if (m.get("metadata") or {}).get("event_payload", {}).get("kind") == "digest"]


@pytest.mark.parametrize("count", [29, 300])
def test_every_alert_is_whole_in_exactly_one_message_within_slacks_limits(count: int) -> None:
    alerts = alerts_by_hand(count)
    stories = [alert.story for alert in alerts]

    messages = build_digest(f"newsbot: {count} new alerts for #vendor-news", alerts)

    listed: list[str] = []
    for message in messages:
        assert_within_limits(message.payload)
        found = links_in(message.payload["blocks"], stories)
        assert {story for story, times in found.items() if times} == {
            alert.story.id for alert in alerts if alert.id in message.alert_ids
        }, "a message's metadata names exactly the alerts it shows"
        assert set(found.values()) <= {0, 1}
        listed += message.alert_ids
    assert sorted(listed) == sorted(alert.id for alert in alerts), "every alert once, none left out"
    assert len(messages) > 1 and messages[-1].payload["blocks"][0]["text"]["text"].endswith(
        f"({len(messages)}/{len(messages)})"
    )
    everything = json.dumps([message.payload for message in messages])
    for alert in alerts:  # the rules and matched words too: a webhook digest has no thread to hold them
        for hit in alert.match.rules:
            assert f"{hit.rule} ({hit.severity.value})" in everything
        assert all(term in everything for term in alert.match.terms)


def test_an_in_run_digest_marks_sent_exactly_what_slack_received(storage: Storage, slack: FakeSlack) -> None:
    stories = queue_long(storage, 29)
    poster = BotPoster(token=slack.token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=1)

    report = deliver(storage, poster, Policy(route=lambda match: NEWS, seconds_between_messages=0, digest_over=20))

    digests = digest_messages(slack)
    in_digests = Counter(alert for m in digests for alert in m["metadata"]["event_payload"]["alert_ids"])
    assert set(in_digests.values()) == {1} and len(in_digests) == 29
    assert report.sent == 29 and report.digest_messages == len(digests) >= 2
    assert sum(links_in(m["blocks"], stories).total() for m in digests) == 29
    assert set(links_in([b for m in digests for b in m["blocks"]], stories).values()) == {1}
    with storage.db.conn as connection:
        sent = dict(connection.execute("SELECT id, slack_ts FROM alerts WHERE status = 'sent'").fetchall())
    assert sent == {alert: m["ts"] for m in digests for alert in m["metadata"]["event_payload"]["alert_ids"]}
    details = [m for m in slack.delivered if m["metadata"]["event_payload"]["kind"] == "detail"]
    assert len(details) == 29 and {m["thread_ts"] for m in details} == {m["ts"] for m in digests}


def detail_messages(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack.delivered if (m.get("metadata") or {}).get("event_payload", {}).get("kind") == "detail"]


def test_a_digests_full_messages_cut_short_are_posted_by_the_next_pass_each_once(
    storage: Storage, slack: FakeSlack
) -> None:
    """The run's time ran out five full messages into the digest's thread: they were never posted, and
    a digest of thousands (after an outage) once had 86 of its 3,000 alerts in full, buttons and all."""
    queue_long(storage, 29)
    poster = BotPoster(token=slack.token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=1)
    rules = Policy(route=lambda match: NEWS, seconds_between_messages=0, digest_over=20)

    first = deliver(storage, poster, rules, should_stop=lambda: len(detail_messages(slack)) >= 5)
    after_first = len(detail_messages(slack))
    second = deliver(storage, poster, rules)
    third = deliver(storage, poster, rules)

    assert first.stopped and first.sent == 29 and after_first == 5
    assert second.sent == 0 and third.sent == 0 and len(digest_messages(slack)) == first.digest_messages
    posted = Counter(alert for m in detail_messages(slack) for alert in m["metadata"]["event_payload"]["alert_ids"])
    with storage.db.conn as connection:
        alerts = [alert for (alert,) in connection.execute("SELECT id FROM alerts")]
        owed = connection.execute("SELECT count(*) FROM alerts WHERE detail_due = 1").fetchone()[0]
    assert posted == dict.fromkeys(alerts, 1) and owed == 0, "every alert in full once, in the digest's thread"
    assert {m["thread_ts"] for m in detail_messages(slack)} <= {m["ts"] for m in digest_messages(slack)}


def test_a_full_message_slack_refused_is_owed_again_and_one_whose_answer_was_lost_is_not(
    storage: Storage, slack: FakeSlack
) -> None:
    queue_long(storage, 25)
    poster = BotPoster(token=slack.token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=1)
    rules = Policy(route=lambda match: NEWS, seconds_between_messages=0, digest_over=20)
    digested = deliver(storage, poster, rules, should_stop=lambda: not storage.due_alerts(datetime.now(UTC)))
    refused = [SlackReply(500, "service_unavailable")] * 3  # Slack's own 500, retried twice, then a refusal
    slack.script = [SlackReply(), *refused]
    deliver(storage, poster, rules)
    after_refusal = len(detail_messages(slack))
    slack.script = [SlackReply(misbehave="reset")]  # the refused one again: Slack takes it, the answer is lost
    deliver(storage, poster, rules)
    after_loss = len(detail_messages(slack))
    deliver(storage, poster, rules)

    posted = Counter(alert for m in detail_messages(slack) for alert in m["metadata"]["event_payload"]["alert_ids"])
    assert digested.sent == 25 and (after_refusal, after_loss) == (1, 2)
    assert len(posted) == 25 and set(posted.values()) == {1}, posted  # the refused one once, the lost one once


def test_owed_full_messages_follow_the_digests_order_most_severe_first(storage: Storage, slack: FakeSlack) -> None:
    queue_long(storage, 29)
    poster = BotPoster(token=slack.token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=1)

    deliver(storage, poster, Policy(route=lambda match: NEWS, seconds_between_messages=0, digest_over=20))

    listed = [alert for m in digest_messages(slack) for alert in m["metadata"]["event_payload"]["alert_ids"]]
    detailed = [alert for m in detail_messages(slack) for alert in m["metadata"]["event_payload"]["alert_ids"]]
    assert detailed == listed


def test_the_terminal_owes_no_full_message_and_never_prints_one_a_digest_owes(
    storage: Storage, slack: FakeSlack
) -> None:
    """The same database run once without its slack: section must not dump a digest's owed messages
    into cron's mail, nor take them from the thread they are owed to."""
    queue_long(storage, 25)
    poster = BotPoster(token=slack.token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=1)
    rules = Policy(route=lambda match: NEWS, seconds_between_messages=0, digest_over=20)
    deliver(storage, poster, rules, should_stop=lambda: not storage.due_alerts(datetime.now(UTC)))
    printed = io.StringIO()

    deliver(storage, TerminalPoster(printed), Policy(route=lambda match: TERMINAL, seconds_between_messages=0))
    later = deliver(storage, poster, rules)

    assert printed.getvalue() == "" and len(detail_messages(slack)) == 25 and later.errors == []


def test_a_channel_refusing_full_messages_costs_one_attempt_a_pass_and_says_why(
    storage: Storage, slack: FakeSlack
) -> None:
    """An archived channel refuses every one: it once held up every other thread's full messages,
    each pass, and said nothing."""
    queue_long(storage, 25)
    poster = BotPoster(token=slack.token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=1)
    rules = Policy(route=lambda match: NEWS, seconds_between_messages=0, digest_over=20)
    deliver(storage, poster, rules, should_stop=lambda: not storage.due_alerts(datetime.now(UTC)))
    posts_before = len(slack.requests_to("/api/chat.postMessage"))
    slack.fail_always = SlackReply(400, "is_archived")

    refused = deliver(storage, poster, rules)

    assert len(slack.requests_to("/api/chat.postMessage")) == posts_before + 1
    assert [error for error in refused.errors if "a digest's full message" in error] == [refused.errors[0]]
    with storage.db.conn as connection:
        assert connection.execute("SELECT count(*) FROM alerts WHERE detail_due = 1").fetchone()[0] == 25


def test_a_full_message_owed_without_a_thread_to_post_it_in_is_let_go(storage: Storage, slack: FakeSlack) -> None:
    """Owed, but its alert holds no channel or thread (delivered before the config named a token):
    nothing can be posted, so nothing stays owed to cost a look every pass."""
    queue_long(storage, 1)
    [alert] = [due.id for due in storage.due_alerts(datetime.now(UTC))]
    storage.mark_sent([alert], datetime.now(UTC), None, None, digest=True, detail_due=True)
    poster = BotPoster(token=slack.token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=1)

    report = deliver(storage, poster, Policy(route=lambda match: NEWS, seconds_between_messages=0))

    assert report.errors == [] and detail_messages(slack) == [] and storage.due_details(10) == []


def test_a_digest_cut_short_by_slack_marks_sent_only_the_messages_that_arrived(
    storage: Storage, slack: FakeSlack
) -> None:
    stories = queue_long(storage, 300)
    poster = BotPoster(token=slack.token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=1)
    rules = Policy(route=lambda match: NEWS, seconds_between_messages=0, digest_over=20)
    slack.script = [SlackReply(), SlackReply(), *[SlackReply(500, "service_unavailable")] * 3]  # the third part fails

    first = deliver(storage, poster, rules)
    arrived = {alert for m in digest_messages(slack) for alert in m["metadata"]["event_payload"]["alert_ids"]}
    with storage.db.conn as connection:
        sent_then = {row[0] for row in connection.execute("SELECT id FROM alerts WHERE status = 'sent'")}
    second = deliver(storage, poster, rules)

    assert first.digest_messages == 2 and "service_unavailable" in first.errors[0]
    assert sent_then == arrived and 0 < len(arrived) < 300
    everywhere = Counter(alert for m in digest_messages(slack) for alert in m["metadata"]["event_payload"]["alert_ids"])
    assert second.sent == 300 - len(arrived)
    assert len(everywhere) == 300 and set(everywhere.values()) == {1}
    assert set(links_in([b for m in digest_messages(slack) for b in m["blocks"]], stories).values()) == {1}
    with storage.db.conn as connection:
        assert {row[0] for row in connection.execute("SELECT DISTINCT status FROM alerts")} == {"sent"}


def test_a_webhook_digest_carries_every_alerts_rules_and_words_over_several_messages(
    storage: Storage, slack: FakeSlack
) -> None:
    stories = queue_long(storage, 300)
    webhook = Destination(label="the default webhook", webhook_url=slack.webhook_url)
    poster = WebhookPoster(timeout=1, max_retry_after_seconds=1, secrets=(slack.webhook_url,))

    report = deliver(storage, poster, Policy(route=lambda match: webhook, seconds_between_messages=0, digest_over=20))

    messages = slack.delivered
    assert len(messages) == report.digest_messages > 1 and report.sent == 300
    for message in messages:
        assert_within_limits(message)
    lines = [line for m in messages for _, text in texts(m["blocks"]) for line in text.split("\n")]
    for number, story in enumerate(stories):  # under its link, the rules and matched words
        [at] = [index for index, line in enumerate(lines) if f"<{safe_link_target(story.url)}|" in line]
        facts = lines[at + 1]
        assert f"rule-{number % 7} (" in facts and "vendor-breach (medium)" in facts
        assert f"matched: Kaleyra, leaked, term-{number}, word-{number}; rules:" in facts
    assert set(links_in([b for m in messages for b in m["blocks"]], stories).values()) == {1}
    with storage.db.conn as connection:
        assert {row[0] for row in connection.execute("SELECT DISTINCT status FROM alerts")} == {"sent"}


def test_newsbot_digest_lists_every_alert_whole_without_claiming_to_deliver_them(slack: FakeSlack) -> None:
    alerts = alerts_by_hand(300, seed=2)
    poster = BotPoster(token=slack.token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=1)

    [(watchlist, result)] = post_digests(
        plan_digests(alerts, lambda match: NEWS, timedelta(hours=24)), poster, seconds_between_messages=0
    )

    assert watchlist == WATCHLIST and result.ok
    assert len(slack.delivered) > 1
    for message in slack.delivered:
        assert_within_limits(message)
        assert message["metadata"]["event_payload"]["alert_ids"] == []  # a summary, not a delivery
    found = links_in([b for m in slack.delivered for b in m["blocks"]], [alert.story for alert in alerts])
    assert set(found.values()) == {1}


# --------------------------------------------------------------------------------------------
# A digest is no story's thread
# --------------------------------------------------------------------------------------------

SECOND, THIRD = "Signalling", "Carrier fraud"


def queue_also(storage: Storage, story: Story, watchlist: str, follows: str | None = None) -> str:
    """`story` matched by another watchlist (or, with `follows`, a copy: an "also in" of that alert)."""
    hit = RuleHit("vendor-breach", Severity.MEDIUM, ("Kaleyra",))
    storage.record_fetch(FetchResult(story.source, "https://news.example/feed", FetchStatus.OK), [story], now())
    kinds: dict[str, tuple[AlertKind, str | None]] = {watchlist: (AlertKind.ALSO_IN, follows)} if follows else {}
    storage.record_matches(story, [Match(watchlist, (hit,))], now(), kinds)
    return alert_id(story.id, watchlist)


def now() -> datetime:
    return datetime.now(UTC)


def digested_then_crashed(storage: Storage, poster: BotPoster) -> None:
    """What a SIGKILL between Slack taking a digest and its record leaves: found by the next look-up."""
    due = storage.due_alerts(now())
    [part] = build_digest("newsbot: 3 new alerts", due)
    storage.start_attempt(part.alert_ids, NEWS.label, now())
    assert poster.post(NEWS, Outgoing(part.payload, part.plain, part.alert_ids, kind=MessageKind.DIGEST)).ok


@pytest.mark.parametrize("how", ["delivered", "found after a crash"])
def test_a_later_alert_about_a_digested_story_is_its_own_message_not_a_reply_in_the_digest(
    storage: Storage, slack: FakeSlack, how: str
) -> None:
    """The digest's thread holds the details of every story it lists: a second watchlist's alert
    about one of them is a message of its own (and the thread for the next one about that story);
    a copy of a digested alert ("also in") goes in the digest's thread, beside the alert's detail."""
    stories = queue_long(storage, 3)
    poster = BotPoster(token=slack.token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=1)
    rules = Policy(route=lambda match: NEWS, seconds_between_messages=0, digest_over=2)
    if how == "delivered":
        deliver(storage, poster, rules)
    else:
        digested_then_crashed(storage, poster)
    [digest] = digest_messages(slack)
    second = queue_also(storage, stories[0], SECOND)
    copy = Story("copy", "https://daily.example/copy", "Kaleyra leak, again", "", "", "Daily", now())
    also_in = queue_also(storage, copy, WATCHLIST, follows=alert_id(stories[0].id, WATCHLIST))

    deliver(storage, poster, rules)
    third = queue_also(storage, stories[0], THIRD)
    deliver(storage, poster, rules)

    by_alert = {m["metadata"]["event_payload"]["alert_ids"][0]: m for m in slack.delivered if m.get("metadata")}
    assert len(by_alert[second]["blocks"]) > 2 and "thread_ts" not in by_alert[second], "not in the digest's thread"
    assert by_alert[third]["thread_ts"] == by_alert[second]["ts"]
    assert by_alert[also_in]["thread_ts"] == digest["ts"] and "Also in Daily" in by_alert[also_in]["text"]
    with storage.db.conn as connection:
        assert {row[0] for row in connection.execute("SELECT DISTINCT status FROM alerts")} == {"sent"}


# --------------------------------------------------------------------------------------------
# Bidi controls never reach Slack
# --------------------------------------------------------------------------------------------

BIDI = ["\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
BIDI.append("\u061c")


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


# ESC (a terminal's escape sequences), BEL, NUL, CR, DEL and CSI, the C1 form of ESC [.
TERMINAL_CONTROLS = ["\x1b", "\x07", "\x00", "\r", "\x7f", "\x9b"]


@pytest.mark.parametrize("control", BIDI + TERMINAL_CONTROLS, ids=[f"U+{ord(c):04X}" for c in BIDI + TERMINAL_CONTROLS])
def test_no_control_character_from_a_feed_reaches_slack_or_the_terminal(control: str) -> None:
    """A headline "…\u202egnp.exe" would show as "…exe.png" and turn the rest of the line around, and
    "\x1b]0;pwned\x07" would retitle the window of whoever reads cron's mail in a terminal."""
    hostile = f"Kaleyra {control}hcaerb{control} & more"
    story = Story(
        id="s",
        url=f"https://news.example/{control}evil",
        title=hostile,
        summary=hostile,
        text=hostile,
        source=f"Wire{control}",
        published_at=datetime.now(UTC),
    )
    alert = Alert(
        id="a",
        story=story,
        match=Match(
            WATCHLIST, (RuleHit("vendor-breach", Severity.MEDIUM, (f"Kal{control}eyra",)),), ((hostile, True),)
        ),
        also_in=(f"Daily{control}",),
    )
    payloads = [build_message(alert), build_also_in(alert), *(m.payload for m in build_digest(hostile, [alert]))]
    # The terminal's renderings too: cron mails what a run without Slack prints.
    plain = [plain_text(alert), plain_also_in(alert), plain_digest(hostile, [alert])]

    for text in [*(text for payload in payloads for text in strings(payload)), *plain]:
        assert not HIDDEN_CONTROLS.search(text), text
    assert "Kaleyra hcaerb &amp; more" in build_message(alert)["text"]
    encoded = "https://news.example/" + "".join(f"%{b:02X}" for b in control.encode()) + "evil"
    assert encoded in json.dumps(payloads[0])
    assert all("Kaleyra hcaerb & more" in text and encoded in text for text in (plain[0], plain[2]))
    assert encoded in plain[1], "the same address, its control percent-encoded, not dropped"


def test_the_digest_ids_match_storage_alert_ids(storage: Storage) -> None:
    """The ids in a digest's metadata are the outbox's ids (what a look-back after a crash searches)."""
    stories = queue_long(storage, 3)
    due = storage.due_alerts(datetime.now(UTC))
    [message] = build_digest("t", due)
    assert set(message.alert_ids) == {alert_id(story.id, WATCHLIST) for story in stories}
