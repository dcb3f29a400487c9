"""`newsbot run --quiet` is what cron mails: it prints only what changed for the worse, once.

Real runs against a feed server, a refused port and the fake Slack; each run is a subprocess as
cron starts it, and the test counts what reached stdout and stderr.
"""

from __future__ import annotations

import socket

from tests.conftest import Workspace
from tests.feed_items import MITTO_SS7 as MITTO
from tests.servers import FakeSlack, FeedServer, Route, SlackReply, recent, rss


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


def teasers(host_url: str, names: range) -> bytes:
    """Stories that match no watchlist, each with a teaser and its article at `host_url`."""
    return rss(
        [
            {"title": f"Regulator note {number}", "link": f"{host_url}/note-{number}", "pubDate": recent()}
            for number in names
        ]
    )


def test_a_host_that_is_dead_again_later_in_the_day_is_mailed_once(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    dead = refused_url("")
    wire = feed_server.add("/wire.xml", Route(teasers(dead, range(3))))
    workspace.source("Wire", wire, full_text="auto")
    first = workspace.newsbot("run", "--quiet")
    assert f"host {dead.removeprefix('http://')} skipped after 3 failed connections" in first.stdout, first.stdout
    feed_server.routes["/wire.xml"].body = rss([])  # no link to it this run: not skipped, not news
    assert workspace.newsbot("run", "--quiet").stdout == ""
    feed_server.routes["/wire.xml"].body = teasers(dead, range(3, 6))
    again = workspace.newsbot("run", "--quiet")
    assert again.returncode == 0 and again.stdout == "" and again.stderr == "", again.stdout


def test_quiet_stays_silent_for_the_article_cap_and_for_pages_no_extractor_can_read(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """An article page that answers 200 with nothing in it makes trafilatura log ERRORs; a feed with
    more new stories than max_articles is cut short. Neither is news for cron."""

    def notes(numbers: range) -> bytes:
        pages = {
            n: feed_server.add(f"/empty-{n}", Route(b"", content_type="text/html; charset=utf-8")) for n in numbers
        }
        return rss([{"title": f"Regulator note {n}", "link": pages[n], "pubDate": recent(n)} for n in numbers])

    wire = feed_server.add("/wire.xml", Route(notes(range(4))))
    workspace.source("Wire", wire, full_text="auto", max_articles=2)
    quiet = workspace.newsbot("run", "--quiet")
    assert quiet.returncode == 0
    assert quiet.stdout == "" and quiet.stderr == "", (quiet.stdout, quiet.stderr)
    fetched = [n for n in range(4) if feed_server.requests_to(f"/empty-{n}")]
    assert fetched == [0, 1], "the newest two articles, and only they, were fetched"
    feed_server.routes["/wire.xml"].body = notes(range(4, 8))
    loud = workspace.newsbot("run")  # the same facts are in the full summary
    assert "source cut short: Wire: it reached max_articles" in loud.stdout, loud.stdout
