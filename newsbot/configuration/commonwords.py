"""Which vendor names are also everyday English words, so that they need a guard to alert right.

"Orange", "Bandwidth" and "Signal" are suppliers and words: a watchlist that lists them bare alerts
on juice prices and DDoS bandwidth. A word-frequency list (wordfreq) tells how common a word is,
but not whether it is a word or a brand: "Google" and "Microsoft" are more frequent in English
than "bandwidth". What separates them is that a brand is international and a word is English: an
English word is far more frequent in English than in languages that use other words for the same
thing, while "Google" is as frequent in Spanish or Turkish news as in English. Measured on this
machine (Zipf, English minus the median of six other languages): orange 0.98, bandwidth 1.86,
sprint 0.68, signal 1.66, box 0.96, ring 1.13; google -0.05, microsoft -0.06, vodafone -0.10,
twilio and the other CPaaS names are rare in every language. Verizon (1.10) is the one brand that
reads as a word: a warning too many is cheaper than an alert channel nobody trusts.
"""

from __future__ import annotations

import statistics

import wordfreq

from newsbot.configuration.watchlists import RegexTerm, VendorConfig, WatchlistConfig
from newsbot.matching.termindex import Term, TermIndex

COMMON_ZIPF = 3.5  # at least ~3 uses per million English words ("bandwidth" is 3.62)
ENGLISH_MARGIN = 0.5  # Zipf points above other languages' median: an English word, not a brand
# A very frequent English word needs less of a margin: "data" (5.34, 0.49 above the others, where it
# is also a word: "date"), "global" (4.95, 0.45) and "digital" (4.83, 0.38) were brands to the test
# above, and a register's "Data AG", imported as the alias "Data", alerted on every "data breach".
# Brands that are no word stay below it (google -0.02, microsoft 0.07, cisco 0.08); apple (0.35) is a
# fruit as well as a brand, and is flagged, as orange is.
VERY_COMMON_ZIPF = 4.75
VERY_COMMON_MARGIN = 0.3
OTHER_LANGUAGES = ("es", "it", "pt", "pl", "id", "tr")  # large lists; English words are not their words


def common_word_zipf(term: str) -> float | None:
    """The English Zipf frequency of `term` when it is one common English word or a single letter,
    else None.

    Phrases are not judged (wordfreq's frequency of a phrase is an estimate from its words, and brands
    such as "Route Mobile" or "Orange Business" are made of common words). A form in capitals is
    judged as the word it spells: unless its vendor is `case_sensitive`, "ORANGE" (as a register
    imported by `vendors import` writes it) matches "orange juice" like "Orange" does.
    """
    if " " in term.strip() or not term.isalpha():
        return None
    word = term.strip().casefold()
    english = wordfreq.zipf_frequency(word, "en")
    if len(word) == 1:  # "a", or "b" from a register cell split at a line break: in every story
        return max(english, COMMON_ZIPF)
    if english < COMMON_ZIPF:
        return None
    elsewhere = statistics.median(wordfreq.zipf_frequency(word, language) for language in OTHER_LANGUAGES)
    margin = VERY_COMMON_MARGIN if english >= VERY_COMMON_ZIPF else ENGLISH_MARGIN
    return english if english - elsewhere >= margin else None


def unguarded_common_words(vendor: VendorConfig) -> list[tuple[str, float]]:
    """(form, Zipf) for the vendor's forms that are common words and count alone in any case."""
    if vendor.case_sensitive:
        return []
    found = []
    for form in vendor.forms():
        if vendor.counts_alone(form) and (zipf := common_word_zipf(form)) is not None:
            found.append((form, zipf))
    return found


# The most frequent English words ("the" 7.7, "of" 7.4, "is" 7.0, "new" 6.3): nearly every story has
# one, so a topic that lists one is true of every story, and a rule needing it fires on its vendors
# alone. Topic words a team means are far rarer ("data" 5.3, "breach" 4.3).
EVERY_STORY_ZIPF = 6.0
# Texts any story would hold: a pattern that matches all of them matches every story.
_ORDINARY_TEXTS = ("a", "the report said", "zq", "2026")


def topic_terms_in_every_story(config: WatchlistConfig) -> list[tuple[str, int, str]]:
    """(topic, position, why) for each topic term nearly every story holds: one of English's most
    frequent words, or a {regex:} that matches any text (".*", "\\w+"): `check` passed both, and every
    story naming a vendor alerted."""
    found = []
    for topic, terms in config.topics.items():
        for position, term in enumerate(terms):
            if isinstance(term, RegexTerm):
                pattern = TermIndex([Term(term.regex, is_regex=True)])
                if all(pattern.scan({"text": text}) for text in _ORDINARY_TEXTS):
                    found.append((topic, position, f"the pattern '{term.regex}' matches any text"))
            elif (zipf := wordfreq.zipf_frequency(term.casefold(), "en")) >= EVERY_STORY_ZIPF:
                found.append((topic, position, f"'{term}' is one of the most frequent English words (Zipf {zipf:.1f})"))
    return found
