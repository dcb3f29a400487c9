"""One story, one alert: copies of an alerted story in other outlets, through the CLI and Slack.

The copies here are our own writing: a wire report, then the same report re-titled and trimmed
by another outlet, and a follow-up that adds what a rule the first report did not fire needs.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time

from tests.conftest import Workspace
from tests.servers import FakeSlack, FeedServer, Route, SlackReply, recent, rss

WIRE_TEXT = (
    "A co-founder of the SMS aggregator Mitto AG sold access to the company's connections with mobile "
    "operators to surveillance firms, according to an investigation published on Monday by a group of "
    "journalists. Former employees described how the access was used to send location queries over the "
    "SS7 signalling network, which carriers use to route calls and texts between each other. The company "
    "routes one-time login codes for large technology firms through agreements with operators in many "
    "countries, and its customers were not told about the activity, the report said. Mitto said it was "
    "carrying out an internal review to determine whether its technology or business had been compromised, "
    "and that it would cooperate with any inquiry. Vendor-risk teams were urged to ask which intermediaries "
    "actually carry their one-time passcode traffic and to review their contracts."
)
# The same report in another outlet: new headline, new first words, promo instead of the last sentence.
COPY_TEXT = (
    "Investigators say a co-founder of the SMS aggregator Mitto AG sold access to the company's connections "
    "with mobile operators to surveillance firms, according to an investigation published on Monday by a group "
    "of journalists. Former employees described how the access was used to send location queries over the SS7 "
    "signalling network, which carriers use to route calls and texts between each other. The company routes "
    "one-time login codes for large technology firms through agreements with operators in many countries, and "
    "its customers were not told about the activity, the report said. Mitto said it was carrying out an "
    "internal review to determine whether its technology or business had been compromised, and that it would "
    "cooperate with any inquiry. Sign up for our daily security briefing."
)
# A follow-up that quotes the report and adds a breach: vendor-breach fires, which the report did not.
FOLLOW_UP_TEXT = COPY_TEXT + (
    " Separately, the company confirmed on Wednesday that customer records were leaked after a breach of a "
    "partner's support system."
)
UNRELATED_TEXT = (
    "Kaleyra said on Tuesday that an outage in one of its messaging data centres delayed the delivery of "
    "text messages for several hours across Europe. The company said no customer data was affected, that "
    "traffic had been moved to a second site, and that it would publish a full incident report next week. "
    "Banks that rely on the provider for login codes told customers to use their authenticator apps in the "
    "meantime, and several asked for compensation under their service agreements with the provider, which "
    "was bought by Tata Communications last year. Analysts said the episode showed why messaging buyers keep "
    "a second route for critical traffic, and why they test failover before they need it."
)


def item(title: str, link: str, text: str) -> dict[str, str]:
    return {"title": title, "link": link, "description": text, "pubDate": recent()}


WIRE = item("Mitto AG co-founder sold SS7 access, report says", "https://wire.example/mitto-ss7", WIRE_TEXT)
COPY = item("Swiss SMS firm's founder helped spies track phones", "https://daily.example/2021/12/mitto", COPY_TEXT)
FOLLOW_UP = item("Mitto report: what we know", "https://follow.example/mitto-what-we-know", FOLLOW_UP_TEXT)
UNRELATED = item("Kaleyra outage delays login codes", "https://wire.example/kaleyra-outage", UNRELATED_TEXT)


def rows(workspace: Workspace, sql: str) -> list[tuple]:
    with sqlite3.connect(workspace.database) as connection:
        return connection.execute(sql).fetchall()


def test_a_copy_in_the_same_run_is_one_alert_that_names_both_outlets(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE]))))
    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss([COPY]))))
    workspace.use_slack(slack, seconds_between_messages=0)

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    [message] = slack.delivered
    assert "Also in:* Daily" in str(message["blocks"]) or "Also in:* Wire" in str(message["blocks"])
    kinds = sorted(rows(workspace, "SELECT kind, status FROM alerts"))
    assert kinds == [("alert", "sent"), ("also_in", "sent")]  # the copy is recorded, not posted (webhook)
    [(clusters,)] = rows(workspace, "SELECT count(DISTINCT cluster_id) FROM stories")
    assert clusters == 1
    # The copy alerted no one: status and feedback count what the run counted.
    assert "1 alerts sent" in result.stdout
    assert "Alerts: 0 pending, 1 sent" in workspace.newsbot("status").stdout
    feedback = workspace.newsbot("feedback").stdout
    assert "SMS and 2FA vendors: 1 alert sent," in feedback, feedback


def test_with_a_token_a_later_copy_is_a_reply_in_the_first_alerts_thread(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    feed = feed_server.add("/wire.xml", Route(rss([WIRE, UNRELATED])))
    workspace.source("Wire", feed)
    workspace.use_slack_token(slack)
    workspace.newsbot("run")
    [first] = [message for message in slack.delivered if "Mitto" in message["text"]]

    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss([COPY]))))
    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    later = slack.delivered[len(slack.delivered) - 1]
    assert later["thread_ts"] == first["ts"] and later["channel"] == first["channel"]
    assert "Also in Daily" in later["text"]
    top_level = [message for message in slack.delivered if not message.get("thread_ts")]
    assert len([message for message in top_level if "Mitto" in message["text"]]) == 1


def test_a_later_copy_is_one_line_in_the_thread_when_two_watchlists_alerted_the_story(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """Each watchlist that alerted the original queues its own "also in"; the second watchlist's alert
    is a reply in the first's thread, so both lines went to that one thread, word for word."""
    workspace.watchlist("signalling.yaml").write_text(
        "name: Signalling\nvendors:\n  - name: Mitto AG\ntopics:\n  ss7: [SS7]\n"
        "rules:\n  - name: ss7\n    all: [vendors, ss7]\n    severity: low\n",
        encoding="utf-8",
    )
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE]))))
    workspace.use_slack_token(slack)
    assert workspace.newsbot("run").returncode == 0
    first, reply = slack.delivered
    assert reply["thread_ts"] == first["ts"]  # the second watchlist's alert, in the first's thread

    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss([COPY]))))
    result = workspace.newsbot("run")
    again = workspace.newsbot("run")

    assert result.returncode == 0 and again.returncode == 0, result.stderr
    lines = [message for message in slack.delivered if "Also in Daily" in message["text"]]
    assert len(lines) == 1 and lines[0]["thread_ts"] == first["ts"]
    assert sorted(rows(workspace, "SELECT kind, status FROM alerts WHERE kind = 'also_in'")) == [
        ("also_in", "sent"),
        ("also_in", "sent"),
    ]


def test_a_copy_whose_alert_was_deleted_in_slack_is_noted_not_tried_for_good(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """Someone deleted the first alert in Slack: its thread is gone (thread_not_found). The copy's
    reply waited, tried every run, and `status` listed it under Needs attention for good."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE]))))
    workspace.use_slack_token(slack)
    assert workspace.newsbot("run").returncode == 0
    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss([COPY]))))
    slack.script = [SlackReply(400, "thread_not_found")]

    result = workspace.newsbot("run")
    again = workspace.newsbot("run")
    status = workspace.newsbot("status")

    assert result.returncode == 0 and "thread_not_found" in result.stdout, result.stdout
    assert sorted(rows(workspace, "SELECT kind, status FROM alerts")) == [("alert", "sent"), ("also_in", "sent")]
    assert len(slack.delivered) == 1 and "thread_not_found" not in again.stdout
    assert "not delivered yet" not in status.stdout


def test_a_copy_matching_a_new_rule_alerts_and_says_it_continues_the_story(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE]))))
    workspace.use_slack_token(slack)
    workspace.newsbot("run")
    workspace.source("Follow", feed_server.add("/follow.xml", Route(rss([FOLLOW_UP]))))

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    top_level = [message for message in slack.delivered if not message.get("thread_ts")]
    assert len(top_level) == 2
    follow = top_level[1]
    assert "Continues an earlier story:* Mitto AG co-founder sold SS7 access, report says" in str(follow["blocks"])
    assert "vendor-breach" in str(follow["blocks"])
    assert sorted(rows(workspace, "SELECT kind FROM alerts")) == [("alert",), ("continues",)]


def test_a_follow_up_of_a_story_that_alerted_no_one_says_it_continues_the_story(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """The wire report fires no rule (this rule also wants a breach); its follow-up adds one. It is the
    first alert of the cluster, and still says which story it follows up."""
    workspace.edit_watchlist("    all: [vendors, surveillance]", "    all: [vendors, surveillance, breach]")
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE]))))
    workspace.use_slack_token(slack)
    assert workspace.newsbot("run").returncode == 0
    workspace.source("Follow", feed_server.add("/follow.xml", Route(rss([FOLLOW_UP]))))

    assert workspace.newsbot("run").returncode == 0

    assert [kind for (kind,) in rows(workspace, "SELECT kind FROM alerts")] == ["continues"]
    [message] = slack.delivered
    assert "Continues an earlier story" in json.dumps(message["blocks"])


def test_a_copy_naming_another_watched_vendor_alerts_and_says_it_continues_the_story(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """The same rule, a second supplier: it was an "also in" line under the first alert, and the team
    watching Kaleyra never heard that Kaleyra's platform carried the traffic too."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE]))))
    assert workspace.newsbot("run").returncode == 0
    names_kaleyra = COPY_TEXT.replace(
        "Sign up for our daily security briefing.", "The traffic ran over Kaleyra's SS7 links."
    )
    copy = item(
        "Swiss SMS firm's founder helped spies track phones", "https://daily.example/2021/12/mitto", names_kaleyra
    )
    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss([copy]))))

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert rows(workspace, "SELECT kind FROM alerts ORDER BY created_at") == [("alert",), ("continues",)]
    assert "continues an earlier story: Mitto AG co-founder sold SS7 access, report says" in result.stdout, (
        result.stdout
    )
    plain_copy = item("Another outlet's copy", "https://other.example/mitto", COPY_TEXT)
    workspace.source("Other", feed_server.add("/other.xml", Route(rss([plain_copy]))))
    assert workspace.newsbot("run").returncode == 0
    assert rows(workspace, "SELECT kind FROM alerts ORDER BY created_at")[-1] == ("also_in",)


def test_the_terminal_shows_the_copy_status_lists_the_cluster_and_explain_says_why(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE, UNRELATED]))))
    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss([COPY]))))

    result = workspace.newsbot("run")
    status = workspace.newsbot("status")
    explained = [workspace.newsbot("explain", "--url", story["link"]).stdout for story in (WIRE, COPY)]
    alone = workspace.newsbot("explain", "--url", UNRELATED["link"])

    assert result.returncode == 0, result.stderr
    assert result.stdout.count("[HIGH] SMS and 2FA vendors:") == 1
    assert "also in " in result.stdout
    assert "Clusters (copies of one story, newest first):" in status.stdout
    assert "2 stories since" in status.stdout and "Daily, Wire" in status.stdout
    roots = [text for text in explained if "Cluster: this story is the first of its cluster (2 stories)." in text]
    joined = [text for text in explained if "Cluster: joined the cluster of '" in text]
    assert len(roots) == 1 and len(joined) == 1
    assert "at least 0.5: joined" in joined[0]
    assert "Cluster: this story is the first of its cluster (1 stories)." in alone.stdout


def test_a_copy_seen_again_after_the_window_is_a_new_story(workspace: Workspace, feed_server: FeedServer) -> None:
    workspace.settings["cluster_window_days"] = 0.00001  # about a second
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE]))))
    workspace.newsbot("run")
    time.sleep(1.5)
    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss([COPY]))))
    result = workspace.newsbot("run")

    assert result.stdout.count("[HIGH] SMS and 2FA vendors:") == 1  # the copy alerts on its own
    [(clusters,)] = rows(workspace, "SELECT count(DISTINCT cluster_id) FROM stories")
    assert clusters == 2


def test_an_also_in_reply_a_crash_interrupted_is_not_sent_twice(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """Killed after Slack took the thread reply, before newsbot recorded it: the next run finds it in
    the thread (conversations.replies: the channel's history has no replies) and does not post it again."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE]))))
    workspace.use_slack_token(slack)
    workspace.newsbot("run")
    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss([COPY]))))
    slack.hold = True
    doomed = workspace.popen("run")
    deadline = time.monotonic() + 30
    while len(slack.delivered) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(slack.delivered) == 2, "Slack never received the reply"
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    slack.release()

    after = workspace.newsbot("run")

    assert after.returncode == 0, after.stderr
    replies = [message for message in slack.delivered if message.get("thread_ts")]
    assert len(replies) == 1 and "Also in Daily" in replies[0]["text"]
    assert slack.requests_to_method("conversations.replies"), "looked up in the thread, not assumed sent"
    assert sorted(rows(workspace, "SELECT kind, status FROM alerts")) == [("alert", "sent"), ("also_in", "sent")]


def test_the_same_outlets_story_under_a_new_address_each_run_is_no_also_in_line(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """A link with a cache-busting query each run: one alert (the stories cluster), and then, every
    run, a reply "Also in Wire" under Wire's own alert, saying nothing."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE]))))
    workspace.use_slack_token(slack)
    workspace.newsbot("run")
    for run in range(2):
        busted = {**WIRE, "link": f"{WIRE['link']}?_={run}"}
        feed_server.add("/wire.xml", Route(rss([busted])))
        result = workspace.newsbot("run")
        assert result.returncode == 0, result.stderr

    assert [message["text"][:40] for message in slack.delivered if "Also in" in message["text"]] == []
    assert len(slack.delivered) == 1
    assert rows(workspace, "SELECT count(*) FROM stories") == [(3,)], "each address stored, as before"
    assert rows(workspace, "SELECT count(DISTINCT cluster_id) FROM stories") == [(1,)]


def test_another_outlets_copy_is_still_an_also_in_line_after_the_first_outlets_own(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE]))))
    workspace.use_slack_token(slack)
    workspace.newsbot("run")
    feed_server.add("/wire.xml", Route(rss([{**WIRE, "link": f"{WIRE['link']}?_=1"}])))
    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss([COPY]))))

    assert workspace.newsbot("run").returncode == 0

    assert [message["text"][:13] for message in slack.delivered if "Also in" in message["text"]] == ["Also in Daily"]


def test_one_outlets_copy_under_two_addresses_in_one_run_is_one_also_in_line(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """The first version asked whether the outlet had any other story in the cluster: each address
    blocked the other, and Daily's copy had no line at all."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE]))))
    workspace.use_slack_token(slack)
    workspace.newsbot("run")
    twice = [COPY, {**COPY, "link": f"{COPY['link']}?_=1"}]
    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss(twice))))

    assert workspace.newsbot("run").returncode == 0

    assert [message["text"][:13] for message in slack.delivered if "Also in" in message["text"]] == ["Also in Daily"]
