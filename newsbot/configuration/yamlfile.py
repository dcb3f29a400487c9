"""Read YAML the way a config editor expects, and remember where every value came from.

PyYAML's defaults are traps for a watchlist: `NO` becomes False, `On` becomes True, `1e3` a float,
and a duplicated key silently replaces the first. Here every scalar stays the text that was typed
(pydantic converts the few numeric or boolean settings), a duplicated key is an error, and each
value's line is kept so that a validation error can name `file:line`.

The files are trusted to be written by the team, not to be well-formed: a FIFO or a link to
/dev/zero must not hang a cron run, and PyYAML itself bounds nothing — a 627-byte "billion laughs"
document expands to gigabytes, a recursive alias or 1,000 levels of nesting overflow the stack.
So a file is read only if it is a regular file of at most MAX_FILE_BYTES, and composing it stops
at MAX_DEPTH levels and at MAX_VALUES values counted with every alias expanded. Composing is the
right place to count: PyYAML's composer shares one node among an anchor's aliases (cheap), and the
blow-up would happen only when that graph is walked into Python data (`_to_python`), which a
document over the limits never reaches.

libyaml (PyYAML's C parser) reads a file about ten times faster than PyYAML's own Python, and every
command reads newsbot.yaml first: loading one of 1,000 sources took 0.17 s with PyYAML's parser
and takes 0.04 s with libyaml's. Its events feed the same bounded composer, which stops a hostile
file as early (libyaml hands events over as it parses). A file that fails there is read again by
PyYAML's Python parser, whose error messages are the ones newsbot's sentences are written for, so
a broken file reads the same either way; so does a machine whose PyYAML was built without libyaml.

The two parsers disagree on a few files, found by random edits of the examples and a reviewer's
generated files (tests/configuration/test_yaml_fast_path.py): libyaml takes a tab after a colon, a
`?` inside brackets and a comment glued to a block text's `|` or to a `%YAML` directive, which
PyYAML refuses, and reads a mid-file byte-order mark (left by concatenated files) and some tags
into other documents. A file with any of these goes to PyYAML's parser (`_read_alike_by_libyaml`,
`_read_apart`), so newsbot reads every file as PyYAML's parser does, and refuses what it refuses:
the watchlist tools (`tune --apply`, `vendors import`), which edit with that parser, take every
file `newsbot check` takes. (An earlier round measured libyaml alone and left it out for that
reason: 83 of 12,000 random edits loaded under libyaml and failed under PyYAML.)
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from newsbot.configuration.yamlerrors import describe_yaml_error
from newsbot.errors import ConfigError, NewsbotError

Location = tuple[str | int, ...]

_NULLS = {"", "~", "null", "Null", "NULL"}
# PyYAML composes ~0.3 MB/s in pure Python (~90 MB of nodes per MB of YAML): 1 MiB is 10,000 sources
# or vendors, far beyond a real file, and still parsed in a few seconds.
MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 50  # newsbot's deepest setting is 5 levels down
MAX_VALUES = 100_000  # keys, values and items, each alias counted as everything it stands for
CHARS_PER_VALUE = 20  # … and long texts by their length: at most about 2 MB of text, expanded


@dataclass
class YamlDocument:
    """A parsed file: plain Python data plus the 1-based line of every key and list item."""

    path: Path
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)
    quoted: set[Location] = field(default_factory=set)  # scalars written in quotes

    def line_of(self, location: Location) -> int:
        """The line of the deepest part of `location` that exists in the file."""
        for end in range(len(location), -1, -1):
            line = self.lines.get(tuple(location[:end]))
            if line is not None:
                return line
        return 1

    def where(self, location: Location) -> str:
        return f"{self.path}:{self.line_of(location)}"


def load_yaml(path: Path) -> YamlDocument:
    """Parse one YAML file; raise ConfigError naming `file:line` on syntax errors, duplicates and bombs."""
    text = read_config_text(path)
    node, by_libyaml = None, _read_alike_by_libyaml(text)
    if by_libyaml:
        try:
            node = _compose_fast(text)
        except (yaml.YAMLError, _LimitError, _ReadApartError):
            by_libyaml = False  # out of the handler: libyaml's nodes are freed before PyYAML's parser starts
    if not by_libyaml:
        node = _compose_explained(path, text)
    document = YamlDocument(path=path, data=None)
    if node is not None:
        document.data = _to_python(node, (), document)
    return document


_GLUED_COMMENT = re.compile(r"[|>][-+0-9]*#")  # `|#note`, wherever an anchor or a comment put the `|`
_DIRECTIVE = re.compile("(?:^|[\n\r\x85\u2028\u2029])%")  # `%YAML 1.1#note`: taken by libyaml alone


def _read_alike_by_libyaml(text: str) -> bool:
    """Whether libyaml may read `text`: no character or construct where it parts from PyYAML's
    parser that only the text shows (the rest are found while composing: `_read_apart`)."""
    return (
        _FastBoundedLoader is not None
        and "\t" not in text
        and "\ufeff" not in text[1:]
        and _GLUED_COMMENT.search(text) is None
        and _DIRECTIVE.search(text) is None
    )


def _compose_fast(text: str) -> yaml.Node | None:
    """The document's nodes through libyaml: a YAMLError or _LimitError where it refuses them, a
    _ReadApartError where PyYAML's parser would read them otherwise."""
    assert _FastBoundedLoader is not None  # _read_alike_by_libyaml said so
    loader = _FastBoundedLoader(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
    finally:
        loader.dispose()
    return node


def _compose_explained(path: Path, text: str) -> yaml.Node | None:
    """The document's nodes through PyYAML's Python parser, or a ConfigError naming `file:line`."""
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)  # PyYAML's reader checks every character here
        node: yaml.Node | None = loader.get_single_node()
        return node
    except _LimitError as error:
        raise ConfigError(f"{path}:{error.line}: {error.sentence}") from None
    except yaml.MarkedYAMLError as error:
        line, sentence = describe_yaml_error(error, text)
        raise ConfigError(f"{path}:{line}: this is not valid YAML: {sentence}") from None
    except yaml.reader.ReaderError as error:  # a control character; its position is in characters
        line = text.count("\n", 0, error.position) + 1
        raise ConfigError(
            f"{path}:{line}: this is not valid YAML: it contains the control character #x{error.character:04x}"
        ) from None
    except ValueError:  # PyYAML's scanner hands a `\U` escape past Unicode's last character to chr()
        assert loader is not None  # the reader raises only ReaderError
        raise ConfigError(
            f"{path}:{loader.get_mark().line + 1}: this is not valid YAML: a '\\U' escape here names no "
            "character (the last is \\U0010FFFF)"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_config_text(path: Path) -> str:
    """The text of a regular file of at most MAX_FILE_BYTES, or a ConfigError saying why not.

    The type is checked before opening (opening a FIFO for reading blocks until a writer comes)
    and again on the open descriptor, in case the path was swapped in between; the read itself
    stops after the limit, so a file that grows or lies about its size cannot make it read more.
    """
    try:
        _refuse_unless_regular(path, os.stat(path))
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        with os.fdopen(descriptor, "rb") as file:
            _refuse_unless_regular(path, os.fstat(file.fileno()))
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(_too_large(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(f"{path}:{line}: the file is not UTF-8 text (byte {error.start})") from None


_NOT_FILES = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def _refuse_unless_regular(path: Path, status: os.stat_result) -> None:
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _NOT_FILES if test(status.st_mode)), "not a regular file")
        raise ConfigError(f"{path}: this is {kind}, not a file; point newsbot at a regular YAML file")
    if status.st_size > MAX_FILE_BYTES:
        raise ConfigError(_too_large(path))


def _too_large(path: Path) -> str:
    return f"{path}: the file is larger than {MAX_FILE_BYTES // 1024 // 1024} MB; newsbot refuses it"


class _LimitError(NewsbotError):
    """Raised while composing when the document is too deep, too large or refers to itself."""

    def __init__(self, line: int, sentence: str):
        super().__init__(sentence)
        self.line = line
        self.sentence = sentence


class _Bounded:
    """A composer that counts depth and values (aliases expanded) and refuses cycles; mixed into a
    loader before PyYAML's Composer.

    An anchored node's expanded size is known when it is complete (the running count after it,
    minus the count before it), so each alias use adds its target's size without expanding it.
    PyYAML refuses a duplicated anchor, so an anchor name identifies one node.
    """

    def _start_counting(self) -> None:
        self._depth = 0
        self._values = 0
        self._sizes: dict[str, int] = {}
        self._open: set[str] = set()  # anchors whose node is being composed: an alias to one is a cycle

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # A node starts here (an alias, a scalar or a collection), and a parsed event carries its mark;
        # types-PyYAML leaves peek_event unannotated and makes every mark optional.
        event: yaml.NodeEvent = self.peek_event()  # type: ignore[attr-defined]
        line = event.start_mark.line + 1  # type: ignore[union-attr]
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise _LimitError(line, f"the alias *{event.anchor} refers to the value that contains it (a loop)")
            node = super().compose_node(parent, index)  # type: ignore[misc]
            assert event.anchor is not None  # the parser names every alias
            self._count(self._sizes[event.anchor], line, event.anchor)
            return node  # type: ignore[no-any-return]
        if self._depth >= MAX_DEPTH:
            raise _LimitError(line, f"the values are nested more than {MAX_DEPTH} levels deep here")
        before = self._values
        self._count(_weight(event), line, None)
        anchor = event.anchor
        if anchor is not None:
            self._open.add(anchor)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1
            self._open.discard(anchor)
        if anchor is not None:
            self._sizes[anchor] = self._values - before
        return node  # type: ignore[no-any-return]

    def _count(self, values: int, line: int, alias: str | None) -> None:
        self._values += values
        if self._values <= MAX_VALUES:
            return
        if alias is None:
            raise _LimitError(line, f"this file has more than {MAX_VALUES:,} values; newsbot refuses it")
        raise _LimitError(
            line,
            f"the alias *{alias} makes this file expand to more than {MAX_VALUES:,} values "
            "(each alias counts as a copy of what it names); newsbot refuses it",
        )


class _BoundedLoader(_Bounded, yaml.SafeLoader):
    """PyYAML's Python parser, bounded: the loader whose errors newsbot explains."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._start_counting()

    def fetch_flow_collection_start(self, TokenClass: type) -> None:  # noqa: N803 — PyYAML's name
        """The scanner reads a run of `[[[[` whole before the composer sees the first (and slows down
        with the square of its length), so flow nesting is bounded here, as it is scanned."""
        if self.flow_level >= MAX_DEPTH:
            raise _LimitError(self.get_mark().line + 1, f"the values are nested more than {MAX_DEPTH} levels deep here")
        super().fetch_flow_collection_start(TokenClass)


def _fast_loader() -> type | None:
    """libyaml's parser under the same bounded composer (its own composer would bound nothing)."""
    try:
        from yaml._yaml import CParser
    except ImportError:  # PyYAML built without libyaml
        return None

    class FastBoundedLoader(_Bounded, yaml.composer.Composer, CParser, yaml.resolver.Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self._start_counting()
            self._text = stream.removeprefix("\ufeff")  # libyaml's marks count from after a byte-order mark

        def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
            event = self.peek_event()
            if _read_apart(event, parent):
                raise _ReadApartError
            node = super().compose_node(parent, index)
            if isinstance(event, yaml.AliasEvent) or node is None:  # an alias's node was checked at its anchor
                return node
            if _flow(node) and not _flow(parent) and self._text.find("?", *_span(node)) >= 0:
                raise _ReadApartError
            return node

    return FastBoundedLoader


class _ReadApartError(Exception):
    """libyaml met a construct that PyYAML's parser reads another way or refuses: PyYAML reads the file."""


def _read_apart(event: yaml.Event | None, parent: yaml.Node | None) -> bool:
    """Where the two parsers part ways at a node, besides a `?` inside brackets or braces (PyYAML
    refuses `aliases: [Mitto?]` and `[? , : d]`, libyaml takes them; checked once the outermost is
    read). Random edits of the examples found both: an explicit tag (`!vendors,` ends at the comma
    for libyaml, not for PyYAML); an empty document, whose line each parser counts its own way."""
    if getattr(event, "tag", None) is not None:
        return True
    return isinstance(event, yaml.ScalarEvent) and not event.style and parent is None and not event.value


def _flow(node: yaml.Node | None) -> bool:
    """Whether `node` is a collection written in brackets or braces."""
    return bool(getattr(node, "flow_style", False))


def _span(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.index, node.end_mark.index


_FastBoundedLoader = _fast_loader()


def _weight(event: yaml.Event) -> int:
    """A value counts once, and a long text once more for every CHARS_PER_VALUE characters: an
    alias of a long text repeated many times is as much work to check and match as many values."""
    return 1 + len(event.value) // CHARS_PER_VALUE if isinstance(event, yaml.ScalarEvent) else 1


def _to_python(node: yaml.Node, location: Location, document: YamlDocument) -> Any:
    document.lines.setdefault(location, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(f"{document.path}:{key_node.start_mark.line + 1}: a key must be plain text")
            key = key_node.value
            if key in mapping:
                first = document.lines[(*location, key)]
                raise ConfigError(
                    f"{document.path}:{key_node.start_mark.line + 1}: the key '{key}' appears "
                    f"twice (first on line {first}); remove one of them"
                )
            document.lines[(*location, key)] = key_node.start_mark.line + 1
            mapping[key] = _to_python(value_node, (*location, key), document)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*location, index), document) for index, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)  # the composer makes only these three kinds of node
    scalar = node.value
    if not node.style and scalar in _NULLS:  # plain: PyYAML's style None, libyaml's ""
        return None
    if node.style in ("'", '"'):
        document.quoted.add(location)
    return scalar
