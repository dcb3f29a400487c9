"""`newsbot vendors import FILE.csv --watchlist FILE.yaml [--dry-run]`: a vendor-risk register into a watchlist.

Each test runs the real command (newsbot.cli.commands.main, in process) on real files in tmp_path;
read-only and full file systems are real tmpfs mounts (root only: the tests skip without it).
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from newsbot.cli.commands import main
from newsbot.configuration.watchlists import load_watchlist
from tests.conftest import REPOSITORY

EXAMPLE_REGISTER = REPOSITORY / "examples" / "vendors.csv"

# As a team writes a watchlist: comments everywhere, a flow list over two lines, odd quoting, a
# comment inside the last vendor and a section comment after the list.
TEAM_WATCHLIST = """\
# Suppliers the vendor-risk team reviews every quarter.
name: Suppliers
vendors:
  - name: Twilio              # CPaaS
    aliases: [Authy]
  - name: Vonage
    aliases: ['Nexmo']
  - name: MessageBird
    aliases: [Bird]
    context: [SMS, messaging,
              CPaaS]          # Bird alone is bird flu
    unambiguous: [MessageBird]
    # keep Bird guarded: it was a false alarm twice in 2025
  # Carriers retired in 2025:
  # - name: Old Carrier

topics:
  breach: [breach, "data breach", hacked,
           leaked, ransomware]
rules:
  - name: vendor-breach
    all: [vendors, breach]    # some vendor AND some breach term
    none: ["tabletop exercise"]
    severity: high
"""
LAST_VENDOR_LINE = "    # keep Bird guarded: it was a false alarm twice in 2025\n"


@dataclass
class Result:
    code: int
    out: str
    err: str


Newsbot = Callable[..., Result]


@pytest.fixture
def newsbot(capsys: pytest.CaptureFixture[str]) -> Newsbot:
    """The `newsbot` command as a user types it, in this process."""

    def run(*arguments: str | Path) -> Result:
        code = main([str(argument) for argument in arguments])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def team_watchlist(tmp_path: Path) -> Path:
    folder = tmp_path / "watchlists"
    folder.mkdir()
    path = folder / "suppliers.yaml"
    path.write_text(TEAM_WATCHLIST, encoding="utf-8")
    return path


def register(tmp_path: Path, text: str, name: str = "register.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def vendors_of(path: Path) -> dict[str, dict[str, object]]:
    return {vendor["name"]: vendor for vendor in yaml.safe_load(path.read_text(encoding="utf-8"))["vendors"]}


# --- the file: layout kept, new vendors after the last one, existing ones skipped ---------------------


def test_new_vendors_go_after_the_last_one_and_every_other_byte_stays(
    tmp_path: Path, team_watchlist: Path, newsbot: Newsbot
) -> None:
    csv = register(
        tmp_path,
        "name,aliases,domain,context,owner\n"
        "Mitto AG,,mitto.ch,,Procurement\n"
        '"Bandwidth, Inc.",,https://www.bandwidth.com/,CPaaS; carrier,Procurement\n'
        "Orange SA,,,,IT\n",
    )

    result = newsbot("vendors", "import", csv, "--watchlist", team_watchlist)

    assert result.code == 0, result.err
    block = (
        "  - name: Mitto AG\n"
        "    aliases: [Mitto, mitto.ch]\n"
        "  - name: Bandwidth, Inc.\n"
        "    aliases: [Bandwidth]\n"
        "    context: [CPaaS, carrier]\n"
        "    unambiguous: ['Bandwidth, Inc.', bandwidth.com]\n"
        "  # check: 'Orange' is a common English word; add context: words or case_sensitive: true\n"
        "  - name: Orange SA\n"
        "    aliases: [Orange]\n"
    )
    assert team_watchlist.read_text(encoding="utf-8") == TEAM_WATCHLIST.replace(
        LAST_VENDOR_LINE, LAST_VENDOR_LINE + block
    )
    assert f"added: Mitto AG, also as Mitto, mitto.ch ({team_watchlist}:14)" in result.out
    assert f"{team_watchlist}:21: Orange SA: check: 'Orange' is a common English word" in result.out
    assert "note: columns not imported: owner" in result.out
    assert result.out.endswith(f"3 vendors added to {team_watchlist}, 0 skipped, 1 to check\n")
    loaded = load_watchlist(team_watchlist).config
    assert [vendor.name for vendor in loaded.vendors][-3:] == ["Mitto AG", "Bandwidth, Inc.", "Orange SA"]


def test_a_name_with_a_comma_stays_one_form_in_a_flow_list(
    tmp_path: Path, team_watchlist: Path, newsbot: Newsbot
) -> None:
    """Unquoted, `[Bandwidth, Inc., bandwidth.com]` would be three forms, and "Inc." would count alone."""
    csv = register(tmp_path, 'name,domain,context\n"Bandwidth, Inc.",bandwidth.com,CPaaS\n')
    assert newsbot("vendors", "import", csv, "--watchlist", team_watchlist).code == 0
    vendor = next(v for v in load_watchlist(team_watchlist).config.vendors if v.name == "Bandwidth, Inc.")
    assert vendor.counts_alone("bandwidth.com")
    assert not vendor.counts_alone("Bandwidth")


def test_vendors_already_listed_are_skipped_in_any_case_and_as_aliases(
    tmp_path: Path, team_watchlist: Path, newsbot: Newsbot
) -> None:
    csv = register(
        tmp_path,
        "name,aliases\n"
        "TWILIO INC.,\n"  # Twilio, in other case, with a legal form
        "Nexmo Ltd,\n"  # an alias of Vonage
        "Vonage Holdings Corp.,Vonage\n"  # its own alias names Vonage
        "messagebird,\n"
        "Kaleyra S.p.A.,\n"
        "KALEYRA,\n"  # the same as the row before
        ",Nameless\n",
    )

    result = newsbot("vendors", "import", csv, "--watchlist", team_watchlist)

    assert result.code == 0, result.err
    assert f"skipped: {csv}:2 TWILIO INC.: already listed as 'Twilio'" in result.out
    assert f"skipped: {csv}:3 Nexmo Ltd: already in the watchlist: 'Nexmo' names 'Vonage'" in result.out
    assert f"skipped: {csv}:4 Vonage Holdings Corp.: already listed as 'Vonage'" in result.out
    assert f"skipped: {csv}:5 messagebird: already listed as 'MessageBird'" in result.out
    assert f"skipped: {csv}:7 KALEYRA: the same vendor as {csv}:6 ('Kaleyra S.p.A.')" in result.out
    assert f"skipped: {csv}:8: the name cell is empty" in result.out
    assert list(vendors_of(team_watchlist)) == ["Twilio", "Vonage", "MessageBird", "Kaleyra S.p.A."]
    assert "1 vendor added" in result.out and "6 skipped" in result.out


def test_importing_twice_changes_nothing_the_second_time(
    tmp_path: Path, team_watchlist: Path, newsbot: Newsbot
) -> None:
    first = newsbot("vendors", "import", EXAMPLE_REGISTER, "--watchlist", team_watchlist)
    after_first = team_watchlist.read_bytes()
    second = newsbot("vendors", "import", EXAMPLE_REGISTER, "--watchlist", team_watchlist)

    assert first.code == second.code == 0
    assert "0 vendors added" in second.out
    assert team_watchlist.read_bytes() == after_first


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        pytest.param(
            "name: W\nvendors: []    # none yet\nrules:\n  - name: r\n    any: [vendors]\n",
            "name: W\nvendors:    # none yet\n  - name: Mitto AG\n    aliases: [Mitto]\nrules:\n  - name: r\n"
            "    any: [vendors]\n",
            id="empty flow list (the rule needs a vendor: the import makes the file valid)",
        ),
        pytest.param(
            'name: W\nrules:\n  - name: r\n    any: ["SS7"]',
            'name: W\nrules:\n  - name: r\n    any: ["SS7"]\nvendors:\n  - name: Mitto AG\n    aliases: [Mitto]\n',
            id="no vendors key, no line break at the end",
        ),
        pytest.param(
            "name: W\nvendors:\n- name: A\n  exclude:\n  - |\n    A literal\n\n"
            "# rules\nrules:\n- name: r\n  any: [vendors]\n",
            "name: W\nvendors:\n- name: A\n  exclude:\n  - |\n    A literal\n\n- name: Mitto AG\n  aliases: [Mitto]\n"
            "# rules\nrules:\n- name: r\n  any: [vendors]\n",
            id="items at the key's column, a literal block last",
        ),
        pytest.param(
            "name: W\nvendors:\n    -   name: A\n        aliases: [a,\n          b]\nrules:\n    -   name: r\n"
            "        any: [vendors]\n",
            "name: W\nvendors:\n    -   name: A\n        aliases: [a,\n          b]\n    -   name: Mitto AG\n"
            "        aliases: [Mitto]\nrules:\n    -   name: r\n        any: [vendors]\n",
            id="deep indents",
        ),
        pytest.param(
            "name: W\nvendors: &listed\n  - name: A\nrules:\n  - name: r\n    any: [vendors]\n",
            "name: W\nvendors: &listed\n  - name: A\n  - name: Mitto AG\n    aliases: [Mitto]\nrules:\n"
            "  - name: r\n    any: [vendors]\n",
            id="an anchor on the list (its start mark is the anchor's)",
        ),
    ],
)
def test_new_vendors_land_in_the_list_whatever_its_layout(
    tmp_path: Path, newsbot: Newsbot, layout: str, expected: str
) -> None:
    watchlist = tmp_path / "w.yaml"
    watchlist.write_text(layout, encoding="utf-8")
    result = newsbot("vendors", "import", register(tmp_path, "name\nMitto AG\n"), "--watchlist", watchlist)
    assert result.code == 0, result.err
    assert watchlist.read_text(encoding="utf-8") == expected


def test_a_windows_watchlist_keeps_its_crlf_line_ends(tmp_path: Path, newsbot: Newsbot) -> None:
    watchlist = tmp_path / "w.yaml"
    watchlist.write_bytes(TEAM_WATCHLIST.replace("\n", "\r\n").encode())
    assert newsbot("vendors", "import", register(tmp_path, "name\nMitto AG\n"), "--watchlist", watchlist).code == 0
    data = watchlist.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") == TEAM_WATCHLIST.count("\n") + 2
    assert b"  - name: Mitto AG\r\n    aliases: [Mitto]\r\n" in data


# --- aliases and ambiguity ---------------------------------------------------------------------------


def test_legal_forms_are_dropped_to_propose_the_name_news_uses(tmp_path: Path, newsbot: Newsbot) -> None:
    names = {
        "Mitto AG": "Mitto",
        "Bandwidth Inc.": "Bandwidth",
        "Kaleyra Inc": "Kaleyra",
        "Tyntec Ltd": "Tyntec",
        "Telnyx LLC": "Telnyx",
        "Sipgate GmbH": "Sipgate",
        "Proximus S.A.": "Proximus",
        "Vodacom plc": "Vodacom",
        "Syniverse Corp.": "Syniverse",
        "Route Mobile Limited": "Route Mobile",
        "Infobip Ltd.": "Infobip",
        "Sinch AB (publ)": "Sinch",
        "Elisa Oyj": "Elisa",
        "KPN B.V.": "KPN",
        "Iliad S.p.A.": "Iliad",
        "Tata Communications Private Limited": "Tata Communications",
        "Foo Telecom Co., Ltd.": "Foo Telecom",
        "Acme Voice GmbH & Co. KG": "Acme Voice",
        "AT&T Inc.": "AT&T",
    }
    csv = register(tmp_path, "name\n" + "".join(f'"{name}"\n' for name in names))
    watchlist = tmp_path / "suppliers.yaml"

    assert newsbot("vendors", "import", csv, "--watchlist", watchlist).code == 0

    imported = vendors_of(watchlist)
    assert {name: imported[name]["aliases"] for name in names} == {name: [short] for name, short in names.items()}


@pytest.mark.parametrize("name", ["AG", "Plivo", "Bandwidth Networks"])
def test_a_name_without_a_legal_form_gets_no_alias(tmp_path: Path, newsbot: Newsbot, name: str) -> None:
    watchlist = tmp_path / "suppliers.yaml"
    assert newsbot("vendors", "import", register(tmp_path, f"name\n{name}\n"), "--watchlist", watchlist).code == 0
    assert vendors_of(watchlist)[name] == {"name": name}


def test_a_common_word_is_marked_and_a_context_column_guards_it(tmp_path: Path, newsbot: Newsbot) -> None:
    csv = register(
        tmp_path,
        "name,aliases,domain,context\n"
        "Orange SA,,orange.com,\n"
        "Signal Messenger LLC,Signal,,\n"
        "Ring LLC,,ring.com,doorbell|camera\n"
        "Telesign Corp.,,,\n",
    )
    watchlist = tmp_path / "suppliers.yaml"

    result = newsbot("vendors", "import", csv, "--watchlist", watchlist)

    assert result.code == 0, result.err
    text = watchlist.read_text(encoding="utf-8")
    assert (
        "  # check: 'Orange' is a common English word; add context: words or case_sensitive: true\n"
        "  - name: Orange SA\n    aliases: [Orange, orange.com]\n"
    ) in text
    assert "  # check: 'Signal' is a common English word; add context" in text
    assert "  - name: Ring LLC\n    aliases: [Ring]\n    context: [doorbell, camera]\n" in text
    assert "    unambiguous: [Ring LLC, ring.com]\n" in text
    assert text.count("# check:") == 2  # not Ring (guarded), not Telesign (not a word)
    assert "4 vendors added" in result.out and "2 to check" in result.out


def test_a_legal_name_that_leaves_a_very_common_word_is_marked(tmp_path: Path, newsbot: Newsbot) -> None:
    """ "Data AG" became the alias "Data", unmarked, and the starter rule (a vendor and a breach term)
    then alerted on every story of a "data breach"."""
    csv = register(tmp_path, "name,aliases\nData AG,\nGlobal Inc,\nKaleyra S.p.A.,\n")
    watchlist = tmp_path / "suppliers.yaml"

    result = newsbot("vendors", "import", csv, "--watchlist", watchlist)

    assert result.code == 0, result.err
    text = watchlist.read_text(encoding="utf-8")
    assert "  # check: 'Data' is a common English word; add context: words or case_sensitive: true\n" in text
    assert "  # check: 'Global' is a common English word" in text
    assert text.count("# check:") == 2 and "3 vendors added" in result.out


@pytest.mark.parametrize("name", ["new.txt", ".hidden.yaml", "suppliers.YAML"])
def test_a_watchlist_no_run_would_read_is_refused(tmp_path: Path, newsbot: Newsbot, name: str) -> None:
    """It was created, "1 vendor added" said, and `check` still counted the watchlists it had."""
    csv = register(tmp_path, "name\nMitto AG\n")
    watchlist = tmp_path / name

    result = newsbot("vendors", "import", csv, "--watchlist", watchlist)

    assert result.code == 1 and not watchlist.exists()
    assert f"{watchlist}: a run reads only watchlist files whose names end .yaml or .yml" in result.err


# --- dry run, new files, notes -------------------------------------------------------------------------


def test_dry_run_prints_the_diff_and_writes_nothing(tmp_path: Path, team_watchlist: Path, newsbot: Newsbot) -> None:
    os.utime(team_watchlist, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = team_watchlist.read_bytes(), team_watchlist.stat().st_mtime_ns, sorted(os.listdir(tmp_path))

    result = newsbot("vendors", "import", EXAMPLE_REGISTER, "--watchlist", team_watchlist, "--dry-run")

    assert result.code == 0, result.err
    assert f"--- {team_watchlist}\n+++ {team_watchlist}\n" in result.out
    assert "+  - name: Mitto AG\n+    aliases: [Mitto, mitto.ch]\n" in result.out
    assert f"would add: Mitto AG, also as Mitto, mitto.ch ({team_watchlist}:14)" in result.out
    assert "skipped:" in result.out and "already listed as 'Vonage'" in result.out
    assert "; nothing was written (dry run)" in result.out
    after = team_watchlist.read_bytes(), team_watchlist.stat().st_mtime_ns, sorted(os.listdir(tmp_path))
    assert after == before
    assert sorted(os.listdir(team_watchlist.parent)) == ["suppliers.yaml"]  # no temporary file left


def test_a_watchlist_that_does_not_exist_is_created_and_passes_check(tmp_path: Path, newsbot: Newsbot) -> None:
    (tmp_path / "watchlists").mkdir()
    config = tmp_path / "newsbot.yaml"
    config.write_text("database: newsbot.db\nwatchlists: watchlists/\nsources: []\n", encoding="utf-8")
    watchlist = tmp_path / "watchlists" / "cpaas-suppliers.yaml"

    dry = newsbot("vendors", "import", EXAMPLE_REGISTER, "--watchlist", watchlist, "--dry-run")
    assert not watchlist.exists()
    result = newsbot("vendors", "import", EXAMPLE_REGISTER, "--watchlist", watchlist)

    assert dry.code == result.code == 0, result.err
    assert f"--- /dev/null\n+++ {watchlist}\n" in dry.out
    assert "(a new watchlist, with a starter topic and rule to edit)" in result.out
    text = watchlist.read_text(encoding="utf-8")
    assert text.startswith("# Cpaas suppliers: vendors imported from vendors.csv by `newsbot vendors import`.\n")
    assert "name: Cpaas suppliers\n" in text and "  - name: vendor-breach\n" in text
    assert len(vendors_of(watchlist)) == 9
    check = newsbot("check", "--config", config)
    assert check.code == 0, check.err


def test_a_new_watchlist_takes_a_name_no_neighbour_has_and_notes_shared_vendors(
    tmp_path: Path, team_watchlist: Path, newsbot: Newsbot
) -> None:
    """A vendor in two watchlists alerts twice (once per watchlist), which the team may want, or not."""
    watchlist = team_watchlist.parent / "Suppliers.yml"
    csv = register(tmp_path, "name\nTwilio Inc.\nPlivo Inc.\n")

    result = newsbot("vendors", "import", csv, "--watchlist", watchlist)

    assert result.code == 0, result.err
    assert load_watchlist(watchlist).config.name == "Suppliers (imported)"
    assert (
        f"note: {csv}:2 Twilio Inc.: also watched by suppliers.yaml as 'Twilio': "
        "a story about it alerts once in each watchlist"
    ) in result.out
    assert "Plivo Inc.: also watched" not in result.out


# --- problems: nothing written, and a sentence that says where ------------------------------------------


def test_a_name_over_the_term_limit_stops_the_import_with_its_row(
    tmp_path: Path, team_watchlist: Path, newsbot: Newsbot
) -> None:
    csv = register(tmp_path, f"name,aliases\nMitto AG,\n{'Z' * 201} AG,\nPlivo,{'P' * 250}\n")

    result = newsbot("vendors", "import", csv, "--watchlist", team_watchlist)

    assert result.code == 1
    assert result.out == ""
    assert f"newsbot: {csv}:3: the name '{'Z' * 40}…' cannot be used: string should have at most 200 characters\n" in (
        result.err
    )
    assert f"{csv}:4: the aliases '{'P' * 40}…' cannot be used" in result.err
    assert result.err.endswith(f"nothing was written to {team_watchlist}\n")
    assert team_watchlist.read_text(encoding="utf-8") == TEAM_WATCHLIST


@pytest.mark.parametrize(
    ("content", "sentence"),
    [
        pytest.param(
            "vendor,domain\nMitto AG,mitto.ch\n",
            ":1: the header row has no 'name' column (it has 'vendor', 'domain'); rename the column",
            id="no name column",
        ),
        pytest.param(
            "name\nBandwidth, Inc.\n",
            ":2: this row has 2 fields but the header has 1; a value with a ',' in it must be in double quotes",
            id="more fields than the header",
        ),
        pytest.param("", ": the file is empty; it needs a header row with a 'name' column", id="empty"),
        pytest.param(
            "name,aliases\nHuge AG," + "x" * 140_000 + "\n",
            ":2: this is not a CSV row newsbot can read (field larger than field limit (131072))",
            id="a value over csv's limit",
        ),
        pytest.param(
            'name\n"Kaleyra\nMitto AG\nSinch\n',  # csv alone reads the rest of the file as one made-up vendor
            ":2: this is not a CSV row newsbot can read (unexpected end of data)",
            id="a quote never closed",
        ),
        pytest.param(
            'name\n"Mitto, "AG"\n',
            ":2: this is not a CSV row newsbot can read (',' expected after '\"')",
            id="a quote closed too early",
        ),
    ],
)
def test_a_register_newsbot_cannot_use_is_exit_1_and_the_watchlist_is_untouched(
    tmp_path: Path, team_watchlist: Path, newsbot: Newsbot, content: str, sentence: str
) -> None:
    csv = register(tmp_path, content)
    result = newsbot("vendors", "import", csv, "--watchlist", team_watchlist)
    assert result.code == 1
    assert result.err.startswith(f"newsbot: {csv}{sentence}")
    assert team_watchlist.read_text(encoding="utf-8") == TEAM_WATCHLIST


def test_a_result_that_fails_validation_leaves_the_file_and_says_why(tmp_path: Path, newsbot: Newsbot) -> None:
    """A watchlist just under the 1 MB limit, which one more vendor takes over it."""
    head = "name: W\nvendors:\n  - name: A\nrules:\n  - name: r\n    any: [vendors]\n"
    comment = "# " + "x" * 97 + "\n"
    watchlist = tmp_path / "w.yaml"
    watchlist.write_text(head + comment * ((1024 * 1024 - len(head)) // len(comment)), encoding="utf-8")
    before = watchlist.read_bytes()

    result = newsbot("vendors", "import", register(tmp_path, "name\nMitto AG\n"), "--watchlist", watchlist)

    assert result.code == 1
    assert result.err == (
        f"newsbot: {watchlist} (after the import): the file is larger than 1 MB; newsbot refuses it\n"
        f"nothing was written to {watchlist}\n"
    )
    assert watchlist.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["register.csv", "w.yaml"]  # no temporary file left


def test_a_result_with_a_broken_rule_is_refused_with_the_line_it_would_have(tmp_path: Path, newsbot: Newsbot) -> None:
    """A watchlist with no vendors yet is read even though its rule needs one; what the import would
    write is then validated like any watchlist, and this one still names a topic it lacks."""
    watchlist = tmp_path / "w.yaml"
    text = "name: W\nvendors: []\ntopics:\n  breach: [breach]\nrules:\n  - name: r\n    all: [vendors, breech]\n"
    watchlist.write_text(text, encoding="utf-8")

    result = newsbot("vendors", "import", register(tmp_path, "name\nMitto AG\n"), "--watchlist", watchlist)

    assert result.code == 1
    assert result.err.startswith(f"newsbot: {watchlist} (after the import):9: rule 'r' ")
    assert "breech" in result.err
    assert result.err.endswith(f"nothing was written to {watchlist}\n")
    assert watchlist.read_text(encoding="utf-8") == text


def test_a_vendor_list_in_flow_style_is_refused_with_its_line(tmp_path: Path, newsbot: Newsbot) -> None:
    watchlist = tmp_path / "w.yaml"
    text = "name: W\nvendors: [{name: A}]\nrules:\n  - name: r\n    any: [vendors]\n"
    watchlist.write_text(text, encoding="utf-8")
    result = newsbot("vendors", "import", register(tmp_path, "name\nMitto AG\n"), "--watchlist", watchlist)
    assert result.code == 1
    assert result.err.startswith(f"newsbot: {watchlist}:2: vendors: is not a block list newsbot can add to;")
    assert watchlist.read_text(encoding="utf-8") == text


def test_a_broken_watchlist_or_a_missing_file_is_exit_2(tmp_path: Path, team_watchlist: Path, newsbot: Newsbot) -> None:
    broken = TEAM_WATCHLIST.replace("all: [vendors, breach]", "all: [vendors, breech]")
    team_watchlist.write_text(broken, encoding="utf-8")
    csv = register(tmp_path, "name\nMitto AG\n")

    invalid = newsbot("vendors", "import", csv, "--watchlist", team_watchlist)
    missing = newsbot("vendors", "import", tmp_path / "nope.csv", "--watchlist", team_watchlist)
    no_folder = newsbot("vendors", "import", csv, "--watchlist", tmp_path / "nowhere" / "w.yaml")

    assert invalid.code == missing.code == no_folder.code == 2
    assert invalid.err.startswith(f"newsbot: {team_watchlist}:22: rule 'vendor-breach' ")
    assert missing.err == f"newsbot: {tmp_path / 'nope.csv'}: file not found\n"
    assert f"the folder {tmp_path / 'nowhere'} does not exist" in no_folder.err
    assert team_watchlist.read_text(encoding="utf-8") == broken


def test_the_command_line_is_checked(newsbot: Newsbot, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        newsbot("vendors", "import", tmp_path / "r.csv")  # --watchlist is required
    assert exit_info.value.code == 2
    assert newsbot("vendors").code == 2


# --- read-only and full file systems ----------------------------------------------------------------


@contextmanager
def tmpfs(folder: Path, size: str = "1m") -> Iterator[Path]:
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=False, capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def test_a_read_only_file_system_is_a_sentence_and_nothing_changes(tmp_path: Path, newsbot: Newsbot) -> None:
    csv = register(tmp_path, "name\nMitto AG\n")
    with tmpfs(tmp_path / "disk") as disk:
        watchlist = disk / "suppliers.yaml"
        watchlist.write_text(TEAM_WATCHLIST, encoding="utf-8")
        remount_read_only(disk)

        existing = newsbot("vendors", "import", csv, "--watchlist", watchlist)
        new = newsbot("vendors", "import", csv, "--watchlist", disk / "new.yaml")
        dry = newsbot("vendors", "import", csv, "--watchlist", watchlist, "--dry-run")

        assert existing.code == new.code == 1
        assert existing.err == (
            f"newsbot: {watchlist}: the watchlist is read-only (file or file system); nothing was changed\n"
        )
        assert new.err == (
            f"newsbot: {disk / 'new.yaml'}: cannot write in {disk} (Read-only file system); nothing was changed\n"
        )
        assert dry.code == 0, dry.err  # a dry run only reads
        assert watchlist.read_text(encoding="utf-8") == TEAM_WATCHLIST
        assert sorted(os.listdir(disk)) == ["suppliers.yaml"]


def test_an_immutable_watchlist_is_refused(tmp_path: Path, team_watchlist: Path, newsbot: Newsbot) -> None:
    if subprocess.run(["chattr", "+i", str(team_watchlist)], check=False, capture_output=True).returncode != 0:
        pytest.skip("chattr +i does not work here (needs root and a file system with attributes)")
    try:
        result = newsbot("vendors", "import", register(tmp_path, "name\nMitto AG\n"), "--watchlist", team_watchlist)
    finally:
        subprocess.run(["chattr", "-i", str(team_watchlist)], check=True)
    assert result.code == 1
    assert "the watchlist is read-only (file or file system); nothing was changed" in result.err
    assert team_watchlist.read_text(encoding="utf-8") == TEAM_WATCHLIST


def fill(disk: Path) -> None:
    descriptor = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(descriptor, bytes(4096))
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(descriptor)


def test_a_full_disk_is_a_sentence_and_nothing_changes(tmp_path: Path, newsbot: Newsbot) -> None:
    csv = register(tmp_path, "name\n" + "".join(f"Vendor number {index} AG\n" for index in range(300)))
    with tmpfs(tmp_path / "disk", size="64k") as disk:
        watchlist = disk / "suppliers.yaml"
        watchlist.write_text(TEAM_WATCHLIST, encoding="utf-8")
        fill(disk)

        result = newsbot("vendors", "import", csv, "--watchlist", watchlist)

        assert result.code == 1
        assert result.err == f"newsbot: {watchlist}: cannot be written (No space left on device); nothing was changed\n"
        assert watchlist.read_text(encoding="utf-8") == TEAM_WATCHLIST
        assert sorted(os.listdir(disk)) == ["filler", "suppliers.yaml"]


# --- Excel ----------------------------------------------------------------------------------------------


EXCEL_ROWS = [
    ["name", "aliases", "domain", "Owner"],
    ["Mitto AG", "", "mitto.ch", "Procurement"],
    ["Bandwidth, Inc.", "BW Networks | Bandwidth.com", "", "Procurement; IT"],
    ["Zürich Telekom AG", "ZüriTel;Zürich Tel", "", ""],
    ["", "", "", ""],  # an empty row under a filter
]


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [
        pytest.param(";", "utf-8-sig", id="European Excel: CSV UTF-8 with ';' and a BOM"),
        pytest.param(",", "utf-8-sig", id="CSV UTF-8 with a BOM"),
        pytest.param("\t", "utf-16", id="Unicode Text: UTF-16, tab-separated"),
    ],
)
def test_excel_exports_are_read_as_excel_writes_them(
    tmp_path: Path, newsbot: Newsbot, delimiter: str, encoding: str
) -> None:
    lines = [
        delimiter.join(f'"{cell}"' if delimiter in cell or "," in cell else cell for cell in row) for row in EXCEL_ROWS
    ]
    csv = register(tmp_path, "\r\n".join(lines) + "\r\n", encoding=encoding)
    watchlist = tmp_path / "suppliers.yaml"

    result = newsbot("vendors", "import", csv, "--watchlist", watchlist)

    assert result.code == 0, result.err
    assert vendors_of(watchlist) == {
        "Mitto AG": {"name": "Mitto AG", "aliases": ["Mitto", "mitto.ch"]},
        "Bandwidth, Inc.": {"name": "Bandwidth, Inc.", "aliases": ["Bandwidth", "BW Networks", "Bandwidth.com"]},
        "Zürich Telekom AG": {"name": "Zürich Telekom AG", "aliases": ["Zürich Telekom", "ZüriTel", "Zürich Tel"]},
    }
    assert "note: columns not imported: owner" in result.out


def test_a_windows_1252_export_is_refused_with_what_to_do(
    tmp_path: Path, team_watchlist: Path, newsbot: Newsbot
) -> None:
    csv = register(tmp_path, "name\r\nMitto AG\r\nZürich Telekom AG\r\n", encoding="cp1252")
    result = newsbot("vendors", "import", csv, "--watchlist", team_watchlist)
    assert result.code == 1
    assert result.err == (
        f"newsbot: {csv}:3: the file is not UTF-8 text (byte 17); in Excel, save it as 'CSV UTF-8 (Comma delimited)'\n"
    )
    assert team_watchlist.read_text(encoding="utf-8") == TEAM_WATCHLIST


def test_the_readme_shows_what_the_example_register_gives(tmp_path: Path, newsbot: Newsbot) -> None:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("#### Starting from the vendor register") :]
    shown_csv = section[section.index("```csv\n") + 7 : section.index("```\n\ngives")]
    shown_yaml = section[section.index("```yaml\n") + 8 :].split("```")[0]
    example_lines = EXAMPLE_REGISTER.read_text(encoding="utf-8").splitlines(keepends=True)
    assert shown_csv == "".join(example_lines[:4])
    watchlist = tmp_path / "suppliers.yaml"

    result = newsbot("vendors", "import", EXAMPLE_REGISTER, "--watchlist", watchlist)

    assert result.code == 0, result.err
    assert shown_yaml in watchlist.read_text(encoding="utf-8")
    assert len(vendors_of(watchlist)) == len(example_lines) - 1


def test_with_config_the_import_says_when_the_configs_runs_will_not_read_the_watchlist(
    tmp_path: Path, team_watchlist: Path, newsbot: Newsbot
) -> None:
    """The README's "every command but demo takes --config" was refused here; and a register imported
    into a file outside the watchlist folder matched nothing, with no word said."""
    csv = register(tmp_path, "name\nMitto AG\n")
    config = tmp_path / "newsbot.yaml"
    config.write_text("database: newsbot.db\nwatchlists: watchlists\nsources: []\n", encoding="utf-8")
    elsewhere = tmp_path / "drafts" / "suppliers.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(TEAM_WATCHLIST, encoding="utf-8")

    linked = tmp_path / "watchlists" / "linked.yaml"  # a link in the folder to a file kept elsewhere
    kept = tmp_path / "repository" / "linked.yaml"
    kept.parent.mkdir()
    kept.write_text(TEAM_WATCHLIST.replace("name: ", "name: Linked ", 1), encoding="utf-8")
    linked.symlink_to(kept)

    pointing_in = tmp_path / "home" / "mine.yaml"  # a link elsewhere to a file the folder holds
    pointing_in.parent.mkdir()
    pointing_in.symlink_to(team_watchlist)

    inside = newsbot("vendors", "import", csv, "--watchlist", team_watchlist, "--config", config)
    through_link_in = newsbot("vendors", "import", csv, "--watchlist", pointing_in, "--config", config)
    through_link = newsbot("vendors", "import", csv, "--watchlist", linked, "--config", config)
    outside = newsbot("vendors", "import", csv, "--watchlist", elsewhere, "--config", config)

    assert inside.code == 0 and "note:" not in inside.out, inside.err
    assert through_link_in.code == 0 and "will not read it" not in through_link_in.out, through_link_in.out
    assert through_link.code == 0 and "will not read it" not in through_link.out, through_link.out + through_link.err
    assert outside.code == 0, outside.err
    assert f"note: {elsewhere} is not in {tmp_path / 'watchlists'}, the watchlist folder {config} names" in outside.out
    assert "Mitto AG" in vendors_of(elsewhere)  # imported all the same: the note is a word, not a refusal
