"""English plurals of a watchlist word, shared by matching ("SIM swaps") and config checks ("breaches")."""

from __future__ import annotations


def plural_forms(term: str) -> tuple[str, ...]:
    """Plurals of a topic word or phrase's last word: breach → breaches, SIM swap → SIM swaps."""
    head, _, last = term.rpartition(" ")
    if not last.isalpha():
        return ()
    lower = last.lower()
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        forms = [last + "es"]
    elif lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        forms = [last[:-1] + "ies"]
    else:
        forms = [last + "s"]
    return tuple(f"{head} {form}" if head else form for form in forms)
