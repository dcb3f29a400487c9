"""A key newsbot does not know at its place gets "did you mean", whether misspelt or misplaced.

Table-driven over real files read by load_config: newsbot.yaml at every level (top, slack:, fetch:,
health:, a source) and watchlists at theirs (top, a vendor, a rule, examples:, `{word: …}`,
`{regex: …}`). Each case names the line the key is on and the sentence's suggestion.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.configuration.config import load_config
from newsbot.errors import ConfigError

TOP = "database: newsbot.db\nwatchlists: watchlists/\n"
SOURCE = TOP + "sources:\n  - name: Wire\n    feed: https://example.org/feed.xml\n"
WEBHOOK = TOP + "slack:\n  webhook_url: https://hooks.slack.com/services/T0/B0/x\n"
WATCHLIST = (
    "name: Vendors\nvendors:\n  - name: Mitto AG\ntopics:\n  breach: [breach]\nrules:\n  - name: r\n"
    "    all: [vendors, breach]\n"
)

IN_NEWSBOT_YAML = [
    # misspelt, where the right key is required: not "'watchlists' is required but missing"
    pytest.param(
        "database: newsbot.db\nwatchlist: watchlists/\n",
        2,
        "'watchlist' is not a setting newsbot knows; did you mean 'watchlists'?",
        id="top-watchlist",
    ),
    pytest.param(
        "Database: newsbot.db\nwatchlists: watchlists/\n", 1, "did you mean 'database'?", id="top-capitalised"
    ),
    pytest.param(TOP + "source:\n  - name: Wire\n", 3, "did you mean 'sources'?", id="top-singular"),
    pytest.param(TOP + "max-age-days: 3\n", 3, "did you mean 'max_age_days'?", id="top-dashes"),
    pytest.param(
        TOP + "timeout_seconds: 5\n",
        3,
        "'timeout_seconds' is not a setting at the top level; did you mean it under slack: or under fetch:?",
        id="top-misplaced",
    ),
    pytest.param(
        TOP + "webhook_url: https://hooks.slack.com/services/T0/B0/x\n",
        3,
        "did you mean it under slack:?",
        id="top-slack-key",
    ),
    pytest.param(
        TOP + "vendors:\n  - name: Mitto AG\n",
        3,
        "'vendors' is not a setting at the top level of this file; did you mean it at the top level of a watchlist "
        "file (in the watchlists: folder)?",
        id="top-watchlist-key",
    ),
    pytest.param(WEBHOOK + "  webhook: https://x.example/a\n", 5, "did you mean 'webhook_url'?", id="slack-misspelt"),
    pytest.param(
        WEBHOOK + "  stale_after_hours: 3\n",
        5,
        "'stale_after_hours' is not a setting under slack:; did you mean it in a source or under health:?",
        id="slack-misplaced",
    ),
    pytest.param(
        WEBHOOK + "  stale_after_hour: 3\n",
        5,
        "did you mean 'stale_after_hours' in a source or under health:?",
        id="slack-misplaced-and-misspelt",
    ),
    pytest.param(TOP + "fetch:\n  retires: 1\n", 4, "did you mean 'retries'?", id="fetch-misspelt"),
    pytest.param(
        TOP + "fetch:\n  max_items: 10\n",
        4,
        "'max_items' is not a setting under fetch:; did you mean it in a source?",
        id="fetch-misplaced",
    ),
    pytest.param(
        TOP + "health:\n  failing_after_hours: 2\n",
        4,
        "'failing_after_hours' is not a setting under health:; did you mean it under slack:?",
        id="health-misplaced",
    ),
    pytest.param(SOURCE + "    full-text: never\n", 6, "did you mean 'full_text'?", id="source-misspelt"),
    pytest.param(SOURCE.replace("feed:", "feeds:"), 5, "did you mean 'feed'?", id="source-kind-misspelt"),
    pytest.param(
        SOURCE + "  - name: Desk\n    feed: https://example.org/desk.xml\n    timeout_seconds: 5\n",
        8,
        "'timeout_seconds' is not a setting in a source; did you mean it under slack: or under fetch:?",
        id="second-source-misplaced",
    ),
    pytest.param(
        SOURCE + "    timeout_seconds: 5\n",
        6,
        "'timeout_seconds' is not a setting in a source; did you mean it under slack: or under fetch:?",
        id="source-misplaced",
    ),
    pytest.param(
        TOP + "frobnicate: 1\n",
        3,
        "'frobnicate' is not a setting newsbot knows at the top level; the settings there are: database, watchlists,",
        id="nothing-alike",
    ),
]

IN_A_WATCHLIST = [
    pytest.param(WATCHLIST.replace("rules:", "rule:"), 6, "did you mean 'rules'?", id="watchlist-top-misspelt"),
    pytest.param(WATCHLIST.replace("vendors:\n", "vendor:\n"), 2, "did you mean 'vendors'?", id="watchlist-vendor"),
    pytest.param(
        WATCHLIST + "severity: high\n",
        9,
        "'severity' is not a setting at the top level; did you mean it in a rule?",
        id="watchlist-top-misplaced",
    ),
    pytest.param(
        WATCHLIST.replace("  - name: Mitto AG\n", "  - name: Mitto AG\n    alias: [Mitto]\n"),
        4,
        "did you mean 'aliases'?",
        id="vendor-misspelt",
    ),
    pytest.param(
        WATCHLIST.replace("  - name: Mitto AG\n", "  - name: Mitto AG\n    severity: high\n"),
        4,
        "'severity' is not a setting in a vendor; did you mean it in a rule?",
        id="vendor-misplaced",
    ),
    pytest.param(
        WATCHLIST + "    context: [SMS]\n",
        9,
        "'context' is not a setting in a rule; did you mean it in a vendor?",
        id="rule-misplaced",
    ),
    pytest.param(WATCHLIST + "    sevrity: high\n", 9, "did you mean 'severity'?", id="rule-misspelt"),
    pytest.param(
        WATCHLIST + "examples:\n  matches: [Mitto breach]\n", 10, "did you mean 'match'?", id="examples-misspelt"
    ),
    pytest.param(
        WATCHLIST + "match: [Mitto breach]\n",
        9,
        "'match' is not a setting at the top level; did you mean it under examples:?",
        id="examples-misplaced",
    ),
    pytest.param(
        WATCHLIST.replace("all: [vendors, breach]", "all: [vendors, {wrod: leak}]"),
        8,
        "'wrod' is not a setting newsbot knows; did you mean 'word'?",
        id="inline-word-misspelt",
    ),
    pytest.param(
        WATCHLIST.replace("breach: [breach]", "breach: [{regx: 'breach(es)?'}]"),
        5,
        "'regx' is not a setting newsbot knows; did you mean 'regex'?",
        id="regex-misspelt",
    ),
    pytest.param(
        WATCHLIST + "    word: leak\n",
        9,
        "'word' is not a setting in a rule; did you mean it in an item of a rule's all:, any: or none: list?",
        id="inline-word-misplaced",
    ),
]


def write(folder: Path, config: str, watchlist: str = WATCHLIST) -> Path:
    (folder / "watchlists").mkdir()
    (folder / "watchlists" / "vendors.yaml").write_text(watchlist, encoding="utf-8")
    path = folder / "newsbot.yaml"
    path.write_text(config, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "line", "sentence"), IN_NEWSBOT_YAML)
def test_a_wrong_key_in_newsbot_yaml_gets_did_you_mean(tmp_path: Path, text: str, line: int, sentence: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert sentence in message, message


@pytest.mark.parametrize(("text", "line", "sentence"), IN_A_WATCHLIST)
def test_a_wrong_key_in_a_watchlist_gets_did_you_mean(tmp_path: Path, text: str, line: int, sentence: str) -> None:
    write(tmp_path, TOP, text)
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "newsbot.yaml")
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'watchlists' / 'vendors.yaml'}:{line}: "), message
    assert sentence in message, message


def test_a_misspelt_required_key_is_reported_before_it_is_missed(tmp_path: Path) -> None:
    """Without the preference, pydantic's first error is `'watchlists' is required but missing` at line 1."""
    path = write(tmp_path, "database: newsbot.db\nsources: []\nwatchlist_folder: watchlists/\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}:3: 'watchlist_folder' is not a setting"), str(raised.value)


def test_a_missing_key_with_no_unknown_key_beside_it_is_still_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "database: newsbot.db\nsources: []\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}:1: 'watchlists' is required but missing"


def test_a_yaml_merge_key_is_named_as_one(tmp_path: Path) -> None:
    """It said "'<<' is not a setting newsbot knows in a vendor", and a user could not tell why."""
    watchlist = (
        "name: W\nvendors:\n  - &telecom\n    name: Mitto\n    context: [SMS]\n  - <<: *telecom\n    name: Kaleyra\n"
        "rules:\n  - name: r\n    any: [vendors]\n"
    )
    write(tmp_path, TOP, watchlist)
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "newsbot.yaml")
    assert str(raised.value) == (
        f"{tmp_path / 'watchlists' / 'vendors.yaml'}:6: '<<: *anchor' (a YAML merge key) is not read: newsbot takes "
        "anchors and aliases of whole values (`aliases: *common`), not merges into a mapping; write the settings "
        "out here"
    )
