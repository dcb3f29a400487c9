"""Small edits to a watchlist file as text, so that everything else in it stays byte for byte.

A round-trip YAML library re-flows the multi-line flow lists teams write (`context: [a, b,` on two
lines becomes one line), so an edit is made where PyYAML's nodes say the value is: a word added
before a flow list's `]`, a `- item` line after a block list's last, a `key: [value]` line after
a mapping's last value, a number put in place of another. The caller checks the result by loading
it (newsbot.configuration.watchlists) before it replaces the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from newsbot.errors import ConfigError

_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._'&-]*$")  # one word; phrases are quoted, as teams write them


class EditError(ConfigError):
    """The edit cannot be made as text (the file's shape is not one newsbot writes); nothing changed."""


def add_to_vendor_list(text: str, vendor: str, key: str, values: Sequence[str]) -> str:
    """`values` appended to the vendor's list `key` (exclude, context, aliases…), made if missing."""
    mapping = _item_named(text, "vendors", vendor)
    return _add_to_list(text, mapping, key, values)


def set_rule_value(text: str, rule: str, key: str, value: int) -> str:
    """The rule's scalar `key` (near) set to `value`, replaced in place or added as a line."""
    mapping = _item_named(text, "rules", rule)
    for key_node, value_node in mapping.value:
        if key_node.value == key:
            if not isinstance(value_node, yaml.ScalarNode):
                raise EditError(f"rule '{rule}': {key}: is not a single value")
            return text[: value_node.start_mark.index] + str(value) + text[value_node.end_mark.index :]
    return _add_line(text, mapping, f"{key}: {value}")


def _item_named(text: str, section: str, name: str) -> yaml.MappingNode:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise EditError("the watchlist is not a mapping")
    items = next((value for key, value in root.value if key.value == section), None)
    if not isinstance(items, yaml.SequenceNode):
        raise EditError(f"the watchlist has no {section}: list")
    for item in items.value:
        if isinstance(item, yaml.MappingNode) and any(
            key.value == "name" and isinstance(value, yaml.ScalarNode) and value.value == name
            for key, value in item.value
        ):
            if item.flow_style:
                raise EditError(f"'{name}' is written on one line ({{name: …}}); edit it by hand")
            return item
    raise EditError(f"the watchlist has no entry named '{name}' in {section}:")


def _add_to_list(text: str, mapping: yaml.MappingNode, key: str, values: Sequence[str]) -> str:
    written = [_scalar(value) for value in values]
    for key_node, value_node in mapping.value:
        if key_node.value != key:
            continue
        if not isinstance(value_node, yaml.SequenceNode):
            raise EditError(f"{key}: is not a list")
        if value_node.flow_style:
            close = value_node.end_mark.index - 1  # the `]`
            separator = ", " if value_node.value else ""
            return text[:close] + separator + ", ".join(written) + text[close:]
        if not value_node.value:
            raise EditError(f"{key}: is an empty block list")
        dash = value_node.value[-1].start_mark.column - 2
        lines = [f"{' ' * dash}- {value}" for value in written]
        return insert_lines(text, after_content(text, value_node, dash), lines)
    return _add_line(text, mapping, f"{key}: [{', '.join(written)}]")


def _add_line(text: str, mapping: yaml.MappingNode, line: str) -> str:
    column = mapping.value[0][0].start_mark.column
    return insert_lines(text, after_content(text, mapping, column - 1), [" " * column + line])


_EXPLICIT_NULLS = {"~", "null", "Null", "NULL"}


class NotABlockListError(EditError):
    """The key holds something new items cannot be added to as lines: a flow list with items, a value."""

    def __init__(self, key: str, line: int):
        super().__init__(
            f"{line}: {key}: is not a block list newsbot can add to; write it as a list of `- name: …` items and "
            "import again"
        )


@dataclass(frozen=True)
class ListEnd:
    """Where new items of a file's top-level block list go, as text: `before` them and `after`."""

    before: str  # with the key added when the file had none, and an empty list's `[]` or `~` dropped
    after: str
    column: int  # of each new item's dash
    key_offset: int  # from the dash to an item's keys (2 when the list holds no mapping yet)
    newline: str  # the file's own line end


def block_list_end(text: str, root: yaml.Node | None, key: str) -> ListEnd:
    """Where items go in the list `key` names in `text` (composed as `root`): after the last item's
    content (a comment below the list heads what follows it), below the key of an empty list (whose
    comment stays on the key's line), or under the key added at the end. Both imports (`vendors
    import`, `sources import`) add their items here. NotABlockListError when it is not a block list."""
    newline = "\r\n" if "\r\n" in text else "\n"
    mapping = root if isinstance(root, yaml.MappingNode) else None
    entry = next(((name, value) for name, value in mapping.value if name.value == key), None) if mapping else None
    if entry is None:
        column = mapping.start_mark.column if mapping else 0
        ended = text if not text or text.endswith("\n") else text + newline
        return ListEnd(ended + " " * column + f"{key}:{newline}", "", column + 2, 2, newline)
    name, value = entry
    if isinstance(value, yaml.SequenceNode) and value.value and not value.flow_style:
        first = value.value[0]
        column = dash_column(text, value)
        offset = first.start_mark.column - column if isinstance(first, yaml.MappingNode) else 2
        cut = after_content(text, value.value[-1], column)
        before = text[:cut] if cut < len(text) or text.endswith("\n") else text + newline
        return ListEnd(before, text[cut:], column, max(offset, 2), newline)
    empty_list = isinstance(value, yaml.SequenceNode) and not value.value
    if empty_list or (isinstance(value, yaml.ScalarNode) and value.value in {"", *_EXPLICIT_NULLS}):
        if empty_list or value.value in _EXPLICIT_NULLS:  # `key: []` or `key: ~` → `key:`
            text = text[: value.start_mark.index].rstrip(" ") + text[value.end_mark.index :]
        lines = text.splitlines(keepends=True)
        cut = sum(len(line) for line in lines[: name.start_mark.line + 1])
        before = text[:cut] if text[:cut].endswith("\n") else text[:cut] + newline
        return ListEnd(before, text[cut:], name.start_mark.column + 2, 2, newline)
    raise NotABlockListError(key, value.start_mark.line + 1)


def dash_column(text: str, sequence: yaml.SequenceNode) -> int:
    """The column of a non-empty block list's `-`. The list's own start mark is at its anchor or tag when
    it has one (`sources: &listed`), which once put new items at that column: invalid YAML."""
    first = sequence.value[0]
    line = text.splitlines()[first.start_mark.line]
    dash = line.rfind("-", 0, first.start_mark.column)
    return dash if dash >= 0 else sequence.start_mark.column


def insert_lines(text: str, at: int, lines: Sequence[str]) -> str:
    """`lines` put in at offset `at` (a line's start, or the end of a file without a last newline),
    each ended with the file's own newline."""
    newline = "\r\n" if "\r\n" in text else "\n"
    before = text[:at] if not at or text[:at].endswith("\n") else text[:at] + newline
    return before + "".join(line + newline for line in lines) + text[at:]


def after_content(text: str, node: yaml.Node, column: int) -> int:
    """The offset just after what `node` holds: its last line of content, with that line's comment, and
    the comment lines below it indented deeper than `column` (they belong to it; shallower ones to
    what follows). Both `vendors import` and `tune --apply` insert lines there."""
    end = _content_end(node)
    lines = text.splitlines(keepends=True)
    last = end.line if end.column > 0 else end.line - 1
    while last + 1 < len(lines):
        following = lines[last + 1]
        stripped = following.lstrip(" ")
        if not (stripped.startswith("#") and len(following) - len(stripped) > column):
            break
        last += 1
    return sum(len(line) for line in lines[: last + 1])


def _content_end(node: yaml.Node) -> yaml.Mark:
    """The mark after the last thing written in `node`. A block collection's own end mark lies after
    the comments and blank lines that follow it, and an empty value's mark at the next token: both
    are skipped in favour of the last key or value actually written."""
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style:
        parts = [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else node.value
        ends = [_content_end(part) for part in parts if not _is_blank(part)]
        return max(ends, key=lambda mark: mark.index)
    end: yaml.Mark = node.end_mark
    return end


def _is_blank(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.value == "" and node.style is None


def _scalar(value: str) -> str:
    return value if _PLAIN.match(value) else json.dumps(value, ensure_ascii=False)
