"""The lines `status` and `feedback` print about the team's verdicts: per watchlist, then per rule."""

from __future__ import annotations

from collections.abc import Sequence

from newsbot.configuration.config import Config
from newsbot.storage.feedback import Tally

NO_BUTTONS = "alerts sent by incoming webhook carry no buttons: only bot-token alerts can be judged in Slack"


def precision_lines(config: Config, tallies: Sequence[Tally]) -> list[str]:
    """Per watchlist (configured ones first, then any only the database remembers), then per rule:
    alerts sent, marked relevant, marked not relevant, precision so far."""
    names = [watchlist.config.name for watchlist in config.watchlists]
    names += sorted({tally.watchlist for tally in tallies} - set(names))
    lines = []
    for name in names:
        mine = [tally for tally in tallies if tally.watchlist == name]
        whole = next((tally for tally in mine if tally.rule is None), Tally(name, None, 0, 0, 0))
        lines.append(f"  {name}: {_counts(whole)}")
        lines += [f"    rule {tally.rule}: {_counts(tally)}" for tally in mine if tally.rule is not None]
    if config.settings.slack is not None and config.settings.slack.token is None:
        lines.append(f"  ({NO_BUTTONS})")
    return lines


def _counts(tally: Tally) -> str:
    precision = "none judged yet" if tally.precision is None else f"precision so far {tally.precision:.2f}"
    return (
        f"{tally.alerts} alert{'s' * (tally.alerts != 1)} sent, {tally.relevant} marked relevant, "
        f"{tally.not_relevant} not relevant; {precision}"
    )
