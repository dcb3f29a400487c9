"""`newsbot digest`: one summary message per watchlist of what was alerted in a period (daily cron)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from alerts.format import build_digest, plain_digest
from alerts.routing import Destination
from alerts.sinks import Outgoing, Poster, PostResult
from newsbot.models import Alert, Match


def post_digests(
    alerts: Sequence[Alert], poster: Poster, destination_of: Callable[[Match], Destination], period: str
) -> list[tuple[str, PostResult]]:
    """Post one digest per watchlist that alerted; returns (watchlist, result) for each."""
    by_watchlist: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_watchlist.setdefault(alert.match.watchlist, []).append(alert)
    results = []
    for watchlist, listed in by_watchlist.items():
        title = f"newsbot digest: {watchlist}, {period}"
        message = Outgoing(build_digest(title, listed), plain_digest(title, listed), ())
        # The watchlist's own route, without rule or severity channels: a digest is one message.
        destination = destination_of(Match(watchlist=watchlist, rules=()))
        results.append((watchlist, poster.post(destination, message)))
    return results
