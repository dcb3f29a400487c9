"""What `newsbot browse` tells Datasette about the database: a title and a sentence for each table, what
each column holds, facets, sort orders, the tables to hide, and the canned queries.

What a table's column holds is written once, in newsbot.storage.schema (held to the migrations by
tests/storage/test_storage.py); the view newsbot.storage.migrations.m007_browse_views adds is described
here, next to its page. Metadata is made for the tables and columns the file has, not those this code
knows: a database an older newsbot wrote (no feedback, no alert_list yet) still browses, without the
facets and queries that would need what it lacks.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from datasette.utils import tilde_encode
from sqlite_utils.migrations import Migrations

from newsbot.browse.queries import canned_queries
from newsbot.storage.schema import TABLES

Present = Mapping[str, Collection[str]]  # each table and view the database has → its columns


@dataclass(frozen=True)
class Page:
    """How Datasette shows one table or view."""

    title: str
    description: str
    facets: tuple[str, ...] = ()
    array_facets: tuple[str, ...] = ()  # columns holding JSON arrays: each element counts (a rule, a vendor)
    sort_desc: str | None = None
    label_column: str | None = None  # what a link to one of its rows shows (a story's title, not its id)


PAGES: dict[str, Page] = {
    "alert_list": Page(
        "Alerts",
        "Every alert as it reads: the rules and vendors that made it, the passage with the matched words "
        "*between asterisks*, the latest Relevant / Not relevant click. Newest first; the facets narrow it.",
        facets=("watchlist", "severity", "source", "feedback", "status"),
        array_facets=("rules", "vendors"),
        sort_desc="created_at",
    ),
    "alerts": Page(
        "Alerts as stored (the outbox)",
        "One row per watchlist match, with its delivery state; the match column is JSON (alert_list reads it).",
        facets=("watchlist", "severity", "status", "kind"),
        sort_desc="created_at",
    ),
    "stories": Page(
        "Stories",
        "Every story stored, once per canonical URL. The search box searches titles, summaries and texts "
        "of the stories clustered (a run clusters what it stores).",
        facets=("source",),
        sort_desc="first_seen_at",
        label_column="title",
    ),
    "story_sources": Page(
        "Who carried each story",
        "Each source that carried a story, and when it did first.",
        facets=("source",),
        sort_desc="seen_at",
    ),
    "sources": Page(
        "Sources",
        "Each source of newsbot.yaml: its last fetch, what it answered, its health.",
        facets=("health", "last_status"),
        label_column="name",
    ),
    "feedback": Page(
        "Clicks in Slack",
        "Each button clicked on an alert in Slack, once per alert, person and action.",
        facets=("action", "user_name"),
        sort_desc="clicked_at",
    ),
    "mutes": Page(
        "Mutes",
        "Vendors and clusters muted from Slack, until when, by whom; lifted ones say so.",
        facets=("watchlist", "vendor"),
        sort_desc="created_at",
    ),
    "source_notices": Page(
        "Source notices",
        "What newsbot announced about a source's health (failing, stale, recovered).",
        facets=("source", "kind"),
        sort_desc="created_at",
    ),
    "notices": Page("Notices", "What newsbot announced about itself (delivery failing).", sort_desc="sent_at"),
    "runs": Page("Runs", "Each `newsbot run`: when it started and ended, its summary as JSON.", sort_desc="started_at"),
}

# What each column of a view holds: a sentence, or the table column it shows (described in the schema).
VIEW_COLUMNS: dict[str, dict[str, str | tuple[str, str]]] = {
    "alert_list": {
        "created_at": ("alerts", "created_at"),
        "severity": ("alerts", "severity"),
        "watchlist": "the watchlist that matched",
        "title": "the story's title",
        "snippet": "the passage that matched, matched words between asterisks",
        "rules": "the rules that fired",
        "vendors": "the watchlist's vendors whose words counted (what 'Mute vendor' mutes)",
        "matched": "the words that made the rules' conditions true",
        "source": ("stories", "source"),
        "feedback": "the latest Relevant / Not relevant click: relevant | not_relevant",
        "feedback_by": "who made that click",
        "status": ("alerts", "status"),
        "kind": ("alerts", "kind"),
        "url": "the story's canonical URL",
        "alert_id": "the alert (alerts.id)",
        "story_id": "the story (stories.id)",
    },
}

# The shingle index is the clustering's machinery, host pacing the crawl's; sqlite-utils' migrations
# table is its bookkeeping. (Datasette hides stories_fts and its shadow tables by itself.)
HIDDEN = ("shingle_index", "story_links", "host_pacing", Migrations.migrations_table)  # machinery, not news

SETTINGS = {
    "truncate_cells_html": 300,  # a story's text runs to 200,000 characters: a cell shows the start
    # One reader on this machine, not a public site: a facet may take its second (Datasette's default is
    # 200 ms; a facet that takes longer is left out, "These facets timed out"). Measured on 2 busy cores:
    # alert_list with 5,000 alerts, all facets in 0.9 s; with 20,000, the rule facet times out.
    "facet_time_limit_ms": 1000,
}

# Datasette lists column descriptions one per line above the rows (16 lines before the first alert): two
# pairs a line instead. Prose columns get room to be read; their neighbours (ids, times) give it up.
STYLE = """
dl.column-descriptions { display: grid; grid-template-columns: repeat(2, max-content minmax(0, 1fr));
  gap: 0.1em 0.8em; font-size: 0.85em; }
dl.column-descriptions dd { padding-left: 0; }
table.rows-and-columns :is(td.col-title, td.col-snippet, td.col-summary, td.col-text, td.col-first_story) {
  min-width: 18em; }
table.rows-and-columns td.col-created_at { white-space: nowrap; }
"""


def metadata(database: str, path: Path, present: Present) -> dict[str, Any]:
    """Datasette's metadata (its metadata.json, as a dict) for newsbot's database served as `database`."""
    tables: dict[str, dict[str, Any]] = {
        name: {"hidden": True, "columns": _columns(name, set(present[name]))} for name in HIDDEN if name in present
    }
    for name, page in PAGES.items():
        if name in present:
            tables[name] = _table(name, page, set(present[name]))
    return {
        "title": "newsbot",
        "extra_css_urls": [f"data:text/css,{quote(STYLE)}"],
        "databases": {
            database: {
                "description_html": _introduction(database, path, present),
                "tables": tables,
                "queries": canned_queries(present),
            }
        },
    }


def _introduction(database: str, path: Path, present: Present) -> str:
    """The database page lists tables by name and views last: say where to start."""
    link = f"/{tilde_encode(database)}"
    start = [f'<a href="{link}/alert_list">the alerts</a>'] if "alert_list" in present else []
    start.append(f'<a href="{link}/stories">the stories</a> (searchable)')
    return f"{html.escape(str(path))}, read-only. Start with {' or '.join(start)}."


def _table(name: str, page: Page, columns: set[str]) -> dict[str, Any]:
    facets: list[str | dict[str, str]] = [column for column in page.facets if column in columns]
    facets += [{"array": column} for column in page.array_facets if column in columns]
    table: dict[str, Any] = {
        "title": page.title,
        "description": page.description,
        "columns": _columns(name, columns),
        "facets": facets,
    }
    if page.sort_desc in columns:
        table["sort_desc"] = page.sort_desc
    if page.label_column in columns:
        table["label_column"] = page.label_column
    return table


def _columns(name: str, columns: set[str]) -> dict[str, str]:
    """What each column the file has holds, as newsbot.storage.schema (or VIEW_COLUMNS) says."""
    described = {column: meaning for column, (_, meaning) in TABLES.get(name, {}).items()}
    for column, meaning in VIEW_COLUMNS.get(name, {}).items():
        described[column] = meaning if isinstance(meaning, str) else TABLES[meaning[0]][meaning[1]][1]
    return {column: meaning for column, meaning in described.items() if column in columns}
