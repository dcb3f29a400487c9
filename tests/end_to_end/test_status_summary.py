"""`newsbot status` starts with the morning look: one line of counts, then what needs attention.

Every trouble is made for real: a feed that answers 404, one that stops publishing, a Slack
channel that does not exist, a run stopped by SIGTERM, a run SIGKILLed before it could record
itself, a run over its budget. The detailed sections follow, as before.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Workspace
from tests.feed_items import KALEYRA, MITTO
from tests.servers import FakeSlack, FeedServer, Route, SlackReply, recent, rss

ROBOCALLS = {
    "title": "Regulator publishes robocall rules",
    "link": "https://news.example.com/robocalls",
    "description": "Carriers must authenticate caller ID.",
}
LAST_RUN = r"last run \d{4}-\d\d-\d\d \d\d:\d\d UTC \(just now\), took \d+\.\d s"
STALE_HOURS = 0.0006  # about 2.2 s: the first run cannot count as stale yet, the second can


def story(base: dict[str, str]) -> dict[str, str]:
    return {**base, "pubDate": recent()}


def scalar(workspace: Workspace, sql: str) -> object:
    with sqlite3.connect(workspace.database) as connection:
        return connection.execute(sql).fetchone()[0]


def stored(workspace: Workspace, source: str) -> bool:
    """Whether a run has stored this source's fetch (the database may not be created yet)."""
    if not workspace.database.exists():  # sqlite3.connect would create it
        return False
    try:
        return scalar(workspace, f"SELECT count(*) FROM sources WHERE name = '{source}'") == 1
    except sqlite3.OperationalError:
        return False


def wait_until(condition: Callable[[], object], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def glance(status: str) -> list[str]:
    """The lines before the details (which start with "Database:")."""
    lines = status.splitlines()
    return lines[: lines.index(next(line for line in lines if line.startswith("Database: ")))]


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    held = threading.Event()
    yield held
    held.set()  # a failed test must not leave the server's thread waiting


def test_the_morning_look_puts_what_is_broken_first(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    wire = feed_server.add("/wire.xml", Route(rss([story(MITTO)])))
    workspace.source("Wire", wire)
    workspace.source("Broken", feed_server.url + "/gone.xml")  # 404
    workspace.source(
        "Quiet", feed_server.add("/quiet.xml", Route(rss([story(ROBOCALLS)]))), stale_after_hours=STALE_HOURS
    )
    workspace.settings["health"] = {"failing_after_runs": 2}
    # The high alert goes to a channel that does not exist; failing after about a second.
    workspace.use_slack_token(slack, severity_channels={"high": "#missing"}, failing_after_hours=0.0003)

    first = workspace.newsbot("run")
    quiet_since = datetime.fromisoformat(
        str(scalar(workspace, "SELECT last_new_story_at FROM sources WHERE name = 'Quiet'"))
    )
    time.sleep(max(0.0, (quiet_since + timedelta(hours=STALE_HOURS, seconds=0.1) - datetime.now(UTC)).total_seconds()))
    feed_server.routes["/wire.xml"] = Route(rss([story(MITTO), story(KALEYRA)]))  # Slack answers for this one
    second = workspace.newsbot("run")
    status = workspace.newsbot("status")

    assert [first.returncode, second.returncode, status.returncode] == [0, 0, 0], second.stderr + status.stderr
    top = glance(status.stdout)
    assert re.fullmatch(rf"Summary: 1 sources ok, 1 failing, 1 stale; 1 alerts pending; {LAST_RUN}", top[0]), top[0]
    assert top[1] == "Needs attention:"
    failing, stale, undelivered = top[2:5]
    assert failing.startswith(
        "  - Source 'Broken' failing: failed 2 runs in a row; last error: the server answered HTTP 404"
    ), failing
    assert stale.startswith("  - Source 'Quiet' stale: no new story since "), stale
    assert undelivered.startswith("  - 1 alerts undelivered for more than 0.0003 h (#missing: "), undelivered
    assert "channel_not_found" in undelivered
    assert "the 'delivery is failing' notice went out at " in undelivered  # to the default channel
    assert any("delivery is failing" in message["text"] for message in slack.in_channel("vendor-news"))
    assert top[5:] == [""]  # nothing else: the last run finished, within its budget
    # The details follow unchanged.
    details = status.stdout.split("\nDatabase: ", 1)[1]
    for section in ("Sources:", "FAILING since", "STALE since", "Alerts: 1 pending, 1 sent", "Last run: "):
        assert section in details, section


def test_a_healthy_install_says_so_in_two_lines(workspace: Workspace, feed_server: FeedServer) -> None:
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([story(ROBOCALLS)]))))
    run = workspace.newsbot("run")
    workspace.source("Added later", feed_server.add("/later.xml", Route(rss([]))))

    status = workspace.newsbot("status")

    assert run.returncode == 0 and status.returncode == 0, status.stderr
    assert re.fullmatch(
        rf"Summary: 1 sources ok, 0 failing, 0 stale, 1 not fetched yet; 0 alerts pending; {LAST_RUN}",
        glance(status.stdout)[0],
    ), status.stdout
    assert glance(status.stdout)[1:] == ["Nothing needs attention.", ""]


def test_a_source_that_failed_once_is_neither_ok_nor_failing_in_the_summary(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """Failing takes `health.failing_after_runs` failures in a row (3); until then a source that failed
    its last fetch is counted apart, not among the "ok" ones above the lines of its error."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([story(ROBOCALLS)]))))
    workspace.source("Broken", feed_server.url + "/gone.xml")  # 404

    run = workspace.newsbot("run")
    status = workspace.newsbot("status")

    assert run.returncode == 0 and status.returncode == 0, status.stderr
    assert re.fullmatch(
        rf"Summary: 1 sources ok, 0 failing, 0 stale, 1 failed their last fetch; 0 alerts pending; {LAST_RUN}",
        glance(status.stdout)[0],
    ), status.stdout


def test_a_run_stopped_by_sigterm_is_named_with_the_sources_it_left(
    workspace: Workspace, feed_server: FeedServer, gate: threading.Event
) -> None:
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([story(ROBOCALLS)]))))
    workspace.source("Slow", feed_server.add("/slow.xml", Route(rss([story(KALEYRA)]), gate=gate)))
    workspace.settings["fetch"]["timeout_seconds"] = 60
    running = workspace.popen("run")
    wait_until(lambda: feed_server.requests_to("/slow.xml"), "the slow feed's request")
    wait_until(lambda: stored(workspace, "Wire"), "the fast feed to be stored")
    running.send_signal(signal.SIGTERM)
    assert running.wait(timeout=30) == 143, running.communicate()

    status = workspace.newsbot("status")

    assert status.returncode == 0, status.stderr
    assert (
        "  - the last run was cut short (the run was interrupted (SIGTERM)): 1 source waits for the next run; "
        "1 story waits to be matched" in glance(status.stdout)  # the fast feed's, stored in the seconds before a pass
    ), status.stdout


def test_a_run_killed_before_it_recorded_itself_is_noticed(
    workspace: Workspace, feed_server: FeedServer, gate: threading.Event
) -> None:
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([story(ROBOCALLS)]))))
    workspace.source("Slow", feed_server.add("/slow.xml", Route(rss([story(KALEYRA)]))))
    workspace.settings["fetch"]["timeout_seconds"] = 60
    assert workspace.newsbot("run").returncode == 0
    recorded = str(scalar(workspace, "SELECT finished_at FROM runs"))
    time.sleep(1.1)  # stored times have whole seconds: the next fetch must be in a later one
    feed_server.routes["/wire.xml"] = Route(rss([story(ROBOCALLS), story(MITTO)]))
    feed_server.routes["/slow.xml"] = Route(rss([story(KALEYRA)]), gate=gate)
    doomed = workspace.popen("run")
    wait_until(
        lambda: str(scalar(workspace, "SELECT last_fetch_at FROM sources WHERE name = 'Wire'")) > recorded,
        "the second run to store the fast feed",
    )
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    fetched = str(scalar(workspace, "SELECT last_fetch_at FROM sources WHERE name = 'Wire'"))

    status = workspace.newsbot("status")

    assert status.returncode == 0, status.stderr
    assert (
        f"  - sources were fetched at {fetched}, after the last recorded run: a run is under way, or one ended "
        "without recording itself (killed, or stopped by its watchdog); the next run completes its work"
    ) in glance(status.stdout), status.stdout


def test_a_run_over_its_budget_is_named(workspace: Workspace, feed_server: FeedServer, gate: threading.Event) -> None:
    workspace.source("Slow", feed_server.add("/slow.xml", Route(rss([story(KALEYRA)]), gate=gate)))
    workspace.settings["fetch"].update({"timeout_seconds": 60, "run_budget_seconds": 1})

    run = workspace.newsbot("run")
    status = workspace.newsbot("status")

    assert run.returncode == 0 and status.returncode == 0, run.stderr + status.stderr
    assert glance(status.stdout)[0].startswith(  # it never answered: nothing is known about it yet
        "Summary: 0 sources ok, 0 failing, 0 stale, 1 not fetched yet; 0 alerts pending; last run "
    ), status.stdout
    assert glance(status.stdout)[1:] == [
        "Needs attention:",
        "  - the last run was cut short (the run's budget of 1 s (fetch.run_budget_seconds) was spent): "
        "1 source waits for the next run",
        "",
    ], status.stdout


def test_an_alert_in_flight_says_so_rather_than_none(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """What a SIGKILL between the post and its answer leaves: an attempt recorded, no error. It was
    listed as "#vendor-news: None"."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([story(MITTO)]))))
    workspace.use_slack_token(slack)
    slack.fail_always = SlackReply(500, "service_unavailable")
    assert workspace.newsbot("run").returncode == 0
    with sqlite3.connect(workspace.database) as db:
        # ...a while ago: an attempt younger than a post may take is one a run is sending now
        db.execute(
            "UPDATE alerts SET status = 'sending', last_error = NULL, attempt_started_at = '2026-01-01T00:00:00+00:00'"
        )

    status = workspace.newsbot("status")

    assert status.returncode == 0, status.stderr
    assert (
        "1 alerts not delivered yet, tried again each run (#vendor-news: sent, its answer lost: a bot token "
        "looks it up before sending again, a webhook follows delivery:)" in status.stdout
    ), status.stdout
    assert "None" not in status.stdout


def test_status_counts_the_full_messages_a_digest_still_owes_its_thread(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """A digest of thousands after an outage owes its thread an hour of full messages, posted by later
    passes: status says how many are still to come, and says nothing when none are."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([story(MITTO), story(KALEYRA)]))))
    assert workspace.newsbot("run").returncode == 0
    before = workspace.newsbot("status")
    with sqlite3.connect(workspace.database) as connection:
        connection.execute("UPDATE alerts SET detail_due = 1")
        owed = connection.execute("SELECT count(*) FROM alerts").fetchone()[0]

    after = workspace.newsbot("status")

    assert before.returncode == 0 and after.returncode == 0, after.stderr
    assert "owed" not in before.stdout
    assert f"Alerts: 0 pending, {owed} sent; {owed} full messages still owed to their digests' threads" in after.stdout


def recorded_at_a_pace(workspace: Workspace, pace: timedelta, quiet: timedelta) -> None:
    """The recorded runs (and the sources' fetches) moved back in time, as if cron had started one every
    `pace` and the last of them `quiet` ago."""
    last = datetime.now(UTC) - quiet
    with sqlite3.connect(workspace.database) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM runs ORDER BY id DESC")]
        for number, run in enumerate(ids):
            started = last - number * pace
            connection.execute(
                "UPDATE runs SET started_at = ?, finished_at = ? WHERE id = ?",
                [
                    started.isoformat(timespec="seconds"),
                    (started + timedelta(seconds=2)).isoformat(timespec="seconds"),
                    run,
                ],
            )
        connection.execute(
            "UPDATE sources SET last_fetch_at = ?", [(last + timedelta(seconds=1)).isoformat(timespec="seconds")]
        )


@pytest.mark.parametrize(
    ("runs", "pace", "quiet", "said"),
    [
        pytest.param(
            4, timedelta(minutes=15), timedelta(hours=3), "(3 h ago), where the last 4 came about every 15 min"
        ),
        pytest.param(4, timedelta(minutes=1), timedelta(minutes=70), None, id="set-up-by-hand-then-hourly-cron"),
        pytest.param(4, timedelta(minutes=15), timedelta(minutes=40), None, id="every-15-min-none-for-40-min"),
        pytest.param(4, timedelta(hours=1), timedelta(hours=2, minutes=30), None, id="hourly-none-for-2.5-h"),
        pytest.param(4, timedelta(hours=1), timedelta(hours=4), "(4 h ago), where the last 4 came about every 60 min"),
        pytest.param(3, timedelta(minutes=15), timedelta(days=2), None, id="three-runs-no-pace-yet"),
    ],
)
def test_runs_that_stopped_coming_are_noticed(
    workspace: Workspace, feed_server: FeedServer, runs: int, pace: timedelta, quiet: timedelta, said: str | None
) -> None:
    """cron no longer runs newsbot: no run is left to fail, so status says it from the pace the runs kept
    (the median gap of the last ones): three gaps and two hours at least without one is a stop."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([story(ROBOCALLS)]))))
    for _ in range(runs):
        assert workspace.newsbot("run").returncode == 0
    recorded_at_a_pace(workspace, pace, quiet)

    status = workspace.newsbot("status")

    assert status.returncode == 0, status.stderr
    noticed = [line for line in glance(status.stdout) if "is cron still running newsbot?" in line]
    if said is None:
        assert noticed == [] and "Nothing needs attention." in glance(status.stdout), status.stdout
    else:
        assert len(noticed) == 1 and said in noticed[0], status.stdout
