"""Roundups: one title or summary that strings several stories together, cut into its parts.

"Petco Hack Exposes Millions, Temu Accused of Spyware, and Ransomware Payments Hit $4.5B" names a
vendor in one story and a topic in another; matched as one text it alerts "Temu: hack". In a
roundup each part is its own story, so a rule must find its vendor, its topics and the vendor's
context word inside one part (newsbot.matching.matcher asks `Segments.of` for each hit).

What makes a roundup, judged on the title, the summary and free text (never the article body,
where commas are prose):
- a sentence that is a list of headlines: three or more parts separated by ", " "; " or " | ",
  each of three or more words starting with a capital or a digit, as headlines do, and strung as a
  list: by semicolons, or with commas or pipes and its last part joined by "and" ("…, and Ransomware
  Payments Hit $4.5B"), as English joins a list's last item (pipes alone are a headline, its section
  and its site). A comma chain without it is a Title-Case headline's clauses ("Twilio Staff Tricked
  By Fake Texts, Attackers Reach Customer Data, Company Confirms Breach"), and names listed in
  sentence-case prose ("clients such as Deutsche Telekom AG, Telefonica Deutschland Holding, and
  Vodafone Group Plc") are names: a part all in capitals among parts that are not is no headline.
  On real news such sentences outnumbered true roundups ten to one, and cut, their vendor and
  threat fell into different parts: the alert was lost. "Bandwidth, the CPaaS carrier, says…" has a
  part in lower case and "Twilio, Sinch and Vonage were hacked" a one-word part, so neither is a
  list. A first part that leads in ("After Massive DDoS Attack", "Amid …", "In Wake Of …") belongs
  to the headline after it, and a last one that goes on with a reporting verb ("Says No Breach
  Found") to the one before;
- or a roundup's own words ("week in review", "roundup", "in other news", "newsletter:", "digest:"…);
  then two parts of two or more words, in any case, already make a list.
In a roundup story every field is cut: lists at their separators, everything at sentence ends,
the article text included (its paragraphs are the roundup's stories, one or two sentences each).
The cost of a wrong cut is recall inside roundups only; ordinary stories are never cut.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping

from newsbot.matching.termindex import Hit
from newsbot.matching.textfold import fold, plain

ARTICLE_FIELD = "text"  # prose: never judged a roundup, only cut when the story is one
_SEPARATOR = re.compile(r"[.!?;,](?= )| \|(?= )")
_SENTENCE_END = frozenset(".!?")
_LIST_SEPARATOR = frozenset(",;|")
# Words only roundups use. "Digest", "this week", "newsletter" and "recap" are prose unless they label
# a text or a sentence: at its start, after at most two words, with a colon ("Weekly recap: …").
# "Says its newsletter system was hacked" and a summary's "Sign up for our newsletter: …" once made
# ordinary stories roundups, cut at every sentence end, and their alerts were missed.
# "This week in" names a column where it labels one: "This Week in 5G Security" in title case, or
# "this week in security:" with the colon of a label, anywhere ("Podcast: This week in security: …");
# "also this week" moves on to another story with a comma after it. "The company said this week in a
# blog post that…" is one story, and read as a roundup its alert was lost.
_MARKER = re.compile(
    r"\b(?:week in review|roundup|in other news|news in brief|week in brief|icymi)"
    r"|\bthis week in(?:\s+[\w'’-]+){1,3}[\"'”’]?\s*:"
    r"|\balso this week\s*,"
    r"|(?:^|(?<=[.!?])\s)\s*(?:[\w'’-]+\s+){0,2}(?:digest|this week|briefing|in brief|newsletter|recap)\s*:",
    re.IGNORECASE,
)
_COLUMN = re.compile(r"\bThis Week [Ii]n\b")  # title case: a column's name, not prose
_HEADLINE_START = re.compile(r"^(?:(?:and|&) )?[A-Z0-9$\"'(]")
# A first part that opens so leads into the next ("After Massive DDoS Attack, Bandwidth Restores
# Service"), and a last one that opens with a reporting verb goes on with the one before ("…, Says No
# Breach Found"): neither is a headline of its own. Title-Case headlines of one story with two commas
# were read as roundups, and their alerts were lost.
_LEADS_IN = re.compile(
    r"^(?:after|amid|amidst|as|before|despite|during|following|in|in the wake of|in wake of|on the heels of|"
    r"since|while|with|without|ahead of|facing|(?:hours|days|weeks|months|years) after|a (?:day|week|month|year) after)"
    r"(?= )",
    re.IGNORECASE,
)
_GOES_ON = re.compile(
    r"^(?:and )?(?:says|say|adds|warns|denies|confirms|admits|vows|urges|blames|insists)(?= )", re.IGNORECASE
)
_JOINS_THE_LAST = re.compile(r"^(?:and|&|plus) ", re.IGNORECASE)
# Semicolons set headlines apart on their own: a list without "and". Pipes do not: "Twilio says 125
# customers were affected | Latest Tech News | The Economic Times" is a headline, its section and its
# site, and cut as a list its vendor lost the breach its summary told of.
_SETS_APART = ";"
# Words Title Case leaves in lower case: a part of only these and capitalised words is written in capitals.
_MINOR_WORDS = frozenset({
    "a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "nor", "of", "off",
    "on", "or", "over", "per", "plus", "so", "the", "to", "up", "via", "vs", "with", "yet",
})  # fmt: skip


class Segments:
    """Which part of a roundup story a hit is in: (field, part number)."""

    def __init__(self, fields: Mapping[str, str], part_ends: Mapping[str, list[int]]):
        self._fields = fields
        self._part_ends = part_ends  # per field: ordinals of the separators that end a part
        self._separators: dict[tuple[str, bool], list[int]] = {}

    def of(self, hit: Hit) -> tuple[str, int]:
        ends = self._part_ends.get(hit.field)
        if not ends:
            return (hit.field, 0)
        key = (hit.field, hit.folded)
        if key not in self._separators:  # fold and plain keep every separator, so ordinals agree
            text = normalised(self._fields[hit.field], hit.folded)
            self._separators[key] = [found.start() for found in _SEPARATOR.finditer(text)]
        return (hit.field, bisect.bisect_left(ends, bisect.bisect_left(self._separators[key], hit.start)))


def roundup_segments(fields: Mapping[str, str]) -> Segments | None:
    """The parts of a roundup story, or None for an ordinary story (one part per field)."""
    short = [plain(text) for field, text in fields.items() if text and field != ARTICLE_FIELD]
    if not any(_is_roundup(text) for text in short):
        return None  # the article, up to 200,000 characters, is read again only for a roundup
    return Segments(fields, {field: _part_ends(plain(text)) for field, text in fields.items() if text})


def normalised(text: str, folded: bool) -> str:
    return fold(text) if folded else plain(text)


def _is_roundup(text: str) -> bool:
    """A roundup's own words, or a sentence that is a list of headlines."""
    return _marked(text) or any(
        _headline_breaks(parts, False, marks) is not None for parts, marks in _sentence_parts(text)
    )


def _marked(text: str) -> bool:
    return bool(_MARKER.search(text) or _COLUMN.search(text))


def _headline_breaks(parts: list[str], marked: bool, marks: str) -> list[bool] | None:
    """For a sentence that is a list of headlines (its parts between list separators, empty ones
    included), which of its separators end a headline. None when the sentence is no list: after a
    roundup's own words, any two headlines of two words (sentence case too); otherwise three or more,
    each of three words or more starting as headlines do, strung as a list (`marks`: the sentence's
    separators), and not names in prose.

    Only a first part can lead in, and only a last one go on: a list's middle headline that starts
    "In Texas …" or "Warns …" is a headline of its own, and merged with its neighbour it made a
    roundup one story, alerting a vendor with another story's threat."""
    kept = [index for index, part in enumerate(parts) if part]
    breaks = [False] * max(len(parts) - 1, 0)
    headlines: list[str] = []
    for position, index in enumerate(kept):
        part = parts[index]
        leads_in = position == 1 and _LEADS_IN.match(_headline(parts[kept[0]]))
        goes_on = position == len(kept) - 1 and position > 0 and _GOES_ON.match(part)
        if not headlines or not (leads_in or goes_on):
            if headlines:
                breaks[index - 1] = True  # the separator just before this part
            headlines.append(part)
        else:
            headlines[-1] = f"{headlines[-1]}, {part}"
    if marked:
        listed = len(headlines) >= 2 and all(len(headline.split()) >= 2 for headline in headlines)
    else:
        listed = (
            len(headlines) >= 3
            and all(len(headline.split()) >= 3 and _HEADLINE_START.match(headline) for headline in headlines)
            and bool(_SETS_APART in marks or (_JOINS_THE_LAST.match(headlines[-1]) and not _names_in_prose(headlines)))
        )
    return breaks if listed else None


def _names_in_prose(parts: list[str]) -> bool:
    """Some parts in capitals, some not: a sentence-case sentence listing names, since a list of
    headlines strung with commas is written in one case throughout. (Semicolons set headlines apart
    whatever their case.)"""
    capitalised = [_in_capitals(part) for part in parts]
    return any(capitalised) and not all(capitalised)


def _in_capitals(part: str) -> bool:
    """Every word but Title Case's minor ones has a capital or starts with a digit ("Temu Accused of
    Spyware", "Deutsche Telekom AG", "Patches iOS"); words that start with a symbol ("$4.5B") say
    nothing."""
    return all(
        not word.islower() or word[0].isdigit() or word.casefold() in _MINOR_WORDS
        for word in part.split()
        if word[0].isalnum()
    )


def _headline(part: str) -> str:
    """The part without a label before it ("In Other News: Temu Faces Fines")."""
    return part.rpartition(": ")[2]


def _sentence_parts(text: str) -> list[tuple[list[str], str]]:
    """Each sentence of `text` as its list parts (a sentence that is no list is one part) and the list
    separators between them."""
    sentences: list[tuple[list[str], str]] = [([], "")]
    start = 0
    for found in _SEPARATOR.finditer(text):
        parts, marks = sentences[-1]
        parts.append(text[start : found.start()].strip())
        start = found.end()
        mark = found.group().strip()
        if mark in _SENTENCE_END:
            sentences.append(([], ""))
        else:
            sentences[-1] = (parts, marks + mark)
    sentences[-1][0].append(text[start:].strip())
    return [([part for part in parts if part], marks) for parts, marks in sentences]


def _part_ends(text: str) -> list[int]:
    """Ordinals (among all separators) of those that end a part: sentence ends, and list separators in
    sentences that are headline lists where they end a headline."""
    marked = _marked(text)
    ends: list[int] = []
    pending: list[int] = []  # list separators of the current sentence
    marks = ""  # and what they are
    sentence: list[str] = []
    start = 0
    for ordinal, found in enumerate(_SEPARATOR.finditer(text)):
        sentence.append(text[start : found.start()].strip())
        start = found.end()
        mark = found.group().strip()
        if mark in _LIST_SEPARATOR:
            pending.append(ordinal)
            marks += mark
            continue
        ends += _list_ends(sentence, pending, marked, marks)
        ends.append(ordinal)
        pending, sentence, marks = [], [], ""
    sentence.append(text[start:].strip())
    ends += _list_ends(sentence, pending, marked, marks)
    return ends


def _list_ends(sentence: list[str], separators: list[int], marked: bool, marks: str) -> list[int]:
    """Of a sentence's list separators (one between each two of its parts), those that end a headline."""
    breaks = _headline_breaks(sentence, marked, marks) or []
    return [ordinal for ordinal, broken in zip(separators, breaks, strict=False) if broken]
