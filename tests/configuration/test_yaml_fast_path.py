"""newsbot.yaml and watchlists are read by libyaml first and by PyYAML's Python parser only when that
fails: both must make the same document of every file (values, lines, quotes), and a hostile file
must be stopped as early through libyaml as through Python."""

from __future__ import annotations

import collections
import random
from pathlib import Path

import pytest
import yaml

from newsbot.configuration import yamlfile
from newsbot.configuration.yamlfile import MAX_DEPTH, YamlDocument, load_yaml
from newsbot.errors import ConfigError

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPOSITORY / "examples").rglob("*.yaml"))

# What a team's editor or a generator writes, and what YAML allows that PyYAML and libyaml could
# each read their own way: block scalars and their chomping, folded plain text, escapes, anchors,
# flow collections, comments, CRLF, a BOM, tabs inside text, explicit keys, documents markers.
TRICKY = {
    "literal block": "description: |\n  Mitto AG\n    indented\n\n  after a blank line\nnext: x\n",
    "folded block, strip": "description: >-\n  one\n  two\n\n  three\n\n\nnext: y\n",
    "literal, keep": "description: |+\n  kept\n\n\nnext: z\n",
    "indentation indicator": "text: |2\n   three spaces\n  two\n",
    "folded plain": "name: a plain text\n  folded over\n  three lines\nother: 1\n",
    "double-quoted escapes": 'a: "tab\\there, \\u00e9, \\x41, \\N, \\_, \\/, \\"q\\""\nb: "line\\\n  joined"\n',
    "single-quoted": "a: 'it''s'\nb: 'folded\n  over'\n",
    "anchors and aliases": "base: &b {severity: high, channel: '#sec'}\nrules:\n  - *b\n  - <<: *b\n    x: 1\n",
    "flow collections": "vendors: [Mitto, 'Kaleyra', \"MessageBird\", {name: Orange, aliases: [FT]}]\n",
    "comments": "# top\na: 1 # after\n# between\nb:   # before a value\n  - x  # item\n",
    "crlf": "a: 1\r\nb:\r\n  - x\r\n  - y\r\n",
    "bom": "\ufeffa: 1\nb: two\n",
    "tabs inside quotes": "a: 'tab\there'\nb: \"and\there\"\n",
    "explicit keys": "? complex key\n: its value\n? another\n",
    "mappings inside brackets": "all: [?x, breach]\nany: [a: b, ? c : d]\n",
    "document markers": "---\na: 1\n...\n",
    "nulls and empties": "a:\nb: ~\nc: null\nd: ''\ne: []\nf: {}\n",
    "keywords kept as text": "a: NO\nb: On\nc: 1e3\nd: 0x1F\ne: 2026-12-05\n",
    "unicode": "name: Telefónica\nother: Мегафон\nemoji: '📡'\n",
    "long line": "a: " + "word " * 3000 + "\n",
    "nested deeply but allowed": "".join(f"{'  ' * level}k{level}:\n" for level in range(MAX_DEPTH - 1))
    + "  " * (MAX_DEPTH - 1)
    + "v\n",
    "empty file": "",
    "only a comment": "# nothing here\n",
}

# Where libyaml alone reads a file another way than PyYAML's parser, or takes one it refuses (each
# found by random edits of the examples): newsbot gives these to PyYAML's parser.
READ_APART = {
    "a tab after a colon": "a:\tvalue\n",  # refused by PyYAML (newsbot explains it), taken by libyaml
    "a byte-order mark inside": "a:\n\ufeffb: ~\n",  # two files concatenated, each saved with one
    "a question mark inside brackets": "aliases: [Mitto AG, Mitto?]\n",
    "a question mark inside braces": "vendor: {name: Or?ange}\n",
    "an empty explicit key inside brackets": "any: [a: b, ? , : d]\n",
    "an explicit tag": "all: [!vendors, breach]\n",
    "a comment glued to a block text": "a: |#note\n  text\n",
    "a comment glued after a byte-order mark": "\ufeff|# note\n here\n",
    "a comment glued after an anchor": "a: &x |#c\n  text\n",  # libyaml's mark is the anchor's, not the |'s
    "a comment glued below its anchor": "&a1\n  |#",
    "a comment glued to a directive": "%YAML 1.1#note\n---\na: 1\n",  # found by a review's generator
    "a comment glued to a directive, lines apart by U+2028": "%YAML 1.1#\u2028--- \u2028null: [x y,]\u2028",
    "an empty document": "---\n# nothing here",
}

Outcome = tuple[object, ...]


def _document(text: str, *, fast: bool) -> Outcome:
    """What load_yaml makes of `text`, read only by libyaml (fast) or only by PyYAML's parser."""
    path = Path("watchlist.yaml")
    compose = yamlfile._compose_fast if fast else lambda text: yamlfile._compose_explained(path, text)
    node = compose(text)
    document = YamlDocument(path=path, data=None)
    if node is not None:
        document.data = yamlfile._to_python(node, (), document)
    return document.data, document.lines, document.quoted


def _outcome(text: str, *, fast: bool) -> Outcome:
    try:
        return ("read", *_document(text, fast=fast))
    except (yaml.YAMLError, yamlfile._LimitError, yamlfile._ReadApartError, ConfigError):
        return ("refused",)


def _outcome_by(loader: type, text: str) -> Outcome:
    """PyYAML's own loader's reading, unbounded, made into newsbot's data the same way."""
    try:
        node = yaml.compose(text, Loader=loader)
        document = YamlDocument(path=Path("watchlist.yaml"), data=None)
        if node is not None:
            document.data = yamlfile._to_python(node, (), document)
    except (yaml.YAMLError, ConfigError):
        return ("refused",)
    return ("read", document.data, document.lines, document.quoted)


def _loaded(tmp_path: Path, text: str) -> Outcome:
    """What load_yaml itself makes of `text`: the path newsbot takes, whichever parser that is."""
    path = tmp_path / "watchlist.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        document = load_yaml(path)
    except ConfigError:
        return ("refused",)
    return ("read", document.data, document.lines, document.quoted)


def test_libyaml_is_the_parser_tried_first() -> None:
    assert yaml.__with_libyaml__, "PyYAML was built without libyaml: every file is read by Python"
    assert yamlfile._FastBoundedLoader is not None


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_newsbot_reads_tricky_yaml_as_pythons_parser_does(name: str, tmp_path: Path) -> None:
    text = TRICKY[name]
    assert _loaded(tmp_path, text) == _outcome(text, fast=False)


@pytest.mark.parametrize("name", sorted(READ_APART))
def test_what_the_parsers_read_apart_newsbot_reads_as_pythons_parser_does(name: str, tmp_path: Path) -> None:
    text = READ_APART[name]
    assert _loaded(tmp_path, text) == _outcome(text, fast=False)


@pytest.mark.parametrize("name", sorted(READ_APART))
def test_libyaml_alone_would_read_each_of_them_apart(name: str) -> None:
    """Why each rule is there: PyYAML's own libyaml loader, given the file, makes another document
    of it (values or lines) or takes what PyYAML's parser refuses."""
    text = READ_APART[name]
    assert _outcome_by(yaml.CSafeLoader, text) != _outcome_by(yaml.SafeLoader, text)
    assert _outcome_by(yaml.SafeLoader, text) == _outcome(text, fast=False)


def test_random_edits_load_as_pythons_parser_reads_them(tmp_path: Path) -> None:
    """Random edits (YAML's punctuation, quotes, indentation, tags, odd characters) of the examples
    and the tricky files: whatever newsbot reads, it reads as PyYAML's parser does, and it refuses
    what that parser refuses, so the watchlist tools (`tune --apply`, `vendors import`), which
    read with it, take every file `newsbot check` takes."""
    seeds = [path.read_text(encoding="utf-8") for path in EXAMPLES] + [text for text in TRICKY.values() if text]
    marks = [*" \n:-#[]{},\"'|>&*!%@`?\\\r\t", "é", "\x85", "\u2028", "\ufeff", "\n  ", "- ", ": ", "&a ", "*a "]
    marks += ["<<: ", "---\n", "\x07", "!!str ", "!t "]
    rng = random.Random(20261205)
    outcomes: collections.Counter[str] = collections.Counter()
    for _ in range(2000):
        text = rng.choice(seeds)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(text) + 1)
            cut = rng.choice((0, 0, 1, 2))
            text = text[:at] + rng.choice(marks) + text[at + cut :]
        loaded = _loaded(tmp_path, text)
        assert loaded == _outcome(text, fast=False), repr(text)
        outcomes[str(loaded[0])] += 1
    assert outcomes["read"] > 500
    assert outcomes["refused"] > 500


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_both_parsers_make_the_same_document_of_every_example(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = _document(text, fast=True)
    assert fast == _document(text, fast=False)
    assert fast[1], "the example should have lines to compare"


def test_a_file_libyaml_refuses_is_explained_as_pythons_parser_explains_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("vendors:\n  - name: Mitto\n   aliases: [Mitto AG\n", encoding="utf-8")
    with pytest.raises(yaml.YAMLError):
        yamlfile._compose_fast(path.read_text(encoding="utf-8"))
    with pytest.raises(ConfigError) as explained:
        load_yaml(path)
    with pytest.raises(ConfigError) as by_python:
        yamlfile._compose_explained(path, path.read_text(encoding="utf-8"))
    assert str(explained.value) == str(by_python.value)
    assert str(explained.value).startswith(f"{path}:3: this is not valid YAML")


def test_a_megabyte_of_open_brackets_is_refused_at_the_depth_limit(tmp_path: Path) -> None:
    """libyaml's scanner, like PyYAML's, slows down with the square of a run of `[`; it hands events
    over as it goes, so the bounded composer stops it at the limit instead of after the whole run."""
    path = tmp_path / "brackets.yaml"
    path.write_text("name: " + "[" * (yamlfile.MAX_FILE_BYTES - 10), encoding="utf-8")
    with pytest.raises(yamlfile._LimitError):
        yamlfile._compose_fast(path.read_text(encoding="utf-8"))
    with pytest.raises(ConfigError, match=f"^{path}:1: the values are nested more than {MAX_DEPTH} levels deep"):
        load_yaml(path)


def test_an_alias_to_its_own_value_is_refused_through_libyaml_at_its_line(tmp_path: Path) -> None:
    text = "a: &loop\n  - *loop\n"
    with pytest.raises(yamlfile._LimitError, match="refers to the value that contains it"):
        _document(text, fast=True)
    path = tmp_path / "loop.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{path}:2: the alias \\*loop refers to the value that contains it"):
        load_yaml(path)
