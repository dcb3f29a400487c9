"""Tricky cases for the matching engine (Matcher over TermIndex), one table row per case.

Every watchlist is written as YAML to tmp_path and loaded with `load_watchlist`, exactly as a user's
file would be. A row names its watchlist, the text (one string, given to `newsbot explain`-style
free text that counts for every field, or a (title, summary, text) tuple), the rules that must
fire, and, where the case is about why, what `Evaluation.vendors`, `near_misses` or `not_fired`
must say.

Decisions documented here (they follow README and newsbot/matching/textfold.py):
- Hyphens and dashes separate words like a space: `T-Mobile` matches `T-Mobile`, `T Mobile`,
  `T‑Mobile` (non-breaking hyphen) and `T–Mobile`, but not `TMobile`; the topic phrase `SIM swap`
  matches `SIM-swap`, and `none: ["tabletop exercise"]` blocks `tabletop-exercise`.
- Other punctuation is kept: `AT&T` does not match `AT & T`.
- Plurals are generated for topic words and inline rule words (also in `none:`), never for
  vendor names or aliases.
- A quoted rule item is a literal word even when a topic has the same name (load_watchlist warns
  that it is literal), so it must not be satisfied by that topic's other words.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from newsbot.configuration.watchlists import Watchlist, load_watchlist
from newsbot.errors import ConfigError
from newsbot.matching.matcher import Evaluation, Matcher
from tests.conftest import REPOSITORY

WATCHLISTS = {
    "core": """\
name: Core
vendors:
  - name: Mitto AG
    aliases: [Mitto]
  - name: MessageBird
    aliases: [Bird]
    context: [SMS, messaging, CPaaS]
    unambiguous: [MessageBird]
    exclude: ["Bird flu"]
  - name: AT&T
  - name: T-Mobile
  - name: Kaleyra
  - name: Deutsche Telekom
  - name: Telekom Austria
  - name: O'Neill Networks
topics:
  breach: [breach, hacked]
  surveillance: [SS7, spy, "SIM swap"]
  mfa: [2FA]
rules:
  - name: vendor-breach
    all: [vendors, breach]
  - name: vendor-surveillance
    all: [vendors, surveillance]
  - name: mfa
    any: [mfa]
""",
    "unicode": """\
name: Unicode
vendors:
  - name: Straße Telecom
  - name: Strasse Mobile
  - name: Türk Telekom
  - name: Turkcell İletişim
  - name: Κόσμος Net
  - name: Zürich Connect
  - name: Zurich Mobile
  - name: São Paulo Telecom
  - name: Telefónica
  - name: Mitto
  - name: Kaleyra
  - name: 华为
  - name: SK텔레콤
topics:
  breach: [breach, 해킹]
rules:
  - name: vendor-breach
    all: [vendors, breach]
""",
    "case": """\
name: Case
vendors:
  - name: BICS
    case_sensitive: true
  - name: Bandwidth Inc
    aliases: [Bandwidth]
    case_sensitive: true
    context: [SMS]
    near: 8
  - name: Telefónica
    case_sensitive: true
  - name: Three
    aliases: [THREE]
    case_sensitive: true
  - name: Orange
    case_sensitive: true
    context: [operator]
    unambiguous: [ORANGE]
topics:
  breach: [breach]
rules:
  - name: vendor-breach
    all: [vendors, breach]
""",
    "near": """\
name: Near
vendors:
  - name: MessageBird
    aliases: [Bird]
    context: [SMS, messaging]
    near: 5
    unambiguous: [MessageBird]
topics:
  breach: [breach]
rules:
  - name: vendor-breach
    all: [vendors, breach]
  - name: close-breach
    all: [vendors, breach]
    near: 3
""",
    "rules": """\
name: Rules
vendors:
  - name: Kaleyra
topics:
  breach: [breach]
rules:
  - name: title-only
    all: [vendors, breach]
    fields: [title]
  - name: not-drill
    all: [vendors, breach]
    none: ["tabletop exercise"]
""",
    "collision": """\
name: Collision
vendors:
  - name: Kaleyra
topics:
  ransomware: [ransomware, LockBit]
rules:
  - name: literal-word
    all: [vendors, {word: ransomware}]
  - name: quoted-topic
    all: [vendors, "ransomware"]
  - name: topic
    all: [vendors, ransomware]
""",
    "regex": """\
name: Regex
topics:
  fraud: [{regex: 'toll[- ]fraud'}]
rules:
  - name: fraud
    any: [fraud]
""",
}

VB = "vendor-breach"
VS = "vendor-surveillance"
BIRD_NO_CONTEXT = "Bird: no context word (SMS, messaging, CPaaS) for MessageBird"
BIRD_FLU = "Bird: inside the excluded phrase 'Bird flu' (MessageBird)"

# (id, watchlist, text or (title, summary, text), rules that fire, checks on the Evaluation)
# checks: {"vendors": exact dict} | {"near_misses": exact list} | {"not_fired": {rule: substring}}
Row = tuple[str, str, str | tuple[str, str, str], set[str], dict[str, Any]]

TABLE: list[Row] = [
    # ---- Unicode folding: ß / ss / ẞ ------------------------------------------------------------
    (
        "sharp-s upper SS",
        "unicode",
        "STRASSE TELECOM breach",
        {VB},
        {"vendors": {"Straße Telecom": ["Straße Telecom"]}},
    ),
    (
        "sharp-s plain ss",
        "unicode",
        "Strasse Telecom breach",
        {VB},
        {"vendors": {"Straße Telecom": ["Straße Telecom"]}},
    ),
    (
        "capital sharp s",
        "unicode",
        "STRA\u1e9eE TELECOM breach",
        {VB},
        {"vendors": {"Straße Telecom": ["Straße Telecom"]}},
    ),
    (
        "ss term, ß text",
        "unicode",
        "straße mobile breach",
        {VB},
        {"vendors": {"Strasse Mobile": ["Strasse Mobile"]}},
    ),
    ("Straßen is another word", "unicode", "Straßen Telecom breach", set(), {"vendors": {}}),
    # ---- Turkish İ (dotted capital I) -------------------------------------------------------------
    (
        "Turkish upper İ",
        "unicode",
        "TURKCELL İLETİŞİM breach",
        {VB},
        {"vendors": {"Turkcell İletişim": ["Turkcell İletişim"]}},
    ),
    (
        "Turkish unaccented",
        "unicode",
        "Turkcell Iletisim breach",
        {VB},
        {"vendors": {"Turkcell İletişim": ["Turkcell İletişim"]}},
    ),
    (
        "Turkish i+U+0307",
        "unicode",
        "turkcell i\u0307letis\u0327im breach",
        {VB},
        {"vendors": {"Turkcell İletişim": ["Turkcell İletişim"]}},
    ),
    ("Türk upper", "unicode", "TÜRK TELEKOM breach", {VB}, {"vendors": {"Türk Telekom": ["Türk Telekom"]}}),
    # ---- Greek final sigma ------------------------------------------------------------------------
    ("Greek upper", "unicode", "ΚΌΣΜΟΣ NET breach", {VB}, {"vendors": {"Κόσμος Net": ["Κόσμος Net"]}}),
    ("Greek no tonos", "unicode", "κοσμος net breach", {VB}, {"vendors": {"Κόσμος Net": ["Κόσμος Net"]}}),
    (
        "Greek medial sigma at end",
        "unicode",
        "Κόσμοσ Net breach",
        {VB},
        {"vendors": {"Κόσμος Net": ["Κόσμος Net"]}},
    ),
    # ---- Fullwidth letters, compatibility characters -------------------------------------------
    (
        "fullwidth upper",
        "unicode",
        "\uff2d\uff29\uff34\uff34\uff2f breach",
        {VB},
        {"vendors": {"Mitto": ["Mitto"]}},
    ),
    (
        "fullwidth possessive",
        "unicode",
        "\uff4d\uff49\uff54\uff54\uff4f\uff07\uff53 breach",
        {VB},
        {"vendors": {"Mitto": ["Mitto"]}},
    ),
    ("registered sign", "unicode", "Kaleyra\u00ae breach", {VB}, {"vendors": {"Kaleyra": ["Kaleyra"]}}),
    # NFKD turns ™ into "TM" and ¹ into "1", glued to the name: "kaleyratm", "kaleyra1".
    ("trade mark sign", "unicode", "Kaleyra\u2122 breach", {VB}, {"vendors": {"Kaleyra": ["Kaleyra"]}}),
    ("footnote superscript", "unicode", "Kaleyra\u00b9 breach", {VB}, {"vendors": {"Kaleyra": ["Kaleyra"]}}),
    # ---- Accents, both ways, and at word edges ------------------------------------------------
    (
        "Zurich text, Zürich term",
        "unicode",
        "Zurich Connect breach",
        {VB},
        {"vendors": {"Zürich Connect": ["Zürich Connect"]}},
    ),
    (
        "ZÜRICH upper",
        "unicode",
        "ZÜRICH CONNECT breach",
        {VB},
        {"vendors": {"Zürich Connect": ["Zürich Connect"]}},
    ),
    (
        "Zürich decomposed",
        "unicode",
        "Zu\u0308rich Connect breach",
        {VB},
        {"vendors": {"Zürich Connect": ["Zürich Connect"]}},
    ),
    (
        "Zürich text, Zurich term",
        "unicode",
        "Zürich Mobile breach",
        {VB},
        {"vendors": {"Zurich Mobile": ["Zurich Mobile"]}},
    ),
    ("accented letter added at edge", "unicode", "Zürich Connecté breach", set(), {"vendors": {}}),
    (
        "mark after last letter",
        "unicode",
        "Zurich Connect\u0301 breach",
        {VB},
        {"vendors": {"Zürich Connect": ["Zürich Connect"]}},
    ),
    (
        "São Paulo",
        "unicode",
        "São Paulo Telecom breach",
        {VB},
        {"vendors": {"São Paulo Telecom": ["São Paulo Telecom"]}},
    ),
    (
        "SAO PAULO",
        "unicode",
        "SAO PAULO TELECOM breach",
        {VB},
        {"vendors": {"São Paulo Telecom": ["São Paulo Telecom"]}},
    ),
    (
        "São nbsp",
        "unicode",
        "Sa\u0303o\u00a0Paulo\nTelecom breach",
        {VB},
        {"vendors": {"São Paulo Telecom": ["São Paulo Telecom"]}},
    ),
    ("Telefónica", "unicode", "Telefónica breach", {VB}, {"vendors": {"Telefónica": ["Telefónica"]}}),
    ("TELEFONICA'S", "unicode", "TELEFONICA’S breach", {VB}, {"vendors": {"Telefónica": ["Telefónica"]}}),
    ("Telefónicas is not the name", "unicode", "Telefónicas breach", set(), {"vendors": {}}),
    # Han characters are letters, so a Chinese name is never a "whole word" inside Chinese text.
    ("CJK name in CJK text", "unicode", "华为公司 breach", {VB}, {"vendors": {"华为": ["华为"]}}),
    ("CJK name spaced", "unicode", "华为 breach", {VB}, {"vendors": {"华为": ["华为"]}}),
    # Korean writes its particles onto the noun: "at SK Telecom, hacking" is still SK Telecom, hacking.
    ("Korean particles", "unicode", "SK텔레콤에서 해킹이 발생", {VB}, {"vendors": {"SK텔레콤": ["SK텔레콤"]}}),
    ("Korean name inside a word", "unicode", "신SK텔레콤 해킹", set(), {"vendors": {}}),
    ("Korean particles on both", "unicode", "SK텔레콤이 해킹을 당했다", {VB}, {"vendors": {"SK텔레콤": ["SK텔레콤"]}}),
    # ...but other syllables make another word: a hackathon (해킹톤) is no hacking (해킹)
    ("Korean longer word", "unicode", "SK텔레콤 해킹톤 개최", set(), {"vendors": {"SK텔레콤": ["SK텔레콤"]}}),
    # particles one after another, and after a name in Latin letters
    ("Korean particles in a row", "unicode", "SK텔레콤에서만 해킹으로", {VB}, {"vendors": {"SK텔레콤": ["SK텔레콤"]}}),
    ("Korean particle after Latin", "unicode", "Mitto에선 해킹이", {VB}, {"vendors": {"Mitto": ["Mitto"]}}),
    # ---- AT&T and T-Mobile ------------------------------------------------------------------------
    ("AT&T", "core", "AT&T breach", {VB}, {"vendors": {"AT&T": ["AT&T"]}}),
    ("at&t possessive", "core", "at&t’s network was hacked", {VB}, {"vendors": {"AT&T": ["AT&T"]}}),
    ("AT & T spaced", "core", "AT & T breach", set(), {"vendors": {}}),
    ("MAT&T", "core", "MAT&T breach", set(), {"vendors": {}}),
    ("T-Mobile", "core", "T-Mobile breach", {VB}, {"vendors": {"T-Mobile": ["T-Mobile"]}}),
    ("T-Mobile nb hyphen", "core", "T\u2011Mobile breach", {VB}, {"vendors": {"T-Mobile": ["T-Mobile"]}}),
    ("T-Mobile en dash", "core", "T\u2013Mobile breach", {VB}, {"vendors": {"T-Mobile": ["T-Mobile"]}}),
    (
        "T-Mobile-branded",
        "core",
        "T-Mobile-branded phones hacked",
        {VB},
        {"vendors": {"T-Mobile": ["T-Mobile"]}},
    ),
    (
        "T Mobile (hyphen is a space)",
        "core",
        "T Mobile breach",
        {VB},
        {"vendors": {"T-Mobile": ["T-Mobile"]}},
    ),
    ("TMobile", "core", "TMobile breach", set(), {"vendors": {}}),
    # ---- Overlapping aliases ----------------------------------------------------------------------
    ("Mitto AG and Mitto", "core", "Mitto AG breach", {VB}, {"vendors": {"Mitto AG": ["Mitto AG", "Mitto"]}}),
    (
        "MessageBird has no Bird",
        "core",
        "MessageBird breach",
        {VB},
        {"vendors": {"MessageBird": ["MessageBird"]}, "near_misses": []},
    ),
    (
        "MessageBird SMS",
        "core",
        "MessageBird SMS breach",
        {VB},
        {"vendors": {"MessageBird": ["MessageBird"]}},
    ),
    ("Message Bird SMS", "core", "Message Bird SMS breach", {VB}, {"vendors": {"MessageBird": ["Bird"]}}),
    (
        "two vendors share a word",
        "core",
        "Deutsche Telekom Austria breach",
        {VB},
        {"vendors": {"Deutsche Telekom": ["Deutsche Telekom"], "Telekom Austria": ["Telekom Austria"]}},
    ),
    # ---- Curly apostrophes, dashes, quotes, soft hyphen ---------------------------------------
    ("curly apostrophe", "core", "Mitto’s breach", {VB}, {"vendors": {"Mitto AG": ["Mitto"]}}),
    ("modifier apostrophe", "core", "Mitto\u02bcs breach", {VB}, {"vendors": {"Mitto AG": ["Mitto"]}}),
    (
        "curly in text, straight in term",
        "core",
        "O’Neill Networks breach",
        {VB},
        {"vendors": {"O'Neill Networks": ["O'Neill Networks"]}},
    ),
    ("em dash glue", "core", "Mitto\u2014hacked", {VB}, {"vendors": {"Mitto AG": ["Mitto"]}}),
    ("curly quotes", "core", "\u201cMitto\u201d was hacked", {VB}, {"vendors": {"Mitto AG": ["Mitto"]}}),
    ("soft hyphen in name", "core", "Mit\u00adto breach", {VB}, {"vendors": {"Mitto AG": ["Mitto"]}}),
    ("soft hyphen in topic", "core", "Kaleyra bre\u00adach", {VB}, {}),
    # ---- Possessives; plurals of topic words but not of vendor names ---------------------------
    ("possessive straight", "core", "Mitto's breach", {VB}, {"vendors": {"Mitto AG": ["Mitto"]}}),
    ("possessive upper curly", "core", "MITTO’S BREACH", {VB}, {"vendors": {"Mitto AG": ["Mitto"]}}),
    ("breaches", "core", "Kaleyra breaches", {VB}, {}),
    ("SIM swaps", "core", "Kaleyra SIM swaps", {VS}, {}),
    ("spies", "core", "Kaleyra spies on users", {VS}, {}),
    ("SIM-swap is SIM swap", "core", "Kaleyra SIM-swap", {VS}, {}),
    ("vendor plural Mittos", "core", "Mittos breach", set(), {"vendors": {}}),
    ("vendor plural Kaleyras", "core", "Kaleyras hacked", set(), {"vendors": {}}),
    ("alias plural Birds", "core", "Birds SMS breach", set(), {"vendors": {}, "near_misses": []}),
    # ---- URLs and URL escapes ---------------------------------------------------------------------
    ("only in URL", "core", "https://example.com/kaleyra-breach", set(), {"vendors": {}}),
    (
        "bare host and path",
        "core",
        "Kaleyra: example.com/kaleyra-breach",
        set(),
        {"vendors": {"Kaleyra": ["Kaleyra"]}},
    ),
    (
        "topic only in URL",
        "core",
        "Kaleyra: see www.example.com/breach",
        set(),
        {"vendors": {"Kaleyra": ["Kaleyra"]}},
    ),
    ("vendor outside URL", "core", "Kaleyra hacked, https://example.com/kaleyra", {VB}, {}),
    ("%2Fa escape", "core", "login?next=%2Fa and path%2FA%2Fb", set(), {}),
    ("2FA word", "core", "Enable 2FA now", {"mfa"}, {}),
    ("(2FA)", "core", "codes (2FA) were sent", {"mfa"}, {}),
    ("12FA is another word", "core", "12FA tokens", set(), {}),
    # ---- case_sensitive vendors -------------------------------------------------------------------
    ("BICS", "case", "BICS breach", {VB}, {"vendors": {"BICS": ["BICS"]}}),
    ("bics", "case", "bics breach", set(), {"vendors": {}}),
    ("Bics", "case", "Bics breach", set(), {"vendors": {}}),
    # An alias that differs from the name only in case is a form of its own (it was dropped).
    # A headline all in capitals says nothing of case: the name is found there too.
    ("THREE alias", "case", "THREE HACKED IN BREACH", {VB}, {"vendors": {"Three": ["Three", "THREE"]}}),
    ("THREE alias in mixed case", "case", "THREE hacked in breach", {VB}, {"vendors": {"Three": ["THREE"]}}),
    ("Three name", "case", "Three breach", {VB}, {"vendors": {"Three": ["Three"]}}),
    ("three word", "case", "three breach reports", set(), {"vendors": {}}),
    # …and so is an unambiguous form: it counts alone, and the name in its own case still needs context.
    ("ORANGE alone", "case", "ORANGE BREACH", {VB}, {"vendors": {"Orange": ["ORANGE"]}}),
    ("Orange needs context", "case", "Orange breach at the fruit market", set(), {"vendors": {}}),
    ("Orange with context", "case", "Orange operator breach", {VB}, {"vendors": {"Orange": ["Orange"]}}),
    ("BiCS flash", "case", "Kioxia BiCS flash breach", set(), {"vendors": {}}),
    ("BICS possessive", "case", "BICS’s breach", {VB}, {"vendors": {"BICS": ["BICS"]}}),
    ("BICS soft hyphen", "case", "BI\u00adCS breach", {VB}, {"vendors": {"BICS": ["BICS"]}}),
    ("BICS trade mark", "case", "BICS\u2122 breach", {VB}, {"vendors": {"BICS": ["BICS"]}}),
    # plain() promises "the same as fold, with case and accents kept"; fold() maps fullwidth letters.
    ("BICS fullwidth", "case", "\uff22\uff29\uff23\uff33 breach", {VB}, {"vendors": {"BICS": ["BICS"]}}),
    (
        "Bandwidth in case",
        "case",
        "Bandwidth SMS breach",
        {VB},
        {"vendors": {"Bandwidth Inc": ["Bandwidth"]}},
    ),
    ("bandwidth lower", "case", "bandwidth SMS breach", set(), {"vendors": {}}),
    # Case kept, accents folded as for every term: English coverage writes "Telefonica".
    ("Telefónica as written", "case", "Telefónica breach", {VB}, {"vendors": {"Telefónica": ["Telefónica"]}}),
    ("Telefonica unaccented", "case", "Telefonica breach", {VB}, {"vendors": {"Telefónica": ["Telefónica"]}}),
    ("telefonica lower", "case", "telefonica breach", set(), {"vendors": {}}),
    ("TELEFONICA capitals", "case", "TELEFONICA breach", set(), {"vendors": {}}),
    # 7 words apart as written; but the case-sensitive name is counted in plain() words and the
    # context word in fold() words, where each "½" (NFKD "1⁄2") adds a word.
    (
        "near across folded/plain words",
        "case",
        "Bandwidth sells 1½ and 2½ and 3½ SMS bundles; breach",
        {VB},
        {"vendors": {"Bandwidth Inc": ["Bandwidth"]}},
    ),
    # ---- Vendor exclude phrases -------------------------------------------------------------------
    (
        "Bird flu cancels that Bird only",
        "core",
        "Bird flu spreads. Separately, Bird had an SMS breach",
        {VB},
        {"vendors": {"MessageBird": ["Bird"]}, "near_misses": [BIRD_FLU]},
    ),
    (
        "bird-flu hyphenated",
        "core",
        "bird-flu SMS alerts hacked",
        set(),
        {"vendors": {}, "near_misses": [BIRD_FLU]},
    ),
    (
        "Bird flu with context",
        "core",
        "Bird flu SMS alerts were hacked",
        set(),
        {"vendors": {}, "near_misses": [BIRD_FLU]},
    ),
    ("BIRD FLU upper", "core", "BIRD FLU: SMS breach", set(), {"vendors": {}, "near_misses": [BIRD_FLU]}),
    (
        "Bird flu in title, Bird in text",
        "core",
        ("Bird flu", "", "Bird SMS breach"),
        {VB},
        {"vendors": {"MessageBird": ["Bird"]}},
    ),
    (
        "exclude does not cancel the name",
        "core",
        "MessageBird: Bird flu news hacked",
        {VB},
        {"vendors": {"MessageBird": ["MessageBird"]}},
    ),
    # ---- Vendor context and near --------------------------------------------------------------
    ("no context", "core", "Bird breach", set(), {"near_misses": [BIRD_NO_CONTEXT]}),
    (
        "one near miss per alias, not per occurrence",
        "core",
        "Bird breach. Bird again. Bird.",
        set(),
        {"near_misses": [BIRD_NO_CONTEXT]},
    ),
    ("context far away (no near)", "core", "Bird breach." + " filler" * 200 + " SMS", {VB}, {}),
    (
        "near: context 1 word away",
        "near",
        "Bird SMS breach",
        {VB, "close-breach"},
        {"vendors": {"MessageBird": ["Bird"]}},
    ),
    (
        "near: context 5 words after",
        "near",
        "Bird one two three four SMS breach",
        {VB},
        {"vendors": {"MessageBird": ["Bird"]}},
    ),
    ("near: context 5 words before", "near", "SMS one two three four Bird breach", {VB, "close-breach"}, {}),
    (
        "near: context 6 words away",
        "near",
        "Bird one two three four five SMS breach",
        set(),
        {
            "vendors": {},
            "near_misses": ["Bird: no context word within 5 words (SMS, messaging) for MessageBird"],
        },
    ),
    ("near: punctuation is no word", "near", "Bird,\n\n\u2014 (SMS) breach", {VB, "close-breach"}, {}),
    # A context word counts in its name's own field only, however near across the fields' edge.
    ("near: context in another field", "near", ("SMS", "", "Bird breach"), set(), {"vendors": {}}),
    # ---- Rule near ----------------------------------------------------------------------------------
    ("rule near: 3 apart", "near", "MessageBird a b breach", {VB, "close-breach"}, {}),
    (
        "rule near: 4 apart",
        "near",
        "MessageBird a b c breach",
        {VB},
        {"not_fired": {"close-breach": "4 words apart (near: 3)"}},
    ),
    ("rule near: headline and lede", "near", ("MessageBird hit", "A breach", ""), {VB, "close-breach"}, {}),
    (
        "rule near: across fields, too far",
        "near",
        ("MessageBird", "a b", "c breach"),
        {VB},
        {"not_fired": {"close-breach": "'MessageBird' and 'breach' are 4 words apart (near: 3)"}},
    ),
    # ---- Rule fields ------------------------------------------------------------------------------
    ("title only: both in title", "rules", ("Kaleyra breach", "", ""), {"title-only", "not-drill"}, {}),
    (
        "title only: term in text",
        "rules",
        ("Kaleyra", "", "breach"),
        {"not-drill"},
        {"not_fired": {"title-only": "no 'breach' term matched in title"}},
    ),
    (
        "title only: vendor in text",
        "rules",
        ("A breach", "", "Kaleyra"),
        {"not-drill"},
        {"not_fired": {"title-only": "no vendor matched in title"}},
    ),
    # ---- none: with a quoted phrase ---------------------------------------------------------------
    (
        "none: phrase blocks",
        "rules",
        ("", "", "Kaleyra breach in a tabletop exercise"),
        set(),
        {"not_fired": {"not-drill": 'excluded by "tabletop exercise"'}},
    ),
    ("none: across a line break", "rules", ("", "", "Kaleyra breach: TABLETOP\nEXERCISE"), set(), {}),
    ("none: plural blocks", "rules", ("", "", "Kaleyra breach; tabletop exercises next"), set(), {}),
    (
        "none: hyphenated",
        "rules",
        ("", "", "Kaleyra breach; a tabletop-exercise"),
        set(),
        {},
    ),
    (
        "none: one word is not the phrase",
        "rules",
        ("", "", "Kaleyra breach on the tabletop"),
        {"not-drill"},
        {},
    ),
    # ---- A quoted rule word that is also a topic's name is the literal word ----------------------
    (
        "explicit word, topic namesake; quotes change nothing",
        "collision",
        "Kaleyra hit by LockBit",
        {"topic", "quoted-topic"},
        {"not_fired": {"literal-word": 'no word "ransomware" matched'}},
    ),
    ("explicit word present", "collision", "Kaleyra ransomware", {"literal-word", "topic", "quoted-topic"}, {}),
    # ---- {regex: …} topics --------------------------------------------------------------------
    ("regex hyphen", "regex", "a toll-fraud ring", {"fraud"}, {}),
    ("regex upper space", "regex", "TOLL FRAUD", {"fraud"}, {}),
    ("regex glued", "regex", "tollfraud", set(), {}),
    ("regex inside a word", "regex", "xtoll-fraud", set(), {}),
    ("regex curly-dash text", "regex", "toll\u2013fraud", {"fraud"}, {}),
    ("regex only in URL", "regex", "see https://example.com/toll-fraud", set(), {}),
]


def load(folder: Path, key: str) -> Watchlist:
    path = folder / f"{key}.yaml"
    path.write_text(WATCHLISTS[key], encoding="utf-8")
    return load_watchlist(path)


def evaluate(folder: Path, key: str, text: str | tuple[str, str, str]) -> Evaluation:
    matcher = Matcher([load(folder, key)])
    [evaluation] = matcher.evaluate_text(text) if isinstance(text, str) else matcher.evaluate_text(*text)
    return evaluation


def row_id(row: Row) -> str:
    return row[0].encode("ascii", "backslashreplace").decode()


@pytest.mark.parametrize(("name", "key", "text", "rules", "checks"), TABLE, ids=[row_id(row) for row in TABLE])
def test_tricky(
    tmp_path: Path, name: str, key: str, text: str | tuple[str, str, str], rules: set[str], checks: dict
) -> None:
    evaluation = evaluate(tmp_path, key, text)
    assert {hit.rule for hit in evaluation.fired} == rules, (name, evaluation)
    if "vendors" in checks:
        assert evaluation.vendors == checks["vendors"]
    if "near_misses" in checks:
        assert evaluation.near_misses == checks["near_misses"]
    for rule, words in checks.get("not_fired", {}).items():
        assert words in evaluation.not_fired[rule]


def test_table_covers_every_watchlist() -> None:
    assert {row[1] for row in TABLE} == set(WATCHLISTS)
    assert len({row[0] for row in TABLE}) == len(TABLE)


# --------------------------------------------------------------------------------------------
# Regexes: an evil pattern cannot hang a run; patterns RE2 cannot run are refused with file:line.
# --------------------------------------------------------------------------------------------

EVIL = """\
name: Evil
topics:
  evil: [{regex: '(a+)+$'}]
rules:
  - name: evil
    any: [evil]
"""

EVIL_SCRIPT = """\
import sys, time
from pathlib import Path
from newsbot.matching.matcher import Matcher
from newsbot.configuration.watchlists import load_watchlist
matcher = Matcher([load_watchlist(Path(sys.argv[1]))])
for text in ("a" * 100_000 + "!", "a" * 100_000, "x " + "a" * 99_998):
    started = time.perf_counter()
    [evaluation] = matcher.evaluate_text(text)
    print(len(text), sorted(hit.rule for hit in evaluation.fired), round(time.perf_counter() - started, 3))
"""


def test_evil_regex_finishes_in_linear_time(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text(EVIL, encoding="utf-8")
    try:
        result = subprocess.run(
            [sys.executable, "-c", EVIL_SCRIPT, str(path)],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("(a+)+$ on 100,000 characters did not finish within 60 s")
    assert result.returncode == 0, result.stderr
    lines = [line.split(" ", 1) for line in result.stdout.splitlines()]
    verdicts = [(int(size), rest.rsplit(" ", 1)[0]) for size, rest in lines]
    assert verdicts == [(100_001, "[]"), (100_000, "['evil']"), (100_000, "['evil']")]
    assert all(float(line[1].rsplit(" ", 1)[1]) < 5 for line in lines)


REJECTED = [
    (
        "backreference",
        """\
name: Refs
topics:
  repeated:
    - breach
    - {regex: '(spy)\\1'}
rules:
  - name: r
    any: [repeated]
""",
        5,
        ["(spy)", "cannot be used"],
    ),
    (
        "backspace from double quotes",
        """\
name: Backspace
topics:
  zte: [{regex: "\\bZTE\\b"}]
rules:
  - name: r
    any: [zte]
""",
        3,
        ["backspace", "single quotes"],
    ),
    # Outside a regex a backspace was taken, and the name or word never matched anything.
    (
        "backspace in a vendor's name",
        """\
name: Backspace
vendors:
  - name: "\\bZTE\\b"
topics:
  breach: [hacked]
rules:
  - name: r
    all: [vendors, breach]
""",
        3,
        ["vendors.0.name", "backspace", "without \\b"],
    ),
    (
        "backspace in a topic word",
        """\
name: Backspace
topics:
  breach: [hacked, "\\bleaked"]
rules:
  - name: r
    any: [breach]
""",
        3,
        ["topics.breach", "backspace"],
    ),
    (
        "backspace in an inline word",
        """\
name: Backspace
rules:
  - name: r
    any: [{word: "\\bleaked"}]
""",
        4,
        ["backspace"],
    ),
    (
        "another control character",
        """\
name: Control
vendors:
  - name: "ZTE\\a"
rules:
  - name: r
    any: [vendors]
""",
        3,
        ["control character", "take it out"],
    ),
]


@pytest.mark.parametrize(("name", "text", "line", "words"), REJECTED, ids=[row[0] for row in REJECTED])
def test_unusable_regex_is_refused_with_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, words: list[str]
) -> None:
    path = tmp_path / "watchlist.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_watchlist(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}: "), message
    for word in words:
        assert word in message, message


def test_single_quoted_word_boundaries_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "zte.yaml"
    path.write_text(WATCHLISTS["regex"].replace("'toll[- ]fraud'", "'\\bZTE\\b'"), encoding="utf-8")
    matcher = Matcher([load_watchlist(path)])
    assert [hit.rule for hit in matcher.evaluate_text("ZTE’s routers")[0].fired] == ["fraud"]
    assert matcher.evaluate_text("AZTEC routers")[0].fired == []


def test_control_characters_that_are_whitespace_still_read_as_spaces(tmp_path: Path) -> None:
    """A form feed or a NEL inside a term matched as a space before control characters were refused,
    and must still: refused, a watchlist that loaded before stopped every run."""
    path = tmp_path / "spaces.yaml"
    path.write_text(
        'name: Spaces\ntopics:\n  breach: ["data\\fbreach", "sim\\x85swap"]\nrules:\n  - name: r\n    any: [breach]\n',
        encoding="utf-8",
    )
    matcher = Matcher([load_watchlist(path)])
    assert [hit.rule for hit in matcher.evaluate_text("a data breach")[0].fired] == ["r"]
    assert [hit.rule for hit in matcher.evaluate_text("a SIM swap")[0].fired] == ["r"]
