"""SIGTERM and SIGINT: a run stops starting work, keeps what it fetched, and exits 143 / 130 in time.

The moment chosen is the hardest: one source's download is in flight (its server holds the answer)
and Slack has taken a message without answering yet. The run is the CLI in a subprocess, as cron
starts it; the signal is a real one.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Workspace
from tests.servers import FakeSlack, FeedServer, Route, recent, rss

MATCHING = [
    {
        "title": "Mitto AG co-founder sold SS7 access to locate phones",
        "link": "https://news.example.com/mitto-ss7",
        "description": "The SMS aggregator's network was used for surveillance, a report says.",
    },
    {
        "title": "Mitto AG accused again: SS7 tracking of journalists",
        "link": "https://news.example.com/mitto-tracking",
        "description": "A second report says the SMS firm's access was used to locate phones.",
    },
]


def rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()


def stored_count(database: Path) -> int:
    """The stories in a database a run may still be making (no file, or no tables yet: none)."""
    if not database.exists():
        return 0
    try:
        return int(rows(database, "SELECT count(*) FROM stories")[0][0])
    except sqlite3.OperationalError:  # its tables are not made yet
        return 0


def delivered_alert_ids(slack: FakeSlack) -> list[str]:
    found: list[str] = []
    for message in slack.delivered:
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        found += payload.get("alert_ids") or []
    return found


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize(("signal_number", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_run_in_time_and_loses_nothing(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, signal_number: int, exit_code: int
) -> None:
    gate = threading.Event()
    workspace.source(
        "Fast", feed_server.add("/fast.xml", Route(rss([{**item, "pubDate": recent()} for item in MATCHING])))
    )
    slow_story = {"title": "Regulator publishes robocall rules", "link": "https://news.example.com/robocalls"}
    workspace.source("Slow", feed_server.add("/slow.xml", Route(rss([{**slow_story, "pubDate": recent()}]), gate=gate)))
    workspace.settings["fetch"]["timeout_seconds"] = 60  # only the signal may end that download
    workspace.use_slack_token(slack, timeout_seconds=30)  # and Slack's silence lasts longer than 10 s
    slack.hold = True

    running = workspace.popen("run")
    wait_until(lambda: slack.delivered and feed_server.requests_to("/slow.xml"), 40, "a held Slack post")
    running.send_signal(signal_number)
    signalled = time.monotonic()
    _, errors = running.communicate(timeout=30)
    took = time.monotonic() - signalled
    stories = rows(workspace.database, "SELECT url FROM stories ORDER BY url")
    outbox = rows(workspace.database, "SELECT status FROM alerts ORDER BY status")
    slack.release()
    gate.set()
    following = workspace.newsbot("run")

    assert running.returncode == exit_code, errors
    assert took < 10
    name = signal.Signals(signal_number).name
    assert errors.startswith(f"newsbot: stopped by {name}: no new work was started"), errors
    assert "Traceback" not in errors
    assert stories == [(item["link"],) for item in MATCHING]  # what was fetched is stored
    assert outbox == [("pending",), ("sending",)]  # one held mid-send, one never started
    assert following.returncode == 0, following.stderr  # not LOCKED: the lock was released
    ids = delivered_alert_ids(slack)
    assert len(ids) == 2 and len(set(ids)) == 2  # each alert exactly once: the held one was found, not resent
    assert rows(workspace.database, "SELECT status FROM alerts") == [("sent",), ("sent",)]
    assert rows(workspace.database, "SELECT count(*) FROM stories") == [(3,)]  # the slow source, next run


def test_a_signal_during_delivery_leaves_the_rest_pending(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source(
        "Fast", feed_server.add("/fast.xml", Route(rss([{**item, "pubDate": recent()} for item in MATCHING])))
    )
    workspace.use_slack_token(slack, timeout_seconds=30)
    slack.hold = True

    running = workspace.popen("run")
    wait_until(lambda: slack.delivered, 40, "a held Slack post")
    running.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    running.communicate(timeout=30)
    took = time.monotonic() - signalled
    slack.release()

    status = workspace.newsbot("status")

    assert running.returncode == 143
    assert took < 10
    assert len(slack.delivered) == 1  # the second alert was never started
    assert rows(workspace.database, "SELECT status FROM alerts ORDER BY status") == [("pending",), ("sending",)]
    # Nothing was cut short in the crawl, yet the morning look must not say all is well.
    assert "Nothing needs attention." not in status.stdout
    assert (
        "  - the last run was stopped while it delivered (the run was interrupted (SIGTERM)): "
        "2 alerts wait for the next run"
    ) in status.stdout, status.stdout


def test_a_run_stopped_before_it_matched_its_stories_is_not_all_well_in_status(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """Stopped while its stories wait to be clustered and matched (here, in the seconds a pass lets
    the sources settle; a cold run's thousands while the clustering process decides them), a run
    leaves no alert pending yet: `status` must still say that stories wait, and the next run alerts."""
    gate = threading.Event()
    workspace.source(
        "Fast", feed_server.add("/fast.xml", Route(rss([{**item, "pubDate": recent()} for item in MATCHING])))
    )
    slow_story = {"title": "Regulator publishes robocall rules", "link": "https://news.example.com/robocalls"}
    workspace.source("Slow", feed_server.add("/slow.xml", Route(rss([{**slow_story, "pubDate": recent()}]), gate=gate)))
    workspace.settings["fetch"]["timeout_seconds"] = 60  # only the signal ends that download

    running = workspace.popen("run")
    wait_until(lambda: stored_count(workspace.database) == 2, 40, "the fast source's stories stored")
    running.send_signal(signal.SIGTERM)
    running.communicate(timeout=30)
    waiting = rows(workspace.database, "SELECT count(*) FROM stories WHERE matched_at IS NULL")
    status = workspace.newsbot("status")
    gate.set()
    following = workspace.newsbot("run")

    assert running.returncode == 143
    assert waiting == [(2,)] and rows(workspace.database, "SELECT count(*) FROM alerts") == [(2,)]
    assert "Nothing needs attention." not in status.stdout
    assert "; 2 stories wait to be matched" in status.stdout, status.stdout
    assert status.stdout.count("(the run was interrupted (SIGTERM))") == 1, status.stdout
    assert following.returncode == 0, following.stderr
