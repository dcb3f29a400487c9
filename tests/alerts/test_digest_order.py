"""`newsbot digest` (issue F): most severe first, a story and its copies listed once, a header that
reads like a sentence, and `--dry-run` printing exactly what it would post while posting and marking
nothing. The database is made by real runs of the CLI (a real crawl, real clustering); the digest is
posted through slack-sdk to the local fake Slack, whose recorded Block Kit JSON is checked."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from newsbot.alerts.digest import describe_period, digest_window_start, one_per_cluster
from newsbot.models import Alert, AlertKind, FeedEntry, FetchResult, FetchStatus, Match, RuleHit, Severity, Story
from newsbot.storage.database import Storage
from newsbot.storage.records import alert_id
from newsbot.stories.normalize import story_id, to_story
from tests.conftest import Workspace
from tests.end_to_end.test_cluster_alerts import COPY_TEXT, FOLLOW_UP_TEXT, WIRE_TEXT
from tests.feed_items import MITTO
from tests.servers import FakeSlack, FeedServer, Route, recent, rss

WATCHLIST = "SMS and 2FA vendors"
# The wire's report and four outlets' copies of it (five copies of one story), then a follow-up that
# adds a breach: one cluster, with vendor-surveillance (high) and, from the follow-up, vendor-breach.
WIRE = ("Wire", "Mitto AG co-founder sold SS7 access, report says", "https://wire.example/mitto-ss7", WIRE_TEXT)
COPIES = [
    (outlet, f"{outlet}: Swiss SMS firm's founder helped spies track phones", f"https://{host}/mitto", COPY_TEXT)
    for outlet, host in [("Daily", "daily.example"), ("Herald", "herald.example"), ("Courier", "courier.example")]
] + [("Gazette", "Mitto founder sold phone-tracking access", "https://gazette.example/mitto", COPY_TEXT)]
FOLLOW_UP = ("Follow", "Mitto report: what we know", "https://follow.example/mitto-what-we-know", FOLLOW_UP_TEXT)
KALEYRA = (  # vendor-breach: medium, alerted in the first run, before the Mitto story
    "Breaches",
    "Kaleyra confirms data breach",
    "https://breaches.example/kaleyra",
    "Customer records leaked, the CPaaS provider said on Tuesday.",
)


def source(workspace: Workspace, feed_server: FeedServer, story: tuple[str, str, str, str]) -> None:
    name, title, link, text = story
    item = {"title": title, "link": link, "description": text, "pubDate": recent()}
    workspace.source(name, feed_server.add(f"/{name.lower()}.xml", Route(rss([item]))))


def alerted(workspace: Workspace, feed_server: FeedServer, slack: FakeSlack) -> None:
    """Four real runs with a bot token: the Kaleyra breach; the Mitto report; its four copies (replies
    in its thread); the follow-up. Then the database holds 7 sent alerts about 2 stories."""
    workspace.use_slack_token(slack)
    for stories in ([KALEYRA], [WIRE], COPIES, [FOLLOW_UP]):
        for story in stories:
            source(workspace, feed_server, story)
        result = workspace.newsbot("run")
        assert result.returncode == 0, result.stderr
    with sqlite3.connect(workspace.database) as connection:
        sent = connection.execute("SELECT kind, count(*) FROM alerts WHERE status = 'sent' GROUP BY kind").fetchall()
        clusters = connection.execute("SELECT count(DISTINCT cluster_id) FROM stories").fetchone()[0]
    assert dict(sent) == {"alert": 2, "also_in": 4, "continues": 1} and clusters == 2


def entries(message: dict[str, Any]) -> list[str]:
    """A digest message's entries: each starts with a severity emoji, its facts on the next line."""
    lines = [line for block in message["blocks"][1:] for line in block["text"]["text"].split("\n")]
    return [f"{line}\n{facts}" for line, facts in itertools.pairwise(lines) if line.startswith(":")]


def database_dump(workspace: Workspace) -> list[str]:
    with sqlite3.connect(workspace.database) as connection:
        return list(connection.iterdump())


def test_the_digest_lists_the_most_severe_first_and_a_story_with_its_copies_once(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    alerted(workspace, feed_server, slack)
    before = len(slack.delivered)

    result = workspace.newsbot("digest")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"digest of '{WATCHLIST}': posted\n"
    [digest] = slack.delivered[before:]
    header = digest["blocks"][0]["text"]["text"]
    assert header == f"Digest for {WATCHLIST}: 2 alerts in the last 24 hours"
    assert digest["text"] == header
    mitto, kaleyra = entries(digest)
    # Most severe first, though the Kaleyra breach was alerted a run earlier.
    assert mitto.startswith(":red_circle: <https://wire.example/mitto-ss7|Mitto AG co-founder sold SS7 access")
    assert kaleyra.startswith(":large_orange_circle: <https://breaches.example/kaleyra|Kaleyra confirms data breach>")
    # The story once: the wire's report, naming every other outlet and every rule its cluster matched.
    everything = json.dumps(digest["blocks"])
    for _, _, link, _ in [*COPIES, FOLLOW_UP]:
        assert link not in everything
    outlets = re.search(r" — Wire \(also in ([^)]*)\)\n", mitto)
    assert outlets and sorted(outlets[1].split(", ")) == ["Courier", "Daily", "Follow", "Gazette", "Herald"]
    assert re.search(r"rules: vendor-surveillance \(high\), vendor-breach \(medium\)$", mitto), mitto
    assert "\n      ↳ vendor: Mitto AG" in mitto and "; topic: " in mitto
    assert kaleyra.endswith("↳ vendor: Kaleyra; topic: breach, leaked; rules: vendor-breach (medium)")


def test_digest_dry_run_prints_what_it_would_post_and_posts_and_marks_nothing(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    alerted(workspace, feed_server, slack)
    before, stored = len(slack.requests), database_dump(workspace)

    dry = workspace.newsbot("digest", "--dry-run")

    assert dry.returncode == 0, dry.stderr
    assert len(slack.requests) == before, "a dry run sends nothing"
    assert database_dump(workspace) == stored, "a dry run marks nothing"
    printed, summary = dry.stdout.rsplit("}\n", 1)
    assert summary == f"digest of '{WATCHLIST}': printed above, not posted (dry run)\n"
    payload = json.loads(printed + "}")
    assert payload.pop("destination") == "#vendor-news"
    # Exactly what the digest then posts.
    assert workspace.newsbot("digest").returncode == 0
    posted = slack.delivered[-1]
    assert payload == {key: posted[key] for key in payload}
    assert payload["blocks"][0]["text"]["text"] == f"Digest for {WATCHLIST}: 2 alerts in the last 24 hours"


def test_with_nothing_sent_the_digest_says_so_in_words(workspace: Workspace, slack: FakeSlack) -> None:
    workspace.use_slack_token(slack)

    for arguments in (("digest", "--since", "7d"), ("digest", "--since", "7d", "--dry-run")):
        result = workspace.newsbot(*arguments)

        assert (result.returncode, result.stdout) == (0, "no alerts were sent in the last 7 days: no digest\n")
    assert slack.requests == []


PERIOD_TABLE = [
    (timedelta(hours=24), "the last 24 hours"),
    (timedelta(days=1), "the last 24 hours"),
    (timedelta(hours=36), "the last 36 hours"),
    (timedelta(hours=1), "the last hour"),
    (timedelta(minutes=30), "the last 30 minutes"),
    (timedelta(minutes=90), "the last 90 minutes"),
    (timedelta(minutes=1), "the last minute"),
    (timedelta(days=2), "the last 2 days"),
    (timedelta(hours=50), "the last 50 hours"),
    (timedelta(days=7), "the last 7 days"),
    (timedelta(weeks=1), "the last 7 days"),
    (timedelta(days=10), "the last 10 days"),
    (timedelta(weeks=2), "the last 2 weeks"),
    (timedelta(days=90), "the last 90 days"),
]


@pytest.mark.parametrize(("period", "words"), PERIOD_TABLE, ids=[row[1] + f" ({row[0]})" for row in PERIOD_TABLE])
def test_a_period_reads_as_a_reader_says_it(period: timedelta, words: str) -> None:
    assert describe_period(period) == words


def alert(number: int, cluster: str | None, severity: Severity, source: str, rule: str = "rule") -> Alert:
    story = Story(f"s{number}", f"https://news.example/{number}", f"Story {number}", "", "", source)
    match = Match(WATCHLIST, (RuleHit(rule, severity, ("Mitto AG",)),), vendors=("Mitto AG",))
    return Alert(f"a{number}", story, match, cluster=cluster)


def test_a_cluster_is_led_by_its_most_severe_alert_and_an_unknown_cluster_is_its_own() -> None:
    alerts = [
        alert(1, "c1", Severity.MEDIUM, "Wire", "vendor-breach"),
        alert(2, None, Severity.LOW, "Wire"),
        alert(3, "c1", Severity.HIGH, "Daily", "vendor-surveillance"),
        alert(4, "c1", Severity.HIGH, "Herald", "vendor-surveillance"),
        alert(5, None, Severity.LOW, "Wire"),
    ]

    listed = one_per_cluster(alerts)

    assert [entry.id for entry in listed] == ["a3", "a2", "a5"]  # the first of the most severe leads
    assert [hit.rule for hit in listed[0].match.rules] == ["vendor-surveillance", "vendor-breach"]
    assert listed[0].also_in == ("Wire", "Herald") and listed[0].match.severity is Severity.HIGH


def test_copies_sent_in_the_same_second_as_their_original_do_not_lead_its_entry(storage: Storage) -> None:
    """sent_at has whole seconds, and an alert's id is a hash: ordered by id, a copy sent in the same
    second as the report it copies came first and led the digest's entry (one run in ten of the test above)."""
    now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    match = Match(WATCHLIST, (RuleHit("vendor-surveillance", Severity.HIGH, ("Mitto AG", "SS7")),))

    def stored(source: str, link: str) -> Story:
        made = to_story(FeedEntry(link=link, title=f"{source}: Mitto and SS7", summary=WIRE_TEXT), source, now)
        assert made is not None
        storage.record_fetch(
            FetchResult(source, f"https://{source.lower()}.example/feed.xml", FetchStatus.OK), [made], now
        )
        return made

    original = stored("Wire", "https://wire.example/mitto-ss7")
    # Copies whose alerts' ids sort before the original's, as Daily's did when the test above failed.
    links = (f"https://copy.example/mitto-{number}" for number in itertools.count())
    earlier = (link for link in links if alert_id(story_id(link), WATCHLIST) < alert_id(original.id, WATCHLIST))
    copies = [stored(source, link) for source, link in zip(("Daily", "Herald"), earlier, strict=False)]
    assert all(alert_id(copy.id, WATCHLIST) < alert_id(original.id, WATCHLIST) for copy in copies)
    storage.db.execute("UPDATE stories SET cluster_id = ?", [original.id])
    parent = alert_id(original.id, WATCHLIST)
    storage.record_matches(original, [match], now)
    for copy in copies:
        storage.record_matches(copy, [match], now, {WATCHLIST: (AlertKind.ALSO_IN, parent)})
    storage.mark_sent([alert_id(story.id, WATCHLIST) for story in [original, *copies]], now + timedelta(seconds=1))

    [entry] = one_per_cluster(storage.sent_alerts_since(now))

    assert entry.story.url == original.url
    assert entry.also_in == ("Daily", "Herald")


def test_a_copy_recorded_sent_before_its_original_does_not_lead_its_entry(storage: Storage) -> None:
    """With a webhook a copy is recorded sent at once (no thread to reply in), while its original may
    wait for a retry after a 429: sent first, the copy led the story's entry."""
    now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    match = Match(WATCHLIST, (RuleHit("vendor-surveillance", Severity.HIGH, ("Mitto AG", "SS7")),))
    stories = []
    for source, link in (("Wire", "https://wire.example/mitto-ss7"), ("Daily", "https://daily.example/mitto")):
        made = to_story(FeedEntry(link=link, title=f"{source}: Mitto and SS7", summary=WIRE_TEXT), source, now)
        assert made is not None
        storage.record_fetch(FetchResult(source, f"https://{source}.example/f.xml", FetchStatus.OK), [made], now)
        stories.append(made)
    original, copy = stories
    storage.db.execute("UPDATE stories SET cluster_id = ?", [original.id])
    parent = alert_id(original.id, WATCHLIST)
    storage.record_matches(original, [match], now)
    storage.record_matches(copy, [match], now, {WATCHLIST: (AlertKind.ALSO_IN, parent)})
    storage.mark_sent([alert_id(copy.id, WATCHLIST)], now)
    storage.mark_sent([parent], now + timedelta(seconds=40))  # after Slack's Retry-After

    [entry] = one_per_cluster(storage.sent_alerts_since(now))

    assert entry.story.url == original.url and entry.also_in == ("Daily",)


def test_daily_digests_started_seconds_apart_cover_every_alert_between_them(storage: Storage) -> None:
    """Cron started yesterday's line 5 seconds into 08:00 and today's 2 seconds in: each covered exactly the
    24 hours before it, and an alert sent at 08:00:03 yesterday was in neither."""
    yesterday = datetime(2026, 12, 5, 8, 0, 5, tzinfo=UTC)
    today = datetime(2026, 12, 6, 8, 0, 2, tzinfo=UTC)
    period = timedelta(hours=24)
    sent = datetime(2026, 12, 5, 8, 0, 3, tzinfo=UTC)

    covered_yesterday = digest_window_start(yesterday, period) <= sent < yesterday
    covered_today = digest_window_start(today, period) <= sent < today

    assert covered_yesterday or covered_today
    assert digest_window_start(today, period) == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def test_newsbot_digest_lists_an_alert_sent_at_the_start_of_yesterdays_minute(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """The command, not only the arithmetic: an alert sent at the start of the minute 24 hours ago is in."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([{**MITTO, "pubDate": recent()}]))))
    assert workspace.newsbot("run").returncode == 0
    while datetime.now(UTC).second >= 40:  # the digest must start in the same minute as the sent time is set
        time.sleep(1)
    yesterday = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=24)
    with sqlite3.connect(workspace.database) as connection:
        connection.execute("UPDATE alerts SET sent_at = ?", [yesterday.isoformat()])

    result = workspace.newsbot("digest", "--dry-run")

    assert result.returncode == 0, result.stderr
    assert "Digest for SMS and 2FA vendors: 1 alert in the last 24 hours" in result.stdout, result.stdout
