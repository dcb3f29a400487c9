"""Read-only views of the database for people: `newsbot status` and `newsbot search`."""

from __future__ import annotations

import json

from newsbot.config import Config
from newsbot.models import Story
from newsbot.storage import Storage


def describe_status(config: Config) -> str:
    """A report for a person; it never writes to the database."""
    if not config.database.exists():
        return f"No run yet: {config.database} does not exist. Run `newsbot run` first."
    storage = Storage.open(config.database, migrate=False)
    try:
        return "\n".join(_report(config, storage))
    finally:
        storage.close()


def search_stories(config: Config, query: str, limit: int) -> list[Story]:
    """Stories whose title, summary or text match an FTS query, best first."""
    if not config.database.exists():
        return []
    storage = Storage.open(config.database, migrate=False)
    try:
        return storage.search(query, limit=limit)
    finally:
        storage.close()


def _report(config: Config, storage: Storage) -> list[str]:
    rows = {row["name"]: row for row in storage.source_rows()}
    lines = [f"Database: {config.database} ({storage.story_count()} stories)", "Sources:"]
    for source in config.settings.sources:
        row = rows.get(source.name)
        if row is None:
            lines.append(f"  {source.name}: not fetched yet")
            continue
        result = row["last_status"].replace("_", " ")
        if row["last_error"]:
            result = f"error: {row['last_error']}"
            if row["consecutive_failures"] > 1:
                result += f" ({row['consecutive_failures']} runs in a row)"
        lines.append(
            f"  {source.name}: last fetch {row['last_fetch_at']}, {result}, {row['stories']} stories"
        )
    counts = storage.alert_counts()
    lines.append(f"Alerts: {counts['pending']} pending, {counts['sent']} sent")
    for alert in storage.failing_alerts():
        lines.append(
            f"  not delivered yet: '{alert['title']}' ({alert['watchlist']}), {alert['attempts']} "
            f"attempts since {alert['created_at']}; last error: {alert['last_error']}"
        )
    last = storage.last_run()
    if last:
        summary = json.loads(last["summary"])
        lines.append(
            f"Last run: {last['started_at']} → {last['finished_at']}: {summary['new_stories']} new "
            f"stories, {summary['matches']} matches, {summary['alerts_sent']} alerts sent, "
            f"{len(summary['failed_sources'])} sources failed"
        )
    return lines
