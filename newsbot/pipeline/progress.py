"""What a run reports while it goes: sources done out of all, new stories, matches, alerts sent.

The run calls a Progress after each source is stored (in the crawl's thread) and after each stage
pass matched or delivered (in the StageWorker's thread), with a snapshot of its summary so far. It
knows nothing of who listens: cron's runs pass `no_progress`; `newsbot run` on a terminal passes
newsbot.cli.progress.TerminalProgress, which must therefore be safe to call from both threads and
cheap (the crawl waits for it), and must never raise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from newsbot.models import RunSummary


@dataclass(frozen=True)
class RunProgress:
    sources_done: int  # stored, failed, unchanged or cut short: every source is handed over once
    sources_total: int
    new_stories: int
    matches: int
    alerts_sent: int

    @classmethod
    def of(cls, summary: RunSummary, sources_total: int) -> RunProgress:
        """The summary so far; a source counts as done the way RunSummary.describe counts it."""
        done = summary.sources_ok + summary.sources_not_modified + len(summary.failed_sources) + len(summary.cut_short)
        return cls(done, sources_total, summary.new_stories, summary.matches, summary.alerts_sent)


Progress = Callable[[RunProgress], None]


def no_progress(progress: RunProgress) -> None:
    """Nobody is watching (cron, a pipe, --quiet): the run's output is its summary alone."""
