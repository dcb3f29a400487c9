"""ISO 8601 dates from feeds, sitemaps, article pages and user spiders, as aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_iso(value: object) -> datetime | None:
    """An ISO date or date-time as aware UTC (a date alone is midnight UTC, no zone is UTC);
    None for anything unreadable or not text."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def as_utc(moment: datetime) -> datetime | None:
    """The moment as aware UTC (no zone is UTC), or None when UTC cannot hold it: 9999-12-31T23:59-14:00
    is past its last instant (OverflowError, which once failed a whole JSON Feed)."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        return None
