"""English plurals (and singulars) of a watchlist word, for matching ("SIM swaps", "user" for "users") and
config checks ("breaches")."""

from __future__ import annotations


def plural_forms(term: str) -> tuple[str, ...]:
    """Plurals of a topic word or phrase's last word: breach → breaches, SIM swap → SIM swaps, zero-day →
    zero-days (a hyphen ends a word as a space does: matched text reads both as a space)."""
    head, last = _last_word(term)
    if not last.isalpha():
        return ()
    lower = last.lower()
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        forms = [last + "es"]
    elif lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        forms = [last[:-1] + "ies"]
    else:
        forms = [last + "s"]
    return tuple(head + form for form in forms)


def _last_word(term: str) -> tuple[str, str]:
    """(everything up to and including the separator before the last word, the last word)."""
    cut = max(term.rfind(" "), term.rfind("-")) + 1
    return term[:cut], term[cut:]


def number_forms(term: str) -> tuple[str, ...]:
    """The plural, and for a lower-case plural the singular: a context word stands for both ("users" finds
    "One user reported…"). Capitalised words are names ("Paris", "Levis") and keep their "s"."""
    head, last = _last_word(term)
    singular: tuple[str, ...] = ()
    if (
        last.isalpha()
        and last.islower()
        and len(last) > 3
        and last.endswith("s")
        and not last.endswith(("ss", "us", "is"))
    ):
        stem = (
            last[:-3] + "y"
            if last.endswith("ies")
            else last[:-2]
            if last.endswith(("ches", "shes", "xes"))
            else last[:-1]
        )
        singular = (head + stem,)
    return (*plural_forms(term), *singular)
