"""`newsbot run --quiet` is what cron mails: it prints only what changed for the worse, once.

Real runs against a feed server, a refused port and the fake Slack; each run is a subprocess as
cron starts it, and the test counts what reached stdout and stderr.
"""

from __future__ import annotations

import socket

from tests.conftest import Workspace
from tests.servers import FakeSlack, FeedServer, Route, SlackReply, recent, rss

MITTO = {
    "title": "Mitto AG co-founder sold SS7 access to locate phones",
    "link": "https://news.example.com/mitto-ss7",
    "description": "The SMS aggregator's network was used for surveillance.",
}


def refused_url(path: str) -> str:
    """An address on 127.0.0.1 where nothing listens: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def test_a_failing_source_is_mailed_once_when_it_becomes_failing_and_never_with_scrapy_tracebacks(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    # Not a match (alerts go to the terminal without Slack); its article's host refuses connections.
    teaser = {"title": "Regulator publishes robocall rules", "pubDate": recent(), "link": refused_url("/article")}
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([teaser]))), full_text="auto")
    workspace.source("Dead", refused_url("/feed.xml"))
    outputs = [workspace.newsbot("run", "--quiet") for _ in range(5)]
    for finished in outputs:
        assert finished.returncode == 0, finished.stderr
        assert finished.stderr == "", f"Scrapy's own log reached stderr: {finished.stderr[:500]}"
        assert "Traceback" not in finished.stdout
    printed = [finished.stdout for finished in outputs]
    assert printed[0] == printed[1] == "", "one failed fetch is not yet news"
    assert "Source 'Dead' failing" in printed[2], printed  # the third failure in a row: FAILING, announced
    assert printed[3] == printed[4] == "", "an announced FAILING source must not be mailed every run"


def test_a_run_without_quiet_keeps_the_crawlers_errors_as_one_line_warnings(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    workspace.source("Dead", refused_url("/feed.xml"))
    finished = workspace.newsbot("run")
    assert finished.returncode == 0
    assert finished.stderr == ""
    assert "source failed: Dead: the connection was refused" in finished.stdout
    crawler_lines = [line for line in finished.stdout.splitlines() if line.startswith("  crawler: ")]
    assert crawler_lines, finished.stdout
    assert "Traceback" not in finished.stdout
    verbose = workspace.newsbot("-v", "run")
    assert "scrapy" in verbose.stderr, "with -v the crawler's own log is shown as it happens"


def test_delivery_failing_is_mailed_when_it_starts_not_every_run(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([{**MITTO, "pubDate": recent()}]))))
    workspace.use_slack(slack)
    slack.fail_always = SlackReply(status=404, body="no_service")
    first, second = workspace.newsbot("run", "--quiet"), workspace.newsbot("run", "--quiet")
    assert first.returncode == second.returncode == 0
    assert "delivery failed" in first.stdout and "no_service" in first.stdout
    assert second.stdout == "" and second.stderr == ""
    slack.fail_always = None
    recovered = workspace.newsbot("run", "--quiet")
    assert recovered.stdout == "" and recovered.stderr == ""
    assert len(slack.delivered) == 1, "the kept alert went out once Slack answered"
