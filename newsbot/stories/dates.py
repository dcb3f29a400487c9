"""ISO 8601 dates from feeds, sitemaps, article pages and user spiders, as aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_iso(value: object) -> datetime | None:
    """An ISO date or date-time as aware UTC (a date alone is midnight UTC, no zone is UTC);
    None for anything unreadable or not text."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def parse_date(value: object) -> datetime | None:
    """An ISO or an RFC 822 date ("Wed, 02 Jan 2019 10:00:00 GMT", the RSS form; no zone is UTC) as
    aware UTC; None for anything else. A JSON Feed's RSS-style date, or an RSS date without a zone
    (which feedparser leaves unread), left a years-old story undated: new on a source's first run."""
    if (moment := parse_iso(value)) is not None or not isinstance(value, str):
        return moment
    try:
        return as_utc(parsedate_to_datetime(value.strip()))
    except (TypeError, ValueError, IndexError):
        return None


def as_utc(moment: datetime) -> datetime | None:
    """The moment as aware UTC (no zone is UTC), or None when UTC cannot hold it: 9999-12-31T23:59-14:00
    is past its last instant (OverflowError, which once failed a whole JSON Feed)."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        return None
