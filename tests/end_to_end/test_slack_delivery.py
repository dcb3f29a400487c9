"""Slack delivery end to end: slack-sdk (webhook and bot token) against a local fake Slack that can
fail, rate-limit and hold a message while newsbot is killed."""

from __future__ import annotations

import itertools
import json
import signal
import sqlite3
import time

import pytest

from tests.conftest import Workspace
from tests.feed_items import KALEYRA, MITTO
from tests.servers import FakeSlack, FeedServer, Route, SlackReply, recent, rss


def story(base: dict[str, str], number: int | None = None) -> dict[str, str]:
    suffix = "" if number is None else f"-{number}"
    return {**base, "link": base["link"] + suffix, "title": base["title"] + suffix, "pubDate": recent()}


def alert_rows(workspace: Workspace) -> list[tuple]:
    with sqlite3.connect(workspace.database) as connection:
        return connection.execute("SELECT status, destination FROM alerts ORDER BY created_at, id").fetchall()


def signalling(workspace: Workspace, file: str, severity: str = "medium") -> None:
    """A second watchlist that alerts the Mitto story too (Mitto AG and SS7)."""
    workspace.watchlist(file).write_text(
        "name: Signalling\nvendors:\n  - name: Mitto AG\ntopics:\n  ss7: [SS7]\n"
        f"rules:\n  - name: ss7\n    all: [vendors, ss7]\n    severity: {severity}\n",
        encoding="utf-8",
    )


def wait_until(condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_bot_token_routes_by_severity_and_tags_messages_with_the_alert_id(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO), story(KALEYRA)]))))
    workspace.use_slack_token(slack, severity_channels={"high": "#sec-incidents"})

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    [incident] = slack.in_channel("sec-incidents")
    [news] = slack.in_channel("vendor-news")
    assert "Mitto AG" in incident["text"] and "Kaleyra" in news["text"]
    with sqlite3.connect(workspace.database) as connection:
        ids = {row[0] for row in connection.execute("SELECT id FROM alerts")}
    assert {
        incident["metadata"]["event_payload"]["alert_ids"][0],
        news["metadata"]["event_payload"]["alert_ids"][0],
    } == ids
    assert incident["metadata"]["event_type"] == "newsbot_alert"
    assert incident["unfurl_links"] is False


def test_rule_and_watchlist_channels_route_alerts(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.edit_watchlist("name: SMS and 2FA vendors\n", 'name: SMS and 2FA vendors\nchannel: "#ops"\n')
    workspace.edit_watchlist("    severity: high\n", '    severity: high\n    channel: "#sec-incidents"\n')
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO), story(KALEYRA)]))))
    workspace.use_slack_token(slack)

    workspace.newsbot("run")

    assert ["Mitto AG" in m["text"] for m in slack.in_channel("sec-incidents")] == [True]  # the rule's channel
    assert ["Kaleyra" in m["text"] for m in slack.in_channel("ops")] == [True]  # the watchlist's channel
    assert slack.in_channel("vendor-news") == []


def test_a_less_severe_rules_channel_is_not_the_alerts(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """Mitto AG fires the high rule (no channel of its own) and a low rule whose channel is for low
    noise: the alert is high, and goes where high alerts go. It went to #low-noise."""
    workspace.edit_watchlist(
        "    severity: medium\n",
        "    severity: medium\n"
        "  - name: vendor-mentioned\n"
        "    all: [vendors]\n"
        "    severity: low\n"
        '    channel: "#low-noise"\n',
    )
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO), story(KALEYRA)]))))
    workspace.use_slack_token(slack, severity_channels={"high": "#sec-incidents"})
    slack.channels["low-noise"] = "C0LOWNOISE"

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert ["Mitto AG" in m["text"] for m in slack.in_channel("sec-incidents")] == [True]
    assert ["Kaleyra" in m["text"] for m in slack.in_channel("vendor-news")] == [True]  # medium: the default
    assert slack.in_channel("low-noise") == []


def test_the_same_story_for_a_second_watchlist_goes_into_the_first_alerts_thread(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    signalling(workspace, "second.yaml")
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    workspace.use_slack_token(slack)

    workspace.newsbot("run")

    first, reply = slack.in_channel("vendor-news")
    assert "thread_ts" not in first and reply["thread_ts"] == first["ts"]


def test_a_more_severe_alert_about_the_story_is_a_message_of_its_own_not_a_reply(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """A reply notifies nobody: the CRITICAL alert of a second watchlist went out only in the thread of
    the first watchlist's less severe alert about the same story."""
    signalling(workspace, "zz-signalling.yaml", "critical")  # matched, and queued, after the example's
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    workspace.use_slack_token(slack)

    workspace.newsbot("run")

    critical, reply = slack.in_channel("vendor-news")
    assert "CRITICAL" in critical["text"] and "thread_ts" not in critical
    assert "HIGH" in reply["text"] and reply["thread_ts"] == critical["ts"]


def test_pacing_keeps_messages_to_one_channel_apart(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(KALEYRA, n) for n in range(3)]))))
    workspace.use_slack_token(slack, seconds_between_messages=0.5)

    workspace.newsbot("run")

    times = [message["received"] for message in slack.in_channel("vendor-news")]
    assert len(times) == 3
    assert all(later - earlier >= 0.45 for earlier, later in itertools.pairwise(times))


def test_a_backfill_becomes_one_digest_with_details_in_its_thread(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(KALEYRA, n) for n in range(5)]))))
    workspace.use_slack_token(slack, digest_over=3)

    result = workspace.newsbot("run")

    digest, *details = slack.in_channel("vendor-news")
    assert "5 new alerts" in digest["text"] and "thread_ts" not in digest
    assert len(details) == 5 and {d["thread_ts"] for d in details} == {digest["ts"]}
    assert "5 alerts sent" in result.stdout
    assert [row[0] for row in alert_rows(workspace)] == ["sent"] * 5


def test_a_digest_slack_refuses_goes_one_alert_at_a_time_and_only_the_refused_one_waits(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """Slack refused a digest's blocks (one story's text it cannot take): the digest was rebuilt alike
    every run, refused every run, and held back every alert to its channel, new ones too."""
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(KALEYRA, n) for n in range(5)]))))
    workspace.use_slack_token(slack, digest_over=3)
    refused = SlackReply(400, "invalid_blocks")
    slack.script = [refused, SlackReply(), refused, SlackReply(), SlackReply(), SlackReply()]

    first = workspace.newsbot("run")
    delivered = len(slack.delivered)
    second = workspace.newsbot("run")

    assert first.returncode == 0 and second.returncode == 0, first.stderr
    assert "invalid_blocks" in first.stdout
    assert delivered == 4 and len(slack.delivered) == 5  # the refused one, alone, the run after
    assert not any("new alerts" in message["text"] for message in slack.delivered)
    assert [status for status, _ in alert_rows(workspace)] == ["sent"] * 5


def test_a_backfill_through_a_webhook_is_one_digest(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(KALEYRA, n) for n in range(5)]))))
    workspace.use_slack(slack, digest_over=3, seconds_between_messages=0)

    workspace.newsbot("run")

    [digest] = slack.delivered
    assert "5 new alerts" in digest["text"] and len(json.dumps(digest["blocks"]).split("news.example.com")) == 6


def test_a_permanent_slack_error_keeps_the_alerts_and_names_the_problem(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO), story(KALEYRA)]))))
    workspace.use_slack_token(slack, severity_channels={"high": "#missing"})

    broken = workspace.newsbot("run")
    status = workspace.newsbot("status")
    slack.channels["missing"] = "C0MISSING"  # the channel is created: the kept alert goes out
    fixed = workspace.newsbot("run")

    assert broken.returncode == 0
    assert "#missing: Slack says channel_not_found: the channel does not exist" in broken.stdout
    assert "to #missing" in status.stdout and "channel_not_found" in status.stdout
    assert "Alerts: 1 pending, 1 sent" in status.stdout
    assert fixed.returncode == 0 and len(slack.in_channel("missing")) == 1
    assert [row[0] for row in alert_rows(workspace)] == ["sent", "sent"]


def test_a_bot_not_in_the_channel_does_not_block_other_channels(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    slack.not_in.add("sec-incidents")
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO), story(KALEYRA)]))))
    workspace.use_slack_token(slack, severity_channels={"high": "#sec-incidents"})

    result = workspace.newsbot("run")

    assert "not_in_channel: the bot is not a member of the channel" in result.stdout
    assert len(slack.in_channel("vendor-news")) == 1
    assert sorted(row[0] for row in alert_rows(workspace)) == ["pending", "sent"]


@pytest.mark.parametrize("mode", ["token", "webhook"])
def test_a_message_slack_refuses_does_not_hold_back_the_next_ones(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, mode: str
) -> None:
    """Slack refuses the oldest alert's blocks: it waits, named, and the two after it go out. Before,
    the refused one was tried first every run and every later alert to its channel waited behind it."""
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(KALEYRA, n) for n in range(3)]))))
    if mode == "token":
        workspace.use_slack_token(slack, seconds_between_messages=0)
    else:
        workspace.use_slack(slack, seconds_between_messages=0)
    slack.script = [SlackReply(400, "invalid_blocks")]

    first = workspace.newsbot("run")
    slack.fail_always = SlackReply(400, "invalid_blocks")  # the same message is refused again
    again = workspace.newsbot("run")

    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert "Slack says invalid_blocks" in first.stdout
    assert len(slack.delivered) == 2
    assert sorted(row[0] for row in alert_rows(workspace)) == ["pending", "sent", "sent"]


def test_a_rejected_token_keeps_everything_and_never_shows_the_token(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    workspace.use_slack_token(slack)
    slack.token = "xoxb-the-right-one"

    result = workspace.newsbot("-vv", "run")
    status = workspace.newsbot("status")

    assert "Slack says invalid_auth: Slack rejected the token" in result.stdout
    assert alert_rows(workspace) == [("pending", "#vendor-news")]
    for output in (result.stdout, result.stderr, status.stdout, status.stderr):
        assert FakeSlack.TOKEN not in output
    for file in workspace.folder.glob("newsbot.db*"):
        assert FakeSlack.TOKEN.encode() not in file.read_bytes()


def test_delivery_failing_is_announced_once_when_slack_answers_again(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    workspace.use_slack_token(slack, severity_channels={"high": "#missing"}, failing_after_hours=0.0003)
    workspace.newsbot("run")  # the high alert cannot go anywhere
    # ...for longer than failing_after (about one second), in whole seconds: stored times are, so an
    # alert queued at 12:00:55.1 and a run 1.8 s later (queued before 12:00:55.8) both read 12:00:55,
    # and the alert did not count as stuck yet (it failed about one run in six).
    time.sleep(2.2)
    feed_server.routes["/feed.xml"] = Route(rss([story(MITTO), story(KALEYRA)]))

    answered = workspace.newsbot("run")  # Slack answers for #vendor-news: one notice
    again = workspace.newsbot("run")
    status = workspace.newsbot("status")

    notices = [m for m in slack.in_channel("vendor-news") if "delivery is failing" in m["text"]]
    assert answered.returncode == 0 and again.returncode == 0
    assert len(notices) == 1 and "channel_not_found" in notices[0]["text"]
    assert "FAILING: 'Mitto AG co-founder sold SS7 access'" in status.stdout


def test_after_a_whole_outage_the_alerts_sent_late_are_announced_once(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """With Slack unreachable for longer than failing_after, the run that found it again sent every
    alert, then found none stuck, and the notice `status` had promised ("it goes once Slack answers
    again") never went: the channel got hours-old alerts with no word that they were late."""
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO), story(KALEYRA)]))))
    workspace.use_slack(slack, failing_after_hours=0.0003, seconds_between_messages=0)
    workspace.environment["TEST_SLACK_WEBHOOK"] = "http://127.0.0.1:1/services/T000/B000/nobody-listens"
    assert workspace.newsbot("run").returncode == 0  # nothing answers: both alerts wait
    time.sleep(2.2)  # longer than failing_after (see the test above)
    waiting = workspace.newsbot("status")
    workspace.environment["TEST_SLACK_WEBHOOK"] = slack.webhook_url

    answered = workspace.newsbot("run")
    again = workspace.newsbot("run")

    assert "no 'delivery is failing' notice has gone out yet" in waiting.stdout, waiting.stdout
    assert answered.returncode == 0 and again.returncode == 0, answered.stderr
    notices = [m for m in slack.delivered if "delivery was failing" in m["text"]]
    assert len(notices) == 1 and len(slack.delivered) == 3
    # The first alert tried (the second waited behind it untried, and "failing" counts tried ones)
    assert "1 alerts waited more than" in notices[0]["text"] and "and were sent late, at " in notices[0]["text"]
    assert "Connection refused" in notices[0]["text"]
    assert slack.delivered[-1] is notices[0]  # after the alerts it speaks of


def test_a_refused_delivery_failing_notice_is_said_and_tried_again(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    workspace.use_slack_token(slack, severity_channels={"high": "#missing"}, failing_after_hours=0.0003)
    workspace.newsbot("run")
    time.sleep(2.2)  # stuck for longer than failing_after (see the test above)
    feed_server.routes["/feed.xml"] = Route(rss([story(MITTO), story(KALEYRA)]))
    slack.script = [SlackReply(), SlackReply(), SlackReply(400, "invalid_blocks")]

    refused = workspace.newsbot("run")
    feed_server.routes["/feed.xml"] = Route(rss([story(MITTO), story(KALEYRA), story(KALEYRA, 2)]))
    again = workspace.newsbot("run")  # Slack answers again: the notice goes

    assert refused.returncode == 0, refused.stderr
    assert "#vendor-news: the delivery-failing notice: Slack says invalid_blocks" in refused.stdout
    notices = [m for m in slack.in_channel("vendor-news") if "delivery is failing" in m["text"]]
    assert again.returncode == 0 and len(notices) == 1  # not recorded as sent when refused: sent now


@pytest.mark.parametrize("mode", ["token", "webhook at_least_once", "webhook at_most_once"])
def test_killed_while_slack_holds_the_message(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, mode: str
) -> None:
    """SIGKILL after Slack accepted the message and before newsbot recorded it: the worst moment."""
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    if mode == "token":
        workspace.use_slack_token(slack)
    else:
        workspace.use_slack(slack, delivery=mode.split()[1], seconds_between_messages=0)
    slack.hold = True
    doomed = workspace.popen("run")
    wait_until(lambda: len(slack.delivered) == 1)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    slack.release()

    after = workspace.newsbot("run")
    status = workspace.newsbot("status")

    assert after.returncode == 0, after.stderr
    if mode == "token":  # found by its metadata: not sent again, and recorded as sent
        assert len(slack.delivered) == 1 and alert_rows(workspace)[0][0] == "sent"
    elif mode == "webhook at_least_once":  # no way to look back: sent again, never lost
        assert len(slack.delivered) == 2 and alert_rows(workspace)[0][0] == "sent"
    else:  # at_most_once: never twice; the uncertainty is reported
        assert len(slack.delivered) == 1 and alert_rows(workspace)[0][0] == "unconfirmed"
        assert "1 unconfirmed" in status.stdout and "unconfirmed: 'Mitto AG" in status.stdout


def test_status_during_a_runs_sending_says_the_alert_is_being_sent_not_lost(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """While a run's post waits for Slack's answer, status listed it under Needs attention as "sent,
    its answer lost". Once the run is killed and the attempt is old, that is what it is again."""
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    workspace.use_slack_token(slack, timeout_seconds=30)  # the run waits for the answer while status looks
    slack.hold = True
    sending = workspace.popen("run")
    try:
        wait_until(lambda: len(slack.delivered) == 1)
        during = workspace.newsbot("status")
    finally:
        sending.send_signal(signal.SIGKILL)
        sending.wait(timeout=10)
        slack.release()
    with sqlite3.connect(workspace.database) as connection:  # the attempt began longer ago than a post takes
        connection.execute("UPDATE alerts SET attempt_started_at = '2026-01-01T00:00:00+00:00'")
    later = workspace.newsbot("status")

    assert "being sent: 'Mitto AG" in during.stdout and "a run is sending it now" in during.stdout
    assert "answer lost" not in during.stdout and "alerts not delivered yet" not in during.stdout, during.stdout
    assert "answer lost" in later.stdout and "1 alerts not delivered yet" in later.stdout


@pytest.mark.parametrize("mode", ["token", "webhook at_most_once"])
def test_stopped_while_waiting_out_a_429_the_alert_is_refused_not_in_flight(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, mode: str
) -> None:
    """SIGTERM a second into a 25 s Retry-After. The run left the alert "sending", though Slack had
    refused it: with a webhook and at_most_once the next run marked it unconfirmed and never sent it,
    with a bot token the next run held it back for the post window. Now it waits as refused, with
    Slack's time, and goes once that time has passed."""
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    if mode == "token":
        workspace.use_slack_token(slack, max_retry_after_seconds=30)
    else:
        workspace.use_slack(slack, max_retry_after_seconds=30, delivery="at_most_once", seconds_between_messages=0)
    slack.script = [SlackReply(429, "ratelimited", headers={"Retry-After": "25"})]
    stopped = workspace.popen("run")
    wait_until(lambda: len(slack.requests_to(slack.WEBHOOK_PATH if mode != "token" else "/api/chat.postMessage")) == 1)
    time.sleep(1)
    stopped.send_signal(signal.SIGTERM)
    stopped.communicate(timeout=30)

    [(status, _)] = alert_rows(workspace)
    assert stopped.returncode == 143 and status == "pending"
    with sqlite3.connect(workspace.database) as connection:
        connection.execute("UPDATE alerts SET next_attempt_at = NULL")  # Slack's 25 s, passed
    after = workspace.newsbot("run")

    assert after.returncode == 0, after.stderr
    assert len(slack.delivered) == 1 and alert_rows(workspace)[0][0] == "sent"


def test_a_slow_slack_does_not_make_a_later_pass_of_the_run_resend(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """One run, a fast and a slow source: delivery runs after the fast one and again after the slow
    one. Slack stores the first post only 6 s after it arrived (the client gave up at 1 s), after
    both passes looked for it: neither resends, and a run started at once after finds it."""
    workspace.source("Fast", feed_server.add("/fast.xml", Route(rss([story(MITTO)]))))
    workspace.source("Slow", feed_server.add("/slow.xml", Route(rss([]), delay=8)))
    workspace.settings["fetch"]["timeout_seconds"] = 20
    workspace.use_slack_token(slack, timeout_seconds=1)
    slack.script = [SlackReply(misbehave="accept_late", delay=6)]

    first = workspace.newsbot("run")
    wait_until(lambda: len(slack.delivered) == 1)
    again = workspace.newsbot("run")

    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert "not in Slack yet" in first.stdout
    assert len(slack.requests_to("/api/chat.postMessage")) == 1 and len(slack.alert_ids()) == 1
    assert alert_rows(workspace) == [("sent", "#vendor-news")]


def test_killed_between_two_alerts_sends_each_exactly_once(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(KALEYRA, n) for n in range(3)]))))
    workspace.use_slack_token(slack, seconds_between_messages=3)
    doomed = workspace.popen("run")
    wait_until(lambda: len(slack.delivered) == 1)  # the first is out; the run now paces 3 s
    time.sleep(0.5)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    workspace.settings["slack"]["seconds_between_messages"] = 0

    workspace.newsbot("run")

    titles = sorted(message["text"] for message in slack.delivered)
    assert len(titles) == 3 and len(set(titles)) == 3
    assert [row[0] for row in alert_rows(workspace)] == ["sent"] * 3


def test_a_server_error_is_retried_within_the_run(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    workspace.use_slack_token(slack)
    slack.script = [SlackReply(500, "service_unavailable"), SlackReply(503, "service_unavailable")]

    result = workspace.newsbot("run")

    assert result.returncode == 0 and len(slack.delivered) == 1
    assert alert_rows(workspace)[0][0] == "sent"


def test_per_watchlist_webhook(workspace: Workspace, feed_server: FeedServer, slack: FakeSlack) -> None:
    workspace.edit_watchlist(
        "name: SMS and 2FA vendors\n", "name: SMS and 2FA vendors\nwebhook_url: ${TEST_TEAM_WEBHOOK}\n"
    )
    workspace.environment["TEST_TEAM_WEBHOOK"] = slack.url + "/services/T000/B000/team-canary"
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    workspace.use_slack(slack, seconds_between_messages=0)

    result = workspace.newsbot("run")

    [message] = slack.delivered
    assert message["channel"] == "webhook:/services/T000/B000/team-canary"
    assert "team-canary" not in result.stdout + result.stderr


def test_dry_run_shows_each_payload_and_where_it_would_go(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    workspace.use_slack_token(slack, severity_channels={"high": "#sec-incidents"})

    result = workspace.newsbot("run", "--dry-run")

    payload = json.loads(result.stdout[: result.stdout.index("\nnewsbot run")])
    assert payload["destination"] == "#sec-incidents" and payload["blocks"][0]["type"] == "header"
    assert slack.requests == [] and not workspace.database.exists()


def test_daily_digest_posts_one_summary_per_watchlist(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO), story(KALEYRA)]))))
    workspace.use_slack_token(slack, severity_channels={"high": "#sec-incidents"})
    workspace.newsbot("run")
    before = len(slack.delivered)

    result = workspace.newsbot("digest", "--since", "24h")

    [digest] = slack.delivered[before:]
    assert result.returncode == 0 and "digest of 'SMS and 2FA vendors': posted" in result.stdout
    assert digest["channel"] == slack.channels["vendor-news"]  # the watchlist's route, not severity's
    assert "2 alerts" in digest["text"] and "Mitto AG" in json.dumps(digest["blocks"])


def test_a_second_digest_while_one_posts_is_refused_and_a_run_is_not(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """A daily digest run by hand while cron's posts (or a cron line copied) posted the summary twice.
    The second is refused with exit 3 and a sentence; a run in the same minute still runs."""
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO), story(KALEYRA)]))))
    workspace.use_slack_token(slack)
    assert workspace.newsbot("run").returncode == 0
    before = len(slack.delivered)
    slack.hold = True  # Slack keeps the first digest's message and does not answer yet
    first = workspace.popen("digest")
    try:
        wait_until(lambda: len(slack.delivered) > before)

        second = workspace.newsbot("digest")
        run = workspace.newsbot("run")
    finally:
        slack.release()
        out, err = first.communicate(timeout=60)

    assert first.returncode == 0 and "digest of 'SMS and 2FA vendors': posted" in out, err
    assert second.returncode == 3 and "Traceback" not in second.stderr
    assert "another newsbot digest is posting" in second.stderr and "this one posted nothing" in second.stderr
    assert run.returncode == 0, run.stderr
    assert len(slack.delivered) == before + 1


@pytest.mark.parametrize("command", ["digest", "slack-test"])
@pytest.mark.parametrize("mode", ["token", "webhook"])
def test_a_slack_answering_a_byte_at_a_time_holds_a_command_no_longer_than_a_runs_budget(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, command: str, mode: str
) -> None:
    """Each read of the answer returns within slack-sdk's timeout, so the timeout never fires: the
    digest and slack-test hung for good (a stuck digest more each morning). Now they end themselves
    past the run's budget and the longest their posts may take, with exit 6 and a sentence."""
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    if mode == "token":
        workspace.use_slack_token(slack, timeout_seconds=2)
    else:
        workspace.use_slack(slack, timeout_seconds=2)
    workspace.settings["fetch"]["run_budget_seconds"] = 3
    assert workspace.newsbot("run").returncode == 0
    slack.fail_always = SlackReply(misbehave="trickle", delay=0.5)

    result = workspace.newsbot(command, timeout=90)  # the budget (3 s), one post (20 s), the overrun (10 s)

    assert result.returncode == 6, result.stderr
    assert result.stderr.startswith("newsbot: ") and "Traceback" not in result.stderr
    assert "was still going" in result.stderr and "(Slack, or a proxy, answering too slowly?)" in result.stderr


def test_a_digests_time_allowance_counts_its_messages_not_its_alerts(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """Eight alerts make one digest message. Against a Slack that trickles its answer, the digest was
    allowed eight posts' time (2 min here; with the defaults, hours a day's alerts): now one post's."""
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(KALEYRA, n) for n in range(8)]))))
    workspace.use_slack_token(slack, timeout_seconds=1, max_retry_after_seconds=1, seconds_between_messages=0)
    workspace.settings["fetch"]["run_budget_seconds"] = 3
    assert workspace.newsbot("run").returncode == 0 and len(slack.delivered) == 8
    slack.fail_always = SlackReply(misbehave="trickle", delay=0.5)

    # The budget (3 s), one post (15 s), the overrun (10 s): ended well within a minute.
    result = workspace.newsbot("digest", timeout=60)

    assert result.returncode == 6, result.stderr
    assert "was still going" in result.stderr


@pytest.mark.parametrize("command", ["digest", "slack-test"])
def test_a_command_ended_while_slack_hangs_has_said_what_it_posted_before(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, command: str
) -> None:
    """Slack takes the first message and trickles its answer to the second: the watchdog ends the
    command, and what it had posted was printed only at the end, so the user saw nothing of it."""
    text = workspace.watchlist().read_text(encoding="utf-8")
    workspace.watchlist("second.yaml").write_text(text.replace("name: SMS and 2FA vendors", "name: Second"), "utf-8")
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    workspace.use_slack_token(slack, timeout_seconds=1, max_retry_after_seconds=1, ops_channel="#ops")
    workspace.settings["fetch"]["run_budget_seconds"] = 3
    assert workspace.newsbot("run").returncode == 0
    before = len(slack.delivered)
    slack.script = [SlackReply()]
    slack.fail_always = SlackReply(misbehave="trickle", delay=0.5)

    result = workspace.newsbot(command, timeout=90)  # the budget (3 s), two posts (15 s each), the overrun (10 s)

    assert result.returncode == 6, result.stderr
    assert len(slack.delivered) - before == 2  # the first taken, the second stored while it trickles
    said = result.stdout.splitlines()
    if command == "digest":
        assert said in (["digest of 'Second': posted"], ["digest of 'SMS and 2FA vendors': posted"]), result.stdout
        assert "those printed above are" in result.stderr
    else:
        assert said[0] == f"newsbot slack-test: a test message to each of 2 destinations (bot token, {slack.api_url})"
        assert said[1:] == ["  #vendor-news (alerts with no other route, newsbot's notices): accepted"], result.stdout
        assert "those printed above did" in result.stderr


def test_a_digest_waiting_out_the_429s_its_config_allows_is_not_ended_as_hung(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """Three watchlists' digests, each refused twice with Retry-After 4 s (within max_retry_after_seconds)
    before Slack takes it: 25 s of posting against a 3 s budget. Bounded by the budget plus 10 s, the
    digest was ended after the first watchlist's as if Slack had hung; the bound counts what its posts
    may take."""
    text = workspace.watchlist().read_text(encoding="utf-8")
    for name in ("Second list", "Third list"):
        other = text.replace("name: SMS and 2FA vendors", f"name: {name}", 1)
        workspace.watchlist(name.split()[0].lower() + ".yaml").write_text(other, encoding="utf-8")
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story(MITTO)]))))
    workspace.use_slack_token(slack, max_retry_after_seconds=5)
    workspace.settings["fetch"]["run_budget_seconds"] = 3
    assert workspace.newsbot("run").returncode == 0
    before = len(slack.delivered)
    refused = SlackReply(429, "ratelimited", {"Retry-After": "4"})
    slack.script = [refused, refused, SlackReply()] * 3

    result = workspace.newsbot("digest", timeout=110)

    assert result.returncode == 0, result.stderr
    assert len(slack.delivered) - before == 3 and result.stdout.count(": posted") == 3, result.stdout
