"""`newsbot check` names the delivery mode that is configured, and refuses a webhook that is not https.

Why it once said "incoming webhook" with a bot token: `check` printed "Slack (incoming webhook)" for
any `slack:` section, whatever it held. Here each mode is configured for real and `check` run as
a user runs it (in this process), including the routing keys a mode cannot obey, and a webhook
URL that would fail or leak at the first run is refused by `check` (and by `run`, before it touches
anything) with `file:line` and a sentence that never shows the URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsbot.cli.commands import main
from tests.conftest import REPOSITORY

WATCHLIST = (REPOSITORY / "examples" / "watchlists" / "sms-vendors.yaml").read_text(encoding="utf-8")
TOP = "database: newsbot.db\nwatchlists: watchlists/\n"
HOOK = "https://hooks.slack.com/services/T000/B000/c4n4ryc4n4ry"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Check = Callable[..., Result]


@pytest.fixture
def check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Check:
    """`newsbot check` on a newsbot.yaml and one watchlist written into tmp_path."""

    def run(config: str, watchlist: str = WATCHLIST, command: str = "check") -> Result:
        (tmp_path / "watchlists").mkdir(exist_ok=True)
        (tmp_path / "watchlists" / "sms-vendors.yaml").write_text(watchlist, encoding="utf-8")
        (tmp_path / "newsbot.yaml").write_text(config, encoding="utf-8")
        code = main([command, "--config", str(tmp_path / "newsbot.yaml")])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def test_no_slack_section_is_the_terminal(check: Check) -> None:
    result = check(TOP)
    assert result.code == 0, result.err
    assert "alerts go to the terminal (no slack: section in newsbot.yaml)" in result.out


def test_a_webhook_is_named_as_a_webhook(check: Check) -> None:
    result = check(f"{TOP}slack:\n  webhook_url: {HOOK}\n")
    assert result.code == 0, result.err
    assert "alerts go to Slack (incoming webhook)" in result.out
    assert "bot token" not in result.out and "c4n4ry" not in result.out


def test_a_bot_token_is_named_as_a_bot_token_with_its_routes(check: Check) -> None:
    config = (
        f"{TOP}slack:\n  token: xoxb-0000-0000-c4n4ry\n  channel: '#vendor-news'\n"
        "  severity_channels: {high: '#sec-incidents'}\n  ops_channel: '#newsbot-ops'\n"
    )
    result = check(
        config, WATCHLIST.replace("name: SMS and 2FA vendors\n", "name: SMS and 2FA vendors\nchannel: '#sms'\n")
    )
    assert result.code == 0, result.err
    assert (
        "alerts go to Slack (bot token; alerts with no other route to #vendor-news); high alerts to #sec-incidents, "
        "watchlist 'SMS and 2FA vendors' to #sms, source health to #newsbot-ops"
    ) in result.out
    assert "incoming webhook" not in result.out and "c4n4ry" not in result.out


def test_a_watchlist_webhook_under_a_bot_token_is_a_warning_at_its_line(check: Check, tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("name: SMS and 2FA vendors\n", f"name: SMS and 2FA vendors\nwebhook_url: {HOOK}\n")
    result = check(f"{TOP}slack:\n  token: xoxb-0000-0000-c4n4ry\n  channel: '#vendor-news'\n", watchlist)
    assert result.code == 0, result.err
    path = tmp_path / "watchlists" / "sms-vendors.yaml"
    line = watchlist.splitlines().index(f"webhook_url: {HOOK}") + 1
    assert f"warning: {path}:{line}: webhook_url: is for incoming webhooks, but newsbot.yaml sets slack.token" in (
        result.out
    )
    assert "c4n4ry" not in result.out


def test_channels_under_a_webhook_are_warnings_at_their_lines(check: Check, tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("name: SMS and 2FA vendors\n", "name: SMS and 2FA vendors\nchannel: '#sms'\n")
    watchlist = watchlist.replace("    severity: high\n", "    severity: high\n    channel: '#sec'\n", 1)
    result = check(f"{TOP}slack:\n  webhook_url: {HOOK}\n", watchlist)
    assert result.code == 0, result.err
    path = tmp_path / "watchlists" / "sms-vendors.yaml"
    lines = watchlist.splitlines()
    watchlist_line, rule_line = lines.index("channel: '#sms'") + 1, lines.index("    channel: '#sec'") + 1
    assert f"warning: {path}:{watchlist_line}: channel: is for a bot token" in result.out
    assert f"warning: {path}:{rule_line}: rule 'vendor-surveillance' sets channel:" in result.out


def test_a_slack_channel_beside_a_webhook_is_an_error(check: Check, tmp_path: Path) -> None:
    result = check(f"{TOP}slack:\n  webhook_url: {HOOK}\n  channel: '#vendor-news'\n")
    assert result.code == 1
    assert result.err.startswith(f"newsbot: {tmp_path / 'newsbot.yaml'}:3: slack: slack.channel and ")
    assert "need slack.token: a webhook posts only to the channel it was created for" in result.err


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        pytest.param("http://hooks.slack.com/services/T000/B000/c4n4ryc4n4ry", "must use https://", id="http"),
        pytest.param("ftp://hooks.slack.com/services/T000/B000/c4n4ryc4n4ry", "must start with https://", id="ftp"),
        pytest.param("hooks.slack.com/services/T000/B000/c4n4ryc4n4ry", "has no scheme", id="no-scheme"),
        pytest.param("https:///services/T000/B000/c4n4ryc4n4ry", "has no host name", id="no-host"),
        pytest.param("https://hooks.slack.com", "has no path", id="no-path"),
        pytest.param("xoxb-0000-0000-c4n4ryc4n4ry", "is a Slack token, not a webhook's URL", id="a-token"),
    ],
)
def test_a_webhook_url_that_is_not_https_is_refused_at_its_line(
    check: Check, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, sentence: str
) -> None:
    """Through `${VAR}` as the README writes it: the environment's value is checked, and never shown."""
    monkeypatch.setenv("NEWSBOT_TEST_WEBHOOK", url)
    result = check(f"{TOP}max_age_days: 7\nslack:\n  webhook_url: ${{NEWSBOT_TEST_WEBHOOK}}\n")
    assert result.code == 1
    assert result.err.startswith(f"newsbot: {tmp_path / 'newsbot.yaml'}:5: slack.webhook_url: {sentence}"), result.err
    assert "c4n4ry" not in result.err + result.out


def test_run_refuses_a_webhook_that_is_not_https_before_it_tries_anything(check: Check, tmp_path: Path) -> None:
    result = check(f"{TOP}slack:\n  webhook_url: http://hooks.slack.com/services/T000/B000/c4n4ry\n", command="run")
    assert result.code == 2
    assert "slack.webhook_url: must use https://" in result.err
    assert not (tmp_path / "newsbot.db").exists()  # no database made, no crawl started, nothing sent
