"""`newsbot sources import FILE.opml` and `newsbot sources export`: the team's reader list in and out."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from newsbot.configuration.opml import OpmlFeed, _replace_validated, _with_sources, read_opml, to_opml
from newsbot.errors import ConfigError
from newsbot.storage.database import Storage
from tests.configuration.test_vendor_import import remount_read_only, tmpfs
from tests.conftest import REPOSITORY, Workspace, run_newsbot

EXAMPLE_OPML = REPOSITORY / "examples" / "telecom-security.opml"

READER_EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My reader</title></head>
  <body>
    <outline text="Telecom">
      <outline text="Signal Lines" title="Signal Lines" type="rss" xmlUrl="https://signal.example/feed.xml"/>
      <outline text="Folder in a folder">
        <outline text="Carrier Watch" type="rss" xmlURL="https://carrier.example/atom.xml" htmlUrl="https://carrier.example/"/>
      </outline>
    </outline>
    <outline text="Podcast over FTP" type="rss" xmlUrl="ftp://files.example/pod.xml"/>
    <outline text="Same as Signal Lines" type="rss" xmlUrl="https://signal.example/feed.xml?utm_source=reader"/>
  </body>
</opml>
"""


def import_sources(workspace: Workspace, opml: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_newsbot("sources", "import", str(opml), "--config", str(workspace.config), *extra, cwd=workspace.folder)


@pytest.fixture
def reader_export(tmp_path: Path) -> Path:
    path = tmp_path / "reader.opml"
    path.write_text(READER_EXPORT, encoding="utf-8")
    return path


def test_import_appends_feeds_keeps_comments_and_skips_what_it_cannot_use(
    workspace: Workspace, reader_export: Path
) -> None:
    workspace.source("Signal Lines", "https://signal.example/feed.xml")
    workspace.write()
    commented = "# the team's sources, reviewed quarterly\n" + workspace.config.read_text(encoding="utf-8")
    workspace.config.write_text(commented, encoding="utf-8")

    result = import_sources(workspace, reader_export)

    assert result.returncode == 0, result.stderr
    assert "added: Carrier Watch (https://carrier.example/atom.xml)" in result.stdout
    assert "skipped: Signal Lines: already configured" in result.stdout
    assert "skipped: Same as Signal Lines: already configured" in result.stdout  # same URL once canonical
    assert "skipped: Podcast over FTP: 'ftp://files.example/pod.xml' is not an http(s) feed URL" in result.stdout
    text = workspace.config.read_text(encoding="utf-8")
    assert text.startswith("# the team's sources, reviewed quarterly\n")
    sources = yaml.safe_load(text)["sources"]
    assert [source["name"] for source in sources] == ["Signal Lines", "Carrier Watch"]
    assert sources[1] == {"name": "Carrier Watch", "feed": "https://carrier.example/atom.xml"}
    check = run_newsbot("check", "--config", str(workspace.config), cwd=workspace.folder)
    assert check.returncode == 0, check.stderr


def test_importing_twice_adds_nothing_the_second_time(workspace: Workspace, reader_export: Path) -> None:
    workspace.write()
    first = import_sources(workspace, reader_export)
    after_first = workspace.config.read_text(encoding="utf-8")
    second = import_sources(workspace, reader_export)

    assert "2 sources added" in first.stdout
    assert "0 sources added" in second.stdout
    assert workspace.config.read_text(encoding="utf-8") == after_first


def test_dry_run_shows_the_feeds_and_changes_nothing(workspace: Workspace, reader_export: Path) -> None:
    workspace.write()
    before = workspace.config.read_text(encoding="utf-8")
    result = import_sources(workspace, reader_export, "--dry-run")
    assert "would add: Signal Lines (https://signal.example/feed.xml)" in result.stdout
    assert workspace.config.read_text(encoding="utf-8") == before


def test_a_name_already_taken_by_another_feed_gets_a_number(workspace: Workspace, reader_export: Path) -> None:
    workspace.source("Carrier Watch", "https://other.example/rss")
    workspace.write()
    import_sources(workspace, reader_export)
    names = [source["name"] for source in yaml.safe_load(workspace.config.read_text(encoding="utf-8"))["sources"]]
    assert names == ["Carrier Watch", "Signal Lines", "Carrier Watch (2)"]


def test_a_file_that_is_not_opml_is_a_clear_error_and_the_config_is_untouched(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.write()
    before = workspace.config.read_text(encoding="utf-8")
    not_opml = tmp_path / "feed.xml"
    not_opml.write_text("<rss><channel/></rss>", encoding="utf-8")
    result = import_sources(workspace, not_opml)
    assert result.returncode == 2
    assert f"{not_opml}: this is not an OPML file" in result.stderr
    assert workspace.config.read_text(encoding="utf-8") == before


def test_an_opml_file_declaring_entities_is_refused(tmp_path: Path) -> None:
    """lxml's recovering parser expands internal entities even with resolve_entities=False."""
    bomb = tmp_path / "bomb.opml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<opml><body><outline text="&b;" xmlUrl="https://x.example/feed"/></body></opml>',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="declares XML entities"):
        read_opml(bomb)


@pytest.mark.parametrize(
    ("config", "expected_indent"),
    [
        pytest.param(
            "database: x.db\nsources:\n  - name: One\n    feed: https://one.example/f\nfetch: {}\n", 2, id="block"
        ),
        pytest.param("database: x.db\nsources:\n- name: One\n  feed: https://one.example/f", 0, id="no indent, no EOL"),
        pytest.param("database: x.db\nsources: []\nfetch: {}\n", 2, id="empty flow list"),
        pytest.param("database: x.db\nsources:\nfetch: {}\n", 2, id="empty key"),
        pytest.param("database: x.db\n", 2, id="no sources key"),
        pytest.param(
            "database: x.db\nsources: &listed\n  - name: One\n    feed: https://one.example/f\n", 2, id="an anchor"
        ),
    ],
)
def test_new_sources_land_in_the_list_whatever_its_layout(config: str, expected_indent: int) -> None:
    feeds = [OpmlFeed("A: colon", "https://a.example/feed"), OpmlFeed("Zürich Desk", "https://z.example/rss")]
    text = _with_sources(config, feeds, Path("newsbot.yaml"))
    data = yaml.safe_load(text)
    assert data["sources"][-2:] == [
        {"name": "A: colon", "feed": "https://a.example/feed"},
        {"name": "Zürich Desk", "feed": "https://z.example/rss"},
    ]
    assert data["database"] == "x.db"
    assert " " * expected_indent + "- name: 'A: colon'" in text.splitlines()
    if "fetch" in config:
        assert data["fetch"] == {}


def test_a_flow_list_with_items_is_refused_with_the_line() -> None:
    with pytest.raises(ConfigError, match=r"newsbot.yaml:2: sources: is not a block list"):
        _with_sources("database: x.db\nsources: [{name: a, feed: 'https://a.example'}]\n", [], Path("newsbot.yaml"))


def test_export_then_import_gives_the_same_feeds(workspace: Workspace, tmp_path: Path) -> None:
    workspace.source("Signal Lines", "https://signal.example/feed.xml")
    workspace.source("Ampersand & <Co>", "https://amp.example/rss?a=1&b=2")
    workspace.settings["sources"].append({"name": "Listing", "url": "https://l.example/", "links": "a"})
    workspace.write()
    exported = tmp_path / "out.opml"

    result = run_newsbot(
        "sources", "export", "--output", str(exported), "--config", str(workspace.config), cwd=workspace.folder
    )

    assert result.returncode == 0, result.stderr
    assert "not exported: Listing: a url: source has no feed URL for OPML" in result.stderr
    feeds, unusable = read_opml(exported)
    assert unusable == []
    assert feeds == [
        OpmlFeed("Signal Lines", "https://signal.example/feed.xml"),
        OpmlFeed("Ampersand & <Co>", "https://amp.example/rss?a=1&b=2"),
    ]


def test_to_opml_escapes_attributes(tmp_path: Path) -> None:
    path = tmp_path / "escaped.opml"
    path.write_text(to_opml([OpmlFeed('Quote " here', "https://q.example/?a=1&b=2")], "t & t"), encoding="utf-8")
    feeds, _ = read_opml(path)
    assert feeds == [OpmlFeed('Quote " here', "https://q.example/?a=1&b=2")]


def test_the_shipped_starting_list_is_public_feeds_only() -> None:
    feeds, unusable = read_opml(EXAMPLE_OPML)
    assert unusable == []
    assert len(feeds) >= 15
    assert all(feed.feed.startswith("https://") for feed in feeds)
    assert len({feed.name for feed in feeds}) == len(feeds)


def test_real_reader_exports_from_the_corpus_read_cleanly(corpus: Path) -> None:
    """Subscription lists exported by real readers: nested folders, missing titles, odd casing."""
    counts = {}
    for path in sorted((corpus / "opml").iterdir()):
        feeds, _ = read_opml(path)
        counts[path.name] = len(feeds)
        assert all(feed.name and feed.feed.lower().startswith(("http://", "https://")) for feed in feeds)
    assert counts["rsparser__SubsNoTitleAttributes.opml"] > 50  # names come from `text` when `title` is absent
    assert counts["plenaryapp__Cyber-security.opml"] == 21


def test_a_comment_below_the_list_still_heads_what_follows_it() -> None:
    config = "sources:\n  - name: One\n    feed: https://one.example/f\n\n# Slack settings below\nslack: {}\n"
    text = _with_sources(config, [OpmlFeed("Two", "https://two.example/f")], Path("newsbot.yaml"))
    assert text.endswith("    feed: https://two.example/f\n\n# Slack settings below\nslack: {}\n"), text


def test_an_empty_lists_comment_stays_on_its_line() -> None:
    text = _with_sources("sources: []  # none yet\n", [OpmlFeed("Two", "https://two.example/f")], Path("newsbot.yaml"))
    assert text.startswith("sources:  # none yet\n  - name: Two\n"), text


def test_a_crlf_config_keeps_its_line_ends(workspace: Workspace, reader_export: Path) -> None:
    workspace.source("Signal Lines", "https://signal.example/feed.xml")
    workspace.write()
    workspace.config.write_bytes(workspace.config.read_bytes().replace(b"\n", b"\r\n"))

    result = import_sources(workspace, reader_export)

    assert result.returncode == 0, result.stderr
    written = workspace.config.read_bytes()
    assert b"Carrier Watch" in written and written.count(b"\n") == written.count(b"\r\n")


def test_the_config_keeps_its_owner_mode_and_symlink(workspace: Workspace, reader_export: Path) -> None:
    """newsbot runs as a service user (uid 10001 in the Docker image); an import from a root shell
    must leave the config that user's, and a config reached through a link is edited where it lives."""
    workspace.write()
    real = workspace.folder / "etc" / "newsbot.yaml"
    real.parent.mkdir()
    text = workspace.config.read_text(encoding="utf-8")
    real.write_text(text.replace("newsbot.db", "../newsbot.db").replace("watchlists/", "../watchlists/"))
    workspace.config.unlink()
    workspace.config.symlink_to(real)
    os.chown(real, 10001, 10001)
    real.chmod(0o640)

    result = import_sources(workspace, reader_export)

    assert result.returncode == 0, result.stderr
    assert workspace.config.is_symlink() and "Carrier Watch" in real.read_text(encoding="utf-8")
    written = real.stat()
    assert (written.st_uid, written.st_gid, stat.S_IMODE(written.st_mode)) == (10001, 10001, 0o640)
    assert [path.name for path in real.parent.iterdir()] == ["newsbot.yaml"]  # no temporary file left


def test_a_read_only_config_is_a_sentence_and_stays_as_it_was(workspace: Workspace, reader_export: Path) -> None:
    workspace.write()
    with tmpfs(workspace.folder / "ro") as disk:
        config = disk / "newsbot.yaml"
        text = workspace.config.read_text(encoding="utf-8")
        config.write_text(text.replace("watchlists/", f"{workspace.folder}/watchlists/"), encoding="utf-8")
        before = config.read_text(encoding="utf-8")
        remount_read_only(disk)

        result = run_newsbot("sources", "import", str(reader_export), "--config", str(config), cwd=workspace.folder)

        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr == (
            f"newsbot: {config}: the config is read-only (file or file system); nothing was changed\n"
        )
        assert config.read_text(encoding="utf-8") == before


def test_an_import_the_config_would_refuse_names_the_config_not_a_temporary_file(workspace: Workspace) -> None:
    """What the import wrote is loaded from a temporary file beside the config, which is gone by the
    time the sentence is read: the sentence names the config, as it would be after the import."""
    workspace.write()
    before = workspace.config.read_text(encoding="utf-8")

    with pytest.raises(ConfigError) as refused:
        _replace_validated(workspace.config, before + "max_age_days: -1\n")

    sentence = str(refused.value)
    assert sentence.startswith(f"{workspace.config} (after the import):"), sentence
    assert ".tmp" not in sentence and sentence.endswith(f"nothing was written to {workspace.config}")
    assert workspace.config.read_text(encoding="utf-8") == before
    assert [path.name for path in workspace.folder.iterdir() if path.name.startswith(".")] == []


def export_to(workspace: Workspace, output: Path | str) -> subprocess.CompletedProcess[str]:
    return run_newsbot(
        "sources", "export", "--output", str(output), "--config", str(workspace.config), cwd=workspace.folder
    )


def test_an_export_replaces_an_earlier_export_but_never_the_config_a_watchlist_or_the_database(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.source("Signal Lines", "https://signal.example/feed.xml")
    workspace.write()
    Storage.open(workspace.database).close()
    earlier = tmp_path / "sources.opml"
    earlier.write_text(to_opml([OpmlFeed("Old", "https://old.example/f")], "old"), encoding="utf-8")
    watchlist = workspace.watchlist()
    kept = {path: path.read_bytes() for path in (workspace.config, watchlist, workspace.database)}

    refused = {path: export_to(workspace, path) for path in kept}
    again = export_to(workspace, earlier)

    for path, result in refused.items():
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert f"newsbot: {path}: exists and is not an OPML file; nothing was written" in result.stderr
        assert path.read_bytes() == kept[path]
    assert again.returncode == 0, again.stderr
    assert read_opml(earlier)[0] == [OpmlFeed("Signal Lines", "https://signal.example/feed.xml")]
    empty = tmp_path / "from-mktemp"
    empty.touch()
    assert export_to(workspace, empty).returncode == 0 and read_opml(empty)[0], "an empty file is no one's data"


@pytest.mark.parametrize(
    ("output", "sentence"),
    [
        ("watchlists", "is not a regular file; name a file for the export"),
        ("/dev/full", "is not a regular file; name a file for the export"),
        ("no-such-folder/sources.opml", "cannot write in"),
    ],
)
def test_an_export_that_cannot_be_written_is_a_sentence(workspace: Workspace, output: str, sentence: str) -> None:
    workspace.write()
    target = output if output.startswith("/") else str(workspace.folder / output)

    result = export_to(workspace, target)

    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"newsbot: {target}: ") and sentence in result.stderr, result.stderr


def test_an_opml_file_declaring_entities_in_utf_16_is_refused_too(tmp_path: Path) -> None:
    """The check for `<!ENTITY` in the file's bytes does not see UTF-16; the parsed file's DTD does."""
    declared = tmp_path / "utf16.opml"
    declared.write_bytes(
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE opml [<!ENTITY e "INJECTED">]>'
        '<opml><body><outline text="&e;" xmlUrl="https://x.example/feed"/></body></opml>'.encode("utf-16")
    )
    with pytest.raises(ConfigError, match="declares XML entities"):
        read_opml(declared)


def test_what_the_recovering_parser_had_to_mend_is_told_and_not_imported(tmp_path: Path) -> None:
    """A file cut off mid-outline loses its last feed: the fault is told once, at its line, with each
    of libxml2's messages for it, and the outline it cut is told too (its xmlUrl gone, it once passed
    for an empty folder), never imported bent."""
    path = tmp_path / "sloppy.opml"
    path.write_bytes(READER_EXPORT.encode()[: READER_EXPORT.index('xmlURL="https://carrier') + 10])

    feeds, unusable = read_opml(path)

    assert [feed.name for feed in feeds] == ["Signal Lines"], "what could be read is read"
    faults = [where for where, why in unusable if why.startswith("not well-formed XML (")]
    assert faults == ["sloppy.opml:8"]
    assert ("Carrier Watch", "not imported: the file is not well-formed XML where it stands (above)") in unusable


def test_a_bare_ampersand_is_read_as_the_ampersand_it_meant(workspace: Workspace, tmp_path: Path) -> None:
    """A reader's export with `&` not escaped once imported `AT&T` as "AT" and the feed
    `?a=1&b=2` as `?a=1=2`, a feed that does not exist, and exited 0."""
    path = tmp_path / "sloppy.opml"
    path.write_bytes(
        b'<opml><body>\n<outline text="AT&T News" xmlUrl="https://att.example/feed?a=1&b=2&amp;c=3"/>\n'
        b'<outline text="Fish &amp; Chips" xmlUrl="https://fish.example/f?x=1&#38;y=2"/>\n</body></opml>\n'
    )
    workspace.write()

    result = import_sources(workspace, path)

    assert result.returncode == 0, result.stderr
    assert "0 skipped" in result.stdout
    sources = yaml.safe_load(workspace.config.read_text(encoding="utf-8"))["sources"]
    assert [(source["name"], source["feed"]) for source in sources] == [
        ("AT&T News", "https://att.example/feed?a=1&b=2&c=3"),
        ("Fish & Chips", "https://fish.example/f?x=1&y=2"),
    ]


def test_an_outline_without_a_feed_is_told_with_what_to_do(tmp_path: Path) -> None:
    """Before, a page-only outline, OPML 1.0's type="link" and an empty xmlUrl were in neither
    "added" nor "skipped": dropped in silence. A folder, empty or not, is still no feed, and not told."""
    path = tmp_path / "pages.opml"
    path.write_text(
        "<opml><body>\n"
        '<outline text="Only a page" htmlUrl="https://page.example/"/>\n'
        '<outline type="link" text="Linked" url="https://link.example/"/>\n'
        '<outline text="Empty" xmlUrl=""/>\n'
        '<outline text="Nothing"/>\n'
        '<outline text="Folder"><outline text="Inside" xmlUrl="https://in.example/f"/></outline>\n'
        "</body></opml>\n",
        encoding="utf-8",
    )

    feeds, unusable = read_opml(path)

    assert [feed.name for feed in feeds] == ["Inside"]
    assert unusable == [
        (
            "Only a page",
            "it names a web page (https://page.example/), not a feed: to watch it, add a source with "
            "site: https://page.example/",
        ),
        (
            "Linked",
            "it names a web page (https://link.example/), not a feed: to watch it, add a source with "
            "site: https://link.example/",
        ),
        ("Empty", "its xmlUrl is empty"),
    ]  # "Nothing" has no address of any kind: an empty folder


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'<opml xmlns="http://opml.org/spec2"><body>OUTLINES</body></opml>', id="namespaced"),
        pytest.param(b"<OPML><BODY>OUTLINES</BODY></OPML>", id="upper-case"),
    ],
)
def test_a_namespaced_or_upper_case_export_is_read(tmp_path: Path, body: bytes) -> None:
    """Both once gave "0 sources added, 0 skipped" and exit 0."""
    path = tmp_path / "reader.opml"
    outline = b'<OUTLINE TEXT="Wire" XMLURL="https://wire.example/f"/>' if b"OPML" in body else None
    path.write_bytes(body.replace(b"OUTLINES", outline or b'<outline text="Wire" xmlUrl="https://wire.example/f"/>'))
    assert read_opml(path) == ([OpmlFeed("Wire", "https://wire.example/f")], [])


def test_control_characters_never_reach_a_source_name(workspace: Workspace, tmp_path: Path) -> None:
    """An outline named with an escape sequence became a source whose name recoloured the terminal
    `status` printed to, and whose export was not XML. C1 controls are well-formed XML, so the
    name is cleaned; a name that is nothing visible becomes the feed's URL."""
    path = tmp_path / "escapes.opml"
    path.write_text(
        "<opml><body>\n"
        '<outline text="Red &#x9B;31m Alert" xmlUrl="https://red.example/f"/>\n'
        '<outline text="&#x200B;" xmlUrl="https://zw.example/f"/>\n'
        "</body></opml>\n",
        encoding="utf-8",
    )
    workspace.write()

    result = import_sources(workspace, path)

    assert result.returncode == 0, result.stderr
    sources = yaml.safe_load(workspace.config.read_text(encoding="utf-8"))["sources"]
    assert [source["name"] for source in sources] == ["Red 31m Alert", "https://zw.example/f"]
    exported = run_newsbot("sources", "export", "--config", str(workspace.config), cwd=workspace.folder)
    assert exported.returncode == 0, exported.stderr
    assert read_opml_text(tmp_path, exported.stdout)[0][0].name == "Red 31m Alert"


def read_opml_text(folder: Path, text: str) -> tuple[list[OpmlFeed], list[tuple[str, str]]]:
    path = folder / "exported.opml"
    path.write_text(text, encoding="utf-8")
    return read_opml(path)


@pytest.mark.parametrize(
    ("name", "sentence"),
    [
        pytest.param('"Red \\e[31m Alert"', "contains a control character; take it out", id="escape"),
        pytest.param('"\\u200b"', "has nothing visible in it; name the source in words", id="zero-width"),
    ],
)
def test_a_source_name_with_a_control_character_or_nothing_visible_is_refused(
    workspace: Workspace, name: str, sentence: str
) -> None:
    workspace.write()
    text = workspace.config.read_text(encoding="utf-8")
    workspace.config.write_text(
        text.replace("sources: []", f"sources:\n  - name: {name}\n    feed: https://wire.example/f"), encoding="utf-8"
    )
    check = run_newsbot("check", "--config", str(workspace.config), cwd=workspace.folder)
    assert check.returncode == 1  # a config error
    assert sentence in check.stderr, check.stderr


def test_a_well_formed_export_has_nothing_to_tell() -> None:
    assert read_opml(EXAMPLE_OPML)[1] == []


def test_htmls_named_characters_are_read_as_the_characters(tmp_path: Path) -> None:
    """`&nbsp;` and `&eacute;` are HTML's, not XML's: a one-line export using them imported none."""
    path = tmp_path / "one-line.opml"
    path.write_text(
        '<opml><body><outline text="Le&nbsp;Monde&nbsp;Tech &eacute;dition" xmlUrl="https://lm.example/rss"/>'
        '<outline text="Krebs" xmlUrl="https://krebs.example/feed?a=1&amp;b=2"/></body></opml>',
        encoding="utf-8",
    )
    assert read_opml(path) == (
        [
            OpmlFeed("Le Monde Tech édition", "https://lm.example/rss"),
            OpmlFeed("Krebs", "https://krebs.example/feed?a=1&b=2"),
        ],
        [],
    )


def test_a_fault_inside_an_outline_written_over_lines_is_that_outlines(tmp_path: Path) -> None:
    """lxml dates an element by the line its start tag ends on: a fault on an outline's second line
    was blamed on the outline before it, and the bent one imported."""
    path = tmp_path / "multi-line.opml"
    path.write_text(
        "<opml>\n<body>\n"
        '<outline text="Ars" xmlUrl="https://ars.example/rss"/>\n'
        '<outline type="rss"\n   text="Dark <b>Reading"\n   xmlUrl="https://dr.example/rss"/>\n'
        '<outline text="Krebs" xmlUrl="https://krebs.example/feed"/>\n'
        "</body>\n</opml>\n",
        encoding="utf-8",
    )
    feeds, unusable = read_opml(path)
    assert [feed.name for feed in feeds] == ["Ars", "Krebs"]
    assert [why for _, why in unusable][1:] == ["not imported: the file is not well-formed XML where it stands (above)"]
    assert unusable[0][0] == "multi-line.opml:5"


def test_a_file_missing_only_its_closing_tags_keeps_every_outline(tmp_path: Path) -> None:
    path = tmp_path / "unclosed.opml"
    path.write_text(
        '<opml>\n<body>\n<outline text="Ars" xmlUrl="https://ars.example/rss"/>\n'
        '<outline text="Krebs" xmlUrl="https://krebs.example/feed"/>\n',
        encoding="utf-8",
    )
    feeds, unusable = read_opml(path)
    assert [feed.name for feed in feeds] == ["Ars", "Krebs"]
    assert len(unusable) == 1 and unusable[0][1].startswith("not well-formed XML (")


@pytest.mark.parametrize(
    ("outlines", "told"),
    [
        pytest.param('<outline text="Bare" xmlUrl=https://bare.example/feed/>', "Bare", id="unquoted-attribute"),
        pytest.param('<outline text="Hex" xmlUrl="https://hex.example/&#X41;"/>', "Hex", id="capital-X-reference"),
        pytest.param(
            '<outline text="A" xmlUrl="https://a.example/f"/><outline xmlUrl="https://b.example/f" text="x<y"\n/>',
            "x<y",
            id="a-tag-begun-on-anothers-line",
        ),
    ],
)
def test_an_outline_a_fault_touches_is_told_never_dropped_in_silence(tmp_path: Path, outlines: str, told: str) -> None:
    """A fault that took an outline's xmlUrl left what passed for an empty folder: neither added nor
    skipped. `&#X41;` is no XML reference (XML's hex is a lower-case x): read as the text it is, it is
    no fault at all. A tag begun on the line another ends on is blamed with it, never imported bent."""
    path = tmp_path / "faulty.opml"
    path.write_text(f"<opml><body>\n{outlines}\n</body></opml>\n", encoding="utf-8")

    feeds, unusable = read_opml(path)

    if told == "Hex":
        assert feeds == [OpmlFeed("Hex", "https://hex.example/&#X41;")] and unusable == []
    else:
        assert told in [name for name, _ in unusable] and feeds == [], (feeds, unusable)
