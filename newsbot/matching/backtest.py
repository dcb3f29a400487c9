"""`newsbot backtest`: try a new or edited watchlist on the stories already stored, sending nothing.

It answers the question a team asks before a rule goes live: what would this have alerted, and
what changes against the version that is running now?
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from newsbot.configuration.watchlists import Watchlist
from newsbot.matching.matcher import Matcher
from newsbot.models import Match, Story


@dataclass
class BacktestReport:
    candidate: Watchlist
    current: Watchlist | None
    since: datetime
    stories: int = 0
    would_alert: list[tuple[Story, Match]] = field(default_factory=list)
    added: list[tuple[Story, Match]] = field(default_factory=list)
    removed: list[tuple[Story, Match]] = field(default_factory=list)
    changed: list[tuple[Story, Match, Match]] = field(default_factory=list)

    def describe(self) -> str:
        name = self.candidate.config.name
        lines = [
            f"Backtest of '{name}' ({self.candidate.path}) over {self.stories} stories first seen since "
            f"{self.since:%Y-%m-%d %H:%M} UTC; nothing was sent.",
            f"It would have alerted {len(self.would_alert)} of them:",
            *(_line(" ", story, match) for story, match in self.would_alert),
        ]
        if self.current is None:
            lines.append(f"No watchlist named '{name}' is configured now, so every alert above is new.")
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
    candidate: Watchlist, current: Watchlist | None, stories: Sequence[Story], since: datetime
) -> BacktestReport:
    report = BacktestReport(candidate=candidate, current=current, since=since, stories=len(stories))
    new_matcher = Matcher([candidate])
    old_matcher = Matcher([current]) if current else None
    for story in stories:
        new = next(iter(new_matcher.match_story(story)), None)
        old = next(iter(old_matcher.match_story(story)), None) if old_matcher else None
        if new:
            report.would_alert.append((story, new))
        if new and not old:
            report.added.append((story, new))
        elif old and not new:
            report.removed.append((story, old))
        elif old and new and _rules(old) != _rules(new):
            report.changed.append((story, old, new))
    return report


def _rules(match: Match) -> str:
    return ", ".join(hit.rule for hit in match.rules)


def _line(marker: str, story: Story, match: Match) -> str:
    terms = ", ".join(match.terms)
    return f"{marker} [{match.severity.value}] {story.title} ({_rules(match)}; {terms})  {story.url}"
