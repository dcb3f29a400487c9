"""newsbot.browse.metadata and newsbot.browse.queries against real migrated databases: every table has its
page, every facet and query names columns that exist, labels come from newsbot.storage.schema, and a
database an older newsbot wrote gets what it can show."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from newsbot.browse.metadata import HIDDEN, PAGES, VIEW_COLUMNS, metadata
from newsbot.browse.queries import QUERIES, canned_queries
from newsbot.browse.site import site_for
from newsbot.errors import StorageError
from newsbot.storage.database import APPLICATION_ID, Storage
from newsbot.storage.migrations import MIGRATIONS
from newsbot.storage.schema import TABLES


def present(storage: Storage) -> dict[str, list[str]]:
    names = [*storage.db.table_names(), *storage.db.view_names()]
    return {name: list(storage.db[name].columns_dict) for name in names}


def tables_of(described: dict[str, Any]) -> dict[str, Any]:
    (database,) = described["databases"].values()
    tables: dict[str, Any] = database["tables"]
    return tables


def test_every_table_has_a_page_and_every_page_names_real_columns(storage: Storage) -> None:
    """Metadata keeps only the columns a file has (for older files): a misspelt facet would vanish silently."""
    columns = present(storage)

    assert set(TABLES) <= set(PAGES) | set(HIDDEN)  # a new table gets a page, or is hidden on purpose
    for name, page in PAGES.items():
        named = {*page.facets, *page.array_facets, page.sort_desc, page.label_column} - {None}
        assert named <= set(columns[name]), name


def test_the_view_is_described_column_by_column(storage: Storage) -> None:
    assert list(VIEW_COLUMNS) == storage.db.view_names()
    for view, described in VIEW_COLUMNS.items():
        assert list(described) == list(storage.db[view].columns_dict)


def test_labels_come_from_the_schema(storage: Storage, tmp_path: Path) -> None:
    tables = tables_of(metadata("newsbot", tmp_path / "newsbot.db", present(storage)))

    for table, columns in TABLES.items():
        assert tables[table]["columns"] == {column: meaning for column, (_, meaning) in columns.items()}
    view = tables["alert_list"]["columns"]
    assert view["snippet"] == VIEW_COLUMNS["alert_list"]["snippet"]
    assert (view["status"], view["source"]) == (TABLES["alerts"]["status"][1], TABLES["stories"]["source"][1])
    assert tables["shingle_index"]["hidden"] and tables["_sqlite_migrations"]["hidden"]
    assert {"array": "rules"} in tables["alert_list"]["facets"]


def test_every_query_is_offered_on_a_current_database_and_runs(storage: Storage) -> None:
    columns = present(storage)
    offered = canned_queries(columns)

    assert list(offered) == [query.name for query in QUERIES]
    for query in QUERIES:
        assert all(set(needed) <= set(columns[table]) for table, needed in query.reads.items())
        storage.db.execute(query.sql).fetchall()  # a typo in a column or table name fails here


def test_a_database_from_before_the_feedback_buttons_still_browses(tmp_path: Path) -> None:
    path = tmp_path / "newsbot.db"
    db = Database(path)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    MIGRATIONS.apply(db, stop_before="m006_feedback")
    db.close()

    site = site_for(path)
    described = asyncio.run(site.datasette.client.get(f"{site.path}.json")).json()
    alerts = asyncio.run(site.datasette.client.get(f"{site.path}/alerts.json"))

    assert site.outdated
    names = {table["name"] for table in described["tables"]} | {view["name"] for view in described["views"]}
    assert "alert_list" not in names and "feedback" not in names
    assert alerts.status_code == 200, alerts.text
    assert set(alerts.json()["facet_results"]) == {"watchlist", "severity", "status", "kind"}
    queries = asyncio.run(site.datasette.client.get(site.path)).text
    assert "Failing sources" in queries and "Recent clusters" in queries
    assert "Alerts of the last 7 days" not in queries and "Not relevant" not in queries


def test_a_current_database_is_not_outdated(storage: Storage, tmp_path: Path) -> None:
    storage.close()

    assert not site_for(tmp_path / "newsbot.db").outdated


def test_other_files_are_refused_as_every_command_refuses_them(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER)")

    with pytest.raises(StorageError, match="not a newsbot database"):
        site_for(other)
    with pytest.raises(StorageError, match="does not exist"):
        site_for(tmp_path / "missing.db")
