"""Which setting a user meant by a key newsbot does not know at that place.

A key is wrong in one of two ways: misspelt (`watchlist:`, `Sources:`, `full-text:`), or right but
in the wrong place (`timeout_seconds:` at the top level instead of under `fetch:`, `stale_after_hours:`
under `slack:` instead of `health:`, a watchlist's `vendors:` pasted into newsbot.yaml). Both are
answered with "did you mean": the spelling with the known key it is closest to at that place, the
place with every place the key is known, found by walking the pydantic models the file is validated
with. A key spelt exactly as one known elsewhere is taken to be in the wrong place, even when a key
at its place looks a little like it.

pydantic's error locations also name the member of a union that failed (`constrained-str`,
`InlineWord`); `file_location` drops those, so that a location is the path of keys in the file.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel

from newsbot.configuration.yamlfile import Location

ITEM = 0  # a list item, in a place's path
ENTRY = "*"  # a mapping's entry whose key the user names (a topic), in a place's path
CLOSE_HERE = 0.6  # difflib's default: a misspelling of a key known at this place
CLOSE_ELSEWHERE = 0.8  # stricter: a key known elsewhere must look much alike to be suggested
_ITEMS = {"sources": "a source", "vendors": "a vendor", "rules": "a rule"}


def file_location(model: type[BaseModel], location: Sequence[str | int]) -> Location:
    """pydantic's error location as the path of keys in the file: without union members' names."""
    path: list[str | int] = []
    annotation: Any = model
    for part in location:
        annotation = _unwrap(annotation)
        if isinstance(part, str) and part.startswith("function-"):
            continue
        members = [member for member in _union_members(annotation) if member is not type(None)]
        if len(members) > 1:  # pydantic names the member it tried: a tag, not a key
            annotation = next((m for m in members if getattr(m, "__name__", None) == part), str)
            continue
        annotation = _step(annotation, part)
        path.append(part)
    return tuple(path)


# PyYAML's safe loader would merge; newsbot's composer, bounded against YAML bombs, does not.
MERGE_KEY_SENTENCE = (
    "'<<: *anchor' (a YAML merge key) is not read: newsbot takes anchors and aliases of whole values "
    "(`aliases: *common`), not merges into a mapping; write the settings out here"
)


def unknown_key_sentence(
    model: type[BaseModel], location: Location, other_files: Sequence[tuple[type[BaseModel], str]] = ()
) -> str:
    """Why the key at `location` is refused, with the key the user most likely meant."""
    if location[-1] == "<<":
        return MERGE_KEY_SENTENCE
    return _unknown_key_sentence(model, location, other_files)


def _unknown_key_sentence(
    model: type[BaseModel], location: Location, other_files: Sequence[tuple[type[BaseModel], str]]
) -> str:
    key, here = str(location[-1]), _pattern(model, location[:-1])
    known_here = _fields(_model_at(model, location[:-1]))
    places = _places(model)
    wanted = _normal(key)
    exact_here = [name for name in known_here if _normal(name) == wanted]
    if exact_here:
        return f"'{key}' is not a setting newsbot knows; did you mean '{exact_here[0]}'?"
    elsewhere = [(name, place) for name, place in places if _normal(name) == wanted and place != here]
    if elsewhere:
        return _elsewhere_sentence(key, here, [place for _, place in elsewhere], "")
    for other, file_name in other_files:
        found = [place for name, place in _places(other) if _normal(name) == wanted]
        if found:
            return (
                f"'{key}' is not a setting {_phrase(here)} of this file; did you mean it {_phrase(found[0])} "
                f"of {file_name}?"
            )
    here_name, here_score = _closest(wanted, known_here, CLOSE_HERE)
    other_names = sorted({name for name, place in places if place != here})
    other_name, other_score = _closest(wanted, other_names, CLOSE_ELSEWHERE)
    if other_name and other_score > here_score:
        found = [place for name, place in places if name == other_name]
        return _elsewhere_sentence(key, here, found, f"'{other_name}'")
    if here_name:
        return f"'{key}' is not a setting newsbot knows; did you mean '{here_name}'?"
    return f"'{key}' is not a setting newsbot knows {_phrase(here)}; the settings there are: {', '.join(known_here)}"


def _elsewhere_sentence(key: str, here: Location, places: list[Location], spelt: str) -> str:
    """`spelt` is empty when the key is spelt right, else the right spelling, quoted."""
    where = _or(list(dict.fromkeys(_phrase(place) for place in places)))
    return f"'{key}' is not a setting {_phrase(here)}; did you mean {spelt or 'it'} {where}?"


def _closest(wanted: str, names: Sequence[str], cutoff: float) -> tuple[str | None, float]:
    by_normal = {_normal(name): name for name in names}
    close = difflib.get_close_matches(wanted, list(by_normal), n=1, cutoff=cutoff)
    if not close:
        return None, 0.0
    return by_normal[close[0]], difflib.SequenceMatcher(None, wanted, close[0]).ratio()


def _normal(key: str) -> str:
    """`Full-Text`, `full text` and `full_text` are one key."""
    return key.casefold().replace("-", "_").replace(" ", "_")


def _phrase(place: Location) -> str:
    """A place in words: 'at the top level', 'under slack:', 'in a source', "in an item of a rule's any: list"."""
    if not place:
        return "at the top level"
    if len(place) == 2 and place[1] == ITEM and place[0] in _ITEMS:
        return f"in {_ITEMS[str(place[0])]}"
    if all(isinstance(part, str) and part != ENTRY for part in place):
        return f"under {'.'.join(map(str, place))}:"
    owner = next((part for part in place if part in _ITEMS), None)
    keys = ".".join(str(part) for part in place if isinstance(part, str) and part not in (ENTRY, owner))
    return f"in an item of {_ITEMS[str(owner)]}'s {keys}: list" if owner else f"in an item of {keys}:"


def _or(phrases: list[str]) -> str:
    """'in an item of a rule's all: list or … any: list or … none: list' said once: '… all:, any: or none: list'."""
    shared = re.compile(r"(in an item of .+'s )(\S+:)( list)")
    found = [shared.fullmatch(phrase) for phrase in phrases]
    if len(phrases) > 1 and all(found) and len({match.group(1) for match in found if match}) == 1:
        lists = [match.group(2) for match in found if match]
        first = found[0]
        assert first is not None
        return f"{first.group(1)}{', '.join(lists[:-1])} or {lists[-1]}{first.group(3)}"
    return " or ".join(phrases)


def _pattern(model: type[BaseModel], location: Location) -> Location:
    """A location in the file as a place: list positions and user-named entries (a topic) made alike."""
    pattern: list[str | int] = []
    annotation: Any = model
    for part in location:
        annotation = _unwrap(annotation)
        members = [member for member in _union_members(annotation) if member is not type(None)]
        container = typing.get_origin(_unwrap(members[0]) if len(members) == 1 else annotation)
        pattern.append(ITEM if isinstance(part, int) else ENTRY if container is dict else part)
        annotation = _step(annotation, part)
    return tuple(pattern)


def _places(model: type[BaseModel]) -> list[tuple[str, Location]]:
    """Every (key, place) the model knows, outermost first."""
    return list(_walk(model, ()))


def _walk(model: type[BaseModel], place: Location) -> Iterator[tuple[str, Location]]:
    for name, field in model.model_fields.items():
        yield name, place
        for inner, inner_place in _models_in(field.annotation, (*place, name)):
            yield from _walk(inner, inner_place)


def _models_in(annotation: Any, place: Location) -> Iterator[tuple[type[BaseModel], Location]]:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, place
        return
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and arguments:
        yield from _models_in(arguments[0], (*place, ITEM))
    elif origin is dict and len(arguments) == 2:
        yield from _models_in(arguments[1], (*place, ENTRY))
    else:
        for member in _union_members(annotation):
            yield from _models_in(member, place)


def _model_at(model: type[BaseModel], location: Location) -> Any:
    annotation: Any = model
    for part in location:
        annotation = _step(_unwrap(annotation), part)
    annotation = _unwrap(annotation)
    members = [m for m in _union_members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]
    return members[0] if members else annotation


def _step(annotation: Any, part: str | int) -> Any:
    """The annotation one key or list position further in."""
    members = [m for m in _union_members(annotation) if m is not type(None)]
    if len(members) == 1:
        annotation = _unwrap(members[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field else None
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and arguments:
        return arguments[0]
    if origin is dict and len(arguments) == 2:
        return arguments[1]
    return None


def _fields(model: Any) -> list[str]:
    return list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _unwrap(annotation: Any) -> Any:
    """`Annotated[X, …]` is X."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(_unwrap(member) for member in typing.get_args(annotation))
    return ()
