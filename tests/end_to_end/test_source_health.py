"""Source health: failing, finding no links, stale — each change announced once, and recovery once.

Unit tests drive newsbot.pipeline.health.assess() and change() over SourceState records (rows of `sources`);
end-to-end tests run the CLI as cron does against a local feed site and a fake Slack, and check
where each notice went (the ops channel or webhook, the default destination, the terminal).
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from newsbot.configuration.config import load_config
from newsbot.configuration.source_config import HealthSettings, SourceConfig
from newsbot.models import FetchResult, FetchStatus
from newsbot.pipeline.health import Health, HealthState, assess, change, record_health
from newsbot.storage.database import Storage
from newsbot.storage.records import SourceState
from tests.conftest import Workspace
from tests.feed_items import MITTO
from tests.servers import FakeSlack, FeedServer, Route, SlackReply, recent, rss

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FEED = SourceConfig(name="Wire", feed="https://example.org/feed.xml")
LISTING = SourceConfig(name="Desk", url="https://example.org/security/", links="article h2 a")
LISTING_XPATH = SourceConfig(name="Desk", url="https://example.org/security/", links_xpath="//article//h2/a")
SITEMAP = SourceConfig(name="Newsroom", sitemap="https://example.org/news-sitemap.xml")
QUICK = SourceConfig(name="Quick", feed="https://example.org/feed.xml", stale_after_hours=2)
SLOW = SourceConfig(name="Slow", feed="https://example.org/feed.xml", stale_after_hours=48)
DEFAULTS = HealthSettings()  # failing after 3 runs, stale after 168 hours


def ago(**span: float) -> str:
    """A timestamp as storage writes it (UTC ISO, seconds)."""
    return (NOW - timedelta(**span)).isoformat(timespec="seconds")


def row(**fields: Any) -> SourceState:
    """The state of a source fetched fine just now, with a story an hour ago, then `fields`."""
    defaults = {"last_status": "ok", "first_fetch_at": ago(days=30), "last_new_story_at": ago(hours=1)}
    return SourceState("Wire", **{**defaults, **fields})


ERROR_404 = {"last_status": "error", "last_error": "the server answered HTTP 404"}


@pytest.mark.parametrize(
    ("fields", "source", "expected", "detail"),
    [
        ({}, FEED, HealthState.OK, ""),
        ({**ERROR_404, "consecutive_failures": 2}, FEED, HealthState.OK, ""),  # below failing_after_runs
        (
            {**ERROR_404, "consecutive_failures": 3},
            FEED,
            HealthState.FAILING,
            "failed 3 runs in a row; last error: the server answered HTTP 404",
        ),
        # Failing is the worst problem: it wins over no links and over stale.
        (
            {**ERROR_404, "consecutive_failures": 4, "links_found": 0, "last_new_story_at": ago(days=30)},
            LISTING,
            HealthState.FAILING,
            "failed 4 runs in a row",
        ),
        (
            {"links_found": 0},
            LISTING,
            HealthState.NO_LINKS,
            "selector matched 0 links (links: 'article h2 a' on https://example.org/security/)",
        ),
        ({"links_found": 0}, LISTING_XPATH, HealthState.NO_LINKS, "links_xpath: '//article//h2/a'"),
        # An unchanged page is not parsed: the last count stands.
        ({"links_found": 0, "last_status": "not_modified"}, LISTING, HealthState.NO_LINKS, "selector matched 0"),
        (
            {"links_found": 0},
            SITEMAP,
            HealthState.NO_LINKS,
            "the sitemap https://example.org/news-sitemap.xml listed no story newer than the age limit",
        ),
        ({"links_found": 3}, LISTING, HealthState.OK, ""),
        ({"links_found": 0, "last_new_story_at": ago(days=30)}, LISTING, HealthState.NO_LINKS, "matched 0"),
        ({"last_new_story_at": ago(hours=169)}, FEED, HealthState.STALE, "(stale after 7 days)"),
        ({"last_new_story_at": ago(hours=167)}, FEED, HealthState.OK, ""),
        ({"last_new_story_at": ago(hours=3)}, QUICK, HealthState.STALE, f"no new story since {ago(hours=3)}"),
        ({"last_new_story_at": ago(hours=3)}, QUICK, HealthState.STALE, "(stale after 2 hours)"),
        ({"last_new_story_at": ago(hours=3)}, SLOW, HealthState.OK, ""),
        # A source that never gave a story counts from its first fetch.
        ({"last_new_story_at": None, "first_fetch_at": ago(days=8)}, FEED, HealthState.STALE, "since " + ago(days=8)),
        ({"last_new_story_at": None, "first_fetch_at": ago(days=1)}, FEED, HealthState.OK, ""),
    ],
)
def test_assess(fields: dict[str, Any], source: SourceConfig, expected: HealthState, detail: str) -> None:
    health = assess(row(**fields), source, DEFAULTS, NOW)

    assert health.state is expected
    assert detail in health.detail
    assert (health.detail == "") == (expected is HealthState.OK)


def test_failing_after_runs_is_configurable() -> None:
    settings = HealthSettings(failing_after_runs=1, stale_after_hours=1)

    assert assess(row(**ERROR_404, consecutive_failures=1), FEED, settings, NOW).state is HealthState.FAILING
    assert assess(row(last_new_story_at=ago(hours=2)), FEED, settings, NOW).state is HealthState.STALE
    assert assess(row(last_new_story_at=ago(hours=2)), SLOW, settings, NOW).state is HealthState.OK  # own limit wins


def test_one_failed_fetch_of_a_listing_finding_no_links_is_not_a_recovery() -> None:
    broken = row(**ERROR_404, consecutive_failures=1, links_found=0)

    health = assess(broken, LISTING, DEFAULTS, NOW)

    assert change("Desk", HealthState.NO_LINKS.value, health) is None


def test_a_first_run_records_every_sources_health_in_one_commit(workspace: Workspace) -> None:
    """A first run of 1,000 sources recorded each one's health in a commit of its own, each synced:
    0.3 s at the end of the run. Now one commit, with the notices of those that changed for the worse."""
    names = [f"Feed {number:02d}" for number in range(40)]
    for name in names:
        workspace.source(name, f"https://{name.lower().replace(' ', '-')}.example/feed.xml")
    config = load_config(workspace.write())
    storage = Storage.open(workspace.database)
    try:
        for run in range(3):  # the last three fail three runs in a row
            for name in names:
                failed = name in names[-3:]
                status = FetchStatus.ERROR if failed else FetchStatus.OK
                result = FetchResult(name, "https://x.example/feed.xml", status, error="HTTP 404" if failed else None)
                storage.record_fetch(result, [], NOW + timedelta(minutes=run))
        statements: list[str] = []
        storage.db.conn.set_trace_callback(statements.append)
        try:
            worse = record_health(config, storage, NOW + timedelta(minutes=3))
        finally:
            storage.db.conn.set_trace_callback(None)
        health = dict(storage.db.execute("SELECT name, health FROM sources").fetchall())
        notices = [row[0] for row in storage.db.execute("SELECT source FROM source_notices ORDER BY id")]
    finally:
        storage.close()

    assert sum(sql.startswith("COMMIT") for sql in statements) == 1
    assert health == {name: "failing" if name in names[-3:] else "ok" for name in names}
    assert notices == names[-3:]
    assert worse == [f"Source '{name}' failing: failed 3 runs in a row; last error: HTTP 404" for name in names[-3:]]


FAILING = Health(HealthState.FAILING, "failed 3 runs in a row; last error: boom")
NO_LINKS = Health(HealthState.NO_LINKS, "selector matched 0 links (…)")
STALE = Health(HealthState.STALE, "no new story since 2024-04-01")
OK = Health(HealthState.OK)


@pytest.mark.parametrize(
    ("previous", "current", "text"),
    [
        (None, OK, None),  # a new source that is fine: nothing to say
        ("ok", OK, None),
        ("failing", FAILING, None),  # still failing: said once already
        ("no_links", NO_LINKS, None),
        ("stale", STALE, None),
        (None, FAILING, "Source 'Wire' failing: failed 3 runs in a row; last error: boom"),
        ("ok", NO_LINKS, "Source 'Wire' finding no story links: selector matched 0 links (…)"),
        ("ok", STALE, "Source 'Wire' stale: no new story since 2024-04-01"),
        ("stale", FAILING, "Source 'Wire' failing: failed 3 runs in a row; last error: boom"),
        ("failing", STALE, "Source 'Wire' stale: no new story since 2024-04-01"),  # a new problem, no recovery
        ("failing", OK, "Source 'Wire' has recovered (it was failing)."),
        ("no_links", OK, "Source 'Wire' has recovered (it was finding no story links)."),
        ("stale", OK, "Source 'Wire' has recovered (it was stale)."),
    ],
)
def test_change(previous: str | None, current: Health, text: str | None) -> None:
    announced = change("Wire", previous, current)

    assert (announced.text if announced else None) == text
    if announced is not None:
        assert announced.source == "Wire" and announced.health == current
        recovered = current.state is HealthState.OK
        assert announced.recovered_from == (HealthState(previous) if recovered and previous is not None else None)


# End to end -------------------------------------------------------------------------------------

OPS_WEBHOOK_PATH = "/services/T000/B000/ops-canary"
DEFAULT_WEBHOOK = "webhook:" + FakeSlack.WEBHOOK_PATH
OPS_WEBHOOK = "webhook:" + OPS_WEBHOOK_PATH
HTML = "text/html; charset=utf-8"


def neutral(number: int) -> dict[str, str]:
    """A story no watchlist matches, so only health notices reach Slack or the terminal."""
    return {
        "title": f"Regulator publishes robocall rules, part {number}",
        "link": f"https://news.example.com/robocalls-{number}",
        "description": "Carriers must authenticate caller ID.",
        "pubDate": recent(),
    }


def notices(texts: list[str]) -> list[str]:
    return [text for text in texts if text.startswith("newsbot: Source ")]


def texts(slack: FakeSlack, channel: str) -> list[str]:
    return [message["text"] for message in slack.in_channel(channel)]


def notice_rows(database: Path) -> list[tuple[str, str, str | None, int, str | None]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT source, kind, sent_at, attempts, last_error FROM source_notices ORDER BY id"
        ).fetchall()


def webhook_with_ops(workspace: Workspace, slack: FakeSlack) -> None:
    workspace.use_slack(slack, seconds_between_messages=0, ops_webhook_url="${TEST_OPS_WEBHOOK}")
    workspace.environment["TEST_OPS_WEBHOOK"] = slack.url + OPS_WEBHOOK_PATH


def token_with_ops(workspace: Workspace, slack: FakeSlack) -> None:
    workspace.use_slack_token(slack, ops_channel="#ops")


@pytest.mark.parametrize(
    ("configure", "ops", "alerts"),
    [(webhook_with_ops, OPS_WEBHOOK, DEFAULT_WEBHOOK), (token_with_ops, "ops", "vendor-news")],
    ids=["webhook", "token"],
)
def test_a_failing_feed_is_announced_once_to_ops_and_so_is_its_recovery(
    workspace: Workspace,
    feed_server: FeedServer,
    slack: FakeSlack,
    configure: Callable[[Workspace, FakeSlack], None],
    ops: str,
    alerts: str,
) -> None:
    workspace.source("Gone", feed_server.url + "/gone.xml")  # no route yet: 404
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([{**MITTO, "pubDate": recent()}]))))
    workspace.settings["health"] = {"failing_after_runs": 2}
    configure(workspace, slack)

    def run() -> list[str]:
        """One cron run; what the ops destination has received so far."""
        result = workspace.newsbot("run")
        assert result.returncode == 0, result.stderr
        return texts(slack, ops)

    first = run()
    second = run()
    status = workspace.newsbot("status")
    third = run()
    feed_server.add("/gone.xml", Route(rss([neutral(1)])))  # the feed comes back
    fourth = run()
    fifth = run()

    failing = "newsbot: Source 'Gone' failing: failed 2 runs in a row; last error: the server answered HTTP 404"
    recovered = "newsbot: Source 'Gone' has recovered (it was failing)."
    assert first == []
    assert second == third == [failing]
    assert fourth == fifth == [failing, recovered]
    assert "FAILING since" in status.stdout and "the server answered HTTP 404" in status.stdout
    [alert] = texts(slack, alerts)  # alerts keep their own destination; notices never go there
    assert "Mitto AG" in alert
    assert {message["channel"] for message in slack.delivered} == {
        slack.channels.get(ops, ops),
        slack.channels.get(alerts, alerts),
    }
    assert [(kind, sent is not None) for _, kind, sent, _, _ in notice_rows(workspace.database)] == [
        ("failing", True),
        ("recovered", True),
    ]


@pytest.mark.parametrize("mode", ["webhook", "token", "terminal"])
def test_without_ops_keys_notices_go_where_newsbot_talks_by_default(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, mode: str
) -> None:
    workspace.source("Gone", feed_server.url + "/gone.xml")
    workspace.settings["health"] = {"failing_after_runs": 1}
    if mode == "webhook":
        workspace.use_slack(slack, seconds_between_messages=0)
    elif mode == "token":
        workspace.use_slack_token(slack)

    result = workspace.newsbot("run")

    expected = "newsbot: Source 'Gone' failing: failed 1 runs in a row; last error: the server answered HTTP 404"
    assert result.returncode == 0, result.stderr
    if mode == "terminal":
        assert expected in result.stdout and slack.requests == []
    else:
        assert texts(slack, DEFAULT_WEBHOOK if mode == "webhook" else "vendor-news") == [expected]
        assert len(slack.delivered) == 1
    [(_, kind, sent_at, attempts, _)] = notice_rows(workspace.database)
    assert kind == "failing" and sent_at is not None and attempts == 1


LISTING_PAGE = """<html><body><main>
<article><h2><a href="/story/ss7">Regulator publishes robocall rules</a></h2></article>
<article><h2><a href="/story/caller-id">Carriers must authenticate caller ID</a></h2></article>
</main></body></html>"""
REDESIGNED_PAGE = """<html><body><main>
<div class="card"><h3><a href="/story/ss7">Regulator publishes robocall rules</a></h3></div>
<div class="card"><h3><a href="/story/caller-id">Carriers must authenticate caller ID</a></h3></div>
</main></body></html>"""


def test_a_listing_whose_selector_stops_matching_is_announced_and_its_recovery_too(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    page = feed_server.add("/security/", Route(LISTING_PAGE.encode(), content_type=HTML))
    workspace.settings["sources"].append({"name": "Desk", "url": page, "links": "article h2 a", "full_text": "never"})
    workspace.use_slack(slack, seconds_between_messages=0)

    working = workspace.newsbot("run")
    feed_server.routes["/security/"] = Route(REDESIGNED_PAGE.encode(), content_type=HTML)
    redesigned = workspace.newsbot("run")
    status = workspace.newsbot("status")
    feed_server.routes["/security/"] = Route(LISTING_PAGE.encode(), content_type=HTML)
    fixed = workspace.newsbot("run")
    status_fixed = workspace.newsbot("status")

    assert [r.returncode for r in (working, redesigned, fixed)] == [0, 0, 0]
    assert "2 new stories" in working.stdout  # the selector worked before the redesign
    assert "source warning: Desk: selector matched 0 links" in redesigned.stdout
    assert notices(texts(slack, DEFAULT_WEBHOOK)) == [
        f"newsbot: Source 'Desk' finding no story links: selector matched 0 links (links: 'article h2 a' on {page});"
        " the page may have been redesigned",
        "newsbot: Source 'Desk' has recovered (it was finding no story links).",
    ]
    assert "NO LINKS since" in status.stdout and "selector matched 0 links (links: 'article h2 a'" in status.stdout
    assert "NO LINKS" not in status_fixed.stdout


def test_a_feed_with_no_new_story_goes_stale_once(workspace: Workspace, feed_server: FeedServer) -> None:
    """No Slack: notices are printed by `newsbot run`. Busy, with a new story every run, stays fresh."""
    hours = 0.0006  # about 2.2 s: long enough that the first run cannot already count as stale
    quiet = feed_server.add("/quiet.xml", Route(rss([neutral(1)])))
    busy_items: list[dict[str, str]] = []

    def run() -> subprocess.CompletedProcess[str]:
        busy_items.insert(0, neutral(100 + len(busy_items)))
        feed_server.add("/busy.xml", Route(rss(busy_items)))
        return workspace.newsbot("run")

    workspace.source("Quiet", quiet, stale_after_hours=hours)
    workspace.source("Busy", feed_server.url + "/busy.xml", stale_after_hours=hours)

    first = run()
    with sqlite3.connect(workspace.database) as connection:
        [(stamp,)] = connection.execute("SELECT last_new_story_at FROM sources WHERE name = 'Quiet'").fetchall()
    stale_at = datetime.fromisoformat(stamp) + timedelta(hours=hours, seconds=0.1)
    time.sleep(max(0.0, (stale_at - datetime.now(UTC)).total_seconds()))
    second = run()
    status = workspace.newsbot("status")
    third = run()
    feed_server.routes["/quiet.xml"] = Route(rss([neutral(2), neutral(1)]))
    fourth = run()  # a new story at last

    assert [r.returncode for r in (first, second, third, fourth)] == [0, 0, 0, 0]
    assert "stale" not in first.stdout
    assert f"newsbot: Source 'Quiet' stale: no new story since {stamp} (stale after {hours:g} hours)" in second.stdout
    assert "stale" not in third.stdout  # announced once
    assert "STALE since" in status.stdout and status.stdout.count("STALE") == 1
    assert "newsbot: Source 'Quiet' has recovered (it was stale)." in fourth.stdout
    assert [(source, kind) for source, kind, *_ in notice_rows(workspace.database)] == [
        ("Quiet", "stale"),
        ("Quiet", "recovered"),
    ]


def test_a_listing_finding_no_links_that_then_fails_once_has_not_recovered(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    page = feed_server.add("/security/", Route(REDESIGNED_PAGE.encode(), content_type=HTML))
    workspace.settings["sources"].append({"name": "Desk", "url": page, "links": "article h2 a", "full_text": "never"})

    no_links = workspace.newsbot("run")
    feed_server.routes["/security/"] = Route(b"busy", status=503, content_type="text/plain")
    hiccup = workspace.newsbot("run")  # one failure, below failing_after_runs (3)

    assert "Source 'Desk' finding no story links" in no_links.stdout
    assert "source failed: Desk: the server answered HTTP 503" in hiccup.stdout
    assert "has recovered" not in hiccup.stdout


def test_a_notice_slack_refused_is_kept_not_spent_by_a_dry_run_and_sent_once_later(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Gone", feed_server.url + "/gone.xml")
    workspace.settings["health"] = {"failing_after_runs": 1}
    workspace.use_slack(slack, seconds_between_messages=0)
    slack.fail_always = SlackReply(500, "service_unavailable")

    down = workspace.newsbot("run")
    kept, delivered_while_down = notice_rows(workspace.database), slack.delivered
    slack.fail_always = None
    requests_before_dry = len(slack.requests)
    dry = workspace.newsbot("run", "--dry-run")
    after_dry, requests_after_dry = notice_rows(workspace.database), len(slack.requests)
    back = workspace.newsbot("run")

    assert [r.returncode for r in (down, dry, back)] == [0, 0, 0]
    assert delivered_while_down == [] and requests_before_dry > 0  # Slack was asked and answered 500
    [(source, kind, sent_at, attempts, error)] = kept
    assert (source, kind, sent_at, attempts) == ("Gone", "failing", None, 1)
    assert "Slack answered HTTP 500" in (error or "")
    assert "delivery failed: the default webhook: Slack answered HTTP 500" in down.stdout
    # The dry run shows the notice but spends nothing: no request to Slack, the real row untouched.
    assert "Source 'Gone' failing" in dry.stdout and '"destination": "the default webhook"' in dry.stdout
    assert requests_after_dry == requests_before_dry
    assert after_dry == kept
    assert texts(slack, DEFAULT_WEBHOOK) == [
        "newsbot: Source 'Gone' failing: failed 1 runs in a row; last error: the server answered HTTP 404"
    ]
    [(_, _, sent_at, attempts, _)] = notice_rows(workspace.database)
    assert sent_at is not None and attempts == 2
