"""Mutes set from Slack, end to end: a click on an alert `newsbot run` posted, received by `newsbot
serve` (a subprocess, signed requests over HTTP), then later runs that keep the muted matches as
muted alerts and send nothing, `status`, `explain --url` and `newsbot mutes` saying so, `mutes lift`,
and a mute running out on the run's own clock."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

from newsbot.alerts.setup import delivery
from newsbot.configuration.config import load_config
from newsbot.models import FetchResult, FetchStatus, Story
from newsbot.pipeline.run import run
from newsbot.storage.database import Storage
from tests.conftest import Workspace
from tests.end_to_end.test_cluster_alerts import FOLLOW_UP, WIRE
from tests.end_to_end.test_serve import SIGNING_SECRET, alerted, rows, serving, story, wait_until, with_feedback
from tests.fakeclock import FakeClock
from tests.feed_items import KALEYRA, MITTO
from tests.servers import FakeSlack, FeedServer, Route, SlackReply, recent, rss

MITTO_AGAIN = {
    "title": "Mitto AG fined by Swiss regulator",
    "link": "https://news.example.com/mitto-fined",
    "description": "The SMS aggregator was fined after the surveillance report.",
}
MITTO_LATER = {
    "title": "Mitto AG surveillance inquiry widens",
    "link": "https://news.example.com/mitto-inquiry",
    "description": "Prosecutors asked carriers for call logs.",
}


def feed(feed_server: FeedServer, *items: dict[str, str]) -> None:
    feed_server.add("/feed.xml", Route(rss([{**item, "pubDate": recent()} for item in items])))


def click(workspace: Workspace, slack: FakeSlack, message: dict[str, object], label: str) -> str:
    """A click through a running `newsbot serve`; the line it left in place of the buttons."""
    payload = slack.click(message, label)
    before = len(slack.updates)
    with serving(workspace) as serve:
        assert serve.send(payload).status == 200
        wait_until(lambda: len(slack.updates) > before)
        serve.stop()
    return str(slack.updates[-1]["blocks"][-1]["elements"][0]["text"])


def statuses(workspace: Workspace) -> dict[str, tuple[str, int | None]]:
    found = rows(
        workspace, "SELECT stories.url, alerts.status, alerts.mute_id FROM alerts JOIN stories ON stories.id = story_id"
    )
    return {url.rsplit("/", 1)[-1]: (status, mute) for url, status, mute in found}


def test_a_vendor_mute_keeps_the_next_matches_unsent_until_it_is_lifted(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    with_feedback(workspace, slack)
    message = alerted(workspace, feed_server, slack, story(MITTO))

    line = click(workspace, slack, message, "Mute vendor 7 days")
    feed(feed_server, MITTO, MITTO_AGAIN, KALEYRA)
    muted_run = workspace.newsbot("run")
    status = workspace.newsbot("status")
    explain = workspace.newsbot("explain", "--url", MITTO_AGAIN["link"])
    listed = workspace.newsbot("mutes")
    lift = workspace.newsbot("mutes", "lift", "1")
    feed(feed_server, MITTO, MITTO_AGAIN, KALEYRA, MITTO_LATER)
    after_lift = workspace.newsbot("run")

    assert re.fullmatch(r"Muted Mitto AG in SMS and 2FA vendors until \S+ \S+ UTC \(mute #1\) — <@U0ANALYST1>", line)
    assert muted_run.returncode == 0, muted_run.stderr
    texts = [str(message["text"]) for message in slack.delivered]
    assert len(texts) == 3 and "Kaleyra" in texts[1] and "Mitto AG surveillance inquiry" in texts[2]
    assert statuses(workspace) == {
        "mitto": ("sent", None),
        "mitto-fined": ("muted", 1),  # kept, never sent, not even after the lift
        "kaleyra": ("sent", None),
        "mitto-inquiry": ("sent", None),
    }
    assert "1 alerts muted" in status.stdout
    mute_line = re.compile(
        r"#1  SMS and 2FA vendors  vendor Mitto AG  until \S+ \S+ UTC  by @alice  1 match suppressed"
    )
    assert mute_line.search(status.stdout) and mute_line.search(listed.stdout), status.stdout + listed.stdout
    assert re.search(
        r"muted by mute #1 \(vendor Mitto AG in watchlist SMS and 2FA vendors until \S+ \S+ UTC, by @alice\)",
        explain.stdout,
    ), explain.stdout
    assert lift.returncode == 0 and "lifted mute #1" in lift.stdout and "does not un-mute past alerts" in lift.stdout
    assert after_lift.returncode == 0 and workspace.newsbot("mutes").stdout.startswith("no active mutes")


def test_a_cluster_mute_silences_the_storys_copies_and_nothing_else(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    with_feedback(workspace, slack)
    message = alerted(workspace, feed_server, slack, WIRE)

    line = click(workspace, slack, message, "Mute this story's cluster 7 days")
    # A follow-up of the story (it joins its cluster and fires a rule the first did not: normally a new
    # alert), a Kaleyra story, and a different Mitto story.
    workspace.source(
        "Daily", feed_server.add("/daily.xml", Route(rss([FOLLOW_UP, story(KALEYRA), story(MITTO_AGAIN)])))
    )
    result = workspace.newsbot("run")
    explain = workspace.newsbot("explain", "--url", FOLLOW_UP["link"])

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        r"Muted this story's copies in SMS and 2FA vendors until \S+ \S+ UTC \(mute #1\) — <@\w+>", line
    )
    delivered = [str(message["text"]) for message in slack.delivered]
    assert len(delivered) == 3 and "Kaleyra" in delivered[1] + delivered[2] and "fined" in delivered[1] + delivered[2]
    assert statuses(workspace)["mitto-what-we-know"] == ("muted", 1)
    assert re.search(r"muted by mute #1 \(cluster \w+ in watchlist SMS and 2FA vendors until", explain.stdout)


def test_the_overflow_menus_long_mute_lasts_thirty_days(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    with_feedback(workspace, slack)
    message = alerted(workspace, feed_server, slack, story(MITTO))

    click(workspace, slack, message, "Mute vendor 30 days")

    [(vendor, created, until)] = rows(workspace, "SELECT vendor, created_at, until FROM mutes")
    assert vendor == "Mitto AG"
    assert datetime.fromisoformat(until) - datetime.fromisoformat(created) == timedelta(days=30)


def test_a_mute_runs_out_on_the_runs_clock(workspace: Workspace, slack: FakeSlack) -> None:
    """Runs in this process with a clock that moves when told (no sources: nothing is crawled); the
    stories are stored as a crawl would, published at the run's time. The mute is set by a real click."""
    with_feedback(workspace, slack)
    start = datetime.now(UTC)
    clock = FakeClock(start)

    def run_at(offset: timedelta, name: str, title: str) -> None:
        clock.advance(start + offset - clock.now())
        storage = Storage.open(workspace.database)
        try:
            published = Story(name, f"https://wire.example/{name}", title, "", "", "Wire", published_at=clock.now())
            storage.record_fetch(
                FetchResult("Wire", "https://wire.example/feed", FetchStatus.OK), [published], clock.now()
            )
        finally:
            storage.close()
        config = load_config(workspace.config)
        poster, policy = delivery(config)
        run(config, poster, dataclasses.replace(policy, clock=clock))

    # This process reads the config itself: the secrets are written in it, not left to ${VAR}s.
    workspace.settings["slack"].update(token=slack.token, signing_secret=SIGNING_SECRET)
    workspace.write()
    run_at(timedelta(0), "first", "Mitto AG sold SS7 access")
    click(workspace, slack, slack.delivered[0], "Mute vendor 7 days")
    run_at(timedelta(days=6, hours=23), "during", "Mitto AG surveillance report")
    run_at(timedelta(days=7, hours=1), "after", "Mitto AG SS7 inquiry")

    texts = [str(message["text"]) for message in slack.delivered]
    assert len(texts) == 2 and "Mitto AG sold SS7 access" in texts[0] and "Mitto AG SS7 inquiry" in texts[1], texts
    assert statuses(workspace) == {"first": ("sent", None), "during": ("muted", 1), "after": ("sent", None)}


def test_a_mute_clicked_while_alerts_wait_suppresses_the_waiting_ones(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """Slack down, two Mitto alerts and a Kaleyra one wait in the outbox; a "Mute vendor" click on
    the first Mitto alert then arrives. Mutes were applied only when a match was queued, so when
    Slack came back both waiting Mitto alerts were posted after the click."""
    with_feedback(workspace, slack)
    message = alerted(workspace, feed_server, slack, story(MITTO))
    slack.fail_always = SlackReply(status=429, body="ratelimited", headers={"Retry-After": "1"})
    feed(feed_server, MITTO, MITTO_AGAIN, KALEYRA, MITTO_LATER)
    failing = workspace.newsbot("run")
    waiting = statuses(workspace)

    click(workspace, slack, message, "Mute vendor 7 days")
    slack.fail_always = None
    recovered = workspace.newsbot("run")

    assert failing.returncode == 0, failing.stderr
    assert waiting["mitto-fined"][0] == waiting["mitto-inquiry"][0] == waiting["kaleyra"][0] == "pending"
    assert recovered.returncode == 0, recovered.stderr
    texts = [str(posted["text"]) for posted in slack.delivered]
    assert len(texts) == 2 and "Kaleyra" in texts[1], texts
    assert statuses(workspace) == {
        "mitto": ("sent", None),
        "mitto-fined": ("muted", 1),
        "kaleyra": ("sent", None),
        "mitto-inquiry": ("muted", 1),
    }
    assert "2 match" in workspace.newsbot("mutes").stdout  # both counted as suppressed by mute #1


def test_a_cluster_mute_clicked_while_a_copy_waits_suppresses_the_copy(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """The wire story alerted; its follow-up waits out a 429 when "Mute this story's cluster" is
    clicked. The waiting alert carried no cluster, so only vendor mutes were applied at sending."""
    with_feedback(workspace, slack)
    message = alerted(workspace, feed_server, slack, WIRE)
    slack.fail_always = SlackReply(status=429, body="ratelimited", headers={"Retry-After": "1"})
    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss([FOLLOW_UP]))))
    assert workspace.newsbot("run").returncode == 0
    assert statuses(workspace)["mitto-what-we-know"][0] == "pending"

    click(workspace, slack, message, "Mute this story's cluster 7 days")
    slack.fail_always = None
    recovered = workspace.newsbot("run")

    assert recovered.returncode == 0, recovered.stderr
    assert statuses(workspace)["mitto-what-we-know"] == ("muted", 1)
    assert len(slack.delivered) == 1


def test_a_mute_clicked_while_a_run_sends_stops_the_rest_of_its_pass(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """Six Mitto alerts go out 2 s apart; "Mute vendor" is clicked once the first is in Slack.
    Mutes were asked once a pass, and all six went."""
    with_feedback(workspace, slack)
    message = alerted(workspace, feed_server, slack, story(MITTO))
    workspace.settings["slack"]["seconds_between_messages"] = 2
    topics = ["spyware vendors", "prosecutors", "regulators", "two carriers", "a union", "a committee"]
    items = [
        {
            "title": f"Mitto AG surveillance claim {number}",
            "link": f"https://news.example.com/claim-{number}",
            "description": f"Mitto AG faces questions from {topic} about SS7 surveillance.",
            "pubDate": recent(),
        }
        for number, topic in enumerate(topics)
    ]
    feed(feed_server, *items)
    before = len(slack.delivered)
    with serving(workspace) as serve:
        run = workspace.popen("run")
        wait_until(lambda: len(slack.delivered) > before)
        assert serve.send(slack.click(message, "Mute vendor 7 days")).status == 200
        wait_until(lambda: len(slack.updates) == 1)  # the click is stored: the buttons gave way
        in_slack = len(slack.delivered)
        _, errors = run.communicate(timeout=120)
        serve.stop()

    assert run.returncode == 0, errors
    assert len(slack.delivered) <= in_slack + 1  # at most the one already on its way
    muted = [status for status, mute in statuses(workspace).values() if status == "muted"]
    assert muted and len(muted) >= 6 - (in_slack - before) - 1, statuses(workspace)
