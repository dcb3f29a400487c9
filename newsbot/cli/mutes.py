"""`newsbot mutes [lift ID]`, and the lines `status` and `explain --url` show about mutes.

Mutes are set from Slack (newsbot.alerts.interactions); here they are read, and lifted early.
Lifting ends a mute from now on: the matches it already suppressed stay muted alerts (a lift that
sent them all at once would flood the channel with old news), which is why every sentence says so.
"""

from __future__ import annotations

import getpass
from datetime import datetime

from newsbot.alerts.format import utc_text
from newsbot.configuration.config import Config
from newsbot.errors import NewsbotError
from newsbot.models import AlertStatus, Story
from newsbot.storage.database import Storage
from newsbot.storage.feedback import Mute

PAST_ROWS = "the matches it suppressed stay muted (a lift does not un-mute past alerts)"


def describe_mute(mute: Mute) -> str:
    """`vendor Mitto AG in watchlist SMS and 2FA vendors until 2026-12-10 09:30 UTC, by @alice`."""
    lifted = f"; lifted {utc_text(mute.lifted_at)} by {mute.lifted_by}" if mute.lifted_at else ""
    return f"{mute.what} in watchlist {mute.target.watchlist} until {utc_text(mute.until)}, by {mute.by}{lifted}"


def mute_line(mute: Mute) -> str:
    suppressed = f"{mute.suppressed} match{'es' * (mute.suppressed != 1)} suppressed so far"
    return f"#{mute.id}  {mute.target.watchlist}  {mute.what}  until {utc_text(mute.until)}  by {mute.by}  {suppressed}"


def status_lines(storage: Storage, now: datetime) -> list[str]:
    """For `newsbot status`: how many alerts mutes have suppressed, and the mutes active now (nothing
    at all before the first mute)."""
    muted = storage.alert_counts()[AlertStatus.MUTED]
    active = storage.mutes(now)
    lines = [f"  {muted} alerts muted (kept, not sent; `newsbot explain --url URL` names the mute)"] if muted else []
    if active:
        lines.append("Mutes (active; `newsbot mutes lift ID` ends one):")
        lines += [f"  {mute_line(mute)}" for mute in active]
    return lines


def story_mutes(config: Config, story: Story) -> list[str]:
    """For `newsbot explain --url`: each watchlist whose match of this story a mute suppressed."""
    from newsbot.cli.status import reading  # status imports this module for its own lines

    with reading(config) as storage:
        found = storage.muted_alerts(story.id) if storage else []
    return [
        f"Watchlist '{watchlist}' matched, but its alert was muted by mute #{mute.id} ({describe_mute(mute)})"
        for watchlist, mute in found
    ]


def list_mutes(config: Config, now: datetime) -> str:
    from newsbot.cli.status import reading

    with reading(config) as storage:
        active = storage.mutes(now) if storage else []
    if not active:
        return "no active mutes (a Mute button on an alert in Slack sets one)"
    return "\n".join(mute_line(mute) for mute in active)


def lift(config: Config, mute_id: int, now: datetime) -> str:
    """Lift one mute; raises NewsbotError when there is no such mute."""
    from newsbot.cli.status import reading

    with reading(config) as storage:
        mute = storage.mute(mute_id) if storage else None
        if storage is None or mute is None:
            raise NewsbotError(f"there is no mute #{mute_id} (`newsbot mutes` lists the active ones)")
        if mute.lifted_at is not None:
            return f"mute #{mute_id} was already lifted ({describe_mute(mute)}); {PAST_ROWS}"
        if not mute.active(now):
            return f"mute #{mute_id} had already expired ({describe_mute(mute)}); {PAST_ROWS}"
        storage.lift_mute(mute_id, now, _local_user())
    return f"lifted mute #{mute_id} ({mute.what} in watchlist {mute.target.watchlist}); {PAST_ROWS}"


def _local_user() -> str:
    """Who lifted it: the account running the command (Slack's user ids are for clicks)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return "unknown user"
