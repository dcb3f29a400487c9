"""`newsbot check`, `explain` and the command line itself, run as a user runs them (a subprocess)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Workspace, line_of, newsbot_environment, run_newsbot


@pytest.fixture
def ready(workspace: Workspace) -> Workspace:
    workspace.source("Telecom Security Wire", "https://example.org/feed.xml")
    workspace.source("Other Wire", "https://example.net/atom.xml")
    return workspace


# --- check --------------------------------------------------------------------------------------


def test_check_valid_workspace_says_ok_with_counts(ready: Workspace) -> None:
    result = ready.newsbot("check")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "2 sources, 1 watchlists, 2 rules" in result.stdout
    assert "the terminal" in result.stdout


def test_check_warns_about_a_topic_term_nearly_every_story_holds(ready: Workspace) -> None:
    """A topic of ".*", "\\w+" or "the" is true of every story: check passed it in silence, and every
    story naming a vendor alerted."""
    path = ready.watchlist("everything.yaml")
    path.write_text(
        "name: Everything\nvendors:\n  - name: Twilio\ntopics:\n  breach:\n    - breach\n    - {regex: '.*'}\n"
        "  usual: [the, hack]\n  fine: [{regex: 'toll[ ]fraud'}]\nrules:\n  - name: r\n    all: [vendors, breach]\n",
        encoding="utf-8",
    )

    result = ready.newsbot("check")

    assert result.returncode == 0, result.stderr
    assert f"{path}:7: topic 'breach': the pattern '.*' matches any text, so nearly every story has" in result.stdout
    assert f"{path}:8: topic 'usual': 'the' is one of the most frequent English words" in result.stdout
    assert "'hack'" not in result.stdout and "toll[ ]fraud" not in result.stdout


def test_check_with_slack_env_set_reports_slack(ready: Workspace) -> None:
    ready.settings["slack"] = {"webhook_url": "${TEST_SLACK_WEBHOOK}"}
    ready.environment["TEST_SLACK_WEBHOOK"] = "https://hooks.example/services/x"
    result = ready.newsbot("check")
    assert result.returncode == 0, result.stderr
    assert "Slack (incoming webhook)" in result.stdout


@pytest.mark.parametrize(
    ("file", "text", "line", "sentence"),
    [
        pytest.param(
            "newsbot.yaml",
            "database: newsbot.db\nwatchlists: watchlists/\nsources:\n  - name: a\n\tfeed: https://x.org\n",
            5,
            "this is not valid YAML",
            id="tab-indent",
        ),
        pytest.param(
            "newsbot.yaml",
            "database: newsbot.db\nwatchlists: watchlists/\nsources:\n  - name: a\n    feed: file:///etc/passwd\n",
            5,
            "is not an http:// or https:// address",
            id="file-url",
        ),
        pytest.param(
            "watchlists/sms-vendors.yaml",
            "name: W\nvendors:\n  - name: Acme\nrules:\n  - name: r\n    all: [vendors]\n    sevrity: high\n",
            7,
            "did you mean 'severity'?",
            id="severity-typo",
        ),
        pytest.param(
            "watchlists/sms-vendors.yaml",
            "name: W\nname: X\nrules:\n  - name: r\n    any: [x]\n",
            2,
            "the key 'name' appears twice (first on line 1)",
            id="duplicate-key",
        ),
    ],
)
def test_check_broken_file_exits_1_naming_path_line_and_sentence(
    ready: Workspace, file: str, text: str, line: int, sentence: str
) -> None:
    ready.write()
    broken = ready.folder / file
    broken.write_text(text, encoding="utf-8")
    result = run_newsbot("check", "--config", str(ready.config), cwd=ready.folder)
    assert result.returncode == 1
    assert f"{broken}:{line}:" in result.stderr
    assert sentence in result.stderr
    assert "OK" not in result.stdout


def test_check_with_missing_env_var_exits_1(ready: Workspace) -> None:
    ready.settings["slack"] = {"webhook_url": "${TEST_SLACK_WEBHOOK}"}
    result = ready.newsbot("check")
    assert result.returncode == 1
    assert "TEST_SLACK_WEBHOOK" in result.stderr
    assert f"{ready.config}:" in result.stderr


def test_check_fails_on_misspelt_topic_and_run_refuses_it(ready: Workspace) -> None:
    watchlist = ready.folder / "watchlists" / "sms-vendors.yaml"
    watchlist.write_text(
        watchlist.read_text(encoding="utf-8").replace("all: [vendors, breach]", "all: [vendors, braech]"),
        encoding="utf-8",
    )
    check = ready.newsbot("check")
    run = ready.newsbot("run")
    assert check.returncode == 1
    assert f"{watchlist}:{line_of(watchlist, 'braech')}:" in check.stderr and "did you mean 'breach'?" in check.stderr
    assert run.returncode == 2 and "braech" in run.stderr
    assert not ready.database.exists()


def test_check_warns_about_a_bare_word_that_looks_like_a_topic_but_exits_0(ready: Workspace) -> None:
    watchlist = ready.folder / "watchlists" / "sms-vendors.yaml"
    watchlist.write_text(
        watchlist.read_text(encoding="utf-8").replace("all: [vendors, breach]", "all: [vendors, breached]"),
        encoding="utf-8",
    )
    result = ready.newsbot("check")
    assert result.returncode == 0, result.stderr
    line = line_of(watchlist, "breached]")
    assert f"warning: {watchlist}:{line}: rule 'vendor-breach' matches the word 'breached'" in result.stdout
    assert "which looks like 'breach'" in result.stdout


def test_check_missing_config_file_exits_1(tmp_path: Path) -> None:
    result = run_newsbot("check", "--config", str(tmp_path / "absent.yaml"), cwd=tmp_path)
    assert result.returncode == 1
    assert "absent.yaml" in result.stderr
    assert "not found" in result.stderr


# --- explain ------------------------------------------------------------------------------------


@pytest.fixture
def explain(ready: Workspace) -> Callable[[str], subprocess.CompletedProcess[str]]:
    """explain needs no Slack secret: the config references it, the environment does not set it."""
    ready.settings["slack"] = {"webhook_url": "${TEST_SLACK_WEBHOOK}"}

    def run(text: str) -> subprocess.CompletedProcess[str]:
        result = ready.newsbot("explain", text)
        assert result.returncode == 0, result.stderr
        return result

    return run


def match_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("MATCH")]


def test_explain_mitto_ss7_story_matches_vendor_surveillance(
    explain: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    result = explain("Mitto's co-founder sold SS7 access to locate phones")
    (line,) = match_lines(result.stdout)
    assert line.startswith("MATCH    vendor-surveillance (high):")
    assert "Mitto AG" in line
    assert "SS7" in line


def test_explain_bird_flu_is_near_miss_without_match(
    explain: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    result = explain("Bird flu surveillance at poultry farms")
    assert match_lines(result.stdout) == []
    assert "near miss: Bird: inside the excluded phrase 'bird flu' (MessageBird)" in result.stdout
    without_context = explain("Bird spotted near SS7 surveillance")
    assert match_lines(without_context.stdout) == []
    assert "near miss: Bird: no context word (SMS, messaging, CPaaS) for MessageBird" in without_context.stdout
    assert "guarded: MessageBird: Bird counts only with a context word" in without_context.stdout


def test_explain_longer_word_containing_vendor_alias_does_not_match(
    explain: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    result = explain("Mittova café reports breach")
    assert match_lines(result.stdout) == []
    assert "vendors found: none" in result.stdout


def test_explain_messagebird_hack_matches_vendor_breach(
    explain: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    result = explain("MessageBird SMS platform hacked")
    (line,) = match_lines(result.stdout)
    assert line.startswith("MATCH    vendor-breach (medium):")
    assert "MessageBird" in line
    assert "hacked" in line


# --- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "code", "expected"),
    [
        pytest.param(["--help"], 0, "COMMAND", id="help"),
        pytest.param(["run", "--help"], 0, "--dry-run", id="run-help"),
        pytest.param(["check", "--help"], 0, "--config", id="check-help"),
        pytest.param(["frobnicate"], 2, "invalid choice", id="unknown-command"),
        pytest.param([], 2, "COMMAND", id="no-command"),
    ],
)
def test_command_line_exit_codes(arguments: list[str], code: int, expected: str) -> None:
    result = run_newsbot(*arguments)
    assert result.returncode == code
    assert expected in result.stdout + result.stderr


def test_default_config_is_newsbot_yaml_in_working_directory(ready: Workspace) -> None:
    ready.write()
    result = subprocess.run(
        [sys.executable, "-m", "newsbot", "check"],
        cwd=ready.folder,
        env=newsbot_environment({}),
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"{ready.config}: OK" in result.stdout


def test_default_config_missing_in_working_directory_exits_1(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "newsbot", "check"],
        cwd=tmp_path,
        env=newsbot_environment({}),
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "newsbot.yaml" in result.stderr


@pytest.mark.parametrize(
    ("key", "value", "line_key"),
    [
        (("max_age_days",), 1_000_000, "max_age_days"),
        (("cluster_window_days",), 99_999_999_999_999, "cluster_window_days"),
        (("health", "stale_after_hours"), 99_999_999_999_999_999, "stale_after_hours"),
        (("fetch", "run_budget_seconds"), 1e300, "run_budget_seconds"),
        (("fetch", "timeout_seconds"), 1e300, "timeout_seconds"),
        (("fetch", "autothrottle_start_delay"), 1e300, "autothrottle_start_delay"),  # once: no fetch at all
    ],
)
def test_a_period_no_date_can_hold_is_refused_by_check_not_a_traceback_from_run(
    workspace: Workspace, key: tuple[str, ...], value: float, line_key: str
) -> None:
    """`check` once passed `max_age_days: 1000000` ("never filter by age"), and every run then ended
    in an OverflowError traceback."""
    settings = workspace.settings
    for part in key[:-1]:
        settings = settings.setdefault(part, {})
    settings[key[-1]] = value
    line = line_of(workspace.write(), f"{line_key}:")

    check = workspace.newsbot("check")
    run = workspace.newsbot("run")

    for result, code in ((check, 1), (run, 2)):
        assert result.returncode == code and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith(
            f"newsbot: {workspace.config}:{line}: {'.'.join(key)}: must be less than or equal to"
        )


@pytest.mark.parametrize(
    "arguments",
    [
        ("feedback", "--since", "99999999999999999999d"),
        ("digest", "--dry-run", "--since", "999999999d"),
        ("backtest", "sms-vendors.yaml", "--since", "800000w"),
        ("tune", "sms-vendors.yaml", "--since", "200000000w"),  # past timedelta's own limit
        ("mutes", "lift", "99999999999999999999999"),
        ("search", "Mitto", "--limit", "99999999999999999999"),
        ("search", "Mitto", "--limit", "0"),
    ],
    ids=" ".join,
)
def test_an_out_of_range_number_on_the_command_line_is_a_usage_error(
    workspace: Workspace, arguments: tuple[str, ...]
) -> None:
    result = workspace.newsbot(*arguments)

    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"newsbot {arguments[0]}"), result.stderr
    assert "longer than a century" in result.stderr or "is not a positive whole number" in result.stderr
