"""`newsbot run` end to end: real Scrapy over real HTTP, a real SQLite file, slack-sdk to a fake Slack.

Each test runs the CLI in a subprocess from a foreign working directory, as cron does.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from pathlib import Path

from filelock import FileLock

from tests.conftest import Workspace
from tests.servers import FakeSlack, FeedServer, Route, SlackReply, recent, rss

MITTO = {
    "title": "Mitto AG co-founder sold SS7 access to locate phones",
    "link": "https://news.example.com/mitto-ss7?utm_source=rss",
    "description": "The SMS aggregator's network was used for surveillance, a report says.",
}
NEUTRAL = {
    "title": "Regulator publishes robocall rules",
    "link": "https://news.example.com/robocalls",
    "description": "Carriers must authenticate caller ID.",
}


def item(base: dict[str, str], **changes: str) -> dict[str, str]:
    return {**base, "pubDate": recent(), **changes}


def rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()


def wait_for_request(server: FeedServer, path: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not server.requests_to(path):
        assert time.monotonic() < deadline, f"newsbot never requested {path}"
        time.sleep(0.05)


def test_story_in_two_feeds_alerts_once_and_never_again(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    wire = feed_server.add("/wire.xml", Route(rss([item(MITTO), item(NEUTRAL)])))
    copy = item(
        MITTO,
        link="https://news.example.com/mitto-ss7?utm_campaign=desk#top",
        title="Mitto AG syndicated copy on SS7",
    )
    desk = feed_server.add("/desk.xml", Route(rss([copy])))
    workspace.source("Wire", wire)
    workspace.source("Desk", desk)
    workspace.use_slack(slack)

    first = workspace.newsbot("run")
    second = workspace.newsbot("run")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert len(slack.delivered) == 1, first.stdout + first.stderr
    message = json.dumps(slack.delivered[0])
    assert "Mitto AG" in message and "SS7" in message and "vendor-surveillance" in message
    assert "*Also in:* Desk" in message or "*Also in:* Wire" in message
    assert rows(workspace.database, "SELECT url FROM stories ORDER BY url") == [
        ("https://news.example.com/mitto-ss7",),
        ("https://news.example.com/robocalls",),
    ]
    assert rows(workspace.database, "SELECT status FROM alerts") == [("sent",)]
    assert "2 new stories" in first.stdout and "0 new stories" in second.stdout


def test_stored_stories_are_searchable_from_the_command_line(workspace: Workspace, feed_server: FeedServer) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(MITTO), item(NEUTRAL)]))))
    workspace.newsbot("run")

    found = workspace.newsbot("search", "SS7 AND surveillance")
    unbalanced = workspace.newsbot("search", '"robocall')
    nothing = workspace.newsbot("search", "Kaleyra")

    assert found.returncode == 0 and "Wire: Mitto AG co-founder" in found.stdout
    assert "robocall" not in found.stdout
    assert unbalanced.returncode == 0 and "Regulator publishes robocall rules" in unbalanced.stdout
    assert "no stored story matches 'Kaleyra'" in nothing.stdout


def test_conditional_get_sends_stored_validators_and_304_costs_nothing(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    url = feed_server.add(
        "/feed.xml", Route(rss([item(NEUTRAL)]), etag='"v1"', last_modified="Tue, 24 Nov 2026 10:00:00 GMT")
    )
    workspace.source("Wire", url)

    workspace.newsbot("run")
    second = workspace.newsbot("run")

    first_request, second_request = feed_server.requests_to("/feed.xml")
    assert "if-none-match" not in first_request.headers
    assert second_request.headers["if-none-match"] == '"v1"'
    assert second_request.headers["if-modified-since"] == "Tue, 24 Nov 2026 10:00:00 GMT"
    assert "1 unchanged" in second.stdout
    assert rows(workspace.database, "SELECT etag, last_status FROM sources") == [('"v1"', "not_modified")]


def test_a_304_to_a_request_that_named_no_version_is_a_failure_not_an_unchanged_source(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """A CDN answering 304 to every request: taken as "unchanged", the source stayed ok for good
    with nothing ever read. The 304 that answers the stored validators is still one."""
    workspace.source("Always 304", feed_server.add("/always-304.xml", Route(b"", status=304)))
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(NEUTRAL)]), etag='"v1"')))

    first = workspace.newsbot("run")
    second = workspace.newsbot("run")
    status = workspace.newsbot("status")

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "1 failed" in first.stdout and "1 unchanged, 1 failed" in second.stdout
    sentence = "answered 304 Not Modified to a request that named no version to compare with"
    assert sentence in second.stdout and sentence in status.stdout
    assert dict(rows(workspace.database, "SELECT name, last_status FROM sources")) == {
        "Always 304": "error",
        "Wire": "not_modified",
    }


def test_broken_sources_are_reported_and_the_others_proceed(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Good", feed_server.add("/good.xml", Route(rss([item(MITTO)]))))
    workspace.source("Server error", feed_server.add("/500.xml", Route(b"oops", status=500)))
    workspace.source("Missing", feed_server.url + "/nowhere.xml")
    workspace.source(
        "Html",
        feed_server.add("/page.html", Route(b"<html><body><p>Moved</p></body></html>", content_type="text/html")),
    )
    workspace.source("Empty", feed_server.add("/empty.xml", Route(b"")))
    workspace.source("Refused", "http://127.0.0.1:9/feed.xml")
    workspace.use_slack(slack)

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert len(slack.delivered) == 1
    assert "5 failed" in result.stdout
    for expected in (
        "Server error: the server answered HTTP 500",
        "Missing: the server answered HTTP 404",
        "Html: the response is not an RSS, Atom or JSON feed",
        "Empty: the response was empty",
        "Refused: the connection was refused",
    ):
        assert expected in result.stdout
    status = workspace.newsbot("status").stdout
    assert "Good: last fetch" in status and "1 stories" in status
    assert "Server error: last fetch" in status and "HTTP 500" in status


def test_slack_outage_keeps_alerts_and_the_next_run_delivers_them_once(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(MITTO)]))))
    workspace.use_slack(slack)
    slack.fail_always = SlackReply(500, "service_unavailable")

    during_outage = workspace.newsbot("run")
    delivered_during, attempts_during = len(slack.delivered), len(slack.requests)
    status_during = workspace.newsbot("status").stdout
    slack.fail_always = None
    after = workspace.newsbot("run")
    again = workspace.newsbot("run")

    assert during_outage.returncode == 0
    assert delivered_during == 0 and attempts_during >= 3  # first try plus slack-sdk's retries
    assert "Slack answered HTTP 500" in during_outage.stdout
    assert "1 pending" in status_during and "Slack answered HTTP 500" in status_during
    assert after.returncode == 0 and again.returncode == 0
    assert len(slack.delivered) == 1
    assert rows(workspace.database, "SELECT status, attempts FROM alerts") == [("sent", 2)]


def test_a_slack_timeout_keeps_the_alert_for_the_next_run(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(MITTO)]))))
    workspace.use_slack(slack, timeout_seconds=1)
    slack.fail_always = SlackReply(504, "gateway timeout", delay=3)

    slow = workspace.newsbot("run")
    slack.fail_always = None
    after = workspace.newsbot("run")

    assert slow.returncode == 0 and "could not reach Slack" in slow.stdout
    assert after.returncode == 0
    assert len(slack.delivered) == 1
    assert rows(workspace.database, "SELECT status FROM alerts") == [("sent",)]


def test_a_long_retry_after_does_not_stall_cron_and_the_alert_waits(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(MITTO)]))))
    workspace.use_slack(slack)
    slack.script = [SlackReply(429, "rate_limited", {"Retry-After": "3600"})]

    first = workspace.newsbot("run", timeout=30)
    requests_after_first = len(slack.requests)
    second = workspace.newsbot("run", timeout=30)

    assert first.returncode == 0 and second.returncode == 0
    assert requests_after_first == 1
    assert len(slack.requests) == 1, "the alert must wait for Retry-After, not be retried early"
    [(status, next_attempt)] = rows(workspace.database, "SELECT status, next_attempt_at FROM alerts")
    assert status == "pending" and next_attempt is not None


def test_a_short_retry_after_is_waited_out_within_the_run(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(MITTO)]))))
    workspace.use_slack(slack)
    slack.script = [SlackReply(429, "rate_limited", {"Retry-After": "1"})]

    result = workspace.newsbot("run")

    assert result.returncode == 0
    assert len(slack.requests) == 2 and len(slack.delivered) == 1
    assert rows(workspace.database, "SELECT status FROM alerts") == [("sent",)]


def test_feed_text_cannot_ping_or_fake_a_link(workspace: Workspace, feed_server: FeedServer, slack: FakeSlack) -> None:
    # HTML-escaped in the feed, so that after HTML-to-text the title really holds "<!channel>".
    hostile = item(MITTO, title="&lt;!channel&gt; Mitto SS7 &lt;https://evil.example|official statement&gt; &amp; more")
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([hostile]))))
    workspace.use_slack(slack)

    workspace.newsbot("run")

    [payload] = slack.delivered
    header, *rest = payload["blocks"]
    parsed_by_slack = json.dumps([payload["text"], rest])  # mrkdwn: where <!channel> would ping
    assert "<!channel>" not in parsed_by_slack and "<https://evil.example" not in parsed_by_slack
    assert "&lt;!channel&gt;" in parsed_by_slack
    assert header["text"]["type"] == "plain_text"  # shown literally, never parsed for mentions
    assert payload["unfurl_links"] is False


def test_old_stories_are_stored_but_never_alert(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(MITTO, pubDate=recent(24 * 30))]))))
    workspace.use_slack(slack)

    result = workspace.newsbot("run")

    assert "1 new stories (1 too old to alert)" in result.stdout
    assert slack.requests == []
    assert rows(workspace.database, "SELECT count(*) FROM alerts") == [(0,)]


def test_without_slack_alerts_go_to_the_terminal(workspace: Workspace, feed_server: FeedServer) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(MITTO)]))))

    result = workspace.newsbot("run")

    assert "[HIGH] SMS and 2FA vendors: Mitto AG co-founder sold SS7 access" in result.stdout
    assert "matched: Mitto AG, SS7, locate phones, surveillance" in result.stdout
    assert rows(workspace.database, "SELECT status FROM alerts") == [("sent",)]


def test_dry_run_prints_payloads_and_changes_nothing(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(MITTO)]))))
    workspace.use_slack(slack)

    result = workspace.newsbot("run", "--dry-run")

    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout[: result.stdout.index("\nnewsbot run")])
    assert "|Mitto AG co-founder" in payload["blocks"][1]["text"]["text"]  # the title, as the link under the header
    assert slack.requests == []
    assert not workspace.database.exists()


def test_second_run_while_one_holds_the_lock_touches_nothing(workspace: Workspace, feed_server: FeedServer) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(NEUTRAL)]))))
    with FileLock(f"{workspace.database}.lock"):
        result = workspace.newsbot("run")

    assert result.returncode == 3
    assert "another newsbot run is in progress" in result.stderr
    assert feed_server.requests == []
    assert not workspace.database.exists()


def test_a_run_reaching_the_database_through_a_symlink_meets_the_same_lock(
    workspace: Workspace, feed_server: FeedServer, tmp_path: Path
) -> None:
    """Two configs, one database: the lock is the file's, not the path's, or both runs send every alert."""
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(NEUTRAL)]))))
    assert workspace.newsbot("run").returncode == 0
    other_folder = tmp_path / "other"
    other_folder.mkdir()
    other = Workspace(other_folder)
    other.source("Wire", feed_server.url + "/feed.xml")
    (other_folder / "linked.db").symlink_to(workspace.database)
    other.settings["database"] = "../other/./linked.db"
    requests_before = len(feed_server.requests)
    with FileLock(f"{workspace.database}.lock"):
        result = other.newsbot("run")

    assert result.returncode == 3, result.stderr
    assert f"it holds {workspace.database}.lock" in result.stderr
    assert len(feed_server.requests) == requests_before


def test_two_real_runs_at_once(workspace: Workspace, feed_server: FeedServer) -> None:
    gate = threading.Event()  # the first run's feed answers only once the second run has ended
    workspace.settings["fetch"]["timeout_seconds"] = 60  # however slow this machine is
    workspace.source("Slow", feed_server.add("/slow.xml", Route(rss([item(NEUTRAL)]), gate=gate)))
    first = workspace.popen("run")
    wait_for_request(feed_server, "/slow.xml")

    second = workspace.newsbot("run")
    gate.set()
    _, first_err = first.communicate(timeout=60)

    assert second.returncode == 3 and "another newsbot run" in second.stderr
    assert first.returncode == 0, first_err
    assert len(feed_server.requests_to("/slow.xml")) == 1
    assert rows(workspace.database, "SELECT count(*) FROM stories") == [(1,)]


def test_a_run_killed_mid_crawl_loses_nothing(workspace: Workspace, feed_server: FeedServer, slack: FakeSlack) -> None:
    workspace.source("Fast", feed_server.add("/fast.xml", Route(rss([item(MITTO)]))))
    workspace.source("Slow", feed_server.add("/slow.xml", Route(rss([item(NEUTRAL)]), delay=30)))
    workspace.use_slack(slack)
    doomed = workspace.popen("run")
    wait_for_request(feed_server, "/slow.xml")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    feed_server.routes["/slow.xml"].delay = 0

    result = workspace.newsbot("run")

    assert doomed.returncode == -signal.SIGKILL
    assert result.returncode == 0, result.stderr
    assert len(slack.delivered) == 1
    assert rows(workspace.database, "SELECT count(*) FROM stories") == [(2,)]


def test_polite_fetching_user_agent_and_robots_txt(workspace: Workspace, feed_server: FeedServer) -> None:
    feed_server.add("/robots.txt", Route(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    workspace.source("Public", feed_server.add("/public.xml", Route(rss([item(NEUTRAL)]))))
    workspace.source("Private", feed_server.add("/private/feed.xml", Route(rss([item(MITTO)]))))

    result = workspace.newsbot("run")

    assert "Private: robots.txt forbids fetching it" in result.stdout
    assert feed_server.requests_to("/private/feed.xml") == []
    [public] = feed_server.requests_to("/public.xml")
    assert public.headers["user-agent"].startswith("newsbot/")


def test_responses_are_bounded_in_size_and_time(workspace: Workspace, feed_server: FeedServer) -> None:
    workspace.settings["fetch"].update({"max_bytes": 100_000, "timeout_seconds": 2})
    huge = rss([item(NEUTRAL, description="x" * 400_000)])
    workspace.source("Huge", feed_server.add("/huge.xml", Route(huge)))
    workspace.source("Endless", feed_server.add("/endless.xml", Route(stream_forever=True)))
    workspace.source("Slow", feed_server.add("/slow.xml", Route(rss([item(NEUTRAL)]), delay=8)))
    workspace.source("Fine", feed_server.add("/fine.xml", Route(rss([item(MITTO)]))))

    result = workspace.newsbot("run", timeout=60)

    assert result.returncode == 0, result.stderr
    assert "Huge: the response was larger than fetch.max_bytes" in result.stdout
    assert "Endless: the response was larger than fetch.max_bytes" in result.stdout
    assert "Slow: the server did not answer in time (fetch.timeout_seconds)" in result.stdout
    assert "1 new stories" in result.stdout


def test_unusable_database_is_a_clear_error(workspace: Workspace, feed_server: FeedServer) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(NEUTRAL)]))))
    workspace.database.write_bytes(b"this is not a database, just a text file " * 100)

    result = workspace.newsbot("run")

    assert result.returncode == 4
    assert "cannot use the database" in result.stderr


def test_bad_config_does_not_run(workspace: Workspace) -> None:
    workspace.settings["max_age_days"] = "seven"

    result = workspace.newsbot("run")

    assert result.returncode == 2
    assert "newsbot.yaml:3:" in result.stderr and "max_age_days" in result.stderr
    assert not workspace.database.exists()


def test_webhook_url_never_appears_in_output_or_database(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item(MITTO)]))))
    workspace.use_slack(slack)
    slack.fail_always = SlackReply(500, "service_unavailable")

    failing = workspace.newsbot("-vv", "run")
    slack.fail_always = None
    succeeding = workspace.newsbot("-vv", "run")
    status = workspace.newsbot("status")

    canary = "canary-secret-XYZ"
    for result in (failing, succeeding, status):
        assert canary not in result.stdout and canary not in result.stderr
    assert "DEBUG" in failing.stderr  # the canary was looked for in real debug output
    for file in workspace.folder.glob("newsbot.db*"):
        assert canary.encode() not in file.read_bytes()
