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
