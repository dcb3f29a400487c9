"""`newsbot backtest`: try a new or edited watchlist on the stories already stored, sending nothing.

It answers the question a team asks before a rule goes live: what would this have alerted, and
what changes against the version that is running now? "Alerted" as a run decides it (outbox.py):
a story too old to alert when it was first seen gets no alert, and a copy of a story its cluster
alerted already is an "also in" of that alert, unless it is news of its own. Counted by every
match instead, a backtest said 4 alerts where the run had sent none, and listed a wire copy the
run had folded into its story's alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from newsbot.alerts.outbox import kind_beside, too_old_when_first_seen
from newsbot.configuration.watchlists import Watchlist
from newsbot.matching.matcher import Matcher
from newsbot.models import AlertKind, Match, StoredStory, Story


@dataclass
class Alerted:
    """What one version of a watchlist would have alerted: each story's match, by story id, in the
    order first seen, and how many copies would have been an "also in" of an earlier alert."""

    alerts: dict[str, tuple[Story, Match]] = field(default_factory=dict)
    copies: int = 0


@dataclass
class BacktestReport:
    candidate: Watchlist
    current: Watchlist | None
    since: datetime
    max_age_days: float
    stories: int = 0
    too_old: int = 0
    copies: int = 0
    would_alert: list[tuple[Story, Match]] = field(default_factory=list)
    added: list[tuple[Story, Match]] = field(default_factory=list)
    removed: list[tuple[Story, Match]] = field(default_factory=list)
    changed: list[tuple[Story, Match, Match]] = field(default_factory=list)

    def describe(self) -> str:
        name = self.candidate.config.name
        lines = [
            f"Backtest of '{name}' ({self.candidate.path}) over {self.stories} stories first seen since "
            f"{self.since:%Y-%m-%d %H:%M} UTC; nothing was sent.",
        ]
        if self.too_old:
            lines.append(
                f"{self.too_old} of them were too old to alert when first seen (max_age_days: "
                f"{self.max_age_days:g}), as a run leaves them."
            )
        lines += [
            f"It would have alerted {len(self.would_alert)} of them:",
            *(_line(" ", story, match) for story, match in self.would_alert),
        ]
        if self.copies:
            lines.append(f"It would have noted {self.copies} copies beside an earlier alert of their story (also in).")
        if self.current is None:
            lines.append(f"No watchlist named '{name}' is configured now, so every alert above is new.")
            return "\n".join(lines)
        if self.current.path.resolve() == self.candidate.path.resolve():
            lines.append(
                "This file is in the watchlists folder, so it runs now (or from the next run, if new), and "
                "there is no other version to compare: to see what an edit changes, edit a copy outside "
                "the watchlists folder and backtest the copy."
            )
            return "\n".join(lines)
        lines.append(
            f"Against the current version ({self.current.path}): {len(self.added)} new, "
            f"{len(self.removed)} no longer alerted, {len(self.changed)} with different rules."
        )
        lines += [_line("+", story, match) for story, match in self.added]
        lines += [_line("-", story, match) for story, match in self.removed]
        lines += [
            f"~ {story.title} — rules {_rules(old)} → {_rules(new)}  {story.url}" for story, old, new in self.changed
        ]
        return "\n".join(lines)


def backtest(
    candidate: Watchlist,
    current: Watchlist | None,
    stored: Sequence[StoredStory],
    since: datetime,
    max_age_days: float,
    before: Sequence[StoredStory] = (),
) -> BacktestReport:
    """The candidate's alerts among `stored` (oldest first), and what changes against `current`.
    `before`: the earlier stories of their clusters, which a copy in the window follows (what they
    would have alerted is weighed, not counted: a copy of a story alerted before the window is one)."""
    young = [item for item in stored if not too_old_when_first_seen(item, max_age_days)]
    earlier = [item for item in before if not too_old_when_first_seen(item, max_age_days)]
    report = BacktestReport(candidate, current, since, max_age_days, len(stored), len(stored) - len(young))
    new = _alerted(Matcher([candidate]), earlier, young)
    old = _alerted(Matcher([current]), earlier, young) if current else Alerted()
    report.would_alert = list(new.alerts.values())
    report.copies = new.copies
    for story_id, (story, match) in new.alerts.items():
        current_alert = old.alerts.get(story_id)
        if current_alert is None:
            report.added.append((story, match))
        elif _rules(current_alert[1]) != _rules(match):
            report.changed.append((story, current_alert[1], match))
    report.removed = [alert for story_id, alert in old.alerts.items() if story_id not in new.alerts]
    return report


def _alerted(matcher: Matcher, before: Sequence[StoredStory], stored: Sequence[StoredStory]) -> Alerted:
    """A watchlist's alerts among `stored` (young enough to alert), one a cluster unless a copy is news
    of its own (outbox.kind_beside), as a run queues them; `before` only tells what came first."""
    alerted = Alerted()
    earlier: dict[str, list[tuple[set[str], set[str] | None]]] = {}  # a cluster's alerts: (rules, vendors)
    for counted, item in [*((False, item) for item in before), *((True, item) for item in stored)]:
        match = next(iter(matcher.match_story(item.story)), None)
        if match is None:
            continue
        cluster = earlier.setdefault(item.cluster or item.story.id, [])
        if cluster and kind_beside(match, cluster) is AlertKind.ALSO_IN:
            alerted.copies += counted
        elif counted:
            alerted.alerts[item.story.id] = (item.story, match)
        cluster.append(({hit.rule for hit in match.rules}, set(match.vendors)))
    return alerted


def _rules(match: Match) -> str:
    return ", ".join(hit.rule for hit in match.rules)


def _line(marker: str, story: Story, match: Match) -> str:
    terms = ", ".join(match.terms)
    return f"{marker} [{match.severity.value}] {story.title} ({_rules(match)}; {terms})  {story.url}"
