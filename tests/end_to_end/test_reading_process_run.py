"""The reading process (newsbot.sources.reading_process) in a real `newsbot run`, as cron starts it.

A crawl of 60 local feeds whose items are teasers (the ungated half alone is more reads than the
run does itself before it starts the process): each
story's text comes from its article page, extracted by trafilatura in the child, and half the feeds
answer only when the test opens a gate, so the child can be found in /proc and killed or stopped
while the crawl still needs it. Whatever happens, every story must be stored with the text a read
in the test's own process gives, once.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsbot.sources.reading import read_article
from newsbot.sources.reading_process import START_AFTER_READS
from newsbot.stories.urls import canonical_url
from tests.conftest import Workspace
from tests.end_to_end.test_second_process import children, ended, rows, started, wait_until
from tests.servers import FeedServer, Route, recent, rss

FEEDS = 60
GATED_FROM = FEEDS // 2  # feeds from this one on answer when the test opens the gate
ITEMS = 3
assert GATED_FROM * (1 + ITEMS) > START_AFTER_READS, "the process must start before the gate opens"
READING = b"newsbot.sources.reading_process"
HTML = "text/html; charset=utf-8"


def article_page(feed: int, number: int) -> str:
    paragraphs = "".join(
        f"<p>Carrier {feed} notice {number}, paragraph {paragraph}: the signalling firewall logged "
        f"{feed * 7 + number * 3 + paragraph} location queries from a leased global title.</p>"
        for paragraph in range(8)
    )
    title = f"Carrier {feed} notice {number}"
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    )


def configure(workspace: Workspace, server: FeedServer, gate: threading.Event) -> dict[str, str]:
    """The feeds and their article pages; returns each article's URL → its page."""
    pages: dict[str, str] = {}
    for feed in range(FEEDS):
        items = []
        for number in range(ITEMS):
            page = article_page(feed, number)
            url = server.add(f"/articles/{feed}-{number}.html", Route(page.encode(), content_type=HTML))
            pages[url] = page
            items.append(
                {"title": f"Notice {feed}-{number}", "link": url, "description": "A teaser.", "pubDate": recent(1)}
            )
        route = Route(rss(items), gate=gate if feed >= GATED_FROM else None)
        workspace.source(
            f"Carrier {feed}", server.add(f"/feed-{feed}.xml", route), full_text="auto", max_articles=ITEMS
        )
    workspace.settings["fetch"]["timeout_seconds"] = 60  # a gated feed waits for the test, not for a timeout
    # Every feed and page is on one host: the gated feeds must not hold every slot the others need.
    workspace.settings["fetch"].update({"concurrent_requests": 128, "concurrent_requests_per_domain": 128})
    return pages


def is_reading(pid: int) -> bool:
    try:
        return READING in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:  # a child that ended between the listing and this read
        return False


def reading_child(run_pid: int) -> int:
    found: list[int] = []

    def appeared() -> bool:
        found.extend(child for child in children(run_pid) if is_reading(child))
        return bool(found)

    wait_until(appeared, 60, "the run's reading process")
    return found[0]


def assert_every_story_has_its_article_text(database: Path, pages: dict[str, str]) -> None:
    """Each article's text as trafilatura gives it in this process: nothing lost or changed on the way."""
    stored = {url: (title, text) for url, title, text in rows(database, "SELECT url, title, text FROM stories")}
    assert len(stored) == len(pages)
    for url, page in pages.items():
        title, text = stored[canonical_url(url)]
        expected = read_article(page, url, None, None)
        assert expected.text and text == expected.text
        assert title == "Notice " + url.rsplit("/", 1)[1].removesuffix(".html")


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    opened = threading.Event()
    yield opened
    opened.set()  # never leave a server thread waiting


def test_a_large_run_reads_in_its_second_process_and_stores_the_same_text(
    workspace: Workspace, feed_server: FeedServer, gate: threading.Event
) -> None:
    pages = configure(workspace, feed_server, gate)
    with ended(started(workspace, "-v", "run")) as run:
        reading_child(run.pid)
        time.sleep(3)  # past the child's imports: the gated feeds and their articles are read there
        gate.set()
        _, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stderr
    assert_every_story_has_its_article_text(workspace.database, pages)
    [reads] = re.findall(r"the reading process read (\d+) feeds and pages", stderr)
    assert int(reads) >= FEEDS - GATED_FROM, stderr  # at least every gated feed
    assert "the reading process ended" not in stderr


def test_a_reading_process_killed_mid_crawl_costs_no_story_and_says_so_then_and_in_status(
    workspace: Workspace, feed_server: FeedServer, gate: threading.Event
) -> None:
    """The OOM killer's SIGKILL: the crawl reads in its own thread from then on, and one warning says why."""
    pages = configure(workspace, feed_server, gate)
    with ended(started(workspace, "run")) as run:
        child = reading_child(run.pid)
        time.sleep(1)
        os.kill(child, signal.SIGKILL)  # the child alone, as the OOM killer picks one process
        gate.set()
        _, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stderr
    assert_every_story_has_its_article_text(workspace.database, pages)
    assert stderr.count("the reading process ended (signal 9); the crawl reads in its own thread") == 1, stderr
    status = workspace.newsbot("status", timeout=60)
    assert "in the last run, the reading process ended (signal 9): the run went on without it" in status.stdout


def test_systemds_stop_mid_crawl_is_a_stop_not_a_failed_reading_process(
    workspace: Workspace, feed_server: FeedServer, gate: threading.Event
) -> None:
    """SIGTERM to the whole group ends the child at the same moment as it reaches the run: the run
    reports its stop (exit 143), and the gated feeds wait for the next run, which stores them all."""
    pages = configure(workspace, feed_server, gate)
    with ended(started(workspace, "run")) as run:
        reading_child(run.pid)
        time.sleep(1)
        os.killpg(run.pid, signal.SIGTERM)
        _, stderr = run.communicate(timeout=60)
    assert run.returncode == 143, stderr
    assert "reading process" not in stderr, stderr
    gate.set()
    after = workspace.newsbot("run", timeout=120)
    assert after.returncode == 0, after.stderr
    assert_every_story_has_its_article_text(workspace.database, pages)


def test_a_small_run_reads_a_heavy_page_in_the_second_process(workspace: Workspace, feed_server: FeedServer) -> None:
    """Two feeds, far fewer reads than START_AFTER_READS, but one article page of 600 KB of short
    elements (trafilatura: seconds): read in the crawl's thread, such pages held its reactor, and
    hosts that had answered at once were skipped as "did not answer in time"."""
    from newsbot.sources.reading_process import HEAVY_READ_BYTES

    menu = "".join(f'<li><a href="/section/{number}">Section {number}</a></li>' for number in range(14_000))
    page = article_page(1, 1).replace("<body>", f"<body><nav><ul>{menu}</ul></nav>")
    assert len(page) > HEAVY_READ_BYTES
    heavy = feed_server.add("/articles/heavy.html", Route(page.encode(), content_type=HTML))
    teaser = {"title": "Notice 1-1", "link": heavy, "description": "A teaser.", "pubDate": recent(1)}
    workspace.source("Heavy", feed_server.add("/heavy.xml", Route(rss([teaser]))), full_text="always")
    light = {"title": "Mitto AG sold SS7 access", "link": "https://wire.example/mitto", "pubDate": recent(1)}
    workspace.source("Light", feed_server.add("/light.xml", Route(rss([light]))))

    result = workspace.newsbot("-v", "run", timeout=120)

    assert result.returncode == 0, result.stderr
    [reads] = re.findall(r"the reading process read (\d+) feeds and pages", result.stderr)
    assert int(reads) >= 1, result.stderr
    [(text,)] = rows(workspace.database, "SELECT text FROM stories WHERE title = 'Notice 1-1'")
    assert text and text == read_article(page, heavy, None, None).text
