"""ISO 8601 dates from feeds, sitemaps, article pages and user spiders, as aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_iso(value: object) -> datetime | None:
    """An ISO date or date-time as aware UTC (a date alone is midnight UTC, no zone is UTC);
    None for anything unreadable or not text."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        # 9999-12-31T23:59-14:00 is past the last instant UTC can hold: OverflowError, not ValueError.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
