"""Delivery's policy, fast: digests, pacing, failures, stops and look-ups with a FakePoster and a
FakeClock in place of Slack and time. Each test runs on the real outbox (a SQLite file) and on the
in-memory FakeOutbox, which holds the fake to what newsbot.storage does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from newsbot.alerts.deliver import Outbox, Policy, deliver
from newsbot.alerts.routing import Destination
from newsbot.alerts.sinks import MessageKind, Outgoing, PostResult
from newsbot.models import Alert, AlertKind, AlertStatus, FetchResult, FetchStatus, Match, RuleHit, Severity, Story
from newsbot.storage.database import Storage
from newsbot.storage.records import alert_id
from tests.fakeclock import FakeClock
from tests.fakeoutbox import FakeOutbox
from tests.fakeposter import FakePoster

NEWS = Destination(label="#vendor-news", channel="#vendor-news")
OPS = Destination(label="#ops", channel="#ops")


@pytest.fixture(params=["sqlite", "memory"])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage | FakeOutbox]:
    if request.param == "memory":
        yield FakeOutbox()
        return
    opened = Storage.open(tmp_path / "newsbot.db")
    yield opened
    opened.close()


def queue(outbox: Storage | FakeOutbox, clock: FakeClock, count: int, *watchlists: str) -> list[str]:
    """`count` stories, each matched by every one of `watchlists`; their alert ids, story by story."""
    stories = [
        Story(id=f"s{n}", url=f"https://wire.example/{n}", title=f"Story {n}", summary="", text="", source="Wire")
        for n in range(count)
    ]
    matches = [Match(watchlist, (RuleHit("r", Severity.MEDIUM, ("Kaleyra",)),)) for watchlist in watchlists]
    if isinstance(outbox, Storage):
        outbox.record_fetch(FetchResult("Wire", "https://wire.example/feed", FetchStatus.OK), stories, clock.now())
    for story in stories:
        if isinstance(outbox, Storage):
            outbox.record_matches(story, matches, clock.now())
        else:
            for match in matches:
                outbox.add(Alert(alert_id(story.id, match.watchlist), story, match), clock.now())
    return [alert_id(story.id, match.watchlist) for story in stories for match in matches]


def statuses(outbox: Outbox, alerts: list[str]) -> list[str | None]:
    return [outbox.alert_status(alert) for alert in alerts]


def test_more_alerts_than_digest_over_become_one_digest_listing_every_one(outbox: Storage | FakeOutbox) -> None:
    clock, poster = FakeClock(), FakePoster()
    alerts = queue(outbox, clock, 5, "Vendors")

    report = deliver(outbox, poster, Policy(route=lambda match: NEWS, digest_over=3, clock=clock))

    digests = [m for m in poster.messages_to("#vendor-news") if m.kind is MessageKind.DIGEST]
    details = [m for m in poster.messages_to("#vendor-news") if m.kind is MessageKind.DETAIL]
    assert len(digests) == 1 and set(digests[0].alert_ids) == set(alerts)
    assert len(details) == 5 and all(detail.thread_ts for detail in details)
    assert report.sent == 5 and statuses(outbox, alerts) == [AlertStatus.SENT] * 5


def test_pacing_spaces_messages_to_one_channel_on_the_clock(outbox: Storage | FakeOutbox) -> None:
    clock, poster = FakeClock(), FakePoster()
    queue(outbox, clock, 3, "Vendors")

    deliver(outbox, poster, Policy(route=lambda match: NEWS, seconds_between_messages=1.0, clock=clock))

    assert len(poster.posted) == 3 and clock.slept == [1.0, 1.0]


def test_a_failing_destination_keeps_its_alerts_and_not_another_s(outbox: Storage | FakeOutbox) -> None:
    clock, poster = FakeClock(), FakePoster()
    poster.failing["#ops"] = "channel_not_found"
    alerts = queue(outbox, clock, 2, "Ops", "Vendors")  # s0/Ops, s0/Vendors, s1/Ops, s1/Vendors

    route = {"Ops": OPS, "Vendors": NEWS}
    report = deliver(outbox, poster, Policy(route=lambda match: route[match.watchlist], clock=clock))

    assert statuses(outbox, alerts) == [AlertStatus.PENDING, AlertStatus.SENT] * 2
    assert report.errors and "channel_not_found" in report.errors[0]
    assert len(poster.messages_to("#ops")) == 0 and len(poster.messages_to("#vendor-news")) == 2


def test_should_stop_starts_no_new_message(outbox: Storage | FakeOutbox) -> None:
    clock, poster = FakeClock(), FakePoster()
    alerts = queue(outbox, clock, 3, "Vendors")
    policy = Policy(route=lambda match: NEWS, clock=clock)

    report = deliver(outbox, poster, policy, should_stop=lambda: bool(poster.posted))

    assert report.stopped and len(poster.posted) == 1
    assert sorted(map(str, statuses(outbox, alerts))) == [AlertStatus.PENDING, AlertStatus.PENDING, AlertStatus.SENT]


def test_an_alert_in_flight_that_slack_has_is_found_not_posted_again(outbox: Storage | FakeOutbox) -> None:
    clock, poster = FakeClock(), FakePoster()
    [alert] = queue(outbox, clock, 1, "Vendors")
    outbox.start_attempt([alert], NEWS.label, clock.now())  # a run died after posting, before recording
    poster.post(NEWS, Outgoing({}, "", (alert,)))
    clock.advance(timedelta(minutes=10))

    deliver(outbox, poster, Policy(route=lambda match: NEWS, clock=clock))

    assert len(poster.posted) == 1 and outbox.alert_status(alert) == AlertStatus.SENT


@pytest.mark.parametrize("later", [Severity.HIGH, Severity.LOW])
def test_a_later_alert_about_the_story_replies_only_under_one_at_least_as_severe(
    outbox: Storage | FakeOutbox, later: Severity
) -> None:
    """A reply notifies nobody: a HIGH alert queued by a later pass went out only in the thread of the
    story's MEDIUM alert of another watchlist. A less severe one still replies there."""
    clock, poster = FakeClock(), FakePoster()
    [first] = queue(outbox, clock, 1, "Vendors")
    deliver(outbox, poster, Policy(route=lambda match: NEWS, clock=clock))
    clock.advance(timedelta(minutes=10))
    story = Story(id="s0", url="https://wire.example/0", title="Story 0", summary="", text="", source="Wire")
    match = Match("Threats", (RuleHit("r", later, ("Kaleyra",)),))
    if isinstance(outbox, Storage):
        outbox.record_matches(story, [match], clock.now())
    else:
        outbox.add(Alert(alert_id(story.id, match.watchlist), story, match), clock.now())

    deliver(outbox, poster, Policy(route=lambda match: NEWS, clock=clock))

    [(_, top, ts), (_, second, _)] = poster.posted
    assert top.alert_ids == (first,) and second.alert_ids == (alert_id("s0", "Threats"),)
    assert second.thread_ts == (None if later is Severity.HIGH else ts)


def queue_copy(outbox: Storage | FakeOutbox, clock: FakeClock, *watchlists: str) -> list[str]:
    """A copy of story s0 (as `queue` stores it), an "also in" for each watchlist's alert of s0."""
    copy = Story(id="c0", url="https://daily.example/0", title="Copy 0", summary="", text="", source="Daily")
    matches = [Match(watchlist, (RuleHit("r", Severity.MEDIUM, ("Kaleyra",)),)) for watchlist in watchlists]
    follows = {watchlist: (AlertKind.ALSO_IN, alert_id("s0", watchlist)) for watchlist in watchlists}
    if isinstance(outbox, Storage):
        outbox.record_fetch(FetchResult("Daily", "https://daily.example/feed", FetchStatus.OK), [copy], clock.now())
        outbox.record_matches(copy, matches, clock.now(), follows)
    else:
        for match in matches:
            parent = follows[match.watchlist][1]
            outbox.add(
                Alert(alert_id("c0", match.watchlist), copy, match, kind=AlertKind.ALSO_IN, parent=parent), clock.now()
            )
    return [alert_id("c0", watchlist) for watchlist in watchlists]


def test_a_copy_two_watchlists_alerted_is_one_line_and_waits_for_a_line_still_in_flight(
    outbox: Storage | FakeOutbox,
) -> None:
    """Each watchlist queues its own "also in", and the second watchlist's alert is a reply in the
    first's thread: both lines went to that thread, word for word. Due together they are one line
    holding both ids; one left in flight by a crash holds the other back until its look-up decides."""
    clock, poster = FakeClock(), FakePoster()
    queue(outbox, clock, 1, "Vendors", "Signalling")
    deliver(outbox, poster, Policy(route=lambda match: NEWS, clock=clock))
    [(_, _, thread), _] = poster.posted
    clock.advance(timedelta(minutes=10))
    together = queue_copy(outbox, clock, "Vendors", "Signalling")

    deliver(outbox, poster, Policy(route=lambda match: NEWS, clock=clock))

    [line] = [message for _, message, _ in poster.posted if message.kind is MessageKind.ALSO_IN]
    assert set(line.alert_ids) == set(together) and line.thread_ts == thread
    assert statuses(outbox, together) == [AlertStatus.SENT, AlertStatus.SENT]


def test_a_copy_waits_while_another_watchlists_line_about_it_is_in_flight(outbox: Storage | FakeOutbox) -> None:
    clock, poster = FakeClock(), FakePoster()
    queue(outbox, clock, 1, "Vendors", "Signalling")
    deliver(outbox, poster, Policy(route=lambda match: NEWS, clock=clock))
    [(_, _, thread), _] = poster.posted
    clock.advance(timedelta(minutes=10))
    first, second = queue_copy(outbox, clock, "Vendors", "Signalling")
    outbox.start_attempt([first], NEWS.label, clock.now(), thread)  # killed while Slack took it, or not

    deliver(outbox, poster, Policy(route=lambda match: NEWS, clock=clock))

    assert [message for _, message, _ in poster.posted if message.kind is MessageKind.ALSO_IN] == []
    assert statuses(outbox, [first, second]) == [AlertStatus.SENDING, AlertStatus.PENDING]


def test_a_second_watchlist_s_alert_replies_in_the_first_alert_s_thread(outbox: Storage | FakeOutbox) -> None:
    clock, poster = FakeClock(), FakePoster()
    first, second = queue(outbox, clock, 1, "Vendors", "Signalling")

    deliver(outbox, poster, Policy(route=lambda match: NEWS, clock=clock))

    [(_, top, ts), (_, reply, _)] = poster.posted  # the outbox's order: queued first, then by id
    assert {*top.alert_ids, *reply.alert_ids} == {first, second}
    assert top.thread_ts is None and reply.thread_ts == ts
    assert statuses(outbox, [first, second]) == [AlertStatus.SENT, AlertStatus.SENT]


def test_an_alert_its_look_up_finds_delivered_long_ago_is_not_announced_as_late(outbox: Storage | FakeOutbox) -> None:
    """Slack took it, the run died before the answer was recorded, and the next run came hours later:
    the look-up found it, delivered on time, and a "delivery was failing … sent late" notice said
    otherwise."""
    clock, poster = FakeClock(), FakePoster()
    [alert] = queue(outbox, clock, 1, "Vendors")
    outbox.start_attempt([alert], NEWS.label, clock.now())
    poster.post(NEWS, Outgoing({}, "", (alert,)))  # Slack has it; the answer was lost with the run
    clock.advance(timedelta(hours=7))

    deliver(outbox, poster, Policy(route=lambda match: NEWS, notices_to=OPS, clock=clock))

    assert outbox.alert_status(alert) == AlertStatus.SENT
    assert poster.messages_to(OPS.label) == []


def test_a_refused_delivery_was_failing_notice_is_held_and_sent_by_a_later_pass(outbox: Storage | FakeOutbox) -> None:
    """Its late alerts went out in the pass that reached Slack again; the notice saying so was refused,
    and with nothing stuck any more no later pass had anything to announce: the channel never learnt."""
    clock, poster = FakeClock(), FakePoster()
    [alert] = queue(outbox, clock, 1, "Vendors")
    poster.failing = {NEWS.label: "channel_not_found"}
    deliver(outbox, poster, Policy(route=lambda match: NEWS, notices_to=OPS, clock=clock))
    clock.advance(timedelta(hours=7))
    poster.failing = {OPS.label: "invalid_auth"}

    refused = deliver(outbox, poster, Policy(route=lambda match: NEWS, notices_to=OPS, clock=clock))
    poster.failing = {}
    held = deliver(outbox, poster, Policy(route=lambda match: NEWS, notices_to=OPS, clock=clock))
    again = deliver(outbox, poster, Policy(route=lambda match: NEWS, notices_to=OPS, clock=clock))

    assert outbox.alert_status(alert) == AlertStatus.SENT
    assert "#ops: the delivery-failing notice: invalid_auth" in refused.errors
    [notice] = poster.messages_to(OPS.label)
    assert "delivery was failing: 1 alerts waited more than 6:00:00 and were sent late, at " in notice.plain
    assert held.errors == [] and again.errors == []


def test_an_alert_in_flight_its_look_up_finds_absent_and_resends_hours_later_is_announced_as_late(
    outbox: Storage | FakeOutbox,
) -> None:
    clock, poster = FakeClock(), FakePoster()
    [alert] = queue(outbox, clock, 1, "Vendors")
    outbox.start_attempt([alert], NEWS.label, clock.now())  # the run died; Slack never got it
    clock.advance(timedelta(hours=7))

    deliver(outbox, poster, Policy(route=lambda match: NEWS, notices_to=OPS, clock=clock))

    assert outbox.alert_status(alert) == AlertStatus.SENT
    [notice] = poster.messages_to(OPS.label)
    assert "were sent late" in notice.plain


def test_a_held_notice_sent_late_does_not_stand_for_a_later_episodes(outbox: Storage | FakeOutbox) -> None:
    """Posted late, the held notice's time was taken for the announcement of every episode before it:
    the next outage's late alerts were never announced."""
    clock, poster = FakeClock(), FakePoster()
    policy = Policy(route=lambda match: NEWS, notices_to=OPS, clock=clock)
    [first] = queue(outbox, clock, 1, "Vendors")
    poster.failing = {NEWS.label: "channel_not_found"}
    deliver(outbox, poster, policy)
    clock.advance(timedelta(hours=7))
    poster.failing = {OPS.label: "invalid_auth"}
    deliver(outbox, poster, policy)  # first sent late; its notice refused, held
    poster.failing = {NEWS.label: "channel_not_found"}
    [second] = queue_copy_free(outbox, clock)
    deliver(outbox, poster, policy)  # the held notice goes; the second alert fails
    clock.advance(timedelta(hours=7))
    poster.failing = {}

    deliver(outbox, poster, policy)

    assert statuses(outbox, [first, second]) == [AlertStatus.SENT, AlertStatus.SENT]
    notices = [message.plain for message in poster.messages_to(OPS.label)]
    assert len(notices) == 2 and all("were sent late, at " in notice for notice in notices)


def test_a_notice_whose_answer_was_lost_is_not_held_and_sent_again(outbox: Storage | FakeOutbox) -> None:
    clock, poster = FakeClock(), LosingAnswersTo(OPS.label)
    policy = Policy(route=lambda match: NEWS, notices_to=OPS, clock=clock)
    queue(outbox, clock, 1, "Vendors")
    poster.failing = {NEWS.label: "channel_not_found"}
    deliver(outbox, poster, policy)
    clock.advance(timedelta(hours=7))
    poster.failing = {}

    deliver(outbox, poster, policy)  # the alert goes; the notice reaches Slack, its answer is lost
    deliver(outbox, poster, policy)

    assert len(poster.messages_to(OPS.label)) == 1


def queue_copy_free(outbox: Storage | FakeOutbox, clock: FakeClock) -> list[str]:
    """One more story (s9), its own, matched by one watchlist; its alert id."""
    story = Story(id="s9", url="https://wire.example/9", title="Story 9", summary="", text="", source="Wire")
    match = Match("Vendors", (RuleHit("r", Severity.MEDIUM, ("Kaleyra",)),))
    if isinstance(outbox, Storage):
        outbox.record_fetch(FetchResult("Wire", "https://wire.example/feed", FetchStatus.OK), [story], clock.now())
        outbox.record_matches(story, [match], clock.now())
    else:
        outbox.add(Alert(alert_id(story.id, match.watchlist), story, match), clock.now())
    return [alert_id(story.id, match.watchlist)]


class LosingAnswersTo(FakePoster):
    """Slack keeps what is posted to `label` but its answer is lost (a timeout, a reset)."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        result = super().post(destination, message)
        if destination.label == self.label and result.ok:
            return PostResult(ok=False, error="timed out", unknown=True)
        return result
