"""Read YAML the way a config editor expects, and remember where every value came from.

PyYAML's defaults are traps for a watchlist: `NO` becomes False, `On` becomes True, `1e3` a float,
and a duplicated key silently replaces the first. Here every scalar stays the text that was typed
(pydantic converts the few numeric or boolean settings), a duplicated key is an error, and each
value's line is kept so that a validation error can name `file:line`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from newsbot.errors import ConfigError

Location = tuple[str | int, ...]

_NULLS = {"", "~", "null", "Null", "NULL"}


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
    """Parse one YAML file; raise ConfigError naming `file:line` on syntax errors and duplicates."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read ({error})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        problem = error.problem or error.context or "invalid YAML"
        raise ConfigError(f"{path}:{line}: this is not valid YAML: {problem}") from None
    document = YamlDocument(path=path, data=None)
    if node is not None:
        document.data = _to_python(node, (), document)
    return document


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
    scalar = node.value
    if node.style is None and scalar in _NULLS:
        return None
    if node.style in ("'", '"'):
        document.quoted.add(location)
    return scalar
