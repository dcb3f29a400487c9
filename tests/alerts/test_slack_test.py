"""`newsbot slack-test` in-process: one test message to every destination delivery can route to, over
real HTTP to the local fake Slack through slack-sdk, and each destination's verdict in plain words."""

from __future__ import annotations

from typing import Any

from newsbot.alerts.slack_test import SlackTestReport, send_test_messages
from newsbot.configuration.config import load_config
from tests.conftest import Workspace
from tests.servers import FakeSlack, SlackReply

WATCHLIST = "SMS and 2FA vendors"


def routed_everywhere(workspace: Workspace) -> None:
    """The watchlist names a channel of its own and one rule another: every kind of route is configured."""
    workspace.edit_watchlist(f"name: {WATCHLIST}\n", f'name: {WATCHLIST}\nchannel: "vendor-news"\n')
    workspace.edit_watchlist("    severity: medium\n", '    severity: medium\n    channel: "#soc-private"\n')


def with_token(workspace: Workspace, slack: FakeSlack, **options: Any) -> SlackTestReport:
    workspace.settings["slack"] = {
        "token": slack.token,
        "api_url": slack.api_url,
        "channel": "#vendor-news",
        "severity_channels": {"high": "#sec-incidents", "critical": "#sec-incidents"},
        "ops_channel": "#ops",
        "max_retry_after_seconds": 2,
        **options,
    }
    return send_test_messages(load_config(workspace.write()))


def with_webhooks(workspace: Workspace, slack: FakeSlack) -> SlackTestReport:
    """The default webhook, the watchlist's own (the same URL: one destination) and an ops webhook."""
    workspace.edit_watchlist(f"name: {WATCHLIST}\n", f"name: {WATCHLIST}\nwebhook_url: {slack.webhook_url}\n")
    workspace.settings["slack"] = {
        "webhook_url": slack.webhook_url,
        "ops_webhook_url": slack.url + "/services/T000/B0OPS/ops-canary-secret",
        "max_retry_after_seconds": 2,
    }
    return send_test_messages(load_config(workspace.write()))


def lines(report: SlackTestReport) -> list[str]:
    return report.describe().splitlines()


def test_every_distinct_channel_gets_one_test_message_and_each_is_accepted(
    workspace: Workspace, slack: FakeSlack
) -> None:
    routed_everywhere(workspace)

    report = with_token(workspace, slack)

    assert report.ok
    assert lines(report) == [
        f"newsbot slack-test: a test message to each of 4 destinations (bot token, {slack.api_url})",
        f"  #vendor-news (alerts with no other route, newsbot's notices; alerts of watchlist '{WATCHLIST}'): accepted",
        "  #sec-incidents (high alerts; critical alerts): accepted",
        f"  #soc-private (alerts of rule 'vendor-breach' ({WATCHLIST})): accepted",
        "  #ops (source health notices): accepted",
        "4 of 4 accepted",
    ]
    # What Slack took: one message in each channel ('vendor-news' and '#vendor-news' are one), saying what goes there.
    channels = ("vendor-news", "sec-incidents", "soc-private", "ops")
    assert {name: len(slack.in_channel(name)) for name in channels} == dict.fromkeys(channels, 1)
    [incidents] = slack.in_channel("sec-incidents")
    assert "newsbot slack-test" in incidents["text"] and "high alerts; critical alerts" in incidents["text"]
    assert len(slack.delivered) == 4


def test_a_token_that_may_post_but_not_look_back_fails_the_test(workspace: Workspace, slack: FakeSlack) -> None:
    """With chat:write alone every test message was accepted: then the first answer Slack lost left its
    alert in flight for good, since a run finds such a message in the channel's history."""
    slack.missing_scope.add("conversations.history")

    report = with_token(workspace, slack)

    assert not report.ok
    [first, *_] = lines(report)[1:]
    assert first == (
        "  #vendor-news (alerts with no other route, newsbot's notices): accepted, but LOOKING BACK FAILED: could "
        "not check Slack's history: Slack says missing_scope: the token lacks a permission (scope) this needs; the "
        "token needs channels:history and channels:read (groups:history and groups:read for private channels) to "
        "look; after a crash or a lost answer an alert to it waits, unsent, until newsbot can look"
    )
    assert lines(report)[-1] == "3 of 3 accepted; newsbot cannot look back in 3 of them (see above)"
    assert len(slack.delivered) == 3  # the messages themselves went


def test_a_channel_that_does_not_exist_and_one_the_bot_is_not_in_fail_in_plain_words_the_rest_go_out(
    workspace: Workspace, slack: FakeSlack
) -> None:
    slack.not_in.add("ops")

    report = with_token(workspace, slack, severity_channels={"high": "#sec-incidnets"})

    assert not report.ok
    assert lines(report)[1:] == [
        "  #vendor-news (alerts with no other route, newsbot's notices): accepted",
        "  #sec-incidnets (high alerts): FAILED: Slack says channel_not_found: "
        "the channel does not exist or the bot cannot see it (HTTP 200)",
        "  #ops (source health notices): FAILED: Slack says not_in_channel: "
        "the bot is not a member of the channel: invite it with /invite (HTTP 200)",
        "1 of 3 accepted: alerts routed to a FAILED one wait in the outbox until it is fixed",
    ]
    assert [message["channel"] for message in slack.delivered] == ["C0VENDOR1"]


def test_a_token_slack_rejects_fails_every_channel_and_is_never_shown(workspace: Workspace, slack: FakeSlack) -> None:
    slack.token = "xoxb-the-token-slack-knows"  # not the one newsbot sends

    report = with_token(workspace, slack, token=FakeSlack.TOKEN, ops_channel=None, severity_channels={})

    assert lines(report)[1:] == [
        "  #vendor-news (alerts with no other route, newsbot's notices): FAILED: "
        "Slack says invalid_auth: Slack rejected the token (HTTP 200)",
        "0 of 1 accepted: alerts routed to a FAILED one wait in the outbox until it is fixed",
    ]
    assert FakeSlack.TOKEN not in report.describe() and not slack.delivered


def test_webhooks_one_message_per_distinct_url_and_a_404_says_the_webhook_was_removed(
    workspace: Workspace, slack: FakeSlack
) -> None:
    slack.script = [SlackReply(), SlackReply(status=404, body="no_service")]

    report = with_webhooks(workspace, slack)

    assert not report.ok
    assert lines(report) == [
        "newsbot slack-test: a test message to each of 2 destinations (incoming webhooks)",
        "  the default webhook (alerts with no other route, newsbot's notices; "
        f"alerts of watchlist '{WATCHLIST}'): accepted",
        "  the ops webhook (source health notices): FAILED: "
        "Slack answered HTTP 404: Slack says no_service: the webhook was removed or disabled",
        "1 of 2 accepted: alerts routed to a FAILED one wait in the outbox until it is fixed",
    ]
    assert [message["channel"] for message in slack.delivered] == ["webhook:" + FakeSlack.WEBHOOK_PATH]
    assert "canary-secret" not in report.describe()


def test_a_webhook_answering_403_invalid_token_says_the_url_is_not_valid(
    workspace: Workspace, slack: FakeSlack
) -> None:
    slack.fail_always = SlackReply(status=403, body="invalid_token")

    report = with_webhooks(workspace, slack)

    verdicts = [line.split("): ", 1)[1] for line in lines(report)[1:-1]]
    assert verdicts == ["FAILED: Slack answered HTTP 403: Slack says invalid_token: the webhook URL is not valid"] * 2
    assert not slack.delivered


def test_slack_down_each_destination_says_slack_could_not_be_reached(workspace: Workspace, slack: FakeSlack) -> None:
    slack.refuse_connections(None)

    report = with_webhooks(workspace, slack)

    assert not report.ok
    for line in lines(report)[1:-1]:
        assert "): FAILED: could not reach Slack (URLError: " in line and "Connection refused" in line, line
    assert "canary-secret" not in report.describe()


def test_an_answer_that_leaves_the_test_message_unknown_is_said_so_not_called_a_failure(
    workspace: Workspace, slack: FakeSlack
) -> None:
    """Slack's internal_error (the message may be there all the same) is no refusal: "FAILED … alerts
    wait until it is fixed" told the team to fix a channel that may be working."""
    slack.script = [SlackReply(500, "internal_error", misbehave="accept_error")]

    report = with_webhooks(workspace, slack)

    [unknown, accepted] = lines(report)[1:-1]
    assert "): NO ANSWER: Slack says internal_error (HTTP 500), and may have posted it all the same" in unknown
    assert "look in the channel for the test message" in unknown and accepted.endswith("): accepted")
    assert not report.ok and lines(report)[-1] == "1 of 2 accepted"


def test_without_slack_nothing_is_sent_and_it_says_alerts_go_to_the_terminal(
    workspace: Workspace, slack: FakeSlack
) -> None:
    report = send_test_messages(load_config(workspace.write()))

    assert report.ok and report.outcomes == ()
    assert "has no slack: section, so alerts go to the terminal; nothing was sent" in report.describe()
    assert not slack.requests
