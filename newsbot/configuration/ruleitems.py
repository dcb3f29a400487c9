"""What a rule item written in a watchlist means: `vendors`, a topic, or a word to find.

The contract allows a bare word (`none: [webinar]`), and YAML quoting is an accident of typing
(`"webinar"` is the same word), so quotes do not change what an item means. The one exception is
the typo: an unquoted item one small edit from a topic's name (`braech`, `breaches`, `Breach`,
`vendor`) is far more often a misspelt topic than a word, and a misspelt topic that silently became
a word would never match. That stays an error with "did you mean"; quoting it, or writing
`{word: braech}`, says the word is meant. A bare word merely like a topic (`survelliance`, two
edits from `surveillance`) is taken as the word, with a warning that `newsbot check` prints.
"""

from __future__ import annotations

import difflib
from typing import Any

from newsbot.configuration.yamlfile import YamlDocument
from newsbot.errors import ConfigError
from newsbot.matching.plurals import plural_forms

VENDORS = "vendors"
RULE_LISTS = ("all", "any", "none")


def resolve_rule_items(document: YamlDocument) -> tuple[dict[str, Any], list[str]]:
    """The watchlist's data with every rule item that is not `vendors` or a topic made `{word: …}`, and
    warnings for bare words that look like a topic's name."""
    data = dict(document.data)
    rules, topics = data.get("rules"), data.get("topics")
    warnings: list[str] = []
    if not isinstance(rules, list):
        return data, warnings
    names = [VENDORS, *(str(name) for name in topics)] if isinstance(topics, dict) else [VENDORS]
    resolved = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            resolved.append(rule)
            continue
        with_words = dict(rule)
        for kind in RULE_LISTS:
            items = rule.get(kind)
            if isinstance(items, list):
                with_words[kind] = [
                    _resolve(item, names, document, rule.get("name"), ("rules", index, kind, position), warnings)
                    for position, item in enumerate(items)
                ]
        resolved.append(with_words)
    data["rules"] = resolved
    return data, warnings


def _resolve(
    item: Any, names: list[str], document: YamlDocument, rule: Any, location: tuple[Any, ...], warnings: list[str]
) -> Any:
    if not isinstance(item, str) or item in names:
        return item  # a mapping ({word: …}) or a name: validation takes it as written
    close = next((name for name in names if one_small_edit(item, name)), None)
    if close is not None and location not in document.quoted:
        what = f"'{VENDORS}'" if close == VENDORS else f"the topic '{close}'"
        raise ConfigError(
            f"{document.where(location)}: rule '{rule}' has '{item}', one small edit from {what} "
            f"(did you mean '{close}'?); to match the word itself, put it in quotes: \"{item}\""
        )
    folded = {name.casefold(): name for name in names}
    alike = difflib.get_close_matches(item.casefold(), list(folded), n=1, cutoff=0.8)
    if alike and location not in document.quoted:
        name = folded[alike[0]]
        warnings.append(
            f"{document.where(location)}: rule '{rule}' matches the word '{item}', which looks like '{name}'; "
            f"if that is meant, write '{name}'; quote the word (\"{item}\") to silence this"
        )
    return {"word": item}


def one_small_edit(item: str, name: str) -> bool:
    """Same but for case, one letter added, dropped, changed or two swapped, or a plural of the other."""
    a, b = item.casefold(), name.casefold()
    if a == b or a in plural_forms(b) or b in plural_forms(a):
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        differ = [position for position, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(differ) == 1:
            return True
        first, second = differ if len(differ) == 2 else (0, 0)
        return second == first + 1 and (a[first], a[second]) == (b[second], b[first])
    shorter, longer = sorted((a, b), key=len)
    return any(longer[:position] + longer[position + 1 :] == shorter for position in range(len(longer)))
