"""OPML in and out: a team starts from the feed list its reader already has, and can take it back.

Import edits newsbot.yaml as text — the new sources are appended to the `sources:` list in the
file's own indentation — so the comments and layout the team wrote survive, and the result is
validated like any config before it replaces the file. Feeds already configured (same URL) and
non-http(s) outlines are skipped and reported, never silently dropped, and so is each place where
the file is not well-formed XML.
"""

from __future__ import annotations

import html.entities
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from xml.sax.saxutils import escape, quoteattr

import yaml
from lxml import etree

from newsbot.configuration.config import load_config
from newsbot.configuration.replace import replace_checked
from newsbot.configuration.validation import ENV_REFERENCE
from newsbot.configuration.watchlist_edit import NotABlockListError, block_list_end
from newsbot.configuration.yamlfile import read_config_text
from newsbot.errors import ConfigError
from newsbot.stories.urls import canonical_url, is_http_url

# newsbot.yaml expands `${VAR}` in every value: an outline's `${AWS_SECRET_ACCESS_KEY}` would send the
# variable of cron's environment to the feed's host on every run.
# An `&` and the reference it starts, if it starts one (group 1: its name, or #number).
_AMPERSAND = re.compile(rb"&(?:([A-Za-z_][\w.-]*|#[0-9]+|#x[0-9A-Fa-f]+);)?")  # XML's hex is a lower-case x
_XML_NAMED = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
# Control, format (zero-width), unassigned and private-use characters: none belongs in a source's name.
_INVISIBLE = frozenset({"Cc", "Cf", "Cn", "Co", "Cs"})
REFERENCE_REFUSED = "it holds a ${VARIABLE}, which newsbot.yaml would fill from the environment"


@dataclass(frozen=True)
class OpmlFeed:
    name: str
    feed: str
    site: str | None = None


@dataclass
class ImportResult:
    added: list[OpmlFeed] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (outline, why)


def read_opml(path: Path) -> tuple[list[OpmlFeed], list[tuple[str, str]]]:
    """The feeds of an OPML file (nested folders flattened) and the outlines that are not usable."""
    root, faults = _parsed(path)
    unusable = [
        (f"{path.name}:{line}", f"not well-formed XML ({'; '.join(messages)}); check the feeds around it")
        for line, messages in faults.items()
    ]
    elements = [element for element in root.iter() if isinstance(element.tag, str)]
    feeds: list[OpmlFeed] = []
    for number, element in enumerate(elements):
        if not _is_outline(element):
            continue
        # The recovering parser reads the rest of a faulty file (one cut off, a tag left open), but what
        # stands around a fault may come out bent, as `AT&T` came out `AT` and `?a=1&b=2` `?a=1=2`
        # before bare ampersands were escaped: an outline a fault touches is told, not imported.
        touched = any(line in _lines_of(elements, number) for line in faults)
        read = _read_outline(element, touched)
        if isinstance(read, OpmlFeed):
            feeds.append(read)
        elif read is not None:
            unusable.append(read)
    return feeds, unusable


def _parsed(path: Path) -> tuple[etree._Element, dict[int, list[str]]]:
    """The file's root element, and each line's faults (each said once) where it is not well-formed."""
    try:
        body = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error})") from None
    if b"<!ENTITY" in body:  # lxml's recovering parser expands internal entities even when told not to
        raise ConfigError(f"{path}: the file declares XML entities, which newsbot refuses to expand")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(_bare_ampersands_escaped(body), parser)
    except etree.XMLSyntaxError as error:
        raise ConfigError(f"{path}: this is not an OPML file ({error})") from None
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise ConfigError(f"{path}: this is not an OPML file (no <opml> root element)")
    if root.getroottree().docinfo.internalDTD is not None:  # the byte check above misses UTF-16
        raise ConfigError(f"{path}: the file declares XML entities, which newsbot refuses to expand")
    faults: dict[int, list[str]] = {}
    for fault in parser.error_log:
        if fault.message not in (said := faults.setdefault(fault.line, [])):
            said.append(fault.message)
    return root, faults


def _read_outline(outline: etree._Element, touched: bool) -> OpmlFeed | tuple[str, str] | None:
    """An outline's feed, or (its name, why it is not imported), or None for a folder."""
    # lxml gives attribute names and values as str; lxml-stubs says str | bytes.
    pairs = cast("list[tuple[str, str]]", outline.attrib.items())
    attributes = {etree.QName(key).localname.lower(): value.strip() for key, value in pairs}
    url = attributes.get("xmlurl")
    page = attributes.get("htmlurl") or attributes.get("url")
    name = _printable(attributes.get("title") or attributes.get("text") or "") or url or "an outline"
    if touched and not len(outline):  # a fault may have taken its xmlUrl: told, whatever is left of it
        return name, "not imported: the file is not well-formed XML where it stands (above)"
    feed_like = page or "xmlurl" in attributes or attributes.get("type", "").lower() in {"rss", "atom"}
    if not url and (len(outline) or not feed_like):
        return None  # a folder, empty or not
    if not url:
        return name, _no_feed_why(page, "xmlurl" in attributes)
    if not is_http_url(url):
        return name, f"'{url}' is not an http(s) feed URL"
    if any(ENV_REFERENCE.search(value) for value in (url, name, attributes.get("htmlurl", ""))):
        return name, REFERENCE_REFUSED
    return OpmlFeed(name=name, feed=url, site=attributes.get("htmlurl") or None)


def _bare_ampersands_escaped(body: bytes) -> bytes:
    """The commonest faults of a reader's export mended exactly: an `&` not written `&amp;` (`AT&T`,
    `?a=1&b=2`), and HTML's named characters, which XML does not know (`&nbsp;`, `&eacute;`), as
    numeric references. ASCII-compatible encodings only (an ampersand in UTF-16 is two bytes)."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body
    return _AMPERSAND.sub(_mended, body)


def _mended(reference: re.Match[bytes]) -> bytes:
    name = reference.group(1)
    if name is None:
        return b"&amp;"  # an ampersand that starts no reference
    if name in _XML_NAMED or name.startswith(b"#"):
        return reference.group(0)
    characters = html.entities.html5.get(name.decode("ascii") + ";")
    if characters is None:
        return b"&amp;" + name + b";"  # no character of HTML's either: the text as written
    return b"".join(b"&#%d;" % ord(character) for character in characters)


def _lines_of(elements: Sequence[etree._Element], number: int) -> range:
    """The lines an element's start tag may stand on: from the line the element before it ends on
    (it may begin there too) to its own (lxml's `sourceline` is where a start tag ends, so a tag over
    several lines begins earlier). A fault on a line two tags share is blamed on both."""
    end = cast("int", elements[number].sourceline)  # lxml-stubs: int | EllipsisType
    start = cast("int", elements[number - 1].sourceline) if number else 1
    return range(min(start, end), end + 1)


def _is_outline(element: etree._Element) -> bool:
    """An <outline>, whatever its case or namespace: `<opml xmlns="…">` and `<OUTLINE>` exports
    were read as holding no feed at all, and said "0 sources added, 0 skipped"."""
    return isinstance(element.tag, str) and etree.QName(element).localname.lower() == "outline"


def _printable(name: str) -> str:
    """An outline's name as one line of visible text: a control character (an escape sequence that
    recolours the terminal `status` prints to) is left out, and runs of whitespace are one space."""
    kept = "".join(character for character in name if unicodedata.category(character) not in _INVISIBLE)
    return " ".join(kept.split())


def _no_feed_why(page: str | None, empty_feed: bool) -> str:
    """Why an outline without a feed URL is not imported, and what the team can do instead."""
    if empty_feed:
        return "its xmlUrl is empty"
    if page and is_http_url(page):
        return f"it names a web page ({page}), not a feed: to watch it, add a source with site: {page}"
    return "it has no xmlUrl (a feed's address)"


def to_opml(feeds: Iterable[OpmlFeed], title: str) -> str:
    outlines = "\n".join(
        f'    <outline type="rss" text={quoteattr(feed.name)} title={quoteattr(feed.name)} '
        f"xmlUrl={quoteattr(feed.feed)}" + (f" htmlUrl={quoteattr(feed.site)}" if feed.site else "") + "/>"
        for feed in feeds
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
        f"  <head><title>{escape(title)}</title></head>\n  <body>\n{outlines}\n  </body>\n</opml>\n"
    )


def write_export(path: Path, text: str) -> None:
    """The export written to `path`, whole or not at all, and only over an earlier OPML file:
    `--output newsbot.yaml` (or the database) once replaced the config with OPML, and exited 0."""
    if path.exists():
        if not path.is_file():
            raise ConfigError(f"{path}: is not a regular file; name a file for the export")
        try:
            with path.open("rb") as existing:
                head = existing.read(1024)
        except OSError as error:
            raise ConfigError(f"{path}: cannot be read ({error.strerror}); nothing was written") from None
        if head and b"<opml" not in head.lower():  # an empty file (mktemp's) is no one's data
            raise ConfigError(
                f"{path}: exists and is not an OPML file; nothing was written (name a new file, or "
                "remove this one first)"
            )
    replace_checked(path, text, lambda written: None, what="the export")


def import_feeds(config_path: Path, feeds: Sequence[OpmlFeed], *, write: bool = True) -> ImportResult:
    """Append the feeds not yet configured to newsbot.yaml's `sources:`; validate before replacing."""
    config = load_config(config_path, require_env=False)
    names = {source.name for source in config.settings.sources}
    urls = {canonical_url(source.feed) for source in config.settings.sources if source.feed}
    result = ImportResult()
    for feed in feeds:
        if canonical_url(feed.feed) in urls:
            result.skipped.append((feed.name, "already configured"))
            continue
        name = _unique(feed.name, names)
        names.add(name)
        urls.add(canonical_url(feed.feed))
        result.added.append(OpmlFeed(name, feed.feed, feed.site))
    if result.added and write:
        text = read_config_text(config_path)  # the same bounded read load_config did
        _replace_validated(config_path, _with_sources(text, result.added, config_path))
    return result


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name} ({number})", number + 1
    return candidate


def _with_sources(text: str, feeds: Sequence[OpmlFeed], path: Path) -> str:
    """`text` with the feeds added as items of its `sources:` list, in the list's indentation and the
    file's own line ends (newsbot.configuration.watchlist_edit.block_list_end)."""
    try:
        end = block_list_end(text, yaml.compose(text, Loader=yaml.SafeLoader), "sources")
    except NotABlockListError as error:
        raise ConfigError(f"{path}:{error}") from None
    return end.before + _items(feeds, end.column, end.newline) + end.after


def _items(feeds: Sequence[OpmlFeed], indent: int, newline: str) -> str:
    block = yaml.safe_dump(
        [{"name": feed.name, "feed": feed.feed} for feed in feeds],
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1000,
    )
    return "".join(" " * indent + line + newline for line in block.splitlines())


def _replace_validated(path: Path, text: str) -> None:
    """Written beside the config, checked to load, then swapped in: a bad import never breaks cron.
    A problem is told at the config's own path, as the file would be after the import."""

    def loads(written: Path) -> None:
        try:
            load_config(written, require_env=False)
        except ConfigError as error:
            raise ConfigError(
                f"{str(error).replace(str(written), f'{path} (after the import)')}\nnothing was written to {path}"
            ) from None

    replace_checked(path, text, loads, what="the config")
