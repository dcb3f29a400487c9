"""pydantic validation whose errors name `file:line` and read as a sentence.

Shared by newsbot.yaml (newsbot.configuration.config) and the watchlists
(newsbot.configuration.watchlists): pydantic's error locations are mapped back to lines of the
file the user edits, and "extra" keys get a suggestion.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from newsbot.configuration.yamlfile import Location, YamlDocument
from newsbot.errors import ConfigError

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not be silently ignored); values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def validate(model: type[BaseModel], data: Any, document: YamlDocument, context: dict[str, Any] | None = None) -> Any:
    """`model` from `data`, or a ConfigError naming `file:line` of the first problem.

    `context` reaches the validators (see newsbot.configuration.slack_secrets.KEEP_REFERENCES).
    """
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(_describe(first, model, document)) from None


def _describe(error: Any, model: type[BaseModel], document: YamlDocument) -> str:
    """A sentence from pydantic's own parts — location, type and message — never from `str(error)`,
    which quotes the input value (a secret, perhaps): pydantic's `msg` does not."""
    location = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
    dotted = ".".join(str(part) for part in location) or "this file"
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(location[-1])
        allowed = _allowed_keys(model, location[:-1])
        hint = difflib.get_close_matches(key, allowed, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else f"; allowed keys: {', '.join(allowed)}"
        sentence = f"'{key}' is not a setting newsbot knows{suggestion}"
    elif kind == "missing":
        sentence = f"'{location[-1]}' is required but missing"
    elif kind == "enum":
        sentence = f"{dotted}: {error['msg'].replace('Input should be', 'must be')}"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        sentence = f"{dotted}: {message}"
    return f"{document.where(location)}: {sentence}"


def _allowed_keys(model: type[BaseModel], location: Location) -> list[str]:
    """Walk the model along `location` to list the keys valid at that place."""
    current: Any = model
    for part in location:
        if isinstance(part, int):
            continue
        field_info = current.model_fields.get(str(part)) if hasattr(current, "model_fields") else None
        if field_info is None:
            return []
        current = _model_inside(field_info.annotation)
    return list(current.model_fields) if hasattr(current, "model_fields") else []


def _model_inside(annotation: Any) -> Any:
    """The pydantic model in an annotation such as `list[SourceConfig]` or `SlackConfig | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        inner = _model_inside(argument)
        if inner is not None:
            return inner
    return None


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
