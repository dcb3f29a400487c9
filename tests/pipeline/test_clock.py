"""Time comes from one injectable clock: delivery's pacing and its "delivery is failing" notice, and
the run's budget, follow the clock they are given (tests/fakeclock.py), not the system's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsbot.alerts.deliver import Pacer, Policy, deliver
from newsbot.alerts.routing import Destination
from newsbot.alerts.slack import BotPoster
from newsbot.models import FetchResult, FetchStatus, Match, RuleHit, Severity, Story
from newsbot.pipeline.budget import RunBudget
from newsbot.storage.database import Storage
from tests.fakeclock import FakeClock
from tests.servers import FakeSlack

NEWS = Destination(label="#vendor-news", channel="#vendor-news")
MISSING = Destination(label="#missing", channel="#missing")


def queue(storage: Storage, name: str, severity: Severity, when: datetime) -> None:
    story = Story(id=name, url=f"https://wire.example/{name}", title=name, summary="", text="", source="Wire")
    storage.record_fetch(FetchResult("Wire", "https://wire.example/feed", FetchStatus.OK), [story], when)
    storage.record_matches(story, [Match("Vendors", (RuleHit("breach", severity, ("Kaleyra",)),))], when)


def test_pacing_sleeps_on_the_clock_it_is_given() -> None:
    clock = FakeClock()
    pacer = Pacer(1.5, clock)

    for destination in ("#a", "#a", "#b", "#a"):
        pacer.wait(destination)

    assert clock.slept == [1.5, 1.5]  # each later #a waits the interval; #b's first message does not wait
    pacer.wait("#b")  # #b's last message was 1.5 s of clock ago: no wait
    assert clock.slept == [1.5, 1.5, 0.0]


def test_delivery_failing_is_announced_once_hours_later_without_waiting_hours(
    storage: Storage, slack: FakeSlack
) -> None:
    clock = FakeClock()
    poster = BotPoster(token=slack.token, api_url=slack.api_url, timeout=1, max_retry_after_seconds=1)
    policy = Policy(
        route=lambda match: MISSING if match.severity is Severity.HIGH else NEWS,
        seconds_between_messages=1.0,
        failing_after=timedelta(hours=6),
        notices_to=NEWS,
        clock=clock,
    )
    queue(storage, "stuck", Severity.HIGH, clock.now())
    first = deliver(storage, poster, policy)
    clock.advance(timedelta(hours=7))
    queue(storage, "fine", Severity.LOW, clock.now())
    answered = deliver(storage, poster, policy)
    clock.advance(timedelta(hours=1))
    again = deliver(storage, poster, policy)

    notices = [message for message in slack.in_channel("vendor-news") if "delivery is failing" in message["text"]]
    assert first.errors and "channel_not_found" in first.errors[0]
    assert answered.sent == 1 and again.sent == 0
    assert len(notices) == 1 and "channel_not_found" in notices[0]["text"]
    assert storage.waiting(queued_before=clock.now() - timedelta(hours=6))[0].created_at < clock.now()


def test_the_budget_is_spent_on_its_clock() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    budget = RunBudget(300, clock)

    assert budget.stopped is None and budget.remaining() == 300
    clock.advance(timedelta(seconds=299))
    assert budget.stopped is None
    clock.advance(timedelta(seconds=1))
    assert budget.stopped == "the run's budget of 300 s (fetch.run_budget_seconds) was spent"
