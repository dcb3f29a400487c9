"""`newsbot vendors import`: a vendor-risk register's suppliers, added to a watchlist file the team edits.

The file is the team's, so what they wrote stays byte for byte: the new vendors are a block of text
spliced in after the last vendor, in the list's own indentation. PyYAML's nodes say where that
is (newsbot.configuration.watchlist_edit, which `tune --apply` uses too), and ruamel.yaml's
dumper writes the block (quoting names such as "a: b" or "null" as YAML needs). Dumping the whole
document again, as round-trip mode offers, is not byte for byte: on examples/watchlists/telecom-threats.yaml
it joins every multi-line flow list into one line and rewrites `{regex: …}` items, 17 lines in all.

Deciding (`plan_import`: which rows are new vendors, which forms each gets, which need a guard) is
apart from editing the text (`_with_vendors`) and from writing it (`_replace_validated`).
The result is validated as a watchlist — and checked to say what the file said plus exactly the new
vendors — before it replaces the file; any problem leaves the file as it was.
"""

from __future__ import annotations

import difflib
import io
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from newsbot.configuration.commonwords import unguarded_common_words
from newsbot.configuration.replace import ReplaceError, replace_checked
from newsbot.configuration.ruleitems import VENDORS
from newsbot.configuration.validation import ENV_REFERENCE
from newsbot.configuration.vendor_register import (
    Register,
    VendorImportError,
    common_name,
    domain_name,
    read_register,
)
from newsbot.configuration.watchlist_edit import ListEnd, NotABlockListError, block_list_end
from newsbot.configuration.watchlists import (
    VendorConfig,
    Watchlist,
    WatchlistConfig,
    is_watchlist_name,
    load_watchlist,
    watchlist_files,
)
from newsbot.configuration.yamlfile import load_yaml, read_config_text
from newsbot.errors import ConfigError

# A new watchlist needs a rule to be valid; this one is the common case, for the team to edit.
STARTER = """\
# {name}: vendors imported from {register} by `newsbot vendors import`.
# The topic and rule below are a starting point: edit them, then run `newsbot check`.
{name_line}
vendors: []
topics:
  breach: [breach, "data breach", hacked, leaked, ransomware, "unauthorized access", cyberattack]
rules:
  - name: vendor-breach
    all: [vendors, breach]      # some vendor AND some breach term
    severity: high
"""


@dataclass(frozen=True)
class NewVendor:
    """A vendor to add, the register line it came from, and its forms that are common English words
    counting alone (newsbot.configuration.commonwords, the check `newsbot check` warns with)."""

    line: int
    vendor: VendorConfig
    common_words: tuple[str, ...] = ()

    def check(self) -> str | None:
        """The sentence a team reads above the vendor in the file, when it needs a guard."""
        if not self.common_words:
            return None
        quoted = " and ".join(f"'{word}'" for word in self.common_words)
        noun = "a common English word" if len(self.common_words) == 1 else "common English words"
        verb = "is" if len(self.common_words) == 1 else "are"
        return f"check: {quoted} {verb} {noun}; add context: words or case_sensitive: true"


@dataclass
class ImportPlan:
    added: list[NewVendor] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (`file:line name`, why)
    notes: list[str] = field(default_factory=list)  # about vendors added: a domain left out, another watchlist
    problems: list[str] = field(default_factory=list)  # rows that stop the import


@dataclass
class VendorImport:
    """What an import did (or, in a dry run, would do) to the watchlist file."""

    watchlist: Path
    plan: ImportPlan
    ignored_columns: list[str]
    created: bool
    diff: str
    lines: dict[str, int]  # an added vendor's name → its line in the new file


def import_register(register_path: Path, watchlist_path: Path, *, write: bool) -> VendorImport:
    """Add the register's new vendors to the watchlist; with `write=False`, only say what would change."""
    if not is_watchlist_name(watchlist_path):
        # It was written, "1 vendor added" said, and no run ever read it (newsbot.configuration.watchlists).
        raise VendorImportError(
            f"{watchlist_path}: a run reads only watchlist files whose names end .yaml or .yml and do not "
            "begin with a dot; name the file so, in the folder newsbot.yaml's watchlists: names"
        )
    register = read_register(register_path)
    neighbours = _neighbours(watchlist_path)
    existed = watchlist_path.exists()
    if existed:
        text, current = read_config_text(watchlist_path), _current(watchlist_path)
    else:
        text, current = _starter(watchlist_path, register_path, neighbours), None
    plan = plan_import(register, current.vendors if current else [])
    problems = register.problems + plan.problems
    if problems:
        raise VendorImportError("\n".join([*problems, f"nothing was written to {watchlist_path}"]))
    plan.notes += _also_watched(plan.added, neighbours, register)
    new_text, lines = _with_vendors(text, plan.added, watchlist_path) if plan.added else (text, {})
    if plan.added:
        expected = [*(current.vendors if current else []), *(new.vendor for new in plan.added)]
        if write:
            _replace_validated(watchlist_path, new_text, current, expected)
        else:
            with tempfile.TemporaryDirectory() as folder:
                written = Path(folder) / watchlist_path.name
                written.write_text(new_text, encoding="utf-8", newline="")
                _validate(written, watchlist_path, current, expected)
    diff = difflib.unified_diff(
        text.splitlines(keepends=True) if existed else [],
        new_text.splitlines(keepends=True),
        fromfile=str(watchlist_path) if existed else "/dev/null",
        tofile=str(watchlist_path),
    )
    created = not existed and bool(plan.added)
    return VendorImport(watchlist_path, plan, register.ignored_columns, created, "".join(diff), lines)


def _current(path: Path) -> WatchlistConfig | None:
    """The watchlist as it is, or None for one that lists no vendors and is invalid: a rule that uses
    `vendors` needs one, and they may be what it lacks (the result is validated in any case)."""
    try:
        return load_watchlist(path, require_env=False).config
    except ConfigError:
        data = load_yaml(path).data
        if isinstance(data, dict) and not data.get(VENDORS):
            return None
        raise


def plan_import(register: Register, existing: Sequence[VendorConfig]) -> ImportPlan:
    """Which rows become vendors, with which forms. A row is a vendor already listed when one of its
    forms (name, name without the legal suffix, aliases, domain) names a listed vendor, in any case:
    one of its forms, or its name without the suffix. A later row is the same as an earlier one alike."""
    owners: dict[str, tuple[str, int | None]] = {}  # a casefolded form → (vendor name, register line if new)
    for vendor in existing:
        for form in (*vendor.forms(), common_name(vendor.name)):
            owners.setdefault(form.casefold(), (vendor.name, None))
    plan = ImportPlan()
    for row in register.rows:
        where = register.where(row.line)
        if not row.name:
            plan.skipped.append((where, "the name cell is empty"))
            continue
        if any(ENV_REFERENCE.search(cell) for cell in (row.name, *row.aliases, row.domain, *row.context)):
            # A watchlist expands `${VAR}` in every value: `explain` would print cron's secret as a vendor.
            why = "a cell holds a ${VARIABLE}, which the watchlist would fill from the environment"
            plan.skipped.append((f"{where} {row.name}", why))
            continue
        domain = domain_name(row.domain) if row.domain else None
        if row.domain and domain is None:
            plan.notes.append(f"{where} {row.name}: '{row.domain}' is not a domain name; left out")
        settings = _settings(row.name, row.aliases, domain, row.context)
        forms = [settings["name"], *settings.get("aliases", []), *settings.get("unambiguous", [])]
        taken = next((form for form in forms if form.casefold() in owners), None)
        if taken is not None:
            plan.skipped.append((f"{where} {row.name}", _already(taken, *owners[taken.casefold()], register)))
            continue
        try:
            config = VendorConfig(**settings)
        except ValidationError as error:
            plan.problems.append(f"{where}: {_sentence(error)}")
            continue
        words = tuple(form for form, _ in unguarded_common_words(config))
        plan.added.append(NewVendor(line=row.line, vendor=config, common_words=words))
        for form in config.forms():
            owners.setdefault(form.casefold(), (config.name, row.line))
    return plan


def _settings(name: str, aliases: Sequence[str], domain: str | None, context: Sequence[str]) -> dict[str, Any]:
    """A vendor's settings: the name without its legal suffix and the domain become forms; with
    context words, the legal name and the domain count alone (as `unambiguous:`), since they name
    nothing but the company."""
    short = common_name(name)
    unambiguous = [form for form in (name if short != name else None, domain) if form] if context else []
    candidates = [short, *aliases, *([domain] if domain and not context else [])]
    kept: dict[str, str] = {}  # the first spelling of each form
    for alias in candidates:
        if alias.casefold() != name.casefold():
            kept.setdefault(alias.casefold(), alias)
    settings: dict[str, Any] = {"name": name}
    for key, values in (("aliases", list(kept.values())), ("context", list(context)), ("unambiguous", unambiguous)):
        if values:
            settings[key] = values
    return settings


def _already(form: str, owner: str, line: int | None, register: Register) -> str:
    if line is not None:
        return f"the same vendor as {register.where(line)} ('{owner}')"
    if form.casefold() == owner.casefold():
        return f"already listed as '{owner}'"
    return f"already in the watchlist: '{form}' names '{owner}'"


def _sentence(error: ValidationError) -> str:
    """pydantic's first complaint about a row, naming the register column and the value's start."""
    first = error.errors()[0]
    column = {"unambiguous": "name or domain"}.get(str(first["loc"][0]), str(first["loc"][0]))
    value = str(first.get("input", ""))
    shown = value if len(value) <= 40 else f"{value[:40]}…"
    return f"the {column} '{shown}' cannot be used: {str(first['msg']).lower()}"


def _neighbours(path: Path) -> list[Watchlist]:
    """The other watchlists in the file's folder (all of them alert, each on its own)."""
    found = []
    for other in watchlist_files(path.parent):
        if other.name == path.name:
            continue
        try:
            found.append(load_watchlist(other, require_env=False))
        except ConfigError:
            continue  # a broken neighbour is `newsbot check`'s to report
    return found


def _also_watched(added: Sequence[NewVendor], neighbours: Sequence[Watchlist], register: Register) -> list[str]:
    """A vendor watched by two watchlists alerts twice: worth a note, not a refusal (their rules may differ)."""
    notes = []
    for new in added:
        forms = {form.casefold() for form in new.vendor.forms()}
        for watchlist in neighbours:
            for vendor in watchlist.config.vendors:
                if forms & {form.casefold() for form in vendor.forms()}:
                    notes.append(
                        f"{register.where(new.line)} {new.vendor.name}: also watched by {watchlist.path.name} "
                        f"as '{vendor.name}': a story about it alerts once in each watchlist"
                    )
    return notes


def _starter(path: Path, register_path: Path, neighbours: Sequence[Watchlist]) -> str:
    """A new watchlist's text: a name no other watchlist in its folder has, a starter topic and rule."""
    if not path.parent.is_dir():
        raise ConfigError(f"{path}: the folder {path.parent} does not exist")
    words = " ".join(path.stem.replace("-", " ").replace("_", " ").split()) or "Suppliers"
    name = words[:1].upper() + words[1:]
    if name in {watchlist.config.name for watchlist in neighbours}:
        name = f"{name} (imported)"
    register = " ".join(register_path.name.split())  # a file name with a line break must not end the comment
    return STARTER.format(name=name, register=register, name_line=_dump({"name": name}, 2).rstrip("\n"))


def _with_vendors(text: str, vendors: Sequence[NewVendor], path: Path) -> tuple[str, dict[str, int]]:
    """`text` with the vendors' block inserted, and the line each vendor's `- name:` lands on."""
    end = _insertion(text, path)
    line = end.before.count("\n") + 1
    block, lines = [], {}
    for new, item in zip(vendors, _items(vendors, end.key_offset), strict=True):
        check = new.check()
        item_lines = ([f"# {check}\n"] if check else []) + item.splitlines(keepends=True)
        lines[new.vendor.name] = line + (1 if check else 0)
        line += len(item_lines)
        block += [" " * end.column + item_line.replace("\n", end.newline) for item_line in item_lines]
    return end.before + "".join(block) + end.after, lines


def _insertion(text: str, path: Path) -> ListEnd:
    """Where the new vendors go in the watchlist's `vendors:` list."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise VendorImportError(f"{path}: cannot read this file to edit it ({error})") from None
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise VendorImportError(f"{path}:1: the watchlist is not a block mapping newsbot can add vendors to")
    try:
        return block_list_end(text, root, VENDORS)
    except NotABlockListError as error:
        raise VendorImportError(f"{path}:{error}") from None


def _items(vendors: Sequence[NewVendor], key_offset: int) -> list[str]:
    """Each vendor as a list item at column 0, lists in flow style as a team writes them. One dump for
    all (ruamel.yaml takes a millisecond to set up each), cut where an item's dash starts a line."""
    sequence = CommentedSeq()
    for new in vendors:
        item = CommentedMap()
        for key, value in new.vendor.model_dump(exclude_defaults=True).items():
            item[key] = _flow(value) if isinstance(value, list) else value
        sequence.append(item)
    items: list[str] = []
    for line in _dump(sequence, key_offset).splitlines(keepends=True):
        if line.startswith("-"):
            items.append("")
        items[-1] += line
    return items


def _flow(values: list[str]) -> CommentedSeq:
    sequence = CommentedSeq(values)
    sequence.fa.set_flow_style()
    return sequence


def _dump(data: object, key_offset: int) -> str:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=key_offset, offset=0)
    yaml.width = 4096  # one line per list, as the team's files have them
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def _replace_validated(
    path: Path, text: str, current: WatchlistConfig | None, expected: Sequence[VendorConfig]
) -> None:
    try:
        replace_checked(path, text, lambda written: _validate(written, path, current, expected), what="the watchlist")
    except ReplaceError as error:
        raise VendorImportError(str(error)) from None


def _validate(written: Path, path: Path, current: WatchlistConfig | None, expected: Sequence[VendorConfig]) -> None:
    """Load `written` as newsbot will; it must be valid and say what `current` said plus the new vendors."""
    try:
        loaded = load_watchlist(written, require_env=False).config
    except ConfigError as error:
        message = str(error).replace(str(written), f"{path} (after the import)")
        raise VendorImportError(f"{message}\nnothing was written to {path}") from None
    unchanged = current is None or loaded.model_copy(update={VENDORS: current.vendors}) == current
    if list(loaded.vendors) != list(expected) or not unchanged:
        raise VendorImportError(
            f"{path}: adding the vendors as text would change what the file says elsewhere; "
            "nothing was written: add them by hand"
        )
