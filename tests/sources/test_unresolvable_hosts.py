"""A host name that does not resolve is looked up once a run: not retried, and its other requests fail at once.

Without a network every name fails to resolve; each lookup retried after 2 s and 4 s, and each request
queued behind robots.txt then waiting its host's AutoThrottle delay to be refused, made the example
config take 12 s to fail (newsbot.sources.hosts, .retries, .bounds). Names under `.invalid` never
resolve (RFC 6761), so DNS fails for real; the hosts that resolve are real servers, or a port nothing
listens on, on 127.0.0.1. Each run is `newsbot run` in a subprocess, as cron starts it, with `-vv` where
a test reads Scrapy's own "Retrying" lines.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

import pytest

from newsbot.sources.hosts import DEAD_AFTER
from tests.conftest import Workspace
from tests.deadhosts import refused_port
from tests.servers import FeedServer, Route, recent, rss

UNRESOLVABLE = "feeds.newsbot-test.invalid"
NOT_RESOLVED = "the host name could not be resolved"
FEEDS = 5


@dataclass
class Offline:
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Offline:
    """Five feeds on a host whose name does not resolve, with settings under which a retry or a wait
    in the host's queue would show: two retries 2 s and 4 s apart, a 30 s AutoThrottle delay between
    a host's requests, and a run budget of 10 s that cuts short whatever is still waiting."""
    workspace = Workspace(tmp_path_factory.mktemp("offline"))
    workspace.settings["fetch"].update(
        {"retries": 2, "retry_backoff_seconds": 2, "autothrottle_start_delay": 30, "run_budget_seconds": 10}
    )
    for number in range(FEEDS):
        workspace.source(f"Feed {number}", f"http://{UNRESOLVABLE}/feed-{number}.xml")
    result = workspace.newsbot("-vv", "run")
    assert result.returncode == 0, result.stderr[-3000:]
    return Offline(result.stdout, result.stderr)


def source_lines(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.splitlines() if line.startswith("  source ")]


def test_a_name_that_does_not_resolve_is_not_retried(offline: Offline) -> None:
    retried = [line for line in offline.stderr.splitlines() if "Retrying" in line and UNRESOLVABLE in line]
    assert retried == []
    assert "Gave up retrying" not in offline.stdout + offline.stderr


def test_the_requests_queued_behind_its_robots_txt_fail_at_once_instead_of_waiting_their_turn(
    offline: Offline,
) -> None:
    # Waiting the host's 30 s delay, they would still be queued when the 10 s budget ends: cut short.
    assert "cut short" not in offline.stdout
    lines = source_lines(offline.stdout)
    assert len(lines) == FEEDS and all(line.startswith("source failed: Feed ") for line in lines), offline.stdout
    assert all(line.endswith(NOT_RESOLVED) for line in lines), offline.stdout


def test_the_failed_lookup_counts_for_the_requests_after_it_until_the_host_is_skipped(offline: Offline) -> None:
    # robots.txt's lookup failed; the next DEAD_AFTER - 1 feeds fail with its answer as their own, as
    # a lookup of their own would have, and the host is then skipped: one line for it in the summary.
    lines = source_lines(offline.stdout)
    skipped = f"host {UNRESOLVABLE} skipped after {DEAD_AFTER} failed connections: {NOT_RESOLVED}"
    own = [line for line in lines if re.fullmatch(rf"source failed: Feed \d: {NOT_RESOLVED}", line)]
    not_made = FEEDS - (DEAD_AFTER - 1)
    assert len(own) == DEAD_AFTER - 1, offline.stdout
    assert sum(line.endswith(f": {skipped}") for line in lines) == not_made, offline.stdout
    assert f"  {skipped}; {not_made} requests not made" in offline.stdout.splitlines()


def test_hosts_that_resolve_keep_their_retries_beside_one_that_does_not(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    refused = f"127.0.0.1:{refused_port()}"
    busy = feed_server.add("/busy.xml", Route(b"busy", status=503, content_type="text/plain"))
    workspace.settings["fetch"].update({"retries": 2, "retry_backoff_seconds": 0.1})
    workspace.source("Busy", busy)  # answers 503: a transient error of a host that is up
    workspace.source("Refused", f"http://{refused}/feed.xml")  # resolves, refuses every connection
    workspace.source("Unresolvable", f"http://{UNRESOLVABLE}/feed.xml")

    result = workspace.newsbot("-vv", "run")

    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len(feed_server.requests_to("/busy.xml")) == 1 + 2  # the request and its two retries
    assert "  source failed: Busy: the server answered HTTP 503" in lines
    # The refused host's robots.txt is retried, and it and its retries are one failure of the host
    # (newsbot.sources.bounds); the feed's own request and its first retry make up the other two, so
    # the source failed on its own, its second retry not made.
    skipped = f"host {refused} skipped after 3 failed connections: the connection was refused"
    assert re.search(rf"Retrying <GET http://{refused}/robots.txt> \(failed 2 times\)", result.stderr)
    assert re.search(rf"Retrying <GET http://{refused}/feed.xml> \(failed 1 times\)", result.stderr)
    assert "  source failed: Refused: the connection was refused" in lines, result.stdout
    assert f"  {skipped}; 0 requests not made" in lines, result.stdout
    assert f"  source failed: Unresolvable: {NOT_RESOLVED}" in lines
    assert not [line for line in result.stderr.splitlines() if "Retrying" in line and UNRESOLVABLE in line]


def test_an_article_host_that_never_resolves_costs_a_few_teasers_a_run_not_its_stories_for_good(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    # Default retries: were robots.txt's failed lookup retried, it alone would skip the host, no
    # article would fail on its own, and every story would wait for a next run, run after run.
    workspace.settings["fetch"].update({"retries": 2, "retry_backoff_seconds": 0.1})
    items = [
        {"title": f"Story {number}", "link": f"http://{UNRESOLVABLE}/story-{number}", "pubDate": recent(number + 1)}
        for number in range(5)
    ]
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss(items))), full_text="auto")

    runs = [workspace.newsbot("run")]
    while "for the next run" in runs[-1].stdout and len(runs) < 5:
        runs.append(workspace.newsbot("run"))

    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs]
    stored = [int(re.search(r"(\d+) new stories", run.stdout).group(1)) for run in runs]  # type: ignore[union-attr]
    assert len(runs) > 1 and all(stored), [run.stdout for run in runs]  # each run keeps a few, none keeps all
    with sqlite3.connect(workspace.database) as connection:
        assert connection.execute("SELECT count(DISTINCT url) FROM stories").fetchall() == [(5,)]
