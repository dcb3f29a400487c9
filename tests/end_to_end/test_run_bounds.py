"""Every run bounded: the run's budget, dead hosts skipped, articles capped, delivery not held back.

Real Scrapy over real sockets on 127.0.0.1 (hosts that never answer included: tests/deadhosts.py),
the CLI in a subprocess as cron runs it, a real SQLite file.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsbot.configuration.config import load_config
from newsbot.configuration.fetch_config import FetchSettings
from newsbot.errors import ConfigError
from newsbot.sources.crawl import scrapy_settings
from tests.conftest import REPOSITORY, Workspace
from tests.deadhosts import FullBacklogHost, ResettingHost, SilentHost, refused_port
from tests.feed_items import MITTO_SS7 as MITTO
from tests.servers import FakeSlack, FeedServer, Route, recent, rss

HTML = "text/html; charset=utf-8"


def rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()


def article(title: str) -> Route:
    paragraphs = "".join(
        f"<p>{title}: paragraph {n} of the full article, with enough words to read.</p>" for n in range(8)
    )
    body = (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    )
    return Route(body.encode(), content_type=HTML)


def teaser(title: str, link: str, hours_ago: float | None) -> dict[str, str]:
    item = {"title": title, "link": link, "description": "A teaser."}
    if hours_ago is not None:
        item["pubDate"] = recent(hours_ago)
    return item


def requested(server: FeedServer, path: str) -> int:
    return len(server.requests_to(path))


@pytest.fixture
def silent_host() -> Iterator[SilentHost]:
    host = SilentHost().start()
    yield host
    host.stop()


@pytest.fixture
def full_backlog_host() -> Iterator[FullBacklogHost]:
    host = FullBacklogHost()
    yield host
    host.stop()


def test_dead_article_hosts_are_skipped_after_three_failures_with_one_line_each(
    workspace: Workspace, feed_server: FeedServer, silent_host: SilentHost, full_backlog_host: FullBacklogHost
) -> None:
    refused = f"http://127.0.0.1:{refused_port()}"
    unresolvable = "http://newsbot-test.invalid"  # .invalid never resolves (RFC 2606)
    dead = {"silent": silent_host.url, "backlog": full_backlog_host.url, "refused": refused, "dns": unresolvable}
    items = [teaser(f"{kind} story {n}", f"{url}/{kind}-{n}", n) for n in range(25) for kind, url in dead.items()]
    workspace.settings["fetch"].update({"timeout_seconds": 1, "run_budget_seconds": 60, "max_articles": 100})
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss(items))), full_text="auto")

    started = time.monotonic()
    result = workspace.newsbot("run")
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    skipped = [line.strip() for line in result.stdout.splitlines() if "skipped after" in line]
    assert len(skipped) == 4, result.stdout  # one line per host, not one per link
    host_of = {kind: url.removeprefix("http://") for kind, url in dead.items()}
    expected = {
        "silent": "the server did not answer in time (fetch.timeout_seconds)",  # accepted, never answered
        "backlog": "the server did not answer in time (fetch.timeout_seconds)",  # the connection never completed
        "refused": "the connection was refused",
        "dns": "the host name could not be resolved",
    }
    for kind, sentence in expected.items():
        [line] = [line for line in skipped if f"host {host_of[kind]} " in line]
        assert re.fullmatch(
            rf"host {host_of[kind]} skipped after 3 failed connections: {re.escape(sentence)}; \d+ requests not made",
            line,
        ), line
    # robots.txt and the first articles (two at a time per host): never one connection per link
    assert silent_host.connections <= 4
    # the links that failed before their host was skipped keep their teaser; the others wait
    stored = rows(workspace.database, "SELECT count(*) FROM stories")[0][0]
    assert 4 * 2 <= stored < 100  # at least two links a host (its robots.txt may be the third failure)
    assert f"{stored} new stories" in result.stdout
    assert f"{100 - stored} stories wait for the next run" in result.stdout
    assert len([line for line in result.stdout.splitlines() if line.startswith("  source warning: Wire:")]) == 1
    assert elapsed < 20  # not skipped, 50 links timing out after 1 s, two at a time, take 25 s alone


def test_a_host_that_stays_dead_costs_a_few_teasers_a_run_until_every_story_is_stored(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    dead = f"http://127.0.0.1:{refused_port()}"
    items = [teaser(f"Story {n}", f"{dead}/story-{n}", n + 1) for n in range(8)]
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss(items), etag='"v1"')), full_text="auto")

    runs = [workspace.newsbot("run")]
    while "for the next run" in runs[-1].stdout and len(runs) < 10:  # "3 stories wait …", "1 story waits …"
        runs.append(workspace.newsbot("run"))
    last = workspace.newsbot("run")
    stored = [int(re.search(r"(\d+) new stories", run.stdout).group(1)) for run in runs]  # type: ignore[union-attr]

    assert all(run.returncode == 0 for run in [*runs, last]), [run.stderr for run in runs]
    assert len(runs) > 1 and "for the next run" in runs[0].stdout
    assert all(stored)  # each run keeps the stories whose article failed before the host was skipped
    assert sum(stored) == 8 and "cut short" not in runs[-1].stdout
    assert "1 unchanged" in last.stdout  # once every story is stored, the validators are too
    assert rows(workspace.database, "SELECT count(DISTINCT url) FROM stories") == [(8,)]


@pytest.mark.parametrize("stories", [1, 2])
def test_stories_whose_articles_failed_on_a_dead_host_keep_their_teasers(
    workspace: Workspace, feed_server: FeedServer, stories: int
) -> None:
    """One story: the host's robots.txt and its retries used to be the host's three failures, so the one
    article was refused before it was tried, waited for the next run, and met the same every run:
    never stored. Two, one request at a time: while the first article's retry waits out its pause,
    the second's request fails and the host is given up on; the retry is then refused, but that
    article failed itself, and keeps its teaser too."""
    dead = f"http://127.0.0.1:{refused_port()}"
    workspace.settings["fetch"].update(
        {"retries": 2, "retry_backoff_seconds": 1.0, "concurrent_requests_per_domain": 1}
    )
    items = [teaser(f"Mitto AG sold SS7 access, part {n}", f"{dead}/mitto-{n}", 1) for n in range(stories)]
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss(items))), full_text="auto")

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert "skipped after 3 failed connections" in result.stdout, result.stdout
    assert "for the next run" not in result.stdout and "cut short" not in result.stdout, result.stdout
    assert rows(workspace.database, "SELECT count(*) FROM stories WHERE summary = 'A teaser.'") == [(stories,)]


def test_stories_too_old_to_alert_cost_no_article_request(workspace: Workspace, feed_server: FeedServer) -> None:
    items = []
    for name, hours in {"new": 2, "old": 24 * 10}.items():
        feed_server.add(f"/{name}.html", article(f"Story {name}"))
        items.append(teaser(f"Story {name}", f"{feed_server.url}/{name}.html", hours))
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss(items))), full_text="auto")

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert (requested(feed_server, "/new.html"), requested(feed_server, "/old.html")) == (1, 0)
    assert rows(workspace.database, "SELECT count(*) FROM stories") == [(2,)]  # the old one is stored all the same


def test_a_dead_feed_host_fails_its_sources_with_the_host_sentence(
    workspace: Workspace, silent_host: SilentHost
) -> None:
    workspace.settings["fetch"].update({"timeout_seconds": 1})
    for n in range(5):
        workspace.source(f"Feed {n}", f"{silent_host.url}/feed-{n}.xml")

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    host = silent_host.url.removeprefix("http://")
    skipped = f"host {host} skipped after 3 failed connections: the server did not answer in time"
    lines = result.stdout.splitlines()
    assert "5 failed" in result.stdout
    # robots.txt and two feeds fail, then the host is skipped. Under load a third feed may take the slot
    # the first freed before the second has failed: then two requests are not made instead of three.
    not_made = sum(line.startswith("  source failed: Feed ") and skipped in line for line in lines)
    assert not_made in (2, 3), result.stdout
    assert (
        sum(line.startswith(f"  {skipped}") and line.endswith(f"; {not_made} requests not made") for line in lines) == 1
    )
    assert silent_host.connections <= 1 + 5 - not_made  # robots.txt and each feed that was tried, never more


def test_the_budget_cuts_the_crawl_short_and_the_next_run_continues(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    gate = threading.Event()
    items = []
    for n in range(6):  # the three newest answer at once, the three oldest not before the budget is spent
        path = f"/articles/{n}.html"
        route = article(f"Story {n}")
        if n >= 3:
            route.gate = gate
        feed_server.add(path, route)
        items.append(teaser(f"Story {n}", feed_server.url + path, hours_ago=n + 1))
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss(items), etag='"wire-v1"')), full_text="auto")
    workspace.source("Slow", feed_server.add("/slow.xml", Route(rss([teaser("Slow", MITTO["link"], 1)]), gate=gate)))
    workspace.settings["fetch"].update({"run_budget_seconds": 3, "timeout_seconds": 30})

    started = time.monotonic()
    first = workspace.newsbot("run")
    elapsed = time.monotonic() - started
    stored_after_first = rows(workspace.database, "SELECT url FROM stories ORDER BY url")
    wire_after_first = rows(workspace.database, "SELECT etag, body_hash, last_status FROM sources WHERE name = 'Wire'")
    slow_after_first = rows(workspace.database, "SELECT * FROM sources WHERE name = 'Slow'")
    articles_after_first = [requested(feed_server, f"/articles/{n}.html") for n in range(6)]
    gate.set()
    second = workspace.newsbot("run")
    articles_in_second = [requested(feed_server, f"/articles/{n}.html") - articles_after_first[n] for n in range(6)]

    assert first.returncode == 0, first.stderr
    assert elapsed < 3 + 12  # the budget, then what follows it: not the 30 s a download may take
    assert "(0 unchanged, 0 failed, 2 cut short)" in first.stdout
    spent = "the run's budget of 3 s (fetch.run_budget_seconds) was spent"
    assert f"source cut short: Wire: {spent}; 3 stories wait for the next run" in first.stdout
    assert f"source cut short: Slow: {spent}" in first.stdout
    assert stored_after_first == [(f"{feed_server.url}/articles/{n}.html",) for n in range(3)]
    assert wire_after_first == [(None, None, "ok")]  # validators not advanced: the next run fetches it again
    assert slow_after_first == []  # it never answered: nothing is known, nothing failed
    assert second.returncode == 0, second.stderr
    assert "cut short" not in second.stdout
    assert articles_after_first[:3] == [1, 1, 1]
    assert articles_in_second == [0, 0, 0, 1, 1, 1]  # the stored stories are skipped, the rest fetched
    assert rows(workspace.database, "SELECT etag FROM sources WHERE name = 'Wire'") == [('"wire-v1"',)]
    assert rows(workspace.database, "SELECT count(*) FROM stories") == [(7,)]


def test_max_articles_fetches_the_newest_first_and_the_rest_on_later_runs(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    ages = {"a": 5, "b": 1, "c": None, "d": 3, "e": 2}  # hours; c is undated: last
    items = []
    for name, age in ages.items():
        feed_server.add(f"/{name}.html", article(f"Story {name}"))
        items.append(teaser(f"Story {name}", f"{feed_server.url}/{name}.html", age))
    workspace.source(
        "Wire", feed_server.add("/wire.xml", Route(rss(items), etag='"v1"')), full_text="auto", max_articles=2
    )

    runs = [workspace.newsbot("run") for _ in range(3)]
    fourth = workspace.newsbot("run")

    order = [request.path for request in feed_server.requests if request.path.endswith(".html")]
    assert order[:2] == ["/b.html", "/e.html"] or order[:2] == ["/e.html", "/b.html"]
    assert sorted(order[2:4]) == ["/a.html", "/d.html"] and order[4:] == ["/c.html"]  # once each, newest first
    assert "source cut short: Wire: it reached max_articles (2 article pages a run); 3 stories wait" in runs[0].stdout
    assert "it reached max_articles (2 article pages a run); 1 story waits for the next run" in runs[1].stdout
    assert "cut short" not in runs[2].stdout and "5 new stories" not in runs[2].stdout
    assert rows(workspace.database, "SELECT count(*) FROM stories") == [(5,)]
    assert "1 unchanged" in fourth.stdout  # the last run stored the validators: now a 304


def test_delivery_does_not_wait_for_a_slow_source(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    gate = threading.Event()
    workspace.source("Fast", feed_server.add("/fast.xml", Route(rss([{**MITTO, "pubDate": recent()}]))))
    slow_story = teaser("Regulator publishes robocall rules", "https://news.example.com/robocalls", 1)
    workspace.source("Slow", feed_server.add("/slow.xml", Route(rss([slow_story]), gate=gate)))
    workspace.settings["fetch"]["timeout_seconds"] = 60
    workspace.use_slack(slack)

    running = workspace.popen("run")
    deadline = time.monotonic() + 40
    while not slack.delivered and time.monotonic() < deadline and running.poll() is None:
        time.sleep(0.1)
    delivered_while_slow_was_waiting = len(slack.delivered)
    gate.set()
    _, errors = running.communicate(timeout=60)

    assert delivered_while_slow_was_waiting == 1, errors
    assert "Mitto AG" in json.dumps(slack.delivered[0])
    assert running.returncode == 0, errors
    assert len(slack.delivered) == 1
    assert rows(workspace.database, "SELECT count(*) FROM stories") == [(2,)]


def test_the_bounds_are_config_keys_with_defaults_under_a_cron_interval(tmp_path: Path) -> None:
    config = tmp_path / "newsbot.yaml"
    body = (
        f"database: newsbot.db\nwatchlists: {REPOSITORY / 'examples' / 'watchlists'}\n"
        "fetch:\n  run_budget_seconds: 120\n  max_articles: 10\n"
        "sources:\n  - {name: Wire, feed: https://example.org/feed.xml}\n"
        "  - {name: Huge, feed: https://example.org/huge.xml, max_articles: 3}\n"
    )
    config.write_text(body, encoding="utf-8")

    settings = load_config(config).settings
    config.write_text(body.replace("max_articles: 3", "max_articles: 0"), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(config)

    assert FetchSettings().run_budget_seconds == 300 and FetchSettings().max_articles == 30
    assert (settings.fetch.run_budget_seconds, settings.fetch.max_articles) == (120, 10)
    assert [source.max_articles for source in settings.sources] == [None, 3]  # None: fetch.max_articles
    assert "newsbot.yaml:8: sources.1.max_articles" in str(refused.value)


def test_every_request_passes_the_run_bounds_first() -> None:
    settings = scrapy_settings(FetchSettings(timeout_seconds=2))
    middlewares = {**settings.getdict("DOWNLOADER_MIDDLEWARES_BASE"), **settings.getdict("DOWNLOADER_MIDDLEWARES")}

    first = min((priority, name) for name, priority in middlewares.items() if priority is not None)
    assert first == (10, "newsbot.sources.bounds.BoundsGate")  # before the address guard's DNS lookup and robots.txt
    assert settings.getdict("DOWNLOAD_HANDLERS")["http"] == "newsbot.sources.bounds.BoundedDownloadHandler"
    assert settings.getfloat("DNS_TIMEOUT") == 2  # a name that does not resolve in time is a dead host


def test_a_host_that_resets_the_connection_is_told_in_words(workspace: Workspace) -> None:
    """Scrapy wraps Twisted's failure, and its text was the repr of a list of Failures."""
    host = ResettingHost()
    try:
        workspace.source("Resetting", f"{host.url}/feed.xml")
        run = workspace.newsbot("run")
        status = workspace.newsbot("status")
    finally:
        host.stop()

    assert run.returncode == 0, run.stderr
    assert "source failed: Resetting: the server closed the connection without answering" in run.stdout, run.stdout
    assert "the server closed the connection without answering" in status.stdout
    assert "twisted" not in status.stdout  # (the run's `crawler:` lines are Scrapy's own words)
