"""A YAML syntax error is a sentence at the line to fix, never PyYAML's parser vocabulary.

Each case is a real mistake in a real file (tabs, keys and list items out of line, a key under a
key that has a value, quotes and brackets left open, ...), read by newsbot.configuration.yamlfile
as `newsbot check` reads it. The line is where the fix goes: for a quote left open, where it
opened, not the end of the file where PyYAML noticed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.configuration.config import load_config
from newsbot.configuration.yamlfile import load_yaml
from newsbot.errors import ConfigError

# What PyYAML says in its own words; none of it may reach the user.
PYYAML_WORDS = ("<block", "<scalar>", "token", "scanning", "while parsing", "mapping values", "stream", "expected <")
TOP = "database: newsbot.db\nwatchlists: watchlists/\n"
SOURCES = TOP + "sources:\n  - name: Wire\n    feed: https://example.org/feed.xml\n"

CASES = [
    # --- tabs ---
    pytest.param(SOURCES + "\tmax_items: 5\n", 6, ["indented with a tab", "spaces"], id="tab-indents-a-key"),
    pytest.param(TOP + "sources:\n\t- name: Wire\n", 4, ["indented with a tab"], id="tab-indents-a-list-item"),
    pytest.param(TOP + "max_age_days:\t7\n", 3, ["a tab where YAML allows only spaces"], id="tab-after-colon"),
    # --- a key indented under a key that already has a value ---
    pytest.param(
        TOP + "  max_age_days: 3\n",
        3,
        ["'max_age_days:' is indented under 'watchlists:' (line 2), which already has a value", "indent it 0 spaces"],
        id="key-under-a-scalar",
    ),
    pytest.param(
        SOURCES + "      max_items: 5\n",
        6,
        ["'max_items:' is indented under 'feed:' (line 5)", "indent it 4 spaces"],
        id="key-too-deep-in-a-source",
    ),
    # --- keys and list items not lined up ---
    pytest.param(
        SOURCES + "  max_items: 5\n",
        6,
        ["'max_items:' is indented 2 spaces", "indent it 4 spaces, like 'feed:' on line 5 or 0 spaces"],
        id="key-between-levels",
    ),
    pytest.param(
        SOURCES + "   - name: Desk\n    feed: https://example.org/desk.xml\n",
        6,
        ["this list item is indented 3 spaces but the item on line 4 2 spaces"],
        id="list-item-too-deep",
    ),
    pytest.param(
        SOURCES + " - name: Desk\n   feed: https://example.org/desk.xml\n",
        6,
        ["this list item is indented 1 space but the item on line 4 2 spaces"],
        id="list-item-too-shallow",
    ),
    pytest.param(
        TOP + "fetch:\n  retries: 1\n  - 2\n", 5, ["a list needs a key of its own"], id="list-item-among-keys"
    ),
    pytest.param(SOURCES + "  -name: Desk\n", 6, ["a space after its '-'"], id="dash-without-space"),
    # --- quotes and brackets ---
    pytest.param(
        'database: "newsbot.db\nwatchlists: watchlists/\nmax_age_days: 7\n',
        1,
        ["a quote opened on this line is never closed"],
        id="unclosed-double-quote",
    ),
    pytest.param(
        SOURCES.replace("name: Wire", "name: 'Wire"), 4, ["quote opened on this line"], id="unclosed-single-quote"
    ),
    pytest.param(
        TOP + 'sources:\n  - name: "Wire\n    feed: "https://example.org/feed.xml"\n',
        4,
        ['the quote (") opened on this line is closed only on line 5'],
        id="quote-closed-a-line-late",
    ),
    pytest.param(
        TOP + "fetch:\n  allowed_networks: [10.0.0.1/32, 10.0.0.2/32\n  retries: 1\n",
        4,
        ["the '[' opened on this line is still open on line 5", "close it with ']'"],
        id="unclosed-bracket",
    ),
    pytest.param(
        TOP + "sources:\n  - {name: Wire, feed: https://example.org/feed.xml\n",
        4,
        ["the '{' opened on this line is still open", "close it with '}'"],
        id="unclosed-brace",
    ),
    pytest.param(
        TOP + 'spiders_dir: "spiders"/x\n', 3, ["text after the closing quote or bracket"], id="text-after-quote"
    ),
    pytest.param(
        TOP + "fetch:\n  allowed_networks: [10.0.0.1/32]x\n", 4, ["text after the closing"], id="text-after-bracket"
    ),
    pytest.param(
        SOURCES.replace("name: Wire", "name: 'Bob's Wire'"), 4, ["double it ('it''s')"], id="apostrophe-in-quotes"
    ),
    # --- colons ---
    pytest.param(
        SOURCES.replace("name: Wire", "name: Wire: the daily"),
        4,
        ["value of 'name' contains ': '"],
        id="colon-in-value",
    ),
    pytest.param(
        "database newsbot.db\nwatchlists: watchlists/\n", 1, ["this line has no 'key:'"], id="key-without-colon"
    ),
    pytest.param(TOP + "max_age_days:7\nsources: []\n", 3, ["this line has no 'key:'"], id="colon-without-space"),
    # --- the rest of YAML's syntax ---
    pytest.param(TOP + "spiders_dir: @spiders\n", 3, ["cannot start with '@'", "in quotes"], id="reserved-character"),
    pytest.param(TOP + "spiders_dir: *spiders\n", 3, ["'*spiders' refers to an anchor"], id="undefined-alias"),
    pytest.param(TOP + 'spiders_dir: "C:\\spiders"\n', 3, ["'\\s' is not an escape"], id="unknown-escape"),
    pytest.param(TOP + 'spiders_dir: "\\U00110000"\n', 3, ["names no character"], id="escape-past-unicode"),
    pytest.param(TOP + "---\nmax_age_days: 7\n", 3, ["a second YAML document"], id="second-document"),
]


@pytest.mark.parametrize(("text", "line", "sentences"), CASES)
def test_a_yaml_mistake_is_a_sentence_at_the_line_to_fix(
    tmp_path: Path, text: str, line: int, sentences: list[str]
) -> None:
    path = tmp_path / "newsbot.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_yaml(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}: this is not valid YAML: "), message
    for sentence in sentences:
        assert sentence in message, message
    assert not any(word in message for word in PYYAML_WORDS), message


def test_a_yaml_mistake_in_a_watchlist_names_the_watchlist_file(tmp_path: Path) -> None:
    (tmp_path / "watchlists").mkdir()
    watchlist = tmp_path / "watchlists" / "vendors.yaml"
    watchlist.write_text(
        "name: Vendors\nvendors:\n  - name: Mitto AG\n     aliases: [Mitto]\nrules:\n  - name: r\n    any: [vendors]\n",
        encoding="utf-8",
    )
    config = tmp_path / "newsbot.yaml"
    config.write_text(TOP, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert str(raised.value) == (
        f"{watchlist}:4: this is not valid YAML: 'aliases:' is indented under 'name:' (line 3), which already has "
        "a value: indent it 4 spaces, like 'name:', or, if it belongs inside, remove that value"
    )


def test_a_yaml_mistake_never_shows_the_value_on_its_line(tmp_path: Path) -> None:
    """A YAML error comes before newsbot knows which values are secrets: it quotes keys only."""
    secret = "https://hooks.slack.com/services/T0SECRET/B0SECRET/c4n4ry"
    path = tmp_path / "newsbot.yaml"
    path.write_text(f'{TOP}slack:\n  webhook_url: "{secret}\n  timeout_seconds: 5\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_yaml(path)
    assert str(raised.value).startswith(f"{path}:4: ")
    assert "SECRET" not in str(raised.value) and "c4n4ry" not in str(raised.value)
