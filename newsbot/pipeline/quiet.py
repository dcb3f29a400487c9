"""What `newsbot run --quiet` prints: problems that are new, each once a day at most.

Cron mails whatever a job prints. A feed down for a day, a Slack channel that was archived, an
article host that stays dead must not mail every ten minutes, and a problem that comes and goes
(a host skipped only in runs that have new links to it) must not mail each time it comes back. So
a problem is news when no run of the last QUIET_MEMORY had it. A source's own failures reach
`--quiet` through its health (newsbot.pipeline.health), announced once when it turns FAILING, STALE or NO
LINKS: one flaky fetch is not news. A source cut short by `max_articles` is the article cap doing
its job, not a problem; one cut short by the run's budget is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from newsbot.models import CUT_BY_MAX_ARTICLES, CUT_BY_SKIPPED_HOST, RunSummary

QUIET_MEMORY = timedelta(hours=24)


@dataclass(frozen=True)
class KnownProblems:
    """The problems the runs of the last QUIET_MEMORY reported (their stored summaries)."""

    delivery_errors: frozenset[str]
    cut_short: frozenset[str]  # source names
    skipped_hosts: frozenset[str]  # host names

    @classmethod
    def from_summaries(cls, summaries: Iterable[dict[str, Any]]) -> KnownProblems:
        delivery_errors: set[str] = set()
        cut_short: set[str] = set()
        skipped_hosts: set[str] = set()
        for summary in summaries:
            delivery_errors.update(summary.get("delivery_errors", []))
            cut_short.update(summary.get("cut_short", {}))
            skipped_hosts.update(map(_host, summary.get("skipped_hosts", [])))
        return cls(frozenset(delivery_errors), frozenset(cut_short), frozenset(skipped_hosts))

    def new_in(self, summary: RunSummary) -> list[str]:
        """This run's problems that no run of the last QUIET_MEMORY had, each once."""
        news = [
            f"source cut short: {name}: {why}"
            for name, why in summary.cut_short.items()
            if name not in self.cut_short and not why.startswith((CUT_BY_MAX_ARTICLES, CUT_BY_SKIPPED_HOST))
        ]
        news += [line for line in summary.skipped_hosts if _host(line) not in self.skipped_hosts]
        news += [f"delivery failed: {error}" for error in summary.delivery_errors if error not in self.delivery_errors]
        return list(dict.fromkeys(news))


def _host(skipped_host_line: str) -> str:
    """'host example.org skipped after …' → 'example.org' (newsbot.sources.hosts words them so)."""
    return skipped_host_line.split(" ", 2)[1] if skipped_host_line.startswith("host ") else skipped_host_line
