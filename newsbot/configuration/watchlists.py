"""Watchlist files: what the team edits, validated so that a mistake fails loudly with `file:line`.

A rule item names `vendors`, a topic of the watchlist, or a word to find (see
newsbot.configuration.ruleitems for how it is told, and why a typo of a topic stays an error).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from newsbot.configuration.ruleitems import VENDORS, resolve_rule_items
from newsbot.configuration.slack_secrets import (
    KEEP_REFERENCES,
    WebhookUrl,
    redacting,
    secret_values,
    secret_variables,
)
from newsbot.configuration.validation import Strict, expand_environment, holds_control_character, validate
from newsbot.configuration.yamlfile import Location, YamlDocument, load_yaml
from newsbot.errors import ConfigError
from newsbot.matching.termindex import regex_problem
from newsbot.matching.textfold import fold, leaves_something
from newsbot.models import Severity

FIELDS: tuple[FieldName, ...] = ("title", "summary", "text")

# Names, aliases and keywords are a few words; bounding them keeps a stray paste (or a hostile file)
# from making every story's matching slow: one 60,000-character term took `check` 25 s.
MAX_TERM_CHARS = 200
MAX_PATTERN_CHARS = 1_000  # a regex, with its alternatives
MAX_EXAMPLE_CHARS = 20_000  # an example is a story's text, or a part of it


def _visible(term: str) -> str:
    if "\b" in term:  # before the folding below: a backspace is invisible, and folding drops it
        raise ValueError(
            "contains a backspace, which is what YAML makes of \\b in double quotes; names, aliases and "
            "words match whole words already, so write it without \\b (or in single quotes for a regex)"
        )
    if holds_control_character(term):
        raise ValueError(
            "contains a control character (an escape such as \\a or \\x00 in double quotes?), which no text "
            "holds: take it out"
        )
    if not leaves_something(term):
        raise ValueError(
            "is nothing matching can use once folded (invisible characters such as a zero-width space or "
            "a soft hyphen, dashes, symbols): it would never match"
        )
    return term


Text = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TERM_CHARS, pattern=r"\S"), AfterValidator(_visible)
]
Pattern = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PATTERN_CHARS, pattern=r"\S")]
ExampleText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_EXAMPLE_CHARS, pattern=r"\S")]
FieldName = Literal["title", "summary", "text"]


class RegexTerm(Strict):
    regex: Pattern


class InlineWord(Strict):
    word: Text


TopicTerm = Text | RegexTerm
RuleItem = Text | InlineWord


class VendorConfig(Strict):
    """A supplier to watch. With `context:`, its name and every alias count only beside a context word;
    the forms listed in `unambiguous:` (such as "MessageBird" beside the alias "Bird") count alone."""

    name: Text
    aliases: list[Text] = Field(default_factory=list)
    context: list[Text] = Field(default_factory=list)
    near: int | None = Field(default=None, gt=0)
    unambiguous: list[Text] = Field(default_factory=list)
    exclude: list[Text] = Field(default_factory=list)
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _guard_needs_context(self) -> VendorConfig:
        if self.near is not None and not self.context:
            raise ValueError(f"vendor '{self.name}' sets near: but has no context: words to be near")
        if self.unambiguous and not self.context:
            raise ValueError(
                f"vendor '{self.name}' lists unambiguous: forms but has no context: words; "
                "without context: every form already counts alone"
            )
        return self

    def forms(self) -> list[str]:
        """Every way a story can name this vendor: name, aliases, then unambiguous forms not listed before
        (in any case: `unambiguous: [messagebird]` is the name MessageBird, not a second form). With
        `case_sensitive:` case tells forms apart: `Three` with `THREE` as an alias or unambiguous form
        finds both, where the second was dropped and "THREE HACKED" found nothing."""
        forms: dict[str, str] = {}
        for form in (self.name, *self.aliases, *self.unambiguous):
            forms.setdefault(self._key(form), form)
        return list(forms.values())

    def counts_alone(self, form: str) -> bool:
        """Whether `form` names the vendor without a context word."""
        return not self.context or self._key(form) in {self._key(term) for term in self.unambiguous}

    def _key(self, form: str) -> str:
        return form if self.case_sensitive else form.casefold()


class RuleConfig(Strict):
    name: Text
    all: list[RuleItem] = Field(default_factory=list)
    any: list[RuleItem] = Field(default_factory=list)
    none: list[RuleItem] = Field(default_factory=list)
    near: int | None = Field(default=None, gt=0)
    fields: list[FieldName] = Field(default_factory=lambda: list(FIELDS), min_length=1)
    severity: Severity = Severity.MEDIUM
    channel: Text | None = None

    @model_validator(mode="after")
    def _has_positive_condition(self) -> RuleConfig:
        if not self.all and not self.any:
            raise ValueError(f"rule '{self.name}' needs an 'all:' or 'any:' list to match anything")
        return self


class ExamplesConfig(Strict):
    match: list[ExampleText] = Field(default_factory=list)
    no_match: list[ExampleText] = Field(default_factory=list)


class WatchlistConfig(Strict):
    name: Text
    channel: Text | None = None  # bot token: this watchlist's channel
    webhook_url: WebhookUrl | None = None  # webhook mode: this watchlist's own webhook
    vendors: list[VendorConfig] = Field(default_factory=list)
    topics: dict[str, list[TopicTerm]] = Field(default_factory=dict)
    rules: list[RuleConfig] = Field(min_length=1)
    examples: ExamplesConfig = Field(default_factory=ExamplesConfig)


@dataclass(frozen=True)
class Watchlist:
    """A validated watchlist and the file it came from (for messages and warnings)."""

    path: Path
    config: WatchlistConfig
    document: YamlDocument | None = None  # None for a watchlist built in code
    warnings: tuple[str, ...] = ()

    def where(self, location: Location) -> str:
        """`file:line` of a place in this watchlist's file."""
        return self.document.where(location) if self.document else f"{self.path}:1"


def load_watchlists(
    folder: Path, *, where: str, require_env: bool = True, config_secrets: frozenset[str] = frozenset()
) -> tuple[Watchlist, ...]:
    if folder.is_file():
        raise ConfigError(f"{where}: {folder} is a file; watchlists: names the folder that holds the watchlist files")
    if not folder.is_dir():
        raise ConfigError(f"{where}: the watchlist folder {folder} does not exist")
    if not os.access(folder, os.R_OK | os.X_OK):  # glob finds nothing in a folder it cannot list
        raise ConfigError(f"{where}: the watchlist folder {folder} cannot be read (permission denied)")
    files = watchlist_files(folder)
    if not files:
        raise ConfigError(f"{where}: the watchlist folder {folder} has no *.yaml files")
    watchlists = tuple(load_watchlist(file, require_env=require_env, config_secrets=config_secrets) for file in files)
    seen: dict[str, Path] = {}
    for watchlist in watchlists:
        name = watchlist.config.name
        if name in seen:
            raise ConfigError(f"{watchlist.where(('name',))}: the watchlist name '{name}' is also used by {seen[name]}")
        seen[name] = watchlist.path
    return watchlists


def watchlist_files(folder: Path) -> list[Path]:
    """The folder's *.yaml and *.yml files but hidden ones: an editor keeps its lock (Emacs's dangling
    `.#name.yaml` link) or swap copy beside the file being edited, and one of those once failed every
    cron run for as long as someone had the watchlist open."""
    return sorted(path for path in folder.glob("*") if is_watchlist_name(path))


def is_watchlist_name(path: Path) -> bool:
    """Whether a run reads a file of this name in the watchlist folder: `*.yaml` or `*.yml`, not hidden."""
    return path.suffix in {".yaml", ".yml"} and not path.name.startswith(".")


def files_not_read(folder: Path) -> list[str]:
    """Warnings for what looks like a watchlist in the folder and is not read: a file in a subfolder
    (`watchlists/team-a/x.yaml`) or with its extension in capitals (`X.YAML`). `check` said OK, and
    their rules never ran. Hidden files and folders are an editor's or a tool's, and are left alone."""
    read = set(watchlist_files(folder))
    looks_like = (
        path
        for path in sorted(folder.rglob("*"))
        if path.suffix.lower() in {".yaml", ".yml"}
        and path not in read
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
    return [
        f"{path} is not read: only the watchlist folder's own files ending .yaml or .yml are watchlists "
        f"({'move it up into ' + str(folder) if path.parent != folder else 'rename it with a lower-case extension'} "
        "to use it)"
        for path in looks_like
    ]


def load_watchlist(path: Path, *, require_env: bool = True, config_secrets: frozenset[str] = frozenset()) -> Watchlist:
    """One watchlist file; `config_secrets`: the config's Slack secrets' variables, which no value
    here may name but a secret's own (newsbot.configuration.slack_secrets.secret_variables)."""
    document = load_yaml(path)
    if not isinstance(document.data, dict):
        raise ConfigError(f"{path}:1: a watchlist must be a mapping with name:, vendors:, topics:, rules:")
    resolved, warnings = resolve_rule_items(document)
    secret_variables(document, resolved, config_secrets)
    data = expand_environment(document, resolved, (), require_env=require_env)
    with redacting(secret_values(data)):
        config = validate(WatchlistConfig, data, document, {KEEP_REFERENCES: not require_env})
        _check_names(config, document)
        _check_rule_items(config, document)
        _check_regexes(config, document)
    warnings += _regexes_folding_defeats(config, document) + _never_matching(config, document)
    return Watchlist(path=path, config=config, document=document, warnings=tuple(warnings))


def rule_items(rule: RuleConfig) -> list[tuple[str, int, RuleItem]]:
    """(list name, position, item) for every item of a rule's all/any/none lists."""
    return [
        (kind, position, item) for kind in ("all", "any", "none") for position, item in enumerate(getattr(rule, kind))
    ]


def _check_names(config: WatchlistConfig, document: YamlDocument) -> None:
    if VENDORS in config.topics:
        _fail(document, ("topics", VENDORS), f"'{VENDORS}' is reserved for the vendor list; rename that topic")
    vendor_names: dict[str, str] = {}
    for index, vendor in enumerate(config.vendors):
        key = vendor.name.casefold()
        if key in vendor_names:
            _fail(
                document,
                ("vendors", index, "name"),
                f"the vendor '{vendor.name}' is listed twice (also as '{vendor_names[key]}'); "
                "merge their aliases into one entry",
            )
        vendor_names[key] = vendor.name
    rule_names: set[str] = set()
    for index, rule in enumerate(config.rules):
        if rule.name in rule_names:
            _fail(
                document,
                ("rules", index, "name"),
                f"two rules are named '{rule.name}'; rule names must be unique",
            )
        rule_names.add(rule.name)


def _check_rule_items(config: WatchlistConfig, document: YamlDocument) -> None:
    """Topic names and words were told apart before validation; `vendors` needs vendors."""
    for index, rule in enumerate(config.rules):
        for kind, position, item in rule_items(rule):
            if item == VENDORS and not config.vendors:
                _fail(
                    document,
                    ("rules", index, kind, position),
                    f"rule '{rule.name}' uses '{VENDORS}' but this watchlist lists no vendors",
                )


def _check_regexes(config: WatchlistConfig, document: YamlDocument) -> None:
    for topic, terms in config.topics.items():
        for position, term in enumerate(terms):
            if not isinstance(term, RegexTerm):
                continue
            where = ("topics", topic, position, "regex")
            if "\b" in term.regex:
                _fail(
                    document,
                    where,
                    f"the pattern in topic '{topic}' contains a backspace: in double quotes YAML reads "
                    "\\b as a backspace; write the pattern in single quotes ('\\bZTE\\b')",
                )
            problem = regex_problem(term.regex)
            if problem:
                _fail(
                    document,
                    where,
                    f"the pattern {term.regex!r} in topic '{topic}' cannot be used: {problem}",
                )


def _never_matching(config: WatchlistConfig, document: YamlDocument) -> list[str]:
    """Warnings for what can never match, or matches more than meant, and passed `check` in silence: an
    empty topic (every rule that needs it is dead), a rule item that is a vendor's name, a vendor that
    excludes one of its own names (every mention is excluded)."""
    warnings = [
        f"{document.where(('topics', topic))}: the topic '{topic}' has no terms, so no story has it: a rule "
        "that needs it never fires; give it terms, or take it out of the rules"
        for topic, terms in config.topics.items()
        if not terms
    ]
    warnings += _vendor_names_as_words(config, document)
    warnings += _names_shared_by_vendors(config, document)
    warnings += _rules_excluding_what_they_need(config, document)
    for number, vendor in enumerate(config.vendors):
        forms = {form.casefold() for form in vendor.forms()}
        for position, phrase in enumerate(vendor.exclude):
            if phrase.casefold() in forms:
                warnings.append(
                    f"{document.where(('vendors', number, 'exclude', position))}: vendor '{vendor.name}' excludes "
                    f"'{phrase}', one of its own names: every mention of it is excluded; exclude the longer "
                    "phrases the name is wrongly part of instead"
                )
    return warnings


def _rules_excluding_what_they_need(config: WatchlistConfig, document: YamlDocument) -> list[str]:
    """A warning for each `none:` item that is one of the rule's `all:` items, or the last of its `any:`
    items: every story the rule needs has it, so the rule never fires (`all: [vendors, breach]` with
    `none: [vendors]`)."""
    warnings = []
    for index, rule in enumerate(config.rules):
        excluded = [_item_key(item) for item in rule.none]
        needed = {_item_key(item): "all:" for item in rule.all}
        if rule.any and all(_item_key(item) in excluded for item in rule.any):
            needed |= {_item_key(item): "any:" for item in rule.any}
        for position, key in enumerate(excluded):
            if key in needed:
                warnings.append(
                    f"{document.where(('rules', index, 'none', position))}: rule '{rule.name}' needs {key} "
                    f"({needed[key]}) and is ruled out by it (none:), so it never fires; take it out of one of them"
                )
    return warnings


def _item_key(item: RuleItem) -> str:
    return f'the word "{item.word}"' if isinstance(item, InlineWord) else f"'{item}'"


def _vendor_names_as_words(config: WatchlistConfig, document: YamlDocument) -> list[str]:
    """A warning for each rule item written bare (not quoted, not `{word: …}`) that is a vendor's name:
    it is the word, in any case, without that vendor's guards, which `all: [Orange, breach]` never meant."""
    names = {form.casefold(): vendor.name for vendor in config.vendors for form in vendor.forms()}
    warnings = []
    for index, rule in enumerate(config.rules):
        for kind, position, item in rule_items(rule):
            if not isinstance(item, InlineWord) or (vendor := names.get(item.word.casefold())) is None:
                continue
            location = ("rules", index, kind, position)
            written = document.data["rules"][index][kind][position]
            if isinstance(written, str) and location not in document.quoted:
                warnings.append(
                    f"{document.where(location)}: rule '{rule.name}' matches the word '{item.word}', a name of the "
                    f"vendor '{vendor}', in any case and without that vendor's context:, exclude: and "
                    f"case_sensitive; '{VENDORS}' is any of the watchlist's vendors as it defines them (a watchlist "
                    f'of its own holds this one alone); quote the word ("{item.word}") to mean the word and '
                    "silence this"
                )
    return warnings


def _names_shared_by_vendors(config: WatchlistConfig, document: YamlDocument) -> list[str]:
    """A warning for each name or alias an earlier vendor of the file has too: a story naming it is
    about both, so every alert names both suppliers, which a register imported twice (`newsbot
    vendors`) or a parent and its subsidiary ("Sinch" as an alias of MessageBird) does by mistake.
    Two case-sensitive vendors share a form only in the same case (`Three` and `THREE` do not), and
    two that each need a context word of their own, no word in common, are told apart by it (Orange
    the carrier, Orange Bank)."""
    earlier: dict[str, list[tuple[VendorConfig, str]]] = {}
    warnings = []
    for number, vendor in enumerate(config.vendors):
        for form in vendor.forms():
            owners = earlier.setdefault(fold(form), [])
            for owner, owned in owners:
                if owner is not vendor and _both_name(owner, owned, vendor, form):
                    warnings.append(
                        f"{document.where(('vendors', number))}: vendor '{vendor.name}' has the name '{form}', "
                        f"which vendor '{owner.name}' has too: every story naming it alerts as both; keep it in "
                        "one of them"
                    )
                    break
            owners.append((vendor, form))
    return warnings


def _both_name(first: VendorConfig, first_form: str, second: VendorConfig, second_form: str) -> bool:
    """Whether a story can name both vendors with these forms (which fold alike)."""
    if first.case_sensitive and second.case_sensitive and first_form != second_form:
        return False
    if first.counts_alone(first_form) or second.counts_alone(second_form):
        return True
    return bool({fold(word) for word in first.context} & {fold(word) for word in second.context})


def _regexes_folding_defeats(config: WatchlistConfig, document: YamlDocument) -> list[str]:
    """A warning for each pattern with a character the text it runs on never holds. A {regex:} runs
    on folded text, where hyphens and dashes are spaces, accents are gone and curly quotes plain, so
    'toll-fraud' and 'CVE-\\d{4}-\\d+' passed `check` and never matched anything."""
    warnings = []
    for topic, terms in config.topics.items():
        for position, term in enumerate(terms):
            if isinstance(term, RegexTerm) and (lost := _literals_folding_changes(term.regex)):
                suggestion = "".join(lost.get(index, character) for index, character in enumerate(term.regex))
                shown = ", ".join(f"'{character}'" for character in dict.fromkeys(term.regex[index] for index in lost))
                warnings.append(
                    f"{document.where(('topics', topic, position, 'regex'))}: the pattern '{term.regex}' in topic "
                    f"'{topic}' has {shown}, which the text it runs on never holds: patterns run on folded text "
                    f"(lower case, accents removed, hyphens and dashes as spaces, curly quotes plain); "
                    f"write '{suggestion}'"
                )
    return warnings


def _literals_folding_changes(pattern: str) -> dict[int, str]:
    """{index: what folding makes of it} for the pattern's literal characters (outside a [...] class,
    whose other members may still match) that folded text never holds as they are."""
    changed: dict[int, str] = {}
    in_class = escaped = False
    class_start = -1  # where the open class's members begin: a "]" there is a member, not its end
    for index, character in enumerate(pattern):
        if escaped:
            escaped = False
            if in_class or character.isalnum():  # a class member, or \d, \b, \w: not a literal alone
                continue
        elif character == "\\":
            escaped = True
            continue
        elif in_class:
            if character == "^" and index == class_start:
                class_start += 1
            elif character == "]" and index != class_start:
                in_class = False
            continue
        elif character == "[":
            in_class, class_start = True, index + 1
            continue
        folded = fold(f"a{character}a")[1:-1]
        # Against lower(), not casefold(): RE2's case-insensitive match knows simple case only, so
        # 'straße' never meets folded text's "strasse", nor 'ﬁrewall' its "firewall".
        if folded != character.lower():
            changed[index] = folded
    return changed


def _fail(document: YamlDocument, location: Location, sentence: str) -> None:
    raise ConfigError(f"{document.where(location)}: {sentence}")
