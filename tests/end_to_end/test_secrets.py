"""Slack secrets in the config: a malformed webhook URL or token is refused by name and line, never shown.

Each secret is a canary: after every command, no 8-character piece of its private part (a
webhook's path, a token after `xoxb-`) may appear anywhere in what newsbot printed.
"""

from __future__ import annotations

import pytest

from newsbot.configuration.slack_secrets import REDACTED, private_part, redact
from tests.conftest import Workspace

WEBHOOK = "https://hooks.slack.com/services/T0CANARY1/B0CANARY2/c4n4ryS3cretW3bh00kXYZ"
TOKEN = "xoxb-1111-2222-c4n4ryS3cretT0kenXYZ"


def pieces(secret: str, width: int = 8) -> list[str]:
    part = private_part(secret)
    return [part[start : start + width] for start in range(len(part) - width + 1)]


def assert_never_shown(secret: str, *outputs: str) -> None:
    shown = "".join(outputs)
    leaked = [piece for piece in pieces(secret) if piece in shown]
    assert not leaked, f"parts of the secret were printed: {leaked}"


BAD_WEBHOOKS = {
    "a space inside": (WEBHOOK.replace("S3cret", "S3 cret"), "contains a space or tab"),
    "a trailing newline": (WEBHOOK + "\n", "contains a line break"),
    "a newline inside": (WEBHOOK.replace("B0CANARY2/", "B0CANARY2/\n"), "contains a line break"),
    "no scheme": (WEBHOOK.removeprefix("https://"), "has no scheme"),
    "http to a public host": (WEBHOOK.replace("https://", "http://"), "must use https://"),
    "a user and password": (WEBHOOK.replace("https://", "https://bot:hunter2hunter2@"), "user name or password"),
    "a zero-width space": (WEBHOOK.replace("S3cret", "S3\u200bcret"), "invisible or non-ASCII"),
}
BAD_TOKENS = {
    "a space inside": (TOKEN.replace("S3cret", "S3 cret"), "contains a space or tab"),
    "a trailing newline": (TOKEN + "\n", "contains a line break"),
    "a leading space": (" " + TOKEN, "starts or ends with a space"),
    "the webhook pasted instead": (WEBHOOK, "does not look like a Slack token"),
    "an app-level token": ("xapp-" + TOKEN.removeprefix("xoxb-"), "does not look like a Slack token"),
    "a stray character": (TOKEN + "!", "has characters a Slack token never has"),
}


def config_line(workspace: Workspace, key: str) -> int:
    """The 1-based line of `  key:` in the newsbot.yaml the workspace writes."""
    lines = workspace.write().read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.strip().startswith(f"{key}:"))


@pytest.mark.parametrize("case", list(BAD_WEBHOOKS))
def test_a_malformed_webhook_url_from_the_environment_is_refused_without_being_shown(
    workspace: Workspace, case: str
) -> None:
    value, problem = BAD_WEBHOOKS[case]
    workspace.settings["slack"] = {"webhook_url": "${NEWSBOT_TEST_WEBHOOK}"}
    workspace.environment["NEWSBOT_TEST_WEBHOOK"] = value
    line = config_line(workspace, "webhook_url")

    check = workspace.newsbot("check")
    run = workspace.newsbot("run")

    assert check.returncode == 1, check.stderr
    assert run.returncode == 2, run.stderr
    for result in (check, run):
        assert result.stderr.strip() == result.stderr.strip().splitlines()[0], result.stderr  # one line
        assert result.stderr.startswith(f"newsbot: {workspace.config}:{line}: slack.webhook_url: ")
        assert problem in result.stderr
        assert "Traceback" not in result.stderr
        assert_never_shown(value, result.stdout, result.stderr)
    assert not workspace.database.exists()


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_a_malformed_token_written_in_the_file_is_refused_without_being_shown(workspace: Workspace, case: str) -> None:
    value, problem = BAD_TOKENS[case]
    workspace.settings["slack"] = {"token": value, "channel": "#vendor-news"}
    line = config_line(workspace, "token")

    check = workspace.newsbot("check")
    run = workspace.newsbot("run")

    assert check.returncode == 1, check.stderr
    assert run.returncode == 2, run.stderr
    for result in (check, run):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith(f"newsbot: {workspace.config}:{line}: slack.token: ")
        assert problem in result.stderr
        assert_never_shown(value, result.stdout, result.stderr)
    assert not workspace.database.exists()


def test_a_watchlist_webhook_with_a_line_break_is_refused_at_its_line(workspace: Workspace) -> None:
    workspace.settings["slack"] = {"webhook_url": WEBHOOK}
    secret = WEBHOOK.replace("B0CANARY2/", "B0CANARY2/\\n")  # YAML's escape, inside double quotes
    workspace.edit_watchlist("name: SMS and 2FA vendors\n", f'name: SMS and 2FA vendors\nwebhook_url: "{secret}"\n')
    text = workspace.watchlist().read_text(encoding="utf-8").splitlines()
    line = next(number for number, row in enumerate(text, 1) if row.startswith("webhook_url:"))

    result = workspace.newsbot("check")

    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"newsbot: {workspace.watchlist()}:{line}: webhook_url: contains a line break")
    assert_never_shown(WEBHOOK, result.stdout, result.stderr)


def test_an_api_url_over_plain_http_to_a_public_host_is_refused(workspace: Workspace) -> None:
    """The token travels to api_url: over http it would cross the network unencrypted."""
    workspace.settings["slack"] = {"token": TOKEN, "channel": "#x", "api_url": "http://slack.example.com/api/"}
    result = workspace.newsbot("check")
    assert result.returncode == 1
    assert "slack.api_url: must use https://" in result.stderr
    assert_never_shown(TOKEN, result.stdout, result.stderr)


def test_well_formed_secrets_pass_check_and_are_never_printed_even_verbose(workspace: Workspace) -> None:
    workspace.settings["slack"] = {"webhook_url": "${NEWSBOT_TEST_WEBHOOK}", "ops_webhook_url": WEBHOOK + "ops"}
    workspace.environment["NEWSBOT_TEST_WEBHOOK"] = WEBHOOK
    result = workspace.newsbot("-vv", "check")
    assert result.returncode == 0, result.stderr
    assert "Slack (incoming webhook)" in result.stdout
    assert_never_shown(WEBHOOK, result.stdout, result.stderr)


@pytest.mark.parametrize(
    "webhook",
    ["http://127.0.0.1:8099/services/T000/B000/test", "http://localhost:8099/services/x", "http://[::1]:80/hook"],
)
def test_plain_http_is_allowed_to_a_loopback_test_server(workspace: Workspace, webhook: str) -> None:
    workspace.settings["slack"] = {"webhook_url": webhook}
    result = workspace.newsbot("check")
    assert result.returncode == 0, result.stderr


def test_an_unset_secret_variable_still_lets_status_run(workspace: Workspace) -> None:
    """`status`, `explain`, `search` do not need the secret: its `${VAR}` stays as written, unchecked."""
    workspace.settings["slack"] = {"webhook_url": "${NEWSBOT_TEST_UNSET_WEBHOOK}"}
    result = workspace.newsbot("status")
    assert result.returncode == 0, result.stderr


# --- redaction, the second line of defence --------------------------------------------------------


def test_redaction_removes_any_part_of_a_secret_but_keeps_the_public_host() -> None:
    text = (
        f"could not reach Slack: URL can't contain control characters. '/services/T0CANARY1/B0CANARY2/c4n4ryS3c' "
        f"(found at least ' '); the token {TOKEN[:20]}… was rejected by hooks.slack.com"
    )
    cleaned = redact(text, [WEBHOOK, TOKEN])
    assert_never_shown(WEBHOOK, cleaned)
    assert_never_shown(TOKEN, cleaned)
    assert "hooks.slack.com" in cleaned
    assert REDACTED in cleaned


def test_redaction_catches_secret_shaped_text_it_was_not_told_about() -> None:
    other = "https://hooks.slack.com/services/T9OTHER99/B9OTHER99/anotherSecretValue99"
    cleaned = redact(f"posting to {other} failed; xoxp-9999-8888-personalTokenValue", [])
    assert_never_shown(other, cleaned)
    assert_never_shown("xoxp-9999-8888-personalTokenValue", cleaned)
    assert cleaned.startswith("posting to https://hooks.slack.com/services/<secret>")


def test_check_in_token_mode_says_bot_token_and_the_default_channel(workspace: Workspace) -> None:
    workspace.settings["slack"] = {"token": "${NEWSBOT_TEST_TOKEN}", "channel": "#vendor-news"}
    workspace.environment["NEWSBOT_TEST_TOKEN"] = TOKEN
    result = workspace.newsbot("-vv", "check")
    assert result.returncode == 0, result.stderr
    assert "alerts go to Slack (bot token; alerts with no other route to #vendor-news)" in result.stdout
    assert "webhook" not in result.stdout
    assert_never_shown(TOKEN, result.stdout, result.stderr)
