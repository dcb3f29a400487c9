"""Delivery's policy, fast: digests, failures, stops and look-ups, with the real outbox (a SQLite file)
and a FakePoster and FakeClock in place of Slack and time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from newsbot.alerts.deliver import Policy, deliver
from newsbot.alerts.routing import Destination
from newsbot.alerts.sinks import MessageKind, Outgoing
from newsbot.models import AlertStatus, FetchResult, FetchStatus, Match, RuleHit, Severity, Story
from newsbot.storage.database import Storage
from newsbot.storage.records import alert_id
from tests.fakeclock import FakeClock
from tests.fakeposter import FakePoster

NEWS = Destination(label="#vendor-news", channel="#vendor-news")
OPS = Destination(label="#ops", channel="#ops")


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    opened = Storage.open(tmp_path / "newsbot.db")
    yield opened
    opened.close()


def queue(storage: Storage, clock: FakeClock, count: int, watchlist: str = "Vendors") -> list[str]:
    stories = [
        Story(id=f"s{n}", url=f"https://wire.example/{n}", title=f"Story {n}", summary="", text="", source="Wire")
        for n in range(count)
    ]
    storage.record_fetch(FetchResult("Wire", "https://wire.example/feed", FetchStatus.OK), stories, clock.now())
    for story in stories:
        storage.record_matches(story, [Match(watchlist, (RuleHit("r", Severity.MEDIUM, ("Kaleyra",)),))], clock.now())
    return [alert_id(story.id, watchlist) for story in stories]


def statuses(storage: Storage, alerts: list[str]) -> set[str | None]:
    return {storage.alert_status(alert) for alert in alerts}


def test_more_alerts_than_digest_over_become_one_digest_listing_every_one(storage: Storage) -> None:
    clock, poster = FakeClock(), FakePoster()
    alerts = queue(storage, clock, 5)

    report = deliver(storage, poster, Policy(route=lambda match: NEWS, digest_over=3, clock=clock))

    digests = [m for m in poster.messages_to("#vendor-news") if m.kind is MessageKind.DIGEST]
    details = [m for m in poster.messages_to("#vendor-news") if m.kind is MessageKind.DETAIL]
    assert len(digests) == 1 and set(digests[0].alert_ids) == set(alerts)
    assert len(details) == 5 and all(detail.thread_ts for detail in details)
    assert report.sent == 5 and statuses(storage, alerts) == {AlertStatus.SENT}


def test_pacing_spaces_messages_to_one_channel_on_the_clock(storage: Storage) -> None:
    clock, poster = FakeClock(), FakePoster()
    queue(storage, clock, 3)

    deliver(storage, poster, Policy(route=lambda match: NEWS, seconds_between_messages=1.0, clock=clock))

    assert len(poster.posted) == 3 and clock.slept == [1.0, 1.0]


def test_a_failing_destination_keeps_its_alerts_and_not_another_s(storage: Storage) -> None:
    clock, poster = FakeClock(), FakePoster()
    poster.failing["#ops"] = "channel_not_found"
    to_ops = queue(storage, clock, 2, watchlist="Ops")
    to_news = [alert_id("s0", "Vendors"), alert_id("s1", "Vendors")]
    for story in ("s0", "s1"):
        stored = storage.story_by_url(f"https://wire.example/{story[1]}")
        assert stored is not None
        storage.record_matches(stored, [Match("Vendors", (RuleHit("r", Severity.LOW, ("x",)),))], clock.now())

    route = {"Ops": OPS, "Vendors": NEWS}
    report = deliver(storage, poster, Policy(route=lambda match: route[match.watchlist], clock=clock))

    assert statuses(storage, to_ops) == {AlertStatus.PENDING} and statuses(storage, to_news) == {AlertStatus.SENT}
    assert report.errors and "channel_not_found" in report.errors[0]
    assert len(poster.messages_to("#ops")) == 0 and len(poster.messages_to("#vendor-news")) == 2


def test_should_stop_starts_no_new_message(storage: Storage) -> None:
    clock, poster = FakeClock(), FakePoster()
    alerts = queue(storage, clock, 3)

    report = deliver(
        storage, poster, Policy(route=lambda match: NEWS, clock=clock), should_stop=lambda: bool(poster.posted)
    )

    assert report.stopped and len(poster.posted) == 1
    assert sorted(map(str, statuses(storage, alerts))) == [AlertStatus.PENDING, AlertStatus.SENT]


def test_an_alert_in_flight_that_slack_has_is_found_not_posted_again(storage: Storage) -> None:
    clock, poster = FakeClock(), FakePoster()
    [alert] = queue(storage, clock, 1)
    storage.start_attempt([alert], NEWS.label, clock.now())  # a run died after posting, before recording
    poster.post(NEWS, Outgoing({}, "", (alert,)))
    clock.advance(timedelta(minutes=10))

    deliver(storage, poster, Policy(route=lambda match: NEWS, clock=clock))

    assert len(poster.posted) == 1 and storage.alert_status(alert) == AlertStatus.SENT
