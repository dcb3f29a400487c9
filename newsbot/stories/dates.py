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
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
