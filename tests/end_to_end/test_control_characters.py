"""A feed's text reaches people: an alert on the terminal (what cron mails), `search`, `explain`,
`status` and `backtest`.
Control characters in it — a terminal's escape sequences, a bell — are dropped before either shows
it: a JSON Feed can carry them (XML cannot), and one recoloured the terminal and retitled its window."""

from __future__ import annotations

import json
import sqlite3

from tests.conftest import Workspace
from tests.servers import FeedServer, Route, recent, rss

HOSTILE_TITLE = "Mitto AG sold SS7 access \x1b[31mRED\x1b[0m \x1b]0;pwned\x07 to locate phones"


def test_escape_sequences_in_a_headline_reach_neither_the_terminal_nor_search(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Wire",
        "items": [
            {
                "id": "1",
                "url": "https://news.example/mitto\x1b[2J",
                "title": HOSTILE_TITLE,
                "content_text": "The SMS aggregator's co-founder sold surveillance access, \x1b[5mblinking\x1b[0m.",
            }
        ],
    }
    url = feed_server.add("/feed.json", Route(json.dumps(feed).encode(), content_type="application/feed+json"))
    workspace.source("Wire", url)

    run = workspace.newsbot("run")
    with sqlite3.connect(workspace.database) as db:
        [(stored,)] = db.execute("SELECT url FROM stories").fetchall()
    shown = {
        "run": run,
        "search": workspace.newsbot("search", "Mitto"),
        "explain": workspace.newsbot("explain", "--url", stored),
        "status": workspace.newsbot("status"),
        "backtest": workspace.newsbot("backtest", str(workspace.watchlist())),
    }

    title = "Mitto AG sold SS7 access [31mRED[0m ]0;pwned to locate phones"
    for command, result in shown.items():
        assert result.returncode == 0, (command, result.stderr)
        assert title in result.stdout or command == "status", (command, result.stdout)  # status: if unwell
        assert not any(character in result.stdout for character in "\x1b\x07"), (command, repr(result.stdout))
    assert "https://news.example/mitto" in shown["search"].stdout


def test_half_a_surrogate_pair_in_a_json_feed_stops_neither_the_run_nor_the_other_sources(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """JSON may escape half a UTF-16 pair alone ("\\ud83d"); Python keeps it, SQLite's UTF-8 insert
    refused it, and the whole run ended in a traceback, every run: nothing stored, nothing alerted,
    not even the other sources' stories, and `status` said nothing was wrong."""
    half = "\ud83d"
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Wire",
        "items": [
            {
                "id": "1",
                "url": "https://news.example/mitto",
                "title": f"Mitto AG sold SS7 access {half} to locate phones",
                "summary": f"The co-founder {half} sold access.",
                "content_text": f"The SMS aggregator's co-founder sold surveillance access {half}.",
            },
            {  # in its address: the whole feed failed
                "id": f"2{half}",
                "url": f"https://news.example/kaleyra-{half}",
                "title": "Kaleyra confirms breach of its SMS platform",
            },
        ],
    }
    body = json.dumps(feed).encode()  # ensure_ascii: the half pair is written as the escape \ud83d
    assert b"\\ud83d" in body
    workspace.source("Wire", feed_server.add("/feed.json", Route(body, content_type="application/feed+json")))
    kaleyra = {"title": "Kaleyra confirms breach", "link": "https://other.example/kaleyra", "pubDate": recent()}
    workspace.source("Other", feed_server.add("/other.xml", Route(rss([kaleyra]))))

    run = workspace.newsbot("run")

    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    with sqlite3.connect(workspace.database) as db:
        stored = dict(db.execute("SELECT url, title FROM stories").fetchall())
        alerted = db.execute("SELECT count(*) FROM alerts").fetchone()[0]
    assert stored["https://news.example/mitto"] == "Mitto AG sold SS7 access \ufffd to locate phones"
    assert "https://other.example/kaleyra" in stored
    assert [url for url in stored if url.startswith("https://news.example/kaleyra-")], stored
    assert alerted == 3
