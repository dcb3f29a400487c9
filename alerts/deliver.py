"""Drain the outbox: every alert is recorded as being sent before it leaves, and as sent after.

Guarantees, in order of the steps:
- never lost: an alert leaves the outbox only when Slack accepted it; failures keep it pending
  (with Slack's Retry-After as its next attempt), and a destination that fails is left for the
  next run instead of being hammered;
- never twice (bot token): an alert stays "in flight" (status 'sending', with where and when the
  attempt went) from just before its message leaves until Slack's answer is recorded. When that
  answer never comes — a crash, a timeout after the request was sent, a reset connection, a body
  that is not Slack's — the message is looked up by the alert id in its metadata, in the channel's
  history or, for a thread reply, in the thread, before anything is sent again. Slack may store a
  message after the client gave up on its answer, so a miss counts only once the poster's
  `post_window` has passed since the attempt started: until then the alert stays in flight,
  whichever pass or run looks (a run delivers after each batch of stored sources, and a manual run
  may follow a crash within seconds). If Slack cannot be asked, the alert waits for a later look.
  With a webhook there is no way to look, so an alert in flight is resent under
  `delivery: at_least_once` (waiting would tell nothing) and marked unconfirmed under `at_most_once`;
- paced: at most one message per `seconds_between_messages` per destination, and more than
  `digest_over` alerts for one destination become a digest (details in its thread), split into
  as many messages as Slack's limits need; each marks sent exactly the alerts it lists;
- stoppable: `should_stop()` is asked before each new message; once it says yes nothing new starts
  and everything not yet posted stays in the outbox;
- muted when they leave: a mute set from Slack after an alert was queued (during a run's sending,
  or an outage's backlog) suppresses it before it is sent, as it would have at queueing;
- reported: alerts waiting for longer than `failing_after` are announced once per episode, as soon
  as Slack answers again (unconfirmed alerts are not waiting: `newsbot status` shows them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from newsbot.alerts.format import build_also_in, build_digest, build_message, build_notice, plain_also_in, plain_text
from newsbot.alerts.routing import TERMINAL, Destination, names_a_channel
from newsbot.alerts.sinks import LookBackError, MessageKind, Outgoing, Poster, PostResult
from newsbot.clock import SYSTEM_CLOCK, Clock
from newsbot.errors import NewsbotError
from newsbot.models import Alert, AlertKind, AlertStatus, Match, Severity, SourceNotice
from newsbot.storage.records import TriedAlert

DELIVERY_FAILING = "delivery_failing"
# A "was failing" notice Slack refused, kept to be sent by a later pass; a kind of its own, so that
# sending it late does not pass for the announcement of a later episode.
HELD_DELIVERY_FAILING = "delivery_failing_held"
DETAILS_A_PASS = 500  # a digest's full messages looked at in one pass: more than one a second fits in it
IN_FLIGHT_NOTE = "sent, its answer lost (looked up before it is sent again)"  # an attempt with no error
ABSENT_NOTE = "its earlier attempt is not in Slack (looked up): sent again"
UNCONFIRMED_NOTE = "a crash or a lost answer left its outcome unknown; with delivery: at_most_once it is not sent again"


class Outbox(Protocol):
    """The part of newsbot.storage.database.Storage that delivery uses."""

    def due_alerts(self, when: datetime) -> list[Alert]: ...
    def start_attempt(
        self, alerts: Sequence[str], destination: str, when: datetime, thread_ts: str | None = None
    ) -> None: ...
    def mark_sent(
        self,
        alerts: Sequence[str],
        when: datetime,
        channel: str | None = None,
        ts: str | None = None,
        *,
        digest: bool = False,
        detail_due: bool = False,
    ) -> None: ...
    def due_details(self, limit: int) -> list[Alert]: ...
    def set_detail_due(self, alert: str, due: bool) -> None: ...
    def mark_failed(self, alerts: Sequence[str], error: str, retry_at: datetime | None) -> None: ...
    def mark_unknown(self, alerts: Sequence[str], error: str) -> None: ...
    def mark_unconfirmed(self, alert: str, note: str) -> None: ...
    def thread_of(self, story: str, destination: str, severity: Severity) -> str | None: ...
    def waiting(self, queued_before: datetime) -> list[TriedAlert]: ...
    def last_notice(self, kind: str) -> datetime | None: ...
    def record_notice(self, kind: str, when: datetime | None, detail: str) -> None: ...
    def unsent_notice(self, kind: str) -> tuple[int, str] | None: ...
    def mark_notice_sent(self, notice: int, when: datetime) -> None: ...
    def pending_source_notices(self) -> list[SourceNotice]: ...
    def sent_message(self, alert: str) -> tuple[str, str] | None: ...
    def line_in_thread(self, story: str, channel: str, thread: str) -> str | None: ...
    def known_channel(self, destination: str) -> str | None: ...
    def alert_status(self, alert: str) -> str | None: ...
    def mark_source_notice(self, notice: int, sent_at: datetime | None, error: str | None = None) -> None: ...
    def mute_waiting(self, alerts: Sequence[Alert], now: datetime) -> set[str]: ...


@dataclass(frozen=True)
class Policy:
    route: Callable[[Match], Destination]
    seconds_between_messages: float = 1.0
    digest_over: int = 20
    failing_after: timedelta = timedelta(hours=6)
    at_most_once: bool = False
    unfurl_links: bool = False
    feedback_buttons: bool = False  # alerts carry Relevant / Not relevant / Mute (a bot token and `newsbot serve`)
    notices_to: Destination | None = None  # None: no notices (terminal, dry run)
    ops_to: Destination | None = None  # source health notices; None: kept in the database only
    clock: Clock = SYSTEM_CLOCK


@dataclass
class DeliveryReport:
    sent: int = 0
    digest_messages: int = 0  # one digest may need several messages
    errors: list[str] = field(default_factory=list)
    slack_answered: bool = False
    stopped: bool = False  # should_stop() ended delivery early; the rest waits in the outbox


class Pacer:
    """At most one message per interval per destination (Slack allows about one per second)."""

    def __init__(self, interval: float, clock: Clock = SYSTEM_CLOCK):
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}

    def wait(self, key: str) -> None:
        if key in self._last:
            self.clock.sleep(max(0.0, self._last[key] + self.interval - self.clock.monotonic()))
        self._last[key] = self.clock.monotonic()


_RECORDED = PostResult(ok=True)  # nothing to post (a copy recorded, or waiting for its thread)
_MUTED = PostResult(ok=False, refused_this_message=True)  # a mute took it as it was about to go


def _place_failing(result: PostResult) -> bool:
    """Whether the alerts after this one to the same place should wait: not when Slack refused only
    this message (its blocks, its thread), which once held back every later alert to its channel."""
    return not result.ok and not result.refused_this_message


class _StoppedError(NewsbotError):
    """should_stop() said yes: no new message starts."""


class _Drain:
    def __init__(self, outbox: Outbox, poster: Poster, policy: Policy, should_stop: Callable[[], bool] | None):
        self.outbox, self.poster, self.policy = outbox, poster, policy
        self.should_stop = should_stop
        poster.waits_end_when(should_stop or (lambda: False))
        self.clock = policy.clock
        self.pacer = Pacer(policy.seconds_between_messages, policy.clock)
        self.report = DeliveryReport()
        self._found_in_slack: set[str] = set()  # alerts in flight from an earlier run, found delivered

    def run(self) -> DeliveryReport:
        try:
            overdue = self._overdue()
            self._deliver_alerts()
            self._announce_failures(overdue)
            self._send_source_notices()
            self._post_due_details()
        except _StoppedError:
            self.report.stopped = True
        return self.report

    def _check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise _StoppedError

    def _deliver_alerts(self) -> None:
        groups: dict[Destination, list[Alert]] = {}
        copies: list[Alert] = []
        due = self._settle_in_flight(self.outbox.due_alerts(self.clock.now()))
        muted = self.outbox.mute_waiting([alert for alert in due if alert.in_flight_since is None], self.clock.now())
        for alert in due:
            if alert.id in muted:
                continue
            if alert.kind is AlertKind.ALSO_IN:
                copies.append(alert)
            else:
                groups.setdefault(self.policy.route(alert.match), []).append(alert)
        for destination, alerts in groups.items():
            if len(alerts) > self.policy.digest_over:
                self._send_digest(destination, alerts)
                continue
            self._send_each(alerts, destination)  # a destination failing: the rest wait for the next run
        said: set[str] = set()  # copies a line of this pass carried with another's
        for alert in copies:
            if alert.id in said:
                continue
            result = self._add_copy(alert, [other for other in copies if other.story.id == alert.story.id], said)
            if _place_failing(result):
                break  # Slack is failing: the other copies wait for the next run

    def _settle_in_flight(self, due: list[Alert]) -> list[Alert]:
        """The due alerts that need sending: an alert in flight is first looked up where its attempt
        went; found, it is recorded as sent; not found, it is sent again only if its attempt started
        more than the poster's `post_window` before the look-up (earlier, Slack may still store it:
        it stays in flight); if Slack cannot be asked, it stays in flight for a later look. Without
        a way to look (a webhook, now or when the attempt was made), `delivery` decides. One found
        absent is waiting again, as it was before its attempt: a mute asked about it now may hold it."""
        in_flight = [alert for alert in due if alert.in_flight_since is not None]
        if not in_flight:
            return due
        settled: set[str] = set()
        absent: set[str] = set()  # looked for long enough after their attempt, and not in Slack
        unsearchable = {alert.id for alert in in_flight if not self._can_look_for(alert)}
        if self.policy.at_most_once:
            for alert_id in unsearchable:
                self.outbox.mark_unconfirmed(alert_id, UNCONFIRMED_NOTE)
            settled |= unsearchable
        places: dict[tuple[str, str | None], list[Alert]] = {}
        for alert in in_flight:
            if alert.id in unsearchable:
                continue
            where = alert.in_flight_to or self.policy.route(alert.match).label
            places.setdefault((where, alert.in_flight_thread), []).append(alert)
        for (where, thread), alerts in places.items():
            self._check_stop()
            starts = [alert.in_flight_since for alert in alerts if alert.in_flight_since]
            asked = self.clock.now()
            try:
                found = self.poster.find(
                    self._look_in(where, where), [a.id for a in alerts], min(starts), max(starts), thread
                )
            except LookBackError as error:
                self.report.errors.append(f"{where}: {error}")
                settled.update(alert.id for alert in alerts)  # still in flight: a later look asks again
                continue
            self.report.slack_answered = True
            for alert_id, message in found.items():
                digest = message.kind is MessageKind.DIGEST
                self.outbox.mark_sent(
                    [alert_id], self.clock.now(), message.channel, message.ts, digest=digest, detail_due=digest
                )
                settled.add(alert_id)
                self._found_in_slack.add(alert_id)
            # Not found, but Slack may still be storing it: still in flight, not resent yet. (A stored
            # start has whole seconds, up to one early: the window's margin covers that.)
            settled.update(
                alert.id
                for alert in alerts
                if alert.in_flight_since and alert.in_flight_since > asked - self.poster.post_window
            )
            absent.update(alert.id for alert in alerts if alert.id not in settled)
        if absent:  # a mute clicked while they waited out the outage now holds them, as any waiting alert
            self.outbox.mark_failed(sorted(absent), ABSENT_NOTE, None)
        return [_released(alert) if alert.id in absent else alert for alert in due if alert.id not in settled]

    def _can_look_for(self, alert: Alert) -> bool:
        """A bot token can look in a channel, not for what went to a webhook before the config
        changed to a token (the attempt's label is then a webhook's)."""
        return self.poster.can_look_back and (alert.in_flight_to is None or names_a_channel(alert.in_flight_to))

    def _look_in(self, label: str, channel: str | None) -> Destination:
        """Where to look for a message sent to `label`: the channel id Slack returned for it before,
        when there is one (a private channel or a user's DM may not be found by its name)."""
        return Destination(label=label, channel=self.outbox.known_channel(label) or channel or label)

    def _add_copy(self, alert: Alert, same_copy: list[Alert], said: set[str]) -> PostResult:
        """A copy of an alerted story: a reply in the first alert's thread where Slack has one
        (bot token), a line on the terminal, and with a webhook only a record: no second ping.

        One line a thread: each watchlist that alerted the original queues its own "also in", and a
        second watchlist's alert is a reply in the first's thread, so both lines went to that thread,
        word for word. The due copies of this story (`same_copy`) bound for the same thread go in
        its one line, their ids in its metadata (added to `said`); a line already there from an
        earlier pass stands for them."""
        if self._muted_now(alert):  # before its parent is weighed: a parent muted this pass is no thread
            return _MUTED
        destination = self.policy.route(alert.match)
        if not self.poster.can_look_back:
            if destination == TERMINAL:
                self._post_untracked(destination, Outgoing({}, plain_also_in(alert), (alert.id,)))
            self.outbox.mark_sent([alert.id], self.clock.now())
            return _RECORDED
        message = alert.parent and self.outbox.sent_message(alert.parent)
        if not message:
            if alert.parent and self.outbox.alert_status(alert.parent) in (AlertStatus.PENDING, AlertStatus.SENDING):
                return _RECORDED  # the first alert is not in Slack yet: the copy waits for its thread
            self.outbox.mark_sent([alert.id], self.clock.now())
            return _RECORDED
        channel, ts = message
        line = self.outbox.line_in_thread(alert.story.id, channel, ts)
        if line == AlertStatus.SENT:
            self.outbox.mark_sent([alert.id], self.clock.now(), channel)
        if line is not None:  # sending: its look-up decides first, and this copy waits for a later pass
            return _RECORDED
        along = [
            other.id
            for other in same_copy
            if other is not alert
            and other.parent
            and self.outbox.sent_message(other.parent) == message
            and not self._muted_now(other)
        ]
        said.update(along)
        reply = Outgoing(
            build_also_in(alert, unfurl_links=self.policy.unfurl_links),
            plain_also_in(alert),
            (alert.id, *along),
            thread_ts=ts,
            kind=MessageKind.ALSO_IN,
        )
        result = self._post(Destination(label=channel, channel=channel), reply, unless_muted=alert)
        if result.refused_this_message and result is not _MUTED:
            # Its thread deleted in Slack (thread_not_found), or the line refused: a copy is a line
            # beside an alert already seen, so it is recorded as noted, not tried every run for good.
            self.outbox.mark_sent(reply.alert_ids, self.clock.now())
        return result

    def _send_one(self, destination: Destination, alert: Alert) -> PostResult:
        thread = (
            self.outbox.thread_of(alert.story.id, destination.label, alert.match.severity)
            if self.poster.can_look_back
            else None
        )
        message = Outgoing(
            payload=build_message(alert, unfurl_links=self.policy.unfurl_links, feedback=self.policy.feedback_buttons),
            plain=plain_text(alert),
            alert_ids=(alert.id,),
            thread_ts=thread,
        )
        result = self._post(destination, message, unless_muted=alert)
        if result.ok:
            self.report.sent += 1
        return result

    def _send_digest(self, destination: Destination, alerts: list[Alert]) -> None:
        """The digest's messages in order, each marking sent the alerts it lists (and, with a bot token,
        owing each one's full message to its thread: _post_due_details)."""
        muted = self.outbox.mute_waiting([alert for alert in alerts if alert.in_flight_since is None], self.clock.now())
        alerts = [alert for alert in alerts if alert.id not in muted]  # a mute set since the pass began
        if not alerts:
            return
        title = f"newsbot: {len(alerts)} new alerts for {destination.label}"
        by_id = {alert.id: alert for alert in alerts}
        for part in build_digest(title, alerts, unfurl_links=self.policy.unfurl_links):
            result = self._post(
                destination, Outgoing(part.payload, part.plain, part.alert_ids, kind=MessageKind.DIGEST)
            )
            if result.refused_this_message:
                # Slack refused this part itself (its blocks): its alerts go one by one, so that the one
                # Slack cannot take waits alone. Rebuilt alike every run, the part held back every alert
                # to the channel, new ones too, run after run.
                if self._send_each([by_id[alert_id] for alert_id in part.alert_ids], destination):
                    break
                continue
            if not result.ok:
                break  # the alerts of this and later parts stay in the outbox
            self.report.sent += len(part.alert_ids)
            self.report.digest_messages += 1

    def _send_each(self, alerts: list[Alert], destination: Destination) -> bool:
        """The alerts as messages of their own; whether the place began failing (the rest then wait)."""
        return any(_place_failing(self._send_one(destination, alert)) for alert in alerts)

    def _post_due_details(self) -> None:
        """Each alert a digest delivered, in full (its feedback buttons too), in the digest's thread:
        after everything else of the pass, and by later passes and runs until every one is there (a
        digest of thousands needs an hour at one message a second). At most once: taken before it
        is posted, so a crash loses one, never doubles it; owed again when Slack refused it, and that
        thread's channel is left for the next pass, its error named, while the others go on."""
        if not self.poster.can_look_back:
            return  # a digest has a thread only with a bot token: the terminal or a webhook owes nothing
        refusing: set[str] = set()
        for alert in self.outbox.due_details(DETAILS_A_PASS):
            where = self.outbox.sent_message(alert.id)
            if where is None:  # no thread to post it in: nothing can be owed
                self.outbox.set_detail_due(alert.id, False)
                continue
            channel, ts = where
            if channel in refusing:
                continue
            payload = build_message(alert, unfurl_links=self.policy.unfurl_links, feedback=self.policy.feedback_buttons)
            detail = Outgoing(payload, plain_text(alert), (alert.id,), thread_ts=ts, kind=MessageKind.DETAIL)
            self._check_stop()
            self.pacer.wait(channel)
            self.outbox.set_detail_due(alert.id, False)
            result = self.poster.post(Destination(label=channel, channel=channel), detail)
            if not result.ok:
                self.report.errors.append(f"{channel}: a digest's full message: {result.error or 'unknown error'}")
                if result.refused_this_message:
                    continue  # its thread deleted, or its blocks refused: owed again, it would be forever
                if not result.unknown:
                    self.outbox.set_detail_due(alert.id, True)
                refusing.add(channel)

    def _post(self, destination: Destination, message: Outgoing, unless_muted: Alert | None = None) -> PostResult:
        """Post with the attempt recorded first; an unknown outcome is looked up before it counts.
        `unless_muted`: the alert is asked about mutes once its pace allows it to go, the moment before
        it leaves: asked once a pass, a click after the pass's first alert let the rest through."""
        self._check_stop()
        if unless_muted is not None and self._muted_now(unless_muted):
            return _MUTED  # without taking a pace's turn
        self.pacer.wait(destination.label)
        if unless_muted is not None and self._muted_now(unless_muted):
            return _MUTED  # clicked while it waited its turn
        started = self.clock.now()
        self.outbox.start_attempt(message.alert_ids, destination.label, started, message.thread_ts)
        result = self.poster.post(destination, message)
        if result.unknown:
            result = self._look_up(destination, message, started, result)
        if result.ok:
            self.report.slack_answered = True
            digest = message.kind is MessageKind.DIGEST
            self.outbox.mark_sent(
                message.alert_ids,
                self.clock.now(),
                result.channel,
                result.ts,
                digest=digest,
                detail_due=digest and self.poster.can_look_back and result.ts is not None,
            )
            return result
        error = result.error or "unknown error"
        self.report.errors.append(f"{destination.label}: {error}")
        if result.unknown:
            self.outbox.mark_unknown(message.alert_ids, error)
            return result
        retry_at = self.clock.now() + timedelta(seconds=result.retry_after) if result.retry_after else None
        self.outbox.mark_failed(message.alert_ids, error, retry_at)
        return result

    def _muted_now(self, alert: Alert) -> bool:
        """Whether a mute suppresses this waiting alert now (marking it muted); one in flight, never."""
        return alert.in_flight_since is None and bool(self.outbox.mute_waiting([alert], self.clock.now()))

    def _look_up(self, destination: Destination, message: Outgoing, started: datetime, lost: PostResult) -> PostResult:
        """After a lost answer: the message as Slack has it, or `lost` with what happens next. Not
        found now is not proof it never arrived (Slack may still be storing it), so it stays in
        flight, and a look once the poster's `post_window` has passed decides (_settle_in_flight)."""
        if not self.poster.can_look_back:
            setting = (
                "at_most_once: it is not sent again" if self.policy.at_most_once else "at_least_once: it is resent"
            )
            return _with_error(lost, f"{lost.error}; with delivery: {setting}")
        where = self._look_in(destination.label, destination.channel)
        try:
            found = self.poster.find(where, message.alert_ids, started, started, message.thread_ts)
        except LookBackError as error:
            return _with_error(lost, f"{lost.error}; {error}: it is looked up again later, not resent blindly")
        self.report.slack_answered = True
        if found:
            return next(iter(found.values()))
        window = int(self.poster.post_window.total_seconds())
        return _with_error(
            lost,
            f"{lost.error}; not in Slack yet: it is looked up again, and resent only if still missing "
            f"{window} s after it left",
        )

    def _post_untracked(self, destination: Destination, message: Outgoing) -> PostResult:
        """Messages no alert's delivery depends on (notices, digest details, terminal copies)."""
        self._check_stop()
        self.pacer.wait(destination.label)
        return self.poster.post(destination, message)

    def _overdue(self) -> list[TriedAlert]:
        """Alerts stuck longer than `failing_after` before this pass sends anything: those it delivers
        now were late all the same. Once Slack answered again after an outage, the pass sent them all,
        found nothing stuck, and the notice the contract and `status` promised never went."""
        if self.policy.notices_to is None:
            return []
        return self.outbox.waiting(queued_before=self.clock.now() - self.policy.failing_after)

    def _announce_failures(self, overdue: Sequence[TriedAlert]) -> None:
        """One notice per episode of alerts stuck for longer than `failing_after`: still stuck, or
        `overdue` when the pass began and sent since."""
        target = self.policy.notices_to
        if target is None:
            return
        self._post_held_notice(target)  # tried whether or not this pass sent anything
        if not self.report.slack_answered:
            return
        stuck = self.outbox.waiting(queued_before=self.clock.now() - self.policy.failing_after)
        # Not late: still waiting, or found in Slack by its look-up (delivered when it was tried, on time).
        not_late = {alert.id for alert in stuck} | self._found_in_slack
        late = [
            alert
            for alert in overdue
            if alert.id not in not_late and self.outbox.alert_status(alert.id) == AlertStatus.SENT
        ]
        if not stuck and not late:
            return
        # Stored times have whole seconds: the episode starts at a whole second too, or a notice sent
        # in the same second as the episode began would look older than it and be sent again.
        started = min(alert.created_at for alert in [*stuck, *late])
        episode = (started + self.policy.failing_after).replace(microsecond=0)
        last = self.outbox.last_notice(DELIVERY_FAILING)
        if last is not None and last >= episode:
            return
        text = failing_notice(stuck, self.policy.failing_after, late=late, now=self.clock.now())
        result = self._post_untracked(target, Outgoing(build_notice(text), text, (), kind=MessageKind.NOTICE))
        if result.ok:
            self.outbox.record_notice(DELIVERY_FAILING, self.clock.now(), text)
            return
        if not stuck and not result.unknown:  # its alerts were sent: no later pass would announce them
            self.outbox.record_notice(HELD_DELIVERY_FAILING, None, text)  # (one that may be in Slack, not)
        # said, so that a notice Slack refuses is not retried in silence every run
        self.report.errors.append(f"{target.label}: the delivery-failing notice: {result.error or 'unknown error'}")

    def _post_held_notice(self, target: Destination) -> None:
        """A "was failing" notice Slack refused, held by an earlier pass: its late alerts went out then,
        and without it the channel never learnt they had been late."""
        held = self.outbox.unsent_notice(HELD_DELIVERY_FAILING)
        if held is None:
            return
        number, text = held
        result = self._post_untracked(target, Outgoing(build_notice(text), text, (), kind=MessageKind.NOTICE))
        if result.ok:
            self.outbox.mark_notice_sent(number, self.clock.now())
        else:
            self.report.errors.append(f"{target.label}: the delivery-failing notice: {result.error or 'unknown error'}")

    def _send_source_notices(self) -> None:
        """Source health changes, oldest first; one that fails waits (with the rest) for the next run."""
        target = self.policy.ops_to
        if target is None:
            return
        for notice in self.outbox.pending_source_notices():
            text = f"newsbot: {notice.text}"
            result = self._post_untracked(target, Outgoing(build_notice(text), text, (), kind=MessageKind.NOTICE))
            if not result.ok:
                error = result.error or "unknown error"
                self.outbox.mark_source_notice(notice.id, None, error)
                self.report.errors.append(f"{target.label}: {error}")
                return
            self.outbox.mark_source_notice(notice.id, self.clock.now())


def failing_notice(
    stuck: Sequence[TriedAlert],
    failing_after: timedelta,
    *,
    late: Sequence[TriedAlert] = (),
    now: datetime | None = None,
) -> str:
    """ "Delivery is failing", one cause a line: a long notice is split between lines (format.build_notice).
    `late`: alerts that waited as long and were sent `now`, so the channel knows they came late (the
    time said, as a refused notice may be sent by a later pass)."""
    causes = sorted({f"{alert.destination}: {alert.last_error or IN_FLIGHT_NOTE}" for alert in [*stuck, *late]})
    when = f"at {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if now else "just now"
    if not stuck:
        return (
            f"newsbot: delivery was failing: {len(late)} alerts waited more than {failing_after} and were "
            f"sent late, {when}:\n" + "\n".join(causes)
        )
    sent = f" ({len(late)} more that waited as long were sent late, {when})" if late else ""
    return (
        f"newsbot: delivery is failing: {len(stuck)} alerts have waited more than {failing_after}{sent}:\n"
        + "\n".join(causes)
        + "\nThey are kept and will be sent when fixed."
    )


def _released(alert: Alert) -> Alert:
    """An alert in flight that its look-up showed is not in Slack: pending again, nothing in flight."""
    return replace(alert, in_flight_since=None, in_flight_to=None, in_flight_thread=None)


def _with_error(result: PostResult, error: str) -> PostResult:
    return PostResult(ok=False, error=error, unknown=True, retry_after=result.retry_after)


def deliver(
    outbox: Outbox, poster: Poster, policy: Policy, *, should_stop: Callable[[], bool] | None = None
) -> DeliveryReport:
    """Send what is due; `should_stop` (a signal, the run's budget) is asked before each new message."""
    return _Drain(outbox, poster, policy, should_stop).run()
