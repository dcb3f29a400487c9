"""pydantic validation whose errors name `file:line` and read as a sentence.

Shared by newsbot.yaml (newsbot.configuration.config) and the watchlists
(newsbot.configuration.watchlists): pydantic's error locations are mapped back to lines of the
file the user edits, and "extra" keys get a suggestion.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from newsbot.configuration.keys import file_location, unknown_key_sentence
from newsbot.configuration.yamlfile import Location, YamlDocument
from newsbot.errors import ConfigError

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BOUNDS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}  # "must be less than …"
# pydantic's words for a value of the wrong kind ("Input should be a valid dictionary or instance of
# RuleConfig", "String should match pattern '\S'") in the words of the YAML the team wrote.
_WANTED = {
    "dict_type": "must be a mapping (key: value lines)",
    "model_type": "must be a mapping (key: value lines)",
    "model_attributes_type": "must be a mapping (key: value lines)",
    "list_type": "must be a list ([a, b], or one '- item' a line)",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
}
_CONTAINERS = frozenset({"dict_type", "model_type", "model_attributes_type", "list_type"})
_CONSTRAINED = {"string_too_short": "must not be empty", "string_pattern_mismatch": "must not be blank"}


def holds_control_character(text: str) -> bool:
    """Whether `text` holds a control character that is not whitespace: a name or word with one (an
    escape in double quotes, an OPML export's escape sequence) never matches, and recolours a
    terminal. Whitespace controls (a tab, \f, \x85) read as spaces, as in a story's text."""
    return any(unicodedata.category(character) == "Cc" and not character.isspace() for character in text)


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not be silently ignored); values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def validate(
    model: type[BaseModel],
    data: Any,
    document: YamlDocument,
    context: dict[str, Any] | None = None,
    other_files: Sequence[tuple[type[BaseModel], str]] = (),
) -> Any:
    """`model` from `data`, or a ConfigError naming `file:line` of the first problem.

    `context` reaches the validators (see newsbot.configuration.slack_secrets.KEEP_REFERENCES);
    `other_files` are the models of other files (and what to call them), for a key put in the wrong file.
    """
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        first = _first_to_report(model, error.errors())
        raise ConfigError(_describe(first, model, document, other_files)) from None


def _first_to_report(model: type[BaseModel], errors: Sequence[Any]) -> Any:
    """The error that says most about the first problem.

    A misspelt key is two errors to pydantic when the right one is required (`watchlist:` is an
    unknown key beside the missing `watchlists`): the unknown key says what to fix. A mapping where
    a union allows a text or a model (`{wrod: x}` for `{word: x}`) is one error per member, the
    text's first: the model's own errors inside it, the unknown key first, say what to fix.
    """
    first = errors[0]
    location = file_location(model, first["loc"])
    if first["type"] == "missing":
        return next(
            (
                error
                for error in errors
                if error["type"] == "extra_forbidden" and file_location(model, error["loc"])[:-1] == location[:-1]
            ),
            first,
        )
    inside = [
        error
        for error in errors
        if len(deeper := file_location(model, error["loc"])) > len(location) and deeper[: len(location)] == location
    ]
    ranked = sorted(inside, key=lambda error: {"extra_forbidden": 0, "missing": 1}.get(error["type"], 2))
    return ranked[0] if ranked else first


def _describe(
    error: Any, model: type[BaseModel], document: YamlDocument, other_files: Sequence[tuple[type[BaseModel], str]]
) -> str:
    """A sentence from pydantic's own parts — location, type and message — never from `str(error)`,
    which quotes the input value (a secret, perhaps): pydantic's `msg` does not."""
    location = file_location(model, error["loc"])
    dotted = ".".join(str(part) for part in location) or "this file"
    kind = error["type"]
    if kind == "extra_forbidden":
        sentence = unknown_key_sentence(model, location, other_files)
    elif kind == "missing":
        sentence = f"'{location[-1]}' is required but missing"
    elif kind in {"enum", "literal_error"} | _BOUNDS:
        sentence = f"{dotted}: {error['msg'].replace('Input should be', 'must be')}"
    elif kind in _WANTED:
        sentence = f"{dotted}: {_WANTED[kind]}{_not_what_was_written(error['input'], kind in _CONTAINERS)}"
    elif kind in _CONSTRAINED:
        sentence = f"{dotted}: {_CONSTRAINED[kind]}"
    elif kind == "too_short":
        least = error["ctx"]["min_length"]
        sentence = f"{dotted}: needs at least {least} item{'s' if least != 1 else ''}"
    elif kind == "string_too_long":
        sentence = f"{dotted}: must be at most {error['ctx']['max_length']} characters long"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        sentence = f"{dotted}: {message}"
    return f"{document.where(location)}: {sentence}"


def _not_what_was_written(value: Any, container_wanted: bool) -> str:
    """ ", not a list" where the file holds a list, a mapping or nothing, so that `vendors: Orange`
    says what is there. The loader reads every scalar as text (`near: 2.5` too), so a scalar is "a
    single value" where a list or mapping was wanted, and not named otherwise; nor is the value
    itself ever quoted (a secret, perhaps)."""
    if value is None:
        return ", not empty"
    if isinstance(value, list | dict):
        return ", not a list" if isinstance(value, list) else ", not a mapping"
    return ", not a single value" if container_wanted else ""


def expand_environment(document: YamlDocument, value: Any, location: Location, *, require_env: bool) -> Any:
    """`${VAR}` in any string value becomes the environment variable's value; an unset one is an
    error naming `file:line` (or stays as written when `require_env` is False, e.g. for `explain`)."""
    if isinstance(value, dict):
        return {
            key: expand_environment(document, item, (*location, key), require_env=require_env)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            expand_environment(document, item, (*location, index), require_env=require_env)
            for index, item in enumerate(value)
        ]
    if not isinstance(value, str):
        return value

    def substitute(reference: re.Match[str]) -> str:
        name = reference.group(1)
        if name in os.environ:
            return os.environ[name]
        if require_env:
            raise ConfigError(
                f"{document.where(location)}: {'.'.join(map(str, location))} uses ${{{name}}}, "
                f"but the environment variable {name} is not set"
            )
        return reference.group(0)

    return ENV_REFERENCE.sub(substitute, value)
