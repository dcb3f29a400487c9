"""Watchlist matching: throughput, build time and memory, against baselines measured in the same run.

    python benchmarks/matching.py [--quick]

Text: real news from ../shared/corpus when it is there (dataset titles, summaries and bodies; the
items of every feed, parsed and turned into text by newsbot's own feed code; Markdown articles),
packed into story-sized texts of 2-5 KB and repeated to at least 20 MB (4 MB with --quick).
Without the corpus, deterministic synthetic news text (random.Random(42)) with curly quotes and
accented names, so that the non-ASCII folding path is exercised either way.

Watchlists of 100, 1,000, 10,000 and 50,000 terms, two kinds:
- sparse: vendor names that rarely occur (real telecom/CPaaS suppliers, then generated names);
- dense: every term occurs in the text: the text's own most frequent words and word pairs, so at
  10,000 terms nearly every word of every story is a hit (the worst case for per-hit costs).

For each: build time and peak memory of the build (each build in a fresh interpreter, so Rust
and C++ allocations count), MB/s of newsbot's raw engine (`TermIndex.scan`) and of the full path
(`Matcher.evaluate`, rules evaluated), and ratios to `str.casefold()` over the same stories and
to a naive loop of one compiled `\\b<term>\\b` (re.I) regex per term, all measured in this run.
pyahocorasick is measured on the same path (fold, automaton, the same whole-word check) as the
alternative to ahocorasick-rs. Then: newsbot's hits against the naive loop's over the same folded
text, where the time goes stage by stage, and PASS/FAIL against the targets.

A pass stops after a few seconds (slow dense watchlists read part of the text; the MB read are
printed); the naive loop runs on a prefix and, above 2,000 terms, on a sample of the terms, and
its MB/s is extrapolated (its cost is terms × bytes). About 3 minutes on 2 cores; --quick ~35 s.
"""

from __future__ import annotations

import argparse
import csv
import gc
import itertools
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick_rs
import regex

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
CORPUS = REPOSITORY.parent / "shared" / "corpus"

from newsbot import textfold  # noqa: E402
from newsbot.configuration.watchlists import Watchlist, WatchlistConfig  # noqa: E402
from newsbot.matching.matcher import Matcher  # noqa: E402
from newsbot.matching.termindex import Hit, Term, TermIndex  # noqa: E402
from newsbot.matching.textfold import fold, is_whole_word  # noqa: E402

try:
    import ahocorasick  # pyahocorasick: only a comparison, not a dependency of newsbot
except ImportError:  # pragma: no cover
    ahocorasick = None

SEED = 42
TERM_COUNTS = (100, 1_000, 10_000, 50_000)
KINDS = ("sparse", "dense")
MB = 1e6


@dataclass(frozen=True)
class Settings:
    text_bytes: int  # the text each engine scans (a pass stops early after pass_seconds)
    pass_seconds: float  # a slow pass (dense watchlists) stops after this long; MB/s is from what it read
    naive_bytes: int  # the naive regex loop scans at most this prefix...
    naive_seconds: float  # ...and stops after this long (its MB/s is extrapolated)
    agreement_bytes: int  # prefix on which newsbot's hits are compared with the naive loop's
    profile_bytes: int  # prefix on which the stages are timed one by one
    library_bytes: int  # prefix for the comparison of the two automaton libraries
    memory_engines: tuple[str, ...]


ENGINES = ("TermIndex", "Matcher", "ahocorasick-rs", "pyahocorasick", "re loop")
FULL = Settings(20_000_000, 6.5, 1_000_000, 3.0, 150_000, 2_000_000, 4_000_000, ENGINES)
QUICK = Settings(4_000_000, 1.0, 250_000, 0.4, 50_000, 500_000, 1_000_000, ENGINES[:4])


# Real suppliers a telecom-security team watches: they occur now and then in news.
REAL_VENDORS = [
    "Mitto AG", "MessageBird", "Kaleyra", "Twilio", "Sinch", "Syniverse", "BICS", "Infobip", "Vonage",
    "Nexmo", "Telesign", "Bandwidth Inc", "Route Mobile", "Tyntec", "Telnyx", "Plivo", "Commio",
    "AT&T", "T-Mobile", "Verizon", "Vodafone", "Telefónica", "Deutsche Telekom", "Swisscom",
    "Proximus", "Telstra", "Telenor", "Telia", "Ericsson", "Nokia Networks", "Huawei", "ZTE",
    "Mavenir", "Okta", "Salt Typhoon", "NSO Group", "Intellexa", "Cytrox", "Circles", "Türk Telekom",
    "Orange Business", "Lumen Technologies", "Comcast", "Charter Communications", "Rogers",
    "Bharti Airtel", "Jio Platforms", "MTN Group", "Safaricom", "Singtel",
]  # fmt: skip
SYLLABLES = [
    "ka", "lo", "mi", "tr", "ex", "va", "zo", "ne", "ri", "qu", "bel", "dor", "fin", "gar", "hul",
    "jin", "kor", "lum", "mar", "nix", "ost", "pra", "sel", "tav", "ulm", "vek", "wyn", "xan", "yor",
]  # fmt: skip
SUFFIXES = ["Telecom", "Networks", "Mobile", "Messaging", "Labs", "AG", "Ltd", "Systems", "SMS", "Connect"]
ACCENTED = {"a": "á", "e": "é", "o": "ö", "u": "ü", "i": "í"}
BREACH = ["breach", "hacked", "leaked", "ransomware", "data exposure"]
SURVEILLANCE = ["SS7", "spyware", "surveillance", "locate phones", "SIM swap"]

# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


@dataclass
class Text:
    source: str
    stories: list[str]
    unique_stories: int
    megabytes: float = 0.0
    non_ascii: float = 0.0
    sizes: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self.megabytes = sum(len(story.encode("utf-8")) for story in self.stories) / MB
        self.non_ascii = sum(not story.isascii() for story in self.stories) / len(self.stories)
        lengths = [len(story.encode("utf-8")) for story in self.stories]
        self.sizes = (min(lengths), max(lengths))


def corpus_items(folder: Path) -> Iterator[str]:
    """Every news item of the shared corpus as plain text: title, summary, body."""
    from newsbot.stories.feeds import parse_feed
    from newsbot.stories.normalize import html_to_text

    csv.field_size_limit(1 << 30)
    wanted = ("title", "description", "summary", "text", "body", "content")
    for path in sorted((folder / "datasets").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                parts = [row[key] for key in row if key and key.lower() in wanted and row[key]]
                if parts:
                    yield "\n".join(parts)
    for path in sorted((folder / "datasets").glob("*.json")):
        yield from _json_items(json.loads(path.read_text(encoding="utf-8")), wanted)
    for path in sorted((folder / "feeds").iterdir()):
        try:
            entries = parse_feed(path.read_bytes(), f"https://example.org/{path.name}")
        except ValueError:
            continue
        for entry in entries:
            parts = [html_to_text(value) for value in (entry.title, entry.summary, entry.content)]
            if any(parts):
                yield "\n".join(part for part in parts if part)
    for path in sorted((folder / "pages").glob("*.md")):
        yield path.read_text(encoding="utf-8", errors="replace")


def _json_items(node: object, wanted: Sequence[str]) -> Iterator[str]:
    if isinstance(node, list):
        for value in node:
            yield from _json_items(value, wanted)
    elif isinstance(node, dict):
        if "title" in node:
            parts = [str(node[key]) for key in wanted if isinstance(node.get(key), str) and node[key]]
            if parts:
                yield "\n".join(parts)
                return
        for value in node.values():
            yield from _json_items(value, wanted)


def pack(items: list[str], rng: random.Random) -> list[str]:
    """Items packed into stories of 2-5 KB; a longer item is cut at a space."""
    pieces: list[str] = []
    for item in items:
        while len(item) > 5_000:
            cut = item.rfind(" ", 2_500, 4_500)
            cut = cut if cut > 0 else 4_000
            pieces.append(item[:cut])
            item = item[cut:].lstrip()  # noqa: PLW2901
        pieces.append(item)
    stories: list[str] = []
    current: list[str] = []
    size, target = 0, rng.randint(2_000, 5_000)
    for piece in pieces:
        current.append(piece)
        size += len(piece) + 2
        if size >= target:
            stories.append("\n\n".join(current))
            current, size, target = [], 0, rng.randint(2_000, 5_000)
    if current:
        stories.append("\n\n".join(current))
    return stories


def synthetic_stories(total: int, rng: random.Random) -> list[str]:
    """News-like text with some non-ASCII: curly quotes, dashes, accented names, euro signs."""
    words = [
        "the", "a", "of", "to", "in", "and", "for", "on", "with", "by", "from", "at", "as", "is", "was",
        "were", "has", "have", "said", "says", "report", "security", "telecom", "carrier", "operator",
        "network", "mobile", "phone", "subscribers", "customers", "data", "access", "attack",
        "attackers", "vulnerability", "exploit", "flaw", "patch", "breach", "leaked", "database",
        "server", "cloud", "gateway", "SMS", "messages", "routing", "signalling", "protocol", "roaming",
        "interconnect", "aggregator", "vendor", "supplier", "contract", "company", "executive",
        "founder", "statement", "investigation", "police", "court", "regulator", "fine", "million",
        "percent", "week", "month", "year", "government", "agency", "intelligence", "surveillance",
        "tracking", "location", "calls", "logs", "records", "authentication", "codes", "passwords",
        "login", "accounts", "fraud", "scam", "SIM", "swap", "porting",
    ]  # fmt: skip
    names = [*REAL_VENDORS, "Zürich", "São Paulo", "Müller", "Crédit Agricole", "Škoda", "Łódź"]
    stories: list[str] = []
    size = 0
    while size < total:
        target = rng.randint(2_000, 5_000)
        parts: list[str] = []
        length = 0
        while length < target:
            roll = rng.random()
            if roll < 0.02:
                word = rng.choice(names)
            elif roll < 0.03:
                word = f"\u201c{rng.choice(words)}\u201d"
            elif roll < 0.035:
                word = f"{rng.choice(names)}\u2019s"
            elif roll < 0.04:
                word = f"\u2014 {rng.randint(2, 99)} \u20ac"
            else:
                word = rng.choice(words) + (rng.choice(".,;:") if rng.random() < 0.06 else "")
            parts.append(word)
            length += len(word) + 1
        story = " ".join(parts)
        stories.append(story)
        size += len(story.encode("utf-8"))
    return stories


def load_text(settings: Settings) -> Text:
    rng = random.Random(SEED)
    if CORPUS.is_dir():
        items = list(dict.fromkeys(item.strip() for item in corpus_items(CORPUS) if item.strip()))
        rng.shuffle(items)
        unique = pack(items, rng)
        source = f"real news from {CORPUS} ({len(items):,} distinct items)"
    else:
        unique = synthetic_stories(settings.text_bytes, rng)
        source = f"synthetic news-like text, random.Random({SEED}) (no {CORPUS})"
    stories: list[str] = []
    size = 0
    while size < settings.text_bytes:
        for story in unique:
            stories.append(story)
            size += len(story.encode("utf-8"))
            if size >= settings.text_bytes:
                break
    return Text(source=source, stories=stories, unique_stories=min(len(unique), len(stories)))


def prefix(stories: Sequence[str], limit: int) -> list[str]:
    chosen: list[str] = []
    size = 0
    for story in stories:
        if size >= limit:
            break
        chosen.append(story)
        size += len(story.encode("utf-8"))
    return chosen


def megabytes(stories: Sequence[str]) -> float:
    return sum(len(story.encode("utf-8")) for story in stories) / MB


# ---------------------------------------------------------------------------------------------
# Watchlists
# ---------------------------------------------------------------------------------------------


def sparse_terms(count: int, rng: random.Random) -> list[str]:
    """Real supplier names first (half of the list at most), then generated vendor-like names."""
    names = REAL_VENDORS[: min(len(REAL_VENDORS), count // 2)]
    seen = {fold(name) for name in names}
    while len(names) < count:
        stem = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if rng.random() < 0.05:
            vowel = next((letter for letter in stem if letter in ACCENTED), None)
            stem = stem.replace(vowel, ACCENTED[vowel], 1) if vowel else stem
        name = stem.capitalize()
        if rng.random() < 0.35:
            name = f"{name} {rng.choice(SUFFIXES)}"
        key = fold(name)
        if key not in seen:
            seen.add(key)
            names.append(name)
    return names


_TOKEN = regex.compile(r"\w+")


def dense_vocabulary(stories: Sequence[str]) -> list[str]:
    """Words and two-word phrases of the folded text, most frequent first."""
    counts: Counter[str] = Counter()
    for story in stories:
        folded = fold(story)
        tokens = list(_TOKEN.finditer(folded))
        counts.update(token.group() for token in tokens)
        counts.update(
            f"{first.group()} {second.group()}"
            for first, second in itertools.pairwise(tokens)
            if second.start() == first.end() + 1 and folded[first.end()] == " "
        )
    return [term for term, _ in sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))]


def watchlist_data(kind: str, terms: Sequence[str]) -> dict:
    """The terms as vendors, plus what the shipped telecom watchlist also uses: a case-sensitive
    vendor with context words and near:, a regex topic term, and a rule with near:."""
    vendors = [{"name": term} for term in terms]
    vendors.append(
        {
            "name": "Bandwidth Inc",
            "aliases": ["Bandwidth"],
            "case_sensitive": True,
            "context": ["SMS", "carrier", "VoIP"],
            "near": 30,
        }
    )
    return {
        "name": f"{kind} {len(terms)}",
        "vendors": vendors,
        "topics": {"breach": BREACH, "surveillance": SURVEILLANCE, "fraud": [{"regex": "toll[- ]fraud"}]},
        "rules": [
            {"name": "vendor-breach", "all": ["vendors", "breach"]},
            {"name": "vendor-surveillance", "all": ["vendors", "surveillance"], "near": 40},
            {"name": "vendor-fraud", "all": ["vendors", "fraud"]},
        ],
    }


def make_watchlist(data: dict) -> Watchlist:
    return Watchlist(path=Path(f"<{data['name']}>"), config=WatchlistConfig.model_validate(data))


# ---------------------------------------------------------------------------------------------
# Engines
# ---------------------------------------------------------------------------------------------


def naive_patterns(terms: Sequence[str]) -> list[re.Pattern[str]]:
    return [re.compile(r"\b" + re.escape(term) + r"\b", re.I) for term in terms]


def py_automaton(terms: Sequence[str]) -> object:
    automaton = ahocorasick.Automaton()
    for number, term in enumerate(terms):
        key = fold(term)
        if key and key not in automaton:
            automaton.add_word(key, (number, len(key)))
    automaton.make_automaton()
    return automaton


def py_scan(automaton: object, story: str) -> list[tuple[int, int, int]]:
    """pyahocorasick on newsbot's path: fold, every overlapping occurrence, the same boundary check."""
    folded = fold(story)
    hits = []
    for end, (number, length) in automaton.iter(folded):
        start = end - length + 1
        if is_whole_word(folded, start, end + 1):
            hits.append((number, start, end + 1))
    return hits


def rs_automaton(terms: Sequence[str]) -> ahocorasick_rs.AhoCorasick:
    return ahocorasick_rs.AhoCorasick(list(dict.fromkeys(fold(term) for term in terms)))


def rs_scan(automaton: ahocorasick_rs.AhoCorasick, story: str) -> list[tuple[int, int, int]]:
    """ahocorasick-rs on exactly the path of py_scan, for a like-for-like comparison."""
    folded = fold(story)
    return [
        (number, start, end)
        for number, start, end in automaton.find_matches_as_indexes(folded, overlapping=True)
        if is_whole_word(folded, start, end)
    ]


def throughput(
    function: Callable[[str], object], stories: Sequence[str], seconds: float = float("inf")
) -> tuple[float, float]:
    """(MB/s, MB read): every story, or as many as `seconds` allows (at least one)."""
    sizes = [len(story.encode("utf-8")) for story in stories]
    read = 0
    started = time.perf_counter()
    elapsed = 0.0
    for story, size in zip(stories, sizes, strict=True):
        function(story)
        read += size
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            break
    return read / MB / elapsed, read / MB


def best_throughput(function: Callable[[str], object], stories: Sequence[str]) -> float:
    return max(throughput(function, stories)[0] for _ in range(3))


def timed(function: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


NAIVE_PATTERNS = 2_000  # above this many terms, the naive loop runs an even sample of them


def naive_rate(terms: Sequence[str], stories: Sequence[str], settings: Settings) -> tuple[float, int, int]:
    """(MB/s, bytes read, patterns run) of the naive loop: one compiled regex per term, `search` on
    every story (which terms occur). It runs on a prefix of the text and, above NAIVE_PATTERNS
    terms, on an even sample of the terms: its cost is (terms × bytes), so both extrapolate."""
    sample = list(terms[:: max(1, len(terms) // NAIVE_PATTERNS)])
    patterns = naive_patterns(sample)
    scanned = 0
    started = time.perf_counter()
    elapsed = 0.0
    for story in stories:
        for pattern in patterns:
            pattern.search(story)
        scanned += len(story.encode("utf-8"))
        elapsed = time.perf_counter() - started
        if scanned >= settings.naive_bytes or elapsed >= settings.naive_seconds:
            break
    return scanned / MB / elapsed * len(patterns) / len(terms), scanned, len(patterns)


# ---------------------------------------------------------------------------------------------
# Peak memory of a build, in a fresh process
# ---------------------------------------------------------------------------------------------

MEMORY_SCRIPT = r"""
import gc, json, resource, sys, time
engine, path = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
sys.path.insert(0, sys.argv[4])
import matching as bench
from newsbot.matching.textfold import fold
data = json.load(open(path, encoding="utf-8"))
terms = data["terms"]
if engine == "TermIndex":
    from newsbot.matching.termindex import Term, TermIndex
    prepared = [Term(term) for term in terms]
    build = lambda: TermIndex(prepared)
elif engine == "Matcher":
    from newsbot.matching.matcher import Matcher
    watchlist = bench.make_watchlist(data["watchlist"])
    build = lambda: Matcher([watchlist])
elif engine == "ahocorasick-rs":
    import ahocorasick_rs
    prepared = list(dict.fromkeys(fold(term) for term in terms))
    build = lambda: ahocorasick_rs.AhoCorasick(prepared)
elif engine == "pyahocorasick":
    build = lambda: bench.py_automaton(terms)
elif engine == "re loop":
    build = lambda: bench.naive_patterns(terms)

def status(key):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024

gc.collect()
try:
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # resets VmHWM (peak RSS) to the current RSS
    method = "VmHWM"
    before = status("VmRSS")
except OSError:
    method = "ru_maxrss"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started = time.perf_counter()
built = build()
seconds = time.perf_counter() - started
if method == "VmHWM":
    peak = status("VmHWM") - before
    retained = status("VmRSS") - before
else:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    retained = float("nan")
print(json.dumps({"peak": peak, "retained": retained, "seconds": seconds, "method": method}))
"""


def measure_memory(jobs: list[tuple[str, str, int, Path]]) -> dict[tuple[str, str, int], dict]:
    """One fresh interpreter per (engine, kind, size), two at a time (they do not time anything
    that is compared with the in-process numbers)."""

    def run(job: tuple[str, str, int, Path]) -> tuple[tuple[str, str, int], dict]:
        engine, kind, count, path = job
        if engine == "pyahocorasick" and ahocorasick is None:
            return (engine, kind, count), {}
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                MEMORY_SCRIPT,
                engine,
                str(path),
                str(REPOSITORY),
                str(Path(__file__).parent),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if result.returncode != 0:
            return (engine, kind, count), {"error": result.stderr.strip().splitlines()[-1:]}
        return (engine, kind, count), json.loads(result.stdout)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, jobs))


# ---------------------------------------------------------------------------------------------
# Hits: newsbot against the naive loop after the same folding
# ---------------------------------------------------------------------------------------------


def agreement(index: TermIndex, terms: Sequence[str], stories: Sequence[str]) -> tuple[int, int, int, list]:
    """(common, newsbot only, naive only, examples) of (story, term, start, end) in fold(story)."""
    patterns = naive_patterns([fold(term) for term in terms])
    mine: set[tuple[int, int, int, int]] = set()
    theirs: set[tuple[int, int, int, int]] = set()
    for number, story in enumerate(stories):
        mine.update((number, hit.term, hit.start, hit.end) for hit in index.scan({"text": story}))
        folded = fold(story)
        for term, pattern in enumerate(patterns):
            theirs.update((number, term, found.start(), found.end()) for found in pattern.finditer(folded))
    examples = []
    for label, difference in (("newsbot only", mine - theirs), ("naive only", theirs - mine)):
        for number, term, start, end in sorted(difference)[:3]:
            folded = fold(stories[number])
            context = folded[max(0, start - 12) : end + 12].replace("\n", " ")
            examples.append(f"{label}: {terms[term]!r} in …{context}… ({why(folded, start, end)})")
    return len(mine & theirs), len(mine - theirs), len(theirs - mine), examples


def why(folded: str, start: int, end: int) -> str:
    before = folded[start - 1] if start else ""
    after = folded[end] if end < len(folded) else ""
    if before == "%":
        return "after '%': a URL escape for newsbot"
    for character in (before, after):
        if character and not character.isalnum() and textfold.is_word_character(character):
            return f"next to the combining mark U+{ord(character):04X}: inside a word for newsbot, not for re"
    return "overlapping occurrences of one term" if before.isspace() or not before else "other"


# ---------------------------------------------------------------------------------------------
# Where the time goes
# ---------------------------------------------------------------------------------------------


def profile(matcher: Matcher, stories: Sequence[str]) -> tuple[list[tuple[str, float]], bool]:
    """Seconds per stage of Matcher.evaluate over `stories`, each stage timed alone on its own input,
    and whether the stages, run one after the other, still give exactly textfold.fold's output."""
    index = matcher._index  # the engine's internals, read only to attribute the time
    automaton = index._folded.automaton
    terms = index._folded.terms
    has_plain = index._exact.automaton is not None

    def nfkd_casefold(text: str) -> str:
        return text.lower() if text.isascii() else unicodedata.normalize("NFKD", text).casefold()

    def strip_accents(text: str) -> str:
        return text if text.isascii() else textfold._ACCENTS.sub("", text)

    def find(text: str) -> list:
        return automaton.find_matches_as_indexes(text, overlapping=True)

    def boundaries(pair: tuple[str, list]) -> list:
        return [match for match in pair[1] if is_whole_word(pair[0], match[1], match[2])]

    def hits(found: list[tuple[int, int, int]]) -> list[Hit]:
        return [Hit(term, "text", start, end, -1, True) for number, start, end in found for term in terms[number]]

    stages: list[tuple[str, float]] = []
    inputs: list = list(stories)
    for name, function in (
        ("fold: blank_urls", textfold.blank_urls),
        ("fold: typography (quotes, dashes, symbols)", textfold._plain_typography),
        ("fold: NFKD + casefold", nfkd_casefold),
        ("fold: accent strip", strip_accents),
        ('fold: " ".join(split())', textfold._single_spaced),
    ):
        stages.append((name, clock(function, inputs)))
        inputs = [function(value) for value in inputs]
    folded = inputs
    mirrors = folded == [fold(story) for story in stories]
    raw = [find(text) for text in folded]
    kept = [boundaries(pair) for pair in zip(folded, raw, strict=True)]
    plains = [textfold.plain(story) for story in stories] if has_plain else []
    stages += [
        (
            "plain() (only where a case-sensitive probe hit)",
            clock(textfold.plain, stories) if has_plain else 0.0,
        ),
        ("automaton (ahocorasick-rs)", clock(find, folded)),
        ("whole-word checks", clock(boundaries, list(zip(folded, raw, strict=True)))),
        ("case-sensitive automaton on plain()", clock(lambda text: list(index._exact.find(text)), plains)),
        ("RE2 set + regexes on the folded text", clock(lambda text: list(index._regex_hits(text)), folded)),
        ("Hit construction", clock(hits, kept)),
    ]
    scan = clock(lambda story: index.scan({"text": story}), stories)
    total = clock(lambda story: matcher.evaluate({"text": story}), stories)
    stages.append(("scan: generators, lists, the rest", max(0.0, scan - sum(seconds for _, seconds in stages))))
    stages.append(("rule evaluation (evaluate - scan)", max(0.0, total - scan)))
    stages.append(("= Matcher.evaluate", total))
    return stages, mirrors


def clock(function: Callable[[object], object], inputs: Sequence[object]) -> float:
    started = time.perf_counter()
    for value in inputs:
        function(value)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    kind: str
    count: int
    build_index: float = 0.0
    build_matcher: float = 0.0
    index_rate: float = 0.0
    index_read: float = 0.0
    matcher_rate: float = 0.0
    matcher_read: float = 0.0
    hits_per_kb: float = 0.0
    rs_build: float = 0.0
    py_build: float = 0.0
    rs_rate: float = 0.0
    py_rate: float = 0.0
    rs_only: float = 0.0
    py_only: float = 0.0
    naive_rate: float = 0.0
    naive_bytes: int = 0
    naive_patterns: int = 0
    memory: dict[str, dict] = field(default_factory=dict)

    def peak(self, engine: str) -> float:
        return self.memory.get(engine, {}).get("peak", float("nan"))

    def build(self, engine: str) -> float:
        """Build seconds in a fresh interpreter (as in a cron run), else in this process."""
        here = self.build_index if engine == "TermIndex" else self.build_matcher
        return self.memory.get(engine, {}).get("seconds", here)


def measure(kind: str, terms: list[str], text: Text, folded: list[str], settings: Settings) -> tuple:
    row = Row(kind, len(terms))
    budget = settings.pass_seconds
    index, row.build_index = timed(lambda: TermIndex([Term(term) for term in terms]))
    watchlist = make_watchlist(watchlist_data(kind, terms))
    matcher, row.build_matcher = timed(lambda: Matcher([watchlist]))
    hits = 0

    def scan(story: str) -> None:
        nonlocal hits
        hits += len(index.scan({"text": story}))

    row.index_rate, row.index_read = throughput(scan, text.stories, budget)
    row.hits_per_kb = hits / (row.index_read * 1000)
    row.matcher_rate, row.matcher_read = throughput(
        lambda story: matcher.evaluate({"text": story}), text.stories, budget
    )
    library = prefix(text.stories, settings.library_bytes)
    rs, row.rs_build = timed(lambda: rs_automaton(terms))
    row.rs_rate = throughput(lambda story: rs_scan(rs, story), library, budget / 2)[0]
    row.rs_only = throughput(lambda text: rs.find_matches_as_indexes(text, overlapping=True), folded, budget / 2)[0]
    if ahocorasick is not None:
        py, row.py_build = timed(lambda: py_automaton(terms))
        row.py_rate = throughput(lambda story: py_scan(py, story), library, budget / 2)[0]
        row.py_only = throughput(lambda text: list(py.iter(text)), folded, budget / 2)[0]
    row.naive_rate, row.naive_bytes, row.naive_patterns = naive_rate(terms, text.stories, settings)
    return row, matcher, index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~4 MB of text, shorter passes and baselines")
    settings = QUICK if parser.parse_args().quick else FULL
    started = time.perf_counter()
    text, load_seconds = timed(lambda: load_text(settings))
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"text: {text.source}")
    print(
        f"      {len(text.stories):,} stories ({text.unique_stories:,} distinct, then repeated), "
        f"{text.megabytes:.1f} MB UTF-8, {text.sizes[0]:,}-{text.sizes[1]:,} bytes each, "
        f"{100 * text.non_ascii:.0f}% with non-ASCII characters; loaded in {load_seconds:.1f}s"
    )
    casefold = best_throughput(str.casefold, text.stories)
    print(f"str.casefold() over the same stories: {casefold:,.0f} MB/s (best of 3)")
    sparse_all = sparse_terms(max(TERM_COUNTS), random.Random(SEED))
    vocabulary = dense_vocabulary(text.stories[: text.unique_stories])
    folded = [fold(story) for story in prefix(text.stories, settings.library_bytes)]
    gc.collect()
    gc.freeze()  # the text and the rest of the setup are never garbage: no collection walks them
    print()
    rows: list[Row] = []
    kept: dict[tuple[str, int], tuple[Matcher, TermIndex, list[str]]] = {}
    jobs = []
    workdir = Path(tempfile.mkdtemp(prefix="newsbot-benchmark-"))
    for kind in KINDS:
        for count in TERM_COUNTS:
            terms = sparse_all[:count] if kind == "sparse" else vocabulary[:count]
            if len(terms) < count:
                print(f"{kind:>6} {count:>6,} terms: skipped, the text has only {len(terms):,} words and pairs")
                continue
            row, matcher, index = measure(kind, terms, text, folded, settings)
            rows.append(row)
            print(
                f"{kind:>6} {count:>6,} terms: build {row.build_index:.2f}s/{row.build_matcher:.2f}s, "
                f"TermIndex {row.index_rate:5.1f} MB/s, Matcher {row.matcher_rate:5.1f} MB/s "
                f"(read {row.matcher_read:4.1f} MB), {row.hits_per_kb:5.1f} hits/KB; "
                f"naive re {row.naive_rate:.4f} MB/s "
                f"({row.naive_patterns:,} patterns, {row.naive_bytes / 1e3:,.0f} KB)",
                flush=True,
            )
            if count in (1_000, 10_000):
                kept[kind, count] = (matcher, index, terms)
            path = workdir / f"{kind}-{count}.json"
            data = {"terms": terms, "watchlist": watchlist_data(kind, terms)}
            path.write_text(json.dumps(data), encoding="utf-8")
            jobs += [(engine, kind, count, path) for engine in settings.memory_engines]
    measured = time.perf_counter()
    memory = measure_memory(jobs)
    for row in rows:
        row.memory = {engine: memory.get((engine, row.kind, row.count), {}) for engine in ENGINES}
    print(f"(peak memory of {len(jobs)} builds, each in a fresh interpreter: {time.perf_counter() - measured:.0f}s)")
    check_hits(kept, text, settings)
    profiles(kept, text, settings)
    libraries(rows, settings)
    results(rows, text, casefold, settings)
    targets(rows, casefold)
    print(f"\ntotal runtime: {time.perf_counter() - started:.0f}s")


def check_hits(kept: dict, text: Text, settings: Settings) -> None:
    stories = prefix(text.stories, settings.agreement_bytes)
    print()
    print(
        "== Hits: TermIndex against the naive re loop over the same folded text "
        f"(first {megabytes(stories) * 1000:,.0f} KB) =="
    )
    for (kind, count), (_, index, terms) in kept.items():
        if count != 1_000:
            continue
        common, mine, theirs, examples = agreement(index, terms, stories)
        total = common + mine + theirs
        share = 100 * common / total if total else 100.0
        print(
            f"{kind} {count:,} terms: {common:,} hits in common, {mine:,} only newsbot, {theirs:,} only the "
            f"naive loop: agreement {share:.2f}%"
        )
        for example in examples:
            print(f"    {example}")


def profiles(kept: dict, text: Text, settings: Settings) -> None:
    stories = prefix(text.stories, settings.profile_bytes)
    size = megabytes(stories)
    print()
    print(f"== Where the time goes: Matcher.evaluate stage by stage, each timed alone ({size:.1f} MB) ==")
    for (kind, count), (matcher, _, _) in kept.items():
        if count != 10_000:
            continue
        stages, mirrors = profile(matcher, stories)
        total = stages[-1][1]
        warning = "" if mirrors else " (warning: the stages no longer give textfold.fold's output)"
        print(f"{kind} {count:,} terms{warning}:")
        for name, seconds in stages:
            alone = f"{size / seconds:9.1f} MB/s alone" if seconds else ""
            print(f"    {name:<46} {seconds:7.3f}s {100 * seconds / total:5.1f}%  {alone}")


def libraries(rows: list[Row], settings: Settings) -> None:
    print()
    print(
        f"== ahocorasick-rs (rs) and pyahocorasick (py) on the same path: fold, every overlapping "
        f"occurrence, the same whole-word check (first {settings.library_bytes / MB:g} MB) =="
    )
    print("| watchlist | terms | build s rs / py | peak MB rs / py | automaton only MB/s rs / py | path MB/s rs / py |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row.kind} | {row.count:,} | {row.rs_build:.3f} / {row.py_build:.3f} | "
            f"{row.peak('ahocorasick-rs'):.1f} / {row.peak('pyahocorasick'):.1f} | "
            f"{row.rs_only:,.0f} / {row.py_only:,.0f} | {row.rs_rate:.1f} / {row.py_rate:.1f} |"
        )


def results(rows: list[Row], text: Text, casefold: float, settings: Settings) -> None:
    method = next((row.memory[e]["method"] for row in rows for e in row.memory if "method" in row.memory[e]), "?")
    real = "real" if text.source.startswith("real") else "synthetic"
    print()
    print(f"== Results: {text.megabytes:.0f} MB of {real} news, str.casefold() {casefold:,.0f} MB/s ==")
    print(
        "| watchlist | terms | build s TermIndex / Matcher | build peak MB TermIndex / Matcher | TermIndex MB/s | "
        "Matcher MB/s | Matcher ÷ casefold | Matcher ÷ naive re | hits/KB | MB read |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row.kind} | {row.count:,} | {row.build('TermIndex'):.2f} / {row.build('Matcher'):.2f} | "
            f"{row.peak('TermIndex'):.0f} / {row.peak('Matcher'):.0f} | {row.index_rate:.1f} | "
            f"{row.matcher_rate:.1f} | {row.matcher_rate / casefold:.3f}× | "
            f"{row.matcher_rate / row.naive_rate:,.0f}× | {row.hits_per_kb:.1f} | {row.matcher_read:.1f} |"
        )
    if any(row.memory.get("re loop") for row in rows):
        loops = ", ".join(
            f"{row.kind} {row.count:,}: {row.build('re loop'):.2f}s {row.peak('re loop'):.0f} MB" for row in rows
        )
        print(f"\nThe naive loop's build (compiling one re per term), time and peak: {loops}.")
    print()
    print(
        textwrap.fill(
            "TermIndex: the raw engine over the terms alone. Matcher: the full path (rules evaluated) over "
            "one watchlist of the terms as vendors, plus what the shipped telecom-threats.yaml also uses: a "
            "case-sensitive vendor with context words and near:, a regex topic term and a rule with near:. "
            f"A pass stops after {settings.pass_seconds:g}s (MB read: the Matcher's), so slow dense passes "
            "read less than the whole text. Build s and peak MB: in a fresh interpreter per build (as a cron "
            "run builds); peak MB is the build's peak resident memory above the resident memory just before it "
            f"({method}: /proc/self/status after resetting the peak with /proc/self/clear_refs; else "
            "getrusage ru_maxrss), so Rust (ahocorasick-rs), C++ (RE2) and C (pyahocorasick) allocations "
            "count. The naive loop (one compiled re per term, `search` on each story) ran on a prefix, at "
            f"most {settings.naive_bytes / MB:g} MB or {settings.naive_seconds:g}s per watchlist, and above "
            f"{NAIVE_PATTERNS:,} terms on an even sample of {NAIVE_PATTERNS:,} of them: its MB/s is "
            "extrapolated from that prefix and that sample (its cost is terms × bytes).",
            width=110,
        )
    )


def targets(rows: list[Row], casefold: float) -> None:
    by = {(row.kind, row.count): row for row in rows}
    checks = []
    for kind, count, floor in (("sparse", 1_000, 0.4), ("sparse", 10_000, 0.4), ("dense", 10_000, 0.15)):
        if (kind, count) in by:
            row = by[kind, count]
            ratio = row.matcher_rate / casefold
            checks.append(
                (
                    f"{kind} {count:,}: ≥ {floor}× casefold throughput",
                    ratio >= floor,
                    f"Matcher {ratio:.3f}× (TermIndex {row.index_rate / casefold:.3f}×)",
                )
            )
    for kind in KINDS:
        if (kind, 1_000) in by:
            row = by[kind, 1_000]
            ratio = row.matcher_rate / row.naive_rate
            checks.append(
                (
                    f"{kind} 1,000: ≥ 100× the naive re loop",
                    ratio >= 100,
                    f"Matcher {ratio:,.0f}× (TermIndex {row.index_rate / row.naive_rate:,.0f}×)",
                )
            )
    for kind in KINDS:
        if (kind, 10_000) in by:
            row = by[kind, 10_000]
            checks.append(
                (
                    f"{kind} 10,000: build ≤ 0.5 s",
                    row.build("Matcher") <= 0.5,
                    f"Matcher {row.build('Matcher'):.2f}s in a fresh interpreter, {row.build_matcher:.2f}s here",
                )
            )
            checks.append(
                (
                    f"{kind} 10,000: build ≤ 50 MB",
                    row.peak("Matcher") <= 50,
                    f"Matcher {row.peak('Matcher'):.1f} MB peak",
                )
            )
    print()
    print("== Targets ==")
    for name, passed, value in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {value}")


if __name__ == "__main__":
    main()
