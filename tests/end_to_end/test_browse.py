"""`newsbot browse` on a database a real `newsbot run` wrote: Datasette's own test client for the pages,
the command in a subprocess for the address it listens on, and headless Chromium for what a person sees.

One run serves the whole module: three feeds over local HTTP (one story in two of them, one feed that
fails), then the clicks the Slack buttons store (feedback rows, as newsbot.storage.schema describes
them) and one alert moved ten days back, so that "the last 7 days" leaves something out.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import signal
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from newsbot.browse.site import Site, site_for
from newsbot.matching.snippets import render
from newsbot.storage.database import Storage
from newsbot.storage.records import match_from_record
from tests.conftest import Workspace
from tests.feed_items import MITTO_SS7 as MITTO
from tests.servers import FeedServer, Route, recent, rss

KALEYRA = {
    "title": "Kaleyra confirms breach of customer data",
    "link": "https://news.example.com/kaleyra-breach",
    "description": "Attackers leaked records of the CPaaS provider.",
}
MESSAGEBIRD = {
    "title": "MessageBird SMS platform hacked, spyware found",
    "link": "https://news.example.com/messagebird",
    "description": "The CPaaS firm's messaging platform was hacked last spring.",
}
ROBOCALLS = {
    "title": "Regulator publishes robocall rules",
    "link": "https://news.example.com/robocalls",
    "description": "Carriers must authenticate caller ID.",
}
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browsed(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    server = FeedServer()
    server.start()
    try:
        workspace = Workspace(tmp_path_factory.mktemp("browse"))
        stories = [MITTO, KALEYRA, MESSAGEBIRD, ROBOCALLS]
        workspace.source(
            "Wire", server.add("/wire.xml", Route(rss([{**item, "pubDate": recent()} for item in stories])))
        )
        workspace.source("Desk", server.add("/desk.xml", Route(rss([{**MITTO, "pubDate": recent()}]))))
        workspace.source("Broken", server.add("/broken.xml", Route(b"down", status=500)))
        result = workspace.newsbot("run")
        assert result.returncode == 0, result.stderr
    finally:
        server.stop()
    ten_days_ago = (datetime.now(UTC) - timedelta(days=10)).isoformat(timespec="seconds")
    with sqlite3.connect(workspace.database) as connection:
        alert = {title: id_ for id_, title in connection.execute(_ALERT_TITLES)}
        assert set(alert) == {MITTO["title"], KALEYRA["title"], MESSAGEBIRD["title"]}, result.stdout
        clicks = [
            (alert[KALEYRA["title"]], "U1", "ana", "relevant", "2026-11-30T09:00:00+00:00"),
            (alert[KALEYRA["title"]], "U2", "bo", "not_relevant", "2026-11-30T09:05:00+00:00"),  # the latest counts
            (alert[MITTO["title"]], "U1", "ana", "relevant", "2026-11-30T09:10:00+00:00"),
            (alert[MITTO["title"]], "U1", "ana", "mute_7d", "2026-11-30T09:11:00+00:00"),  # not a verdict
        ]
        connection.executemany("INSERT INTO feedback VALUES (?, ?, ?, ?, ?)", clicks)
        connection.execute("UPDATE alerts SET created_at = ? WHERE id = ?", [ten_days_ago, alert[MESSAGEBIRD["title"]]])
    return workspace


_ALERT_TITLES = "SELECT alerts.id, stories.title FROM alerts JOIN stories ON stories.id = alerts.story_id"


@pytest.fixture(scope="module")
def site(browsed: Workspace) -> Site:
    return site_for(browsed.database)


def get(site: Site, path: str, **options: Any) -> Any:
    """A page through Datasette's test client: the same app `newsbot browse` serves, without a server."""
    return asyncio.run(site.datasette.client.get(path, **options))


def rows(site: Site, page: str) -> list[dict[str, Any]]:
    """The rows of a table, view or canned query, e.g. `stories?_search=Mitto`, as JSON objects."""
    name, _, query = page.partition("?")
    response = get(site, f"{site.path}/{name}.json?_shape=array&{query}")
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def test_database_page_offers_the_queries_and_hides_the_machinery(site: Site) -> None:
    tables = {table["name"]: table["hidden"] for table in get(site, f"{site.path}.json").json()["tables"]}
    page = get(site, site.path).text

    hidden = {"shingle_index", "_sqlite_migrations", "stories_fts", "stories_fts_data", "stories_fts_idx"}
    assert {name for name, is_hidden in tables.items() if is_hidden} >= hidden
    assert not any(tables[name] for name in ("alerts", "stories", "sources", "feedback", "mutes", "story_sources"))
    assert not any(name in page for name in hidden)
    for title in ("Alerts of the last 7 days", "Alerts marked Not relevant", "Failing sources", "Recent clusters"):
        assert title in page
    assert f'href="{site.path}/alert_list"' in page  # the introduction says where to start


@pytest.mark.parametrize("path", ["/-/versions", "/-/versions.json", "/-/plugins", "/-/databases.json"])
def test_datasettes_own_pages_answer(site: Site, path: str) -> None:
    """/-/versions opens a connection of its own ("_memory"), which the read-only hook once looked
    up among the databases: a KeyError, a 500 and a traceback."""
    assert get(site, path).status_code == 200


def test_stories_are_searchable(site: Site) -> None:
    assert [row["title"] for row in rows(site, "stories?_search=Mitto")] == [MITTO["title"]]
    assert [row["title"] for row in rows(site, "stories?_search=caller")] == [ROBOCALLS["title"]]
    assert rows(site, "stories?_search=Diameter") == []


def test_alerts_read_as_text_with_what_made_them(site: Site, browsed: Workspace) -> None:
    with sqlite3.connect(browsed.database) as connection:
        stored = {
            id_: (watchlist, json.loads(match))
            for id_, watchlist, match in connection.execute("SELECT id, watchlist, match FROM alerts")
        }
    listed = rows(site, "alert_list")

    assert len(listed) == 3
    for row in listed:
        watchlist, record = stored[row["alert_id"]]
        match = match_from_record(watchlist, record)
        assert row["snippet"] == render(match.snippet)  # the passage as Slack and the terminal show it
        assert "*" in row["snippet"] and "{" not in row["snippet"]
        assert json.loads(row["rules"]) == [hit.rule for hit in match.rules]
        assert json.loads(row["vendors"]) == list(match.vendors)
    by_title = {row["title"]: row for row in listed}
    assert json.loads(by_title[MITTO["title"]]["vendors"]) == ["Mitto AG"]
    assert (by_title[KALEYRA["title"]]["feedback"], by_title[KALEYRA["title"]]["feedback_by"]) == ("not_relevant", "bo")
    assert by_title[MITTO["title"]]["feedback"] == "relevant"
    assert by_title[MESSAGEBIRD["title"]]["feedback"] is None
    storage = Storage.open(browsed.database, migrate=False)
    try:  # the view's verdict is the one `newsbot feedback` and `tune` count
        verdicts = {alert: str(action) for alert, action in storage.verdicts().items()}
    finally:
        storage.close()
    assert {row["alert_id"]: row["feedback"] for row in listed if row["feedback"]} == verdicts
    page = html.unescape(get(site, f"{site.path}/alert_list").text)
    assert all(row["snippet"] in page for row in listed)


def test_facets(site: Site) -> None:
    facets = get(site, f"{site.path}/alert_list.json").json()["facet_results"]
    counts = {name: {result["value"]: result["count"] for result in facet["results"]} for name, facet in facets.items()}

    assert counts["rules"] == {"vendor-surveillance": 2, "vendor-breach": 2}
    assert counts["vendors"] == {"Mitto AG": 1, "Kaleyra": 1, "MessageBird": 1}
    assert counts["feedback"] == {"relevant": 1, "not_relevant": 1}
    assert counts["severity"] == {"high": 2, "medium": 1}
    assert set(counts["source"]) <= {"Wire", "Desk"} and sum(counts["source"].values()) == 3
    assert set(counts) >= {"watchlist", "status"}
    stories = get(site, f"{site.path}/stories.json").json()["facet_results"]
    assert {result["value"] for result in stories["source"]["results"]} == {"Wire", "Desk"}
    not_relevant = rows(site, "alert_list?feedback=not_relevant")
    assert [row["title"] for row in not_relevant] == [KALEYRA["title"]]


def test_canned_queries_answer_the_morning_questions(site: Site) -> None:
    assert {row["title"] for row in rows(site, "alerts_last_7_days")} == {MITTO["title"], KALEYRA["title"]}
    assert [row["title"] for row in rows(site, "not_relevant_alerts")] == [KALEYRA["title"]]
    assert [row["name"] for row in rows(site, "failing_sources")] == ["Broken"]
    clusters = rows(site, "recent_clusters")
    assert [(row["first_story"], sorted(row["carried_by"].split(", "))) for row in clusters] == [
        (MITTO["title"], ["Desk", "Wire"])
    ]


def test_writes_are_refused(site: Site, browsed: Workspace) -> None:
    def count() -> int:
        with sqlite3.connect(browsed.database) as connection:
            return int(connection.execute("SELECT count(*) FROM stories").fetchone()[0])

    before = count()
    database = site.datasette.get_database(site.database)

    refused_sql = get(site, f"{site.path}.json", params={"sql": "DELETE FROM stories"})
    posted = asyncio.run(
        site.datasette.client.post(f"{site.path}/failing_sources", data={"sql": "DELETE FROM stories"})
    )
    deleted = asyncio.run(site.datasette.client.delete(f"{site.path}/stories"))
    with pytest.raises(sqlite3.OperationalError, match="readonly"):  # a plugin's write, through Datasette's own path
        asyncio.run(database.execute_write("DELETE FROM stories"))

    assert refused_sql.status_code == 400
    assert (posted.status_code, deleted.status_code) == (405, 405)
    assert "read-only" in posted.text
    assert count() == before > 0


def test_a_run_while_browsing_writes_and_the_pages_show_it(workspace: Workspace, feed_server: FeedServer) -> None:
    """Datasette holds its read-only connections open across requests; cron's run still writes (WAL), and
    the next page shows what it wrote, without a restart."""
    feed = feed_server.add("/wire.xml", Route(rss([{**ROBOCALLS, "pubDate": recent()}])))
    workspace.source("Wire", feed)
    assert workspace.newsbot("run").returncode == 0
    site = site_for(workspace.database)
    assert [row["title"] for row in rows(site, "stories")] == [ROBOCALLS["title"]]

    feed_server.add("/wire.xml", Route(rss([{**item, "pubDate": recent()} for item in (ROBOCALLS, MITTO)])))
    second = workspace.newsbot("run")

    assert second.returncode == 0, second.stderr
    assert {row["title"] for row in rows(site, "stories")} == {ROBOCALLS["title"], MITTO["title"]}
    assert [row["title"] for row in rows(site, "alert_list")] == [MITTO["title"]]


@dataclass
class Served:
    url: str  # the address `newsbot browse` printed
    process: subprocess.Popen[str]
    stderr: str = ""


@contextlib.contextmanager
def serving(workspace: Workspace) -> Iterator[Served]:
    """`newsbot browse --no-open --port 0` in a subprocess, stopped with SIGTERM at the end."""
    process = workspace.popen("browse", "--no-open", "--port", "0")
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("newsbot browse: http://"):
        process.kill()
        pytest.fail(f"newsbot browse did not start: {line}{process.communicate(timeout=10)[1]}")
    served = Served(line.split()[2], process)
    try:
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        served.stderr = process.communicate(timeout=30)[1]


def test_browse_listens_on_loopback_only_and_stops_on_sigterm(browsed: Workspace) -> None:
    with serving(browsed) as served:
        assert served.url.startswith("http://127.0.0.1:")
        port = int(served.url.removeprefix("http://127.0.0.1:").split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        with pytest.raises(ConnectionRefusedError):  # another loopback address: not bound to every interface
            socket.create_connection(("127.0.0.2", port), timeout=5).close()

    assert served.process.returncode == 128 + signal.SIGTERM, served.stderr
    assert "stopped by SIGTERM" in served.stderr


@pytest.mark.skipif(not CHROMIUM.exists(), reason="the headless check needs /usr/bin/chromium")
def test_pages_in_a_headless_browser(browsed: Workspace, site: Site, tmp_path: Path) -> None:
    """What a person sees: the alerts page with its passages (no JSON), a search; a screenshot in tmp_path."""
    snippets = [row["snippet"] for row in rows(site, "alert_list")]
    with serving(browsed) as served:
        alerts = _chromium("--dump-dom", f"{served.url}/alert_list", home=tmp_path)
        search = _chromium("--dump-dom", f"{served.url}/stories?_search=spyware", home=tmp_path)
        screenshot = tmp_path / "alerts.png"
        _chromium(f"--screenshot={screenshot}", "--window-size=1280,1600", f"{served.url}/alert_list", home=tmp_path)

    text = html.unescape(alerts)
    assert len(snippets) == 3 and all(snippet in text for snippet in snippets)
    assert "*surveillance*" in text and "snippet_field" not in text  # the passage, not the match JSON
    assert MESSAGEBIRD["title"] in html.unescape(search) and MITTO["title"] not in html.unescape(search)
    assert screenshot.read_bytes().startswith(b"\x89PNG")


def _chromium(*arguments: str, home: Path) -> str:
    """Chromium without a sandbox (tests run as root), a GPU or network of its own; its profile in `home`."""
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    result = subprocess.run(
        [*command, f"--user-data-dir={home / 'chromium'}", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_no_database_yet_is_a_sentence(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    result = workspace.newsbot("browse", "--no-open")

    assert result.returncode == 4, result.stderr
    assert "does not exist; run `newsbot run` first" in result.stderr


def test_an_empty_database_file_is_no_run_yet_not_an_older_newsbots(tmp_path: Path) -> None:
    """What a first run that failed leaves: browse noted "an older newsbot wrote this database"."""
    workspace = Workspace(tmp_path)
    workspace.database.touch()
    result = workspace.newsbot("browse", "--no-open")

    assert result.returncode == 4, result.stderr
    assert result.stderr == (
        f"newsbot: no run yet: {workspace.database} is empty (a first run that failed leaves it so); "
        "run `newsbot run`\n"
    )


def test_a_port_taken_is_a_sentence(browsed: Workspace) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        result = browsed.newsbot("browse", "--no-open", "--port", str(taken.getsockname()[1]))

    assert result.returncode == 5, result.stderr
    assert "cannot listen on 127.0.0.1:" in result.stderr and "choose another --port" in result.stderr
