"""PyYAML's syntax errors as sentences a config editor can act on, at the line to fix.

PyYAML says what its parser expected (`expected <block end>, but found '<block sequence start>'`,
`mapping values are not allowed here`), which names its own tokens, not the mistake. The mistakes
behind them are few: a tab used to indent, a key or list item not lined up with its neighbours, a
key indented under a key that already has a value, a ': ' inside an unquoted value, a line with no
':' at all, a quote or bracket left open. Each is recognised here from PyYAML's message, its marks
and the text of the lines around them, and said in words with the line where the fix goes (for an
unclosed quote that is where it opened, not the end of the file where PyYAML noticed).

The sentences quote keys, never values: a YAML error comes before newsbot knows which values are
secrets (a webhook URL with an unclosed quote must not be echoed into a cron mail).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import yaml

_KEY = re.compile(r"(?:-\s+)*([^\s#'\"\[\]{},:][^:#]*?|'[^']*'|\"[^\"]*\")\s*:(?:\s|$)")
_CLOSERS = {"]": "[", "}": "{"}
_FALLBACK = (
    "YAML cannot read this line; check that it is indented with spaces like the keys it belongs with, "
    "and that every quote and bracket opened above it is closed"
)


@dataclass(frozen=True)
class _Error:
    """The parts of a PyYAML error that say where, plus the file's lines."""

    problem: str
    context: str
    line: int  # 0-based, of the problem
    column: int
    context_line: int | None
    lines: list[str]

    def text(self, line: int) -> str:
        return self.lines[line] if 0 <= line < len(self.lines) else ""


def describe_yaml_error(error: yaml.MarkedYAMLError, text: str) -> tuple[int, str]:
    """(1-based line to fix, sentence) for a syntax error PyYAML raised while reading `text`."""
    mark = error.problem_mark or error.context_mark
    parts = _Error(
        problem=error.problem or "",
        context=error.context or "",
        line=mark.line if mark else 0,
        column=mark.column if mark else 0,
        context_line=error.context_mark.line if error.context_mark else None,
        lines=text.splitlines(),
    )
    for recognise in _RECOGNISERS:
        found = recognise(parts)
        if found is not None:
            line, sentence = found
            return line + 1, sentence
    return parts.line + 1, _FALLBACK


def _tab(error: _Error) -> tuple[int, str] | None:
    if "'\\t'" not in error.problem:
        return None
    before = error.text(error.line)[: error.column]
    if before.strip() == "":
        return error.line, "this line is indented with a tab; YAML indents with spaces only: replace it with spaces"
    return error.line, "there is a tab where YAML allows only spaces (after ':' or '-'): replace the tab with a space"


def _reserved_character(error: _Error) -> tuple[int, str] | None:
    found = re.fullmatch(r"found character '(.)' that cannot start any token", error.problem)
    if found is None:
        return None
    character = found.group(1)
    return error.line, f"a value cannot start with '{character}' (YAML reserves it): put the value in quotes"


def _unclosed_quote(error: _Error) -> tuple[int, str] | None:
    if "quoted scalar" not in error.context or "end of stream" not in error.problem:
        return None
    opened = error.context_line if error.context_line is not None else error.line
    return opened, "a quote opened on this line is never closed: add the closing quote at the end of the value"


def _unknown_escape(error: _Error) -> tuple[int, str] | None:
    found = re.fullmatch(r"found unknown escape character '(.*)'", error.problem)
    if found is None:
        return None
    return error.line, (
        f"'\\{found.group(1)}' is not an escape YAML knows inside double quotes; "
        "write the value in single quotes to keep backslashes as typed"
    )


def _unclosed_bracket(error: _Error) -> tuple[int, str] | None:
    found = re.fullmatch(r"expected ',' or '([\]}])', but got .*", error.problem)
    if found is None:
        return None
    closer = found.group(1)
    opened = error.context_line if error.context_line is not None else error.line
    return opened, (
        f"the '{_CLOSERS[closer]}' opened on this line is still open on line {error.line + 1}: "
        f"close it with '{closer}' (and separate its items with ',')"
    )


def _dash_in_brackets(error: _Error) -> tuple[int, str] | None:
    if "flow node" not in error.context or "found '-'" not in error.problem:
        return None
    return error.line, "a '- ' list item inside [brackets]: inside brackets, items are separated by commas"


def _stray_closer(error: _Error) -> tuple[int, str] | None:
    found = re.fullmatch(r"expected (?:the node content|<block end>), but found '([\]}])'", error.problem)
    if found is None:
        return None
    closer = found.group(1)
    return error.line, f"a '{closer}' that closes no '{_CLOSERS[closer]}': remove it, or put the value in quotes"


def _colon_in_value(error: _Error) -> tuple[int, str] | None:
    if error.problem != "mapping values are not allowed here":
        return None
    line = error.text(error.line)
    key = _KEY.match(line.lstrip())
    if key is None or len(line) - len(line.lstrip()) + key.end() > error.column + 1:
        return None
    return error.line, (
        f"the value of '{_key_name(key)}' contains ': ', which YAML reads as a second key on the same line: "
        "put the value in quotes"
    )


def _key_under_value(error: _Error) -> tuple[int, str] | None:
    """`watchlists: watchlists/` then `  max_age_days: 3`: the second looks like a child of the first."""
    if error.problem != "mapping values are not allowed here":
        return None
    above = _previous_content_line(error, error.line)
    if above is None:
        return None
    line, parent = error.text(error.line), error.text(above)
    key, parent_key = _KEY.match(line.lstrip()), _KEY.match(parent.lstrip())
    if key is None:
        return None
    if parent_key is None:
        return above, (
            f"this line has no 'key:' (a ':' followed by a space), so YAML reads it and line {error.line + 1} as one "
            "text: write it as 'key: value', or indent it under the key whose value it continues"
        )
    column, name = _indent(parent) + parent_key.start(1), _key_name(parent_key)
    return error.line, (
        f"'{_key_name(key)}:' is indented under '{name}:' (line {above + 1}), which already has a value: "
        f"indent it {_spaces(column)}, like '{name}:', or, if it belongs inside, remove that value"
    )


def _no_colon(error: _Error) -> tuple[int, str] | None:
    if "could not find expected ':'" not in error.problem:
        return None
    line = error.context_line if error.context_line is not None else error.line
    return line, (
        "this line has no 'key:' (a ':' followed by a space) and is not a '- ' list item: write it as 'key: value', "
        "or indent it under the key whose value it continues"
    )


def _item_out_of_line(error: _Error) -> tuple[int, str] | None:
    item_found = "found '-'" in error.problem or "sequence start" in error.problem
    if "<block end>" not in error.problem or not item_found:
        return None
    column = _indent(error.text(error.line))
    for above in range(error.line - 1, -1, -1):
        candidate = error.text(above)
        if candidate.lstrip().startswith("-") and _indent(candidate) != column and _is_content(candidate):
            return error.line, (
                f"this list item is indented {_spaces(column)} but the item on line {above + 1} "
                f"{_spaces(_indent(candidate))}: indent the items of one list alike"
            )
        if _is_content(candidate) and _indent(candidate) <= column and not candidate.lstrip().startswith("-"):
            return error.line, (
                f"this list item is indented {_spaces(column)}, like the keys above it (line {above + 1}): a list "
                "needs a key of its own ('key:' on the line above it), or indent it under the key it belongs to"
            )
    return None


def _dash_without_space(error: _Error) -> tuple[int, str] | None:
    if "<block end>" not in error.problem:
        return None
    stripped = error.text(error.line).lstrip()
    if not re.match(r"-[^\s-]", stripped):
        return None
    return error.line, "a list item needs a space after its '-' ('- name', not '-name')"


def _text_after_closing(error: _Error) -> tuple[int, str] | None:
    """`x: "a" b` or `x: [a]b`: more after a quoted or bracketed value; or a quote that closes one left open above."""
    if "found '<scalar>'" not in error.problem:
        return None
    line = error.text(error.line)
    before = line[: error.column].rstrip()
    if not before or before[-1] not in "\"']}":
        return None
    closer = before[-1]
    if closer in "\"'" and before.count(closer) % 2 == 1:
        opened = _line_opening_quote(error, closer)
        if opened is not None:
            return opened, (
                f"the quote ({closer}) opened on this line is closed only on line {error.line + 1}: "
                "close it on this line"
            )
    if closer == "'":
        return error.line, (
            "there is text after the closing quote of this value: to write ' inside single quotes, double it "
            "('it''s'), or quote the value with double quotes"
        )
    return error.line, "there is text after the closing quote or bracket of this value: put the whole value in quotes"


def _key_out_of_line(error: _Error) -> tuple[int, str] | None:
    """A key whose indentation matches no level open above it (PyYAML: `expected <block end>, but found '?'`)."""
    if "<block end>" not in error.problem:
        return None
    line = error.text(error.line)
    key = _KEY.match(line.lstrip())
    if key is None:
        return None
    levels = _open_levels(error, error.line)
    choices = " or ".join(f"{_spaces(spaces)}, like '{name}:' on line {number}" for spaces, name, number in levels)
    where = f"; indent it {choices}" if choices else "; indent it like the keys it belongs with"
    return error.line, (
        f"'{_key_name(key)}:' is indented {_spaces(_indent(line))}, which lines it up with no key above it{where}"
    )


def _undefined_alias(error: _Error) -> tuple[int, str] | None:
    found = re.fullmatch(r"found undefined alias '(.*)'", error.problem)
    if found is None:
        return None
    name = found.group(1)
    return error.line, (
        f"'*{name}' refers to an anchor '&{name}' that is not defined above it; "
        "a value that starts with '*' must be put in quotes"
    )


def _alias_or_anchor_name(error: _Error) -> tuple[int, str] | None:
    if error.context not in ("while scanning an alias", "while scanning an anchor"):
        return None
    sign = "*" if "alias" in error.context else "&"
    return error.line, f"a '{sign}' must be followed by a name here; a value starting with '{sign}' must be in quotes"


def _second_document(error: _Error) -> tuple[int, str] | None:
    if "another document" not in error.problem:
        return None
    return error.line, "a second YAML document starts here ('---'); newsbot reads one document: remove the '---' line"


def _duplicate_anchor(error: _Error) -> tuple[int, str] | None:
    found = re.match(r"found duplicate anchor '(.*)'", error.context)
    if found is None:
        return None
    first = (error.context_line or 0) + 1
    return error.line, f"the anchor '&{found.group(1)}' is defined twice (first on line {first}): rename one"


def _block_scalar_header(error: _Error) -> tuple[int, str] | None:
    if error.context != "while scanning a block scalar":
        return None
    return error.line, "after '|' or '>' only '+', '-' or a digit may follow on the same line; start the text below it"


_Recogniser = Callable[[_Error], tuple[int, str] | None]
_RECOGNISERS: tuple[_Recogniser, ...] = (
    _tab,
    _reserved_character,
    _unclosed_quote,
    _unknown_escape,
    _unclosed_bracket,
    _dash_in_brackets,
    _stray_closer,
    _colon_in_value,
    _key_under_value,
    _no_colon,
    _dash_without_space,
    _item_out_of_line,
    _text_after_closing,
    _key_out_of_line,
    _undefined_alias,
    _alias_or_anchor_name,
    _second_document,
    _duplicate_anchor,
    _block_scalar_header,
)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _previous_content_line(error: _Error, line: int) -> int | None:
    return next((above for above in range(line - 1, -1, -1) if _is_content(error.text(above))), None)


def _key_name(found: re.Match[str]) -> str:
    return found.group(1).strip().strip("'\"")


def _open_levels(error: _Error, line: int) -> list[tuple[int, str, int]]:
    """(indentation, key, 1-based line) of each key a line below them could line up with, innermost first:
    walking up, every line indented less than all those after it opens a level."""
    levels: list[tuple[int, str, int]] = []
    deepest = None
    for above in range(line - 1, -1, -1):
        text = error.text(above)
        if not _is_content(text):
            continue
        indent = _indent(text)
        if deepest is not None and indent >= deepest:
            continue
        deepest = indent
        stripped = text.lstrip()
        key = _KEY.match(stripped)
        if key is None:
            continue
        column = indent + key.start(1)  # `- name: a` holds its keys at the column of `name`
        if not levels or column < levels[-1][0]:
            levels.append((column, _key_name(key), above + 1))
    return levels


def _line_opening_quote(error: _Error, quote: str) -> int | None:
    """The line above the error with an odd number of `quote` characters: where a quote was left open."""
    for above in range(error.line - 1, -1, -1):
        if error.text(above).count(quote) % 2 == 1:
            return above
    return None
