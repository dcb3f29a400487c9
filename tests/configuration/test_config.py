"""Library-level tests of config loading: real YAML files in tmp_path, real errors with file:line."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from newsbot.configuration.config import load_config
from newsbot.configuration.watchlists import InlineWord, load_watchlist
from newsbot.configuration.yamlfile import load_yaml
from newsbot.errors import ConfigError
from newsbot.models import Severity
from tests.conftest import REPOSITORY, run_newsbot

EXAMPLES = REPOSITORY / "examples"

CONFIG = """\
database: newsbot.db
watchlists: watchlists/
sources:
  - name: Telecom Security Wire
    feed: https://example.org/feed.xml
"""

WATCHLIST = """\
name: Vendors
vendors:
  - name: Mitto AG
    aliases: [Mitto]
topics:
  surveillance: [SS7, surveillance]
  breach: [breach, hacked]
rules:
  - name: vendor-surveillance
    all: [vendors, surveillance]
    severity: high
"""


def write_workspace(folder: Path, config: str = CONFIG, watchlist: str = WATCHLIST) -> Path:
    (folder / "watchlists").mkdir(parents=True, exist_ok=True)
    (folder / "watchlists" / "vendors.yaml").write_text(watchlist, encoding="utf-8")
    path = folder / "newsbot.yaml"
    path.write_text(config, encoding="utf-8")
    return path


def config_error(path: Path, **options: bool) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, **options)
    return str(caught.value)


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch) -> str:
    url = "https://hooks.slack.com/services/T000/B000/XXXX"
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    return url


# --- the example files ------------------------------------------------------------------------


def test_example_config_loads_settings_and_expands_slack_webhook(slack_env: str) -> None:
    config = load_config(EXAMPLES / "newsbot.yaml")
    assert config.settings.slack is not None
    assert config.settings.slack.webhook_url == slack_env
    assert [source.name for source in config.settings.sources] == [
        "Telecom Security Wire",
        "Example Security Desk",
        "Example Newsroom",
        "Example Blog",
    ]
    assert config.settings.sources[0].feed == "https://example.org/feed.xml"
    assert config.settings.max_age_days == 7


def test_example_watchlist_has_expected_vendors_topics_rules_and_severities(slack_env: str) -> None:
    watchlists = load_config(EXAMPLES / "newsbot.yaml").watchlists
    (watchlist,) = [w for w in watchlists if w.path.name == "sms-vendors.yaml"]
    wl = watchlist.config
    assert wl.name == "SMS and 2FA vendors"
    assert [(v.name, v.aliases, v.context) for v in wl.vendors] == [
        ("Mitto AG", ["Mitto"], []),
        ("MessageBird", ["Bird"], ["SMS", "messaging", "CPaaS"]),
        ("Kaleyra", [], []),
    ]
    assert wl.topics == {
        "surveillance": ["SS7", "surveillance", "spyware", "track phones", "locate phones", "call logs"],
        "breach": ["breach", "hacked", "leaked", "ransomware"],
    }
    assert [(r.name, r.all, r.severity) for r in wl.rules] == [
        ("vendor-surveillance", ["vendors", "surveillance"], Severity.HIGH),
        ("vendor-breach", ["vendors", "breach"], Severity.MEDIUM),
    ]
    assert watchlist.warnings == ()


def test_example_paths_resolve_relative_to_config_file_not_working_directory(
    slack_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(EXAMPLES / "newsbot.yaml")
    assert config.database == EXAMPLES.resolve() / "newsbot.db"
    assert EXAMPLES.resolve() / "watchlists" / "sms-vendors.yaml" in [w.path for w in config.watchlists]


def test_relative_config_path_resolves_against_config_folder(
    slack_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "etc" / "newsbot")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    config = load_config(Path("../etc/newsbot/newsbot.yaml"))
    folder = (tmp_path / "etc" / "newsbot").resolve()
    assert config.database == folder / "newsbot.db"
    assert config.database.is_absolute()
    assert folder / "watchlists" / "sms-vendors.yaml" in [w.path for w in config.watchlists]


# --- ${VAR} expansion ---------------------------------------------------------------------------


def test_env_reference_expands_inside_a_longer_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_TEST_TOKEN", "abc123")
    path = write_workspace(tmp_path, CONFIG + "slack:\n  webhook_url: https://hooks.example/${NEWSBOT_TEST_TOKEN}/x\n")
    slack = load_config(path).settings.slack
    assert slack is not None and slack.webhook_url == "https://hooks.example/abc123/x"


def test_unset_env_variable_is_error_naming_file_line_and_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSBOT_TEST_UNSET", raising=False)
    path = write_workspace(tmp_path, CONFIG + "slack:\n  webhook_url: ${NEWSBOT_TEST_UNSET}\n")
    message = config_error(path)
    assert message.startswith(f"{path}:7: ")
    assert "NEWSBOT_TEST_UNSET" in message
    assert "not set" in message


def test_unset_env_variable_is_left_as_written_without_require_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSBOT_TEST_UNSET", raising=False)
    path = write_workspace(tmp_path, CONFIG + "slack:\n  webhook_url: ${NEWSBOT_TEST_UNSET}\n")
    slack = load_config(path, require_env=False).settings.slack
    assert slack is not None and slack.webhook_url == "${NEWSBOT_TEST_UNSET}"


# --- errors in newsbot.yaml ---------------------------------------------------------------------

BASE = "database: newsbot.db\nwatchlists: watchlists/\n"


@pytest.mark.parametrize(
    ("config", "line", "words"),
    [
        pytest.param(BASE + "sources:\n  - name: a: b\n", 4, ["not valid YAML"], id="yaml-syntax"),
        pytest.param(
            BASE + "max_age_days: 3\ndatabase: other.db\n",
            4,
            ["'database'", "twice", "first on line 1"],
            id="duplicate-key",
        ),
        pytest.param(
            BASE + "max_age_day: 3\n",
            3,
            ["'max_age_day'", "did you mean 'max_age_days'"],
            id="unknown-key-typo",
        ),
        pytest.param("watchlists: watchlists/\n", 1, ["'database'", "required", "missing"], id="missing-database"),
        pytest.param(
            BASE + "sources:\n  - name: a\n    feed: file:///etc/passwd\n",
            5,
            ["'file:///etc/passwd'", "not an http:// or https://"],
            id="file-url",
        ),
        pytest.param(
            BASE + "sources:\n  - name: a\n    feed: ftp://example.org/feed.xml\n",
            5,
            ["'ftp://example.org/feed.xml'", "not an http:// or https://"],
            id="ftp-url",
        ),
        pytest.param(
            BASE + "slack:\n  webhook_url: https://h.example/x\n  unfurl: true\n",
            5,
            ["'unfurl'", "did you mean 'unfurl_links'"],
            id="unknown-nested-key",
        ),
    ],
)
def test_config_error_names_file_line_and_sentence(tmp_path: Path, config: str, line: int, words: list[str]) -> None:
    path = write_workspace(tmp_path, config)
    message = config_error(path)
    assert message.startswith(f"{path}:{line}: ")
    for word in words:
        assert word in message


def test_two_sources_with_same_name_is_error(tmp_path: Path) -> None:
    config = BASE + (
        "sources:\n  - name: Wire\n    feed: https://a.example/feed\n  - name: Wire\n    feed: https://b.example/feed\n"
    )
    path = write_workspace(tmp_path, config)
    message = config_error(path)
    # Reported on the second source's name, with the duplicated name in the sentence.
    assert message.startswith(f"{path}:{config.splitlines().index('  - name: Wire', 4) + 1}: ")
    assert "two sources are named 'Wire'" in message


def test_config_that_is_not_a_mapping_is_error(tmp_path: Path) -> None:
    path = write_workspace(tmp_path, "- database: newsbot.db\n")
    message = config_error(path)
    assert message.startswith(f"{path}:1: ")
    assert "mapping" in message


def test_missing_config_file_is_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "newsbot.yaml"
    message = config_error(path)
    assert str(path) in message
    assert "not found" in message


def test_missing_watchlist_folder_is_error_on_watchlists_line(tmp_path: Path) -> None:
    path = tmp_path / "newsbot.yaml"
    path.write_text("database: newsbot.db\n\nwatchlists: lists/\n", encoding="utf-8")
    message = config_error(path)
    assert message.startswith(f"{path}:3: ")
    assert "does not exist" in message
    assert "lists" in message


def test_empty_watchlist_folder_is_error(tmp_path: Path) -> None:
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "watchlists" / "README.txt").write_text("not a watchlist\n", encoding="utf-8")
    path = tmp_path / "newsbot.yaml"
    path.write_text(BASE, encoding="utf-8")
    message = config_error(path)
    assert message.startswith(f"{path}:2: ")
    assert "no *.yaml files" in message


def test_an_editors_lock_and_swap_files_beside_a_watchlist_are_not_watchlists(tmp_path: Path) -> None:
    """Emacs keeps a dangling `.#name.yaml` link while a watchlist has unsaved edits; cron's runs must go on."""
    path = write_workspace(tmp_path)
    folder = tmp_path / "watchlists"
    (folder / ".#vendors.yaml").symlink_to("analyst@host.4242:1733300000")
    (folder / ".vendors.yaml").write_text("name: [not, a, watchlist\n", encoding="utf-8")
    config = load_config(path)
    assert [watchlist.path.name for watchlist in config.watchlists] == ["vendors.yaml"]


def test_two_watchlist_files_with_same_name_is_error(tmp_path: Path) -> None:
    path = write_workspace(tmp_path)
    (tmp_path / "watchlists" / "copy.yml").write_text(WATCHLIST, encoding="utf-8")
    message = config_error(path)
    first, second = tmp_path / "watchlists" / "copy.yml", tmp_path / "watchlists" / "vendors.yaml"
    assert message.startswith(f"{second}:1: ")
    assert "'Vendors'" in message
    assert str(first) in message


def test_duplicate_watchlist_name_points_at_name_line_after_leading_comment(tmp_path: Path) -> None:
    path = write_workspace(tmp_path)
    (tmp_path / "watchlists" / "zz-copy.yaml").write_text("# a copy\n" + WATCHLIST, encoding="utf-8")
    message = config_error(path)
    assert message.startswith(f"{tmp_path / 'watchlists' / 'zz-copy.yaml'}:2: ")
    assert "'Vendors'" in message


# --- errors in a watchlist ----------------------------------------------------------------------


def edit(old: str, new: str) -> str:
    assert old in WATCHLIST
    return WATCHLIST.replace(old, new, 1)


@pytest.mark.parametrize(
    ("watchlist", "line", "words"),
    [
        pytest.param(
            edit("    aliases: [Mitto]\n", "    aliases: Mitto: x\n"), 4, ["not valid YAML"], id="yaml-syntax"
        ),
        pytest.param(
            edit("    severity: high\n", "    severity: high\n    all: [breach]\n"),
            12,
            ["'all'", "twice", "first on line 10"],
            id="duplicate-key",
        ),
        pytest.param(
            edit("    severity: high\n", "    sevrity: high\n"),
            11,
            ["'sevrity'", "did you mean 'severity'"],
            id="unknown-key-typo",
        ),
        pytest.param(
            edit("  - name: vendor-surveillance\n    all:", "  - all:"),
            9,
            ["'name'", "required", "missing"],
            id="rule-without-name",
        ),
        pytest.param(
            edit("severity: high", "severity: urgent"),
            11,
            ["severity", "must be", "'critical'"],
            id="invalid-severity",
        ),
        pytest.param(
            edit("    all: [vendors, surveillance]\n", ""),
            9,
            ["vendor-surveillance", "'all:' or 'any:'"],
            id="rule-without-all-or-any",
        ),
        pytest.param(
            edit("vendors:\n  - name: Mitto AG\n    aliases: [Mitto]\n", ""),
            7,
            ["vendor-surveillance", "'vendors'", "no vendors"],
            id="vendors-without-vendor-list",
        ),
        pytest.param(
            edit("  breach: [breach, hacked]\n", "  breach: [breach, hacked]\n  vendors: [Acme]\n"),
            8,
            ["'vendors'", "reserved"],
            id="topic-named-vendors",
        ),
        pytest.param(
            WATCHLIST + "  - name: vendor-surveillance\n    any: [breach]\n",
            12,
            ["two rules", "'vendor-surveillance'"],
            id="duplicate-rule-name",
        ),
        pytest.param("- name: Vendors\n- rules: []\n", 1, ["mapping"], id="list-instead-of-mapping"),
    ],
)
def test_watchlist_error_names_file_line_and_sentence(
    tmp_path: Path, watchlist: str, line: int, words: list[str]
) -> None:
    path = write_workspace(tmp_path, watchlist=watchlist)
    message = config_error(path)
    assert message.startswith(f"{tmp_path / 'watchlists' / 'vendors.yaml'}:{line}: ")
    for word in words:
        assert word in message


# --- YAML traps --------------------------------------------------------------------------------


def test_aliases_stay_strings_as_typed(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(edit("aliases: [Mitto]", "aliases: [NO, On, Y, 1e3, 007]"), encoding="utf-8")
    assert load_watchlist(path).config.vendors[0].aliases == ["NO", "On", "Y", "1e3", "007"]


@pytest.mark.parametrize("value", ["NO", "yes", "off", "1e3", "0x1F", "2024-01-01", "007", "12:30"])
def test_scalar_stays_text_as_typed(tmp_path: Path, value: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(f"name: {value}\n", encoding="utf-8")
    assert load_yaml(path).data == {"name": value}


def test_watchlist_name_no_stays_the_string_no(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(edit("name: Vendors", "name: NO"), encoding="utf-8")
    assert load_watchlist(path).config.name == "NO"


def test_load_yaml_records_line_of_every_key_and_item(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(WATCHLIST, encoding="utf-8")
    document = load_yaml(path)
    assert document.line_of(("rules", 0, "severity")) == 11
    assert document.line_of(("topics", "breach", 1)) == 7
    assert document.line_of(("vendors", 0, "aliases", 5)) == 4
    assert document.where(("rules",)) == f"{path}:8"


# --- rule items: topics by name, literal words in quotes -------------------------------------------


def test_misspelt_topic_in_rule_is_an_error_with_file_line_and_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(edit("all: [vendors, surveillance]", "all: [vendors, surveillence]"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_watchlist(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:10: ")
    assert "has 'surveillence', one small edit from the topic 'surveillance'" in message
    assert "did you mean 'surveillance'" in message and 'put it in quotes: "surveillence"' in message


@pytest.mark.parametrize("word", ["Twitter", "SIM swap", "Kaleyra", "NO"])
def test_quoted_inline_word_is_a_literal_word_without_warning(tmp_path: Path, word: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(WATCHLIST + f'  - name: extra\n    any: ["{word}"]\n', encoding="utf-8")
    watchlist = load_watchlist(path)
    assert watchlist.config.rules[1].any == [InlineWord(word=word)]
    assert watchlist.warnings == ()


def test_explicit_word_mapping_is_a_literal_word(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(WATCHLIST + "  - name: extra\n    any: [{word: SIM swap}]\n", encoding="utf-8")
    assert load_watchlist(path).config.rules[1].any == [InlineWord(word="SIM swap")]


def test_quoted_topic_name_is_still_the_topic(tmp_path: Path) -> None:
    """Quotes are an accident of typing: `"surveillance"` is the topic, as `surveillance` is."""
    path = tmp_path / "w.yaml"
    path.write_text(edit("all: [vendors, surveillance]", 'all: [vendors, "surveillance"]'), encoding="utf-8")
    watchlist = load_watchlist(path)
    assert watchlist.config.rules[0].all == ["vendors", "surveillance"]
    assert watchlist.warnings == ()


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "\u200d\u2060", "\ufeff\u200b"])
@pytest.mark.parametrize(
    ("written", "line", "key"),
    [
        ("  - name: Mitto AG\n", 3, "vendors.0.name"),
        ("    aliases: [Mitto]\n", 4, "vendors.0.aliases.0"),
        ("  breach: [breach, hacked]\n", 7, "topics.breach.1"),
    ],
)
def test_a_term_of_invisible_characters_only_is_refused_with_its_line(
    tmp_path: Path, invisible: str, written: str, line: int, key: str
) -> None:
    """A pasted zero-width space is not blank to a "not blank" check, and folds to nothing: it passed
    `check` and then never matched anything."""
    word = written.split(": ", 1)[1].strip().strip("[]").split(", ")[-1]
    hidden = written.replace(word, f'"{invisible}"')
    path = write_workspace(tmp_path, watchlist=WATCHLIST.replace(written, hidden))

    message = config_error(path)

    where = f"{tmp_path / 'watchlists' / 'vendors.yaml'}:{line}"
    assert message.startswith(f"{where}: {key}: is nothing matching can use"), message


def test_a_file_named_as_the_watchlist_folder_is_said_to_be_a_file(tmp_path: Path) -> None:
    config = BASE.replace("watchlists: watchlists/", "watchlists: watchlists/vendors.yaml")
    path = write_workspace(tmp_path, config=config)
    message = config_error(path)
    assert message.startswith(f"{path}:2: ") and "vendors.yaml is a file; watchlists: names the folder" in message


def _config_error_as_service_user(path: Path, answer: Connection) -> None:
    """In a forked child: become uid 10001, load the config, send back the sentence."""
    os.setgid(10001)
    os.setuid(10001)
    try:
        load_config(path)
        answer.send("")
    except ConfigError as error:
        answer.send(str(error))


@pytest.mark.skipif(os.geteuid() != 0, reason="becomes another user, which needs root")
def test_a_watchlist_folder_the_user_cannot_list_is_said_to_be_unreadable() -> None:
    """As the service user (root reads anything), a folder it may not list looked empty: "has no
    *.yaml files", when the files were there."""
    folder = Path(tempfile.mkdtemp(prefix="newsbot-unreadable-"))
    try:
        folder.chmod(0o755)
        path = write_workspace(folder, config=BASE)
        (folder / "watchlists").chmod(0o300)  # it may enter, not list
        receiving, sending = multiprocessing.Pipe(duplex=False)
        child = multiprocessing.get_context("fork").Process(target=_config_error_as_service_user, args=(path, sending))
        child.start()
        message = receiving.recv() if receiving.poll(30) else "no answer"
        child.join(30)

        assert message == f"{path}:2: the watchlist folder {folder / 'watchlists'} cannot be read (permission denied)"
    finally:
        shutil.rmtree(folder)


@pytest.mark.parametrize(
    ("before", "after", "line", "sentence"),
    [
        (
            "  - name: Mitto AG\n    aliases: [Mitto]\n",
            "  - Mitto AG\n",
            3,
            "vendors.0: must be a mapping (key: value lines), not a single value",
        ),
        (
            "vendors:\n  - name: Mitto AG\n    aliases: [Mitto]\n",
            "vendors: {Mitto: AG}\n",
            2,
            "vendors: must be a list ([a, b], or one '- item' a line), not a mapping",
        ),
        (
            "[SS7, surveillance]",
            "SS7",
            6,
            "topics.surveillance: must be a list ([a, b], or one '- item' a line), not a single value",
        ),
        (
            "rules:\n",
            "rules:\n  - vendor-breach\n",
            9,
            "rules.0: must be a mapping (key: value lines), not a single value",
        ),
        ("    severity: high\n", "    severity: high\n    near: 2.5\n", 12, "rules.0.near: must be a whole number"),
        ("    severity: high\n", "    severity: high\n    fields: []\n", 12, "rules.0.fields: needs at least 1 item"),
        (
            "    severity: high\n",
            "    severity: high\n    fields: [body]\n",
            12,
            "rules.0.fields.0: must be 'title', 'summary' or 'text'",
        ),
        (
            "    aliases: [Mitto]\n",
            "    aliases: [Mitto]\n    case_sensitive: maybe\n",
            5,
            "vendors.0.case_sensitive: must be true or false",
        ),
        ("name: Vendors", "name: [Vendors]", 1, "name: must be text, not a list"),
        ("  - name: vendor-surveillance", "  - name: ''", 9, "rules.0.name: must not be empty"),
    ],
)
def test_a_value_of_the_wrong_kind_is_said_in_yaml_words(
    tmp_path: Path, before: str, after: str, line: int, sentence: str
) -> None:
    """pydantic's vocabulary ("a valid dictionary or instance of VendorConfig", "should match pattern
    '\\S'", "unable to parse string as an integer") never reaches the team: the kind YAML calls it."""
    path = write_workspace(tmp_path, watchlist=WATCHLIST.replace(before, after, 1))
    assert config_error(path) == f"{tmp_path / 'watchlists' / 'vendors.yaml'}:{line}: {sentence}"


def test_a_config_value_of_the_wrong_kind_is_said_in_yaml_words(tmp_path: Path) -> None:
    path = write_workspace(tmp_path, BASE + "sources: https://example.org/feed.xml\n")
    assert config_error(path) == (
        f"{path}:3: sources: must be a list ([a, b], or one '- item' a line), not a single value"
    )


def test_an_empty_slack_section_is_an_error_not_the_terminal(tmp_path: Path) -> None:
    """Its keys commented out, `slack:` was read as no section: alerts went to cron's mail, and
    `check` said "no slack: section in newsbot.yaml"."""
    path = write_workspace(tmp_path, BASE + "slack:\n#  webhook_url: ${SLACK_WEBHOOK_URL}\n")
    assert config_error(path) == (
        f"{path}:3: slack: is empty: give it webhook_url: or token: (indented under slack:), or take the "
        "slack: line out to print alerts to the terminal"
    )


def test_check_warns_about_watchlists_it_does_not_read(tmp_path: Path) -> None:
    """A subfolder's watchlists and a capital extension were ignored while `check` said OK."""
    path = write_workspace(tmp_path, BASE)
    folder = tmp_path / "watchlists"
    for place in ("team-a/extra.yaml", "Shouted.YAML", ".drafts/hidden.yaml", "notes.txt"):
        (folder / place).parent.mkdir(exist_ok=True)
        (folder / place).write_text(WATCHLIST.replace("name: Vendors", f"name: {place}"), encoding="utf-8")

    result = run_newsbot("check", "--config", str(path), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: {folder / 'Shouted.YAML'} is not read: only the watchlist folder's own files ending .yaml or "
        ".yml are watchlists (rename it with a lower-case extension to use it)",
        f"warning: {folder / 'team-a' / 'extra.yaml'} is not read: only the watchlist folder's own files ending "
        f".yaml or .yml are watchlists (move it up into {folder} to use it)",
    ]
