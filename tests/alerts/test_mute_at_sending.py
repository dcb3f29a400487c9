"""A mute clicked while a delivery pass sends, in-process against a real outbox (a SQLite file): the
click lands the moment the pass's first message is in Slack, through the store's own record_click,
as `newsbot serve` stores it. What is still waiting, whichever way it leaves, is muted:

- a digest (more than `digest_over` alerts for one place) was asked about mutes only when the pass
  began, and 29 alerts of the muted vendor went out in it;
- a copy whose first alert the mute took was recorded as sent (its parent in no thread), counted
  among the alerts sent, and led the daily digest's entry for the muted story.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsbot.alerts.deliver import Policy, deliver
from newsbot.alerts.routing import Destination
from newsbot.alerts.sinks import Outgoing, PostResult
from newsbot.models import AlertKind, FeedbackAction, FetchResult, FetchStatus, Match, RuleHit, Severity, Story
from newsbot.storage.database import Storage
from newsbot.storage.feedback import Click, MuteTarget
from newsbot.storage.records import alert_id
from tests.fakeposter import FakePoster

ALONE = Destination(label="#alone", channel="C0ALONE")
BUSY = Destination(label="#busy", channel="C0BUSY")
WATCHLIST = "SMS and 2FA vendors"


class ClickAfterFirstPost(FakePoster):
    """Slack, with an analyst who mutes `vendor` as soon as the first message appears."""

    def __init__(self, storage: Storage, vendor: str) -> None:
        super().__init__()
        self.storage, self.vendor = storage, vendor

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        result = super().post(destination, message)
        if len(self.posted) == 1:
            now = datetime.now(UTC)
            click = Click(message.alert_ids[0], "U0ANALYST1", "alice", FeedbackAction.MUTE_7D, now)
            self.storage.record_click(click, [MuteTarget(WATCHLIST, vendor=self.vendor)], now + timedelta(days=7))
        return result


def story(number: int) -> Story:
    return Story(
        f"s{number}", f"https://news.example.com/{number}", f"Story {number}", "", "", "Wire", datetime.now(UTC)
    )


def match(vendor: str) -> Match:
    return Match(WATCHLIST, (RuleHit("vendor-breach", Severity.MEDIUM, (vendor, "breach")),), vendors=(vendor,))


def stored(tmp_path: Path, count: int) -> tuple[Storage, list[Story]]:
    storage = Storage.open(tmp_path / "newsbot.db")
    stories = [story(number) for number in range(count)]
    storage.record_fetch(
        FetchResult("Wire", "https://wire.example/feed.xml", FetchStatus.OK), stories, datetime.now(UTC)
    )
    return storage, stories


def statuses(storage: Storage, stories: list[Story]) -> list[str]:
    return [
        storage.db.execute("SELECT status FROM alerts WHERE id = ?", [alert_id(item.id, WATCHLIST)]).fetchone()[0]
        for item in stories
    ]


def test_a_digest_is_asked_about_mutes_when_it_goes(tmp_path: Path) -> None:
    storage, stories = stored(tmp_path, 30)
    now = datetime.now(UTC)
    storage.record_matches(stories[0], [match("Kaleyra")], now)  # goes first, alone
    for item in stories[1:]:
        storage.record_matches(item, [match("Mitto AG")], now)  # 29 for one place: a digest
    poster = ClickAfterFirstPost(storage, "Mitto AG")

    deliver(storage, poster, Policy(route=lambda m: ALONE if "Kaleyra" in m.vendors else BUSY, digest_over=20))

    assert len(poster.posted) == 1  # the Kaleyra alert; no digest
    assert statuses(storage, stories) == ["sent"] + ["muted"] * 29


def test_a_copy_of_a_story_muted_at_sending_is_muted_too(tmp_path: Path) -> None:
    storage, (other, first, copy) = stored(tmp_path, 3)
    now = datetime.now(UTC)
    with storage.transaction():
        storage.db.execute("UPDATE stories SET cluster_id = 's1' WHERE id IN ('s1', 's2')")
    storage.record_matches(other, [match("Kaleyra")], now)
    storage.record_matches(first, [match("Mitto AG")], now)
    storage.record_matches(copy, [match("Mitto AG")], now, {WATCHLIST: (AlertKind.ALSO_IN, alert_id("s1", WATCHLIST))})
    poster = ClickAfterFirstPost(storage, "Mitto AG")

    deliver(storage, poster, Policy(route=lambda m: ALONE, seconds_between_messages=0))

    assert len(poster.posted) == 1
    assert statuses(storage, [other, first, copy]) == ["sent", "muted", "muted"]


def test_an_alert_whose_lost_attempt_is_not_in_slack_is_held_by_a_mute_clicked_meanwhile(tmp_path: Path) -> None:
    """Slack answered 500 (or nothing) to an attempt: in flight. The vendor was muted during the outage.
    The next pass looks the attempt up, does not find it, and the alert would go out as a new post:
    that post is muted like any waiting alert. One found in Slack is recorded sent, mute or not."""
    storage, (lost, delivered, fresh) = stored(tmp_path, 3)
    now = datetime.now(UTC)
    for item in (lost, delivered, fresh):
        storage.record_matches(item, [match("Mitto AG")], now - timedelta(minutes=5))
    two_minutes_ago = now - timedelta(minutes=2)
    storage.start_attempt([alert_id("s0", WATCHLIST), alert_id("s1", WATCHLIST)], ALONE.label, two_minutes_ago)
    storage.start_attempt([alert_id("s2", WATCHLIST)], ALONE.label, now)  # Slack may still be storing it
    poster = FakePoster()
    in_slack = Outgoing({}, "", (alert_id("s1", WATCHLIST),))
    poster.posted.append((ALONE, in_slack, "1.000100"))
    click = Click(alert_id("s1", WATCHLIST), "U0ANALYST1", "alice", FeedbackAction.MUTE_7D, now)
    storage.record_click(click, [MuteTarget(WATCHLIST, vendor="Mitto AG")], now + timedelta(days=7))

    deliver(storage, poster, Policy(route=lambda m: ALONE, seconds_between_messages=0))

    assert len(poster.posted) == 1, "nothing new was posted"
    assert statuses(storage, [lost, delivered, fresh]) == ["muted", "sent", "sending"]


def test_an_alert_whose_lost_attempt_is_not_in_slack_is_sent_again_without_a_mute(tmp_path: Path) -> None:
    storage, (lost,) = stored(tmp_path, 1)
    now = datetime.now(UTC)
    storage.record_matches(lost, [match("Mitto AG")], now - timedelta(minutes=5))
    storage.start_attempt([alert_id("s0", WATCHLIST)], ALONE.label, now - timedelta(minutes=2))
    poster = FakePoster()

    deliver(storage, poster, Policy(route=lambda m: ALONE, seconds_between_messages=0))

    assert [message.alert_ids for _, message, _ in poster.posted] == [(alert_id("s0", WATCHLIST),)]
    assert statuses(storage, [lost]) == ["sent"]
