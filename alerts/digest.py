"""`newsbot digest`: a summary per watchlist of what was alerted in a period (daily cron).

Built like an in-run digest (alerts.format.build_digest): every alert whole, over as many messages
as Slack's limits need. These alerts were delivered already, so the messages carry no alert ids:
a look-back after a crash must never mistake a summary for the delivery of an alert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from newsbot.alerts.deliver import Pacer
from newsbot.alerts.format import build_digest
from newsbot.alerts.routing import Destination
from newsbot.alerts.sinks import MessageKind, Outgoing, Poster, PostResult
from newsbot.clock import SYSTEM_CLOCK, Clock
from newsbot.models import Alert, Match


def post_digests(
    alerts: Sequence[Alert],
    poster: Poster,
    destination_of: Callable[[Match], Destination],
    period: str,
    *,
    seconds_between_messages: float = 1.0,
    clock: Clock = SYSTEM_CLOCK,
) -> list[tuple[str, PostResult]]:
    """Post one digest per watchlist that alerted; returns (watchlist, result) for each: the first
    failure of its messages (the rest of that digest is not sent), or the last success."""
    by_watchlist: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_watchlist.setdefault(alert.match.watchlist, []).append(alert)
    pacer = Pacer(seconds_between_messages, clock)
    results = []
    for watchlist, listed in by_watchlist.items():
        # The watchlist's own route, without rule or severity channels: a digest is one summary.
        destination = destination_of(Match(watchlist=watchlist, rules=()))
        result = PostResult(ok=True)
        for part in build_digest(f"newsbot digest: {watchlist}, {period}", listed):
            pacer.wait(destination.label)
            result = poster.post(destination, Outgoing(part.payload, part.plain, (), kind=MessageKind.DIGEST))
            if not result.ok:
                break
        results.append((watchlist, result))
    return results
