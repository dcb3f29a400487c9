"""`newsbot digest`: a summary per watchlist of what was alerted in a period (daily cron).

Built like an in-run digest (alerts.format.build_digest): every alert whole, most severe first, over
as many messages as Slack's limits need. A story and its copies and follow-ups (one cluster) are
listed once. These alerts were delivered already, so the messages carry no alert ids: a look-back
after a crash must never mistake a summary for the delivery of an alert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from newsbot.alerts.deliver import Pacer
from newsbot.alerts.format import DigestMessage, build_digest
from newsbot.alerts.routing import Destination
from newsbot.alerts.sinks import MessageKind, Outgoing, Poster, PostResult
from newsbot.clock import SYSTEM_CLOCK, Clock
from newsbot.models import Alert, AlertKind, Match, RuleHit

_MINUTES_A_DAY = 24 * 60


@dataclass(frozen=True)
class Digest:
    """One watchlist's summary: where it goes and its messages, built before any is posted, so
    that the command's time allowance counts messages (a digest of 12 alerts is one message, and
    was allowed 12 posts' time against a Slack that hangs)."""

    watchlist: str
    destination: Destination
    messages: list[DigestMessage]


def digest_window_start(now: datetime, period: timedelta) -> datetime:
    """Where a digest's period begins: `period` before the start of the current minute. Cron starts a
    daily line a few seconds into its minute, a different few each day; a period of exactly 24 hours
    before `now` left out of both digests an alert sent in the seconds between one day's start and
    the next's. From the minute, each day's digest covers the one before to its end, and at most an
    alert of those few seconds is listed twice, never missed."""
    return now.replace(second=0, microsecond=0) - period


def plan_digests(
    alerts: Sequence[Alert], destination_of: Callable[[Match], Destination], period: timedelta
) -> list[Digest]:
    """One digest per watchlist that alerted, a story and its copies once."""
    by_watchlist: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_watchlist.setdefault(alert.match.watchlist, []).append(alert)
    digests = []
    for watchlist, sent in by_watchlist.items():
        # The watchlist's own route, without rule or severity channels: a digest is one summary.
        destination = destination_of(Match(watchlist=watchlist, rules=()))
        listed = one_per_cluster(sent)
        count = f"{len(listed)} alert{'s' if len(listed) > 1 else ''}"
        messages = build_digest(f"Digest for {watchlist}: {count} in {describe_period(period)}", listed)
        digests.append(Digest(watchlist, destination, messages))
    return digests


def post_digests(
    digests: Sequence[Digest],
    poster: Poster,
    *,
    seconds_between_messages: float = 1.0,
    clock: Clock = SYSTEM_CLOCK,
) -> Iterator[tuple[str, PostResult]]:
    """Post the digests, yielding (watchlist, result) as each is done: the first failure of its
    messages (the rest of that digest is not sent), or the last success. Yielded as they go, so
    that a command ended while Slack hangs on a later one has said what it posted."""
    pacer = Pacer(seconds_between_messages, clock)
    for digest in digests:
        result = PostResult(ok=True)
        for part in digest.messages:
            pacer.wait(digest.destination.label)
            result = poster.post(digest.destination, Outgoing(part.payload, part.plain, (), kind=MessageKind.DIGEST))
            if not result.ok:
                break
        yield digest.watchlist, result


def one_per_cluster(alerts: Sequence[Alert]) -> list[Alert]:
    """One alert per story cluster, in the order the clusters were first alerted: the most severe of
    its alerts (on a tie, the first that is not an "also in" of another), with every rule and vendor
    any of them matched and the other outlets that carried the story as `also_in`. An alert whose
    cluster is not known is its own. (With a webhook a copy is recorded sent at once, while its
    original may wait for a retry: sent first, it led the story's entry.)"""
    clusters: dict[str, list[Alert]] = {}
    for alert in alerts:
        clusters.setdefault(alert.cluster or alert.story.id, []).append(alert)
    return [_merged(members) for members in clusters.values()]


def _merged(members: list[Alert]) -> Alert:
    # max() keeps the first of equals
    lead = max(members, key=lambda alert: (alert.match.severity.rank, alert.kind is not AlertKind.ALSO_IN))
    ordered = [lead, *(alert for alert in members if alert is not lead)]
    rules: dict[str, RuleHit] = {}
    for alert in ordered:
        for hit in alert.match.rules:
            rules.setdefault(hit.rule, hit)
    vendors = tuple(dict.fromkeys(vendor for alert in ordered for vendor in alert.match.vendors))
    outlets = [*lead.also_in, *(alert.story.source for alert in members)]
    also_in = tuple(dict.fromkeys(outlet for outlet in outlets if outlet != lead.story.source))
    return replace(lead, match=replace(lead.match, rules=tuple(rules.values()), vendors=vendors), also_in=also_in)


def describe_period(period: timedelta) -> str:
    """A `--since` as a reader says it: "the last 24 hours", "the last 7 days", "the last 30 minutes",
    "the last hour" (whole hours up to two days, then whole days, then whole weeks from two)."""
    minutes = int(period.total_seconds()) // 60
    if minutes % 60:
        amount, unit = minutes, "minute"
    elif minutes < 2 * _MINUTES_A_DAY or minutes % _MINUTES_A_DAY:
        amount, unit = minutes // 60, "hour"
    elif minutes % (7 * _MINUTES_A_DAY) or minutes < 14 * _MINUTES_A_DAY:
        amount, unit = minutes // _MINUTES_A_DAY, "day"
    else:
        amount, unit = minutes // (7 * _MINUTES_A_DAY), "week"
    return f"the last {unit}" if amount == 1 else f"the last {amount} {unit}s"
