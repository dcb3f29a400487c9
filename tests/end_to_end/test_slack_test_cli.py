"""`newsbot slack-test` as a user runs it after pasting a webhook or a token: the secret from the
environment, a subprocess, real HTTP to the local fake Slack; one line per destination and the exit
code (0 all accepted, 1 any failed, 0 with nothing to test since alerts go to the terminal)."""

from __future__ import annotations

from tests.conftest import Workspace
from tests.servers import FakeSlack, SlackReply


def test_all_accepted_exits_0_with_a_line_per_channel(workspace: Workspace, slack: FakeSlack) -> None:
    workspace.use_slack_token(slack, severity_channels={"critical": "#sec-incidents"})

    finished = workspace.newsbot("slack-test")

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines()[1:] == [
        "  #vendor-news (alerts with no other route, newsbot's notices): accepted",
        "  #sec-incidents (critical alerts): accepted",
        "2 of 2 accepted",
    ]
    assert [message["channel"] for message in slack.delivered] == ["C0VENDOR1", "C0INCIDENT"]


def test_a_channel_not_found_exits_1_and_names_it(workspace: Workspace, slack: FakeSlack) -> None:
    workspace.use_slack_token(slack, ops_channel="#newsbot-ops")

    finished = workspace.newsbot("slack-test")

    assert finished.returncode == 1
    assert finished.stdout.splitlines()[1:] == [
        "  #vendor-news (alerts with no other route, newsbot's notices): accepted",
        "  #newsbot-ops (source health notices): FAILED: Slack says channel_not_found: "
        "the channel does not exist or the bot cannot see it (HTTP 200)",
        "1 of 2 accepted: alerts routed to a FAILED one wait in the outbox until it is fixed",
    ]


def test_a_webhook_answering_404_exits_1_without_showing_the_webhook(workspace: Workspace, slack: FakeSlack) -> None:
    workspace.use_slack(slack)
    slack.fail_always = SlackReply(status=404, body="no_service")

    finished = workspace.newsbot("slack-test")

    assert finished.returncode == 1
    assert finished.stdout.splitlines() == [
        "newsbot slack-test: a test message to 1 destination (incoming webhooks)",
        "  the default webhook (alerts with no other route, newsbot's notices): FAILED: "
        "Slack answered HTTP 404: Slack says no_service: the webhook was removed or disabled",
        "0 of 1 accepted: alerts routed to a FAILED one wait in the outbox until it is fixed",
    ]
    assert "canary-secret" not in finished.stdout + finished.stderr
    assert len(slack.requests_to(FakeSlack.WEBHOOK_PATH)) == 1  # one test message, not retried


def test_slack_down_exits_1_saying_slack_could_not_be_reached(workspace: Workspace, slack: FakeSlack) -> None:
    workspace.use_slack(slack)
    slack.refuse_connections(None)

    finished = workspace.newsbot("slack-test")

    assert finished.returncode == 1
    [line] = [line for line in finished.stdout.splitlines() if line.startswith("  the default webhook")]
    assert "FAILED: could not reach Slack (URLError: " in line and "Connection refused" in line
    assert "canary-secret" not in finished.stdout + finished.stderr


def test_without_slack_it_says_alerts_go_to_the_terminal_and_exits_0(workspace: Workspace, slack: FakeSlack) -> None:
    finished = workspace.newsbot("slack-test")

    assert finished.returncode == 0, finished.stderr
    assert "has no slack: section, so alerts go to the terminal; nothing was sent" in finished.stdout
    assert not slack.requests


def test_an_unset_secret_is_a_config_error_before_anything_is_sent(workspace: Workspace, slack: FakeSlack) -> None:
    workspace.use_slack(slack)
    del workspace.environment["TEST_SLACK_WEBHOOK"]

    finished = workspace.newsbot("slack-test")

    assert finished.returncode == 2 and "TEST_SLACK_WEBHOOK" in finished.stderr
    assert not slack.requests
