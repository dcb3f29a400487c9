"""Matcher throughput against a naive per-term regex loop, measured in the same process.

    python benchmarks/matching.py

A synthetic corpus (~5 MB, deterministic: random.Random(42)) of news-like texts with generated
vendor names inserted is scanned by newsbot.matching.Matcher for watchlists of 10, 1,000 and
10,000 vendor names, and by a BASELINE that runs one compiled `\\b<term>\\b` (re.I) regex per
term over each text. Throughput is MB of text scanned per second; the ratio is newsbot/baseline.
Both must find the same (text index, term) hits on a sample: agreement is |A∩B| / |A∪B|.

The baseline's cost grows with terms × text, so at 1,000 and 10,000 terms it scans only the first
part of the corpus (said in the output) to keep the whole run well under a minute on 2 cores.
"""

from __future__ import annotations

import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsbot.matching import Matcher
from newsbot.watchlists import Watchlist, WatchlistConfig

SEED = 42
CORPUS_BYTES = 5_000_000
TERM_COUNTS = (10, 1_000, 10_000)
# Bytes of corpus the baseline scans per watchlist size (its cost is terms × bytes).
BASELINE_BYTES = {10: CORPUS_BYTES, 1_000: 400_000, 10_000: 40_000}
SAMPLE_TEXTS = 60  # texts on which both hit sets are compared

WORDS = [
    "the",
    "a",
    "an",
    "of",
    "to",
    "in",
    "and",
    "for",
    "on",
    "with",
    "by",
    "from",
    "at",
    "as",
    "is",
    "was",
    "were",
    "be",
    "been",
    "has",
    "have",
    "had",
    "that",
    "this",
    "it",
    "its",
    "which",
    "who",
    "said",
    "says",
    "report",
    "reports",
    "according",
    "researchers",
    "security",
    "telecom",
    "carrier",
    "operator",
    "network",
    "networks",
    "mobile",
    "phone",
    "phones",
    "subscriber",
    "subscribers",
    "customers",
    "users",
    "data",
    "access",
    "attack",
    "attackers",
    "vulnerability",
    "vulnerabilities",
    "exploit",
    "exploited",
    "flaw",
    "flaws",
    "patch",
    "patched",
    "update",
    "breach",
    "leaked",
    "leak",
    "exposed",
    "exposure",
    "database",
    "server",
    "servers",
    "cloud",
    "api",
    "gateway",
    "sms",
    "messages",
    "message",
    "messaging",
    "routing",
    "signalling",
    "protocol",
    "ss7",
    "diameter",
    "roaming",
    "interconnect",
    "aggregator",
    "aggregators",
    "vendor",
    "vendors",
    "supplier",
    "suppliers",
    "contract",
    "contracts",
    "company",
    "companies",
    "firm",
    "firms",
    "executive",
    "founder",
    "ceo",
    "spokesperson",
    "statement",
    "investigation",
    "investigators",
    "police",
    "court",
    "lawsuit",
    "regulator",
    "regulators",
    "fine",
    "fined",
    "million",
    "billion",
    "percent",
    "week",
    "month",
    "year",
    "today",
    "yesterday",
    "last",
    "first",
    "new",
    "former",
    "major",
    "global",
    "european",
    "american",
    "asian",
    "government",
    "agency",
    "agencies",
    "intelligence",
    "surveillance",
    "spyware",
    "tracking",
    "location",
    "locate",
    "track",
    "calls",
    "call",
    "logs",
    "records",
    "authentication",
    "codes",
    "one-time",
    "passwords",
    "login",
    "accounts",
    "twitter",
    "banks",
    "payment",
    "fraud",
    "scam",
    "sim",
    "swap",
    "porting",
    "number",
    "numbers",
    "text",
    "texts",
    "email",
    "emails",
    "website",
    "sites",
    "service",
    "services",
    "platform",
    "customers'",
    "industry",
    "market",
    "markets",
    "analyst",
    "analysts",
    "warned",
    "warning",
    "risk",
    "risks",
    "critical",
    "high",
    "medium",
    "low",
    "severity",
    "incident",
    "incidents",
    "response",
    "teams",
    "team",
    "engineers",
    "engineering",
    "software",
    "hardware",
    "firmware",
    "equipment",
    "infrastructure",
    "core",
    "radio",
    "access",
    "5g",
    "4g",
    "lte",
    "base",
    "station",
    "stations",
    "antenna",
    "cable",
    "fibre",
    "internet",
    "provider",
    "providers",
    "broadband",
    "outage",
    "outages",
    "disruption",
    "disrupted",
    "hours",
    "days",
    "weeks",
    "months",
]

SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "tr",
    "ex",
    "va",
    "zo",
    "ne",
    "ri",
    "qu",
    "bel",
    "dor",
    "fin",
    "gar",
    "hul",
    "jin",
    "kor",
    "lum",
    "mar",
    "nix",
    "ost",
    "pra",
    "sel",
    "tav",
    "ulm",
    "vek",
    "wyn",
    "xan",
    "yor",
    "zed",
)
SUFFIXES = ("Telecom", "Networks", "Mobile", "Messaging", "Labs", "AG", "Ltd", "Systems")


def vendor_names(count: int, rng: random.Random) -> list[str]:
    """`count` distinct generated names, some of two words; none is a word of WORDS."""
    names: list[str] = []
    seen: set[str] = set()
    vocabulary = set(WORDS)
    while len(names) < count:
        stem = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
        name = f"{stem} {rng.choice(SUFFIXES)}" if rng.random() < 0.3 else stem
        if name.casefold() in seen or stem.casefold() in vocabulary:
            continue
        seen.add(name.casefold())
        names.append(name)
    return names


def corpus(names: list[str], rng: random.Random) -> list[str]:
    """News-like texts of 1–6 KB until CORPUS_BYTES, with vendor names in the forms news uses."""
    forms = ("{}", "{}", "{}", "{}'s", "{},", "({})", "{}-linked", "{}.", "{}")
    texts: list[str] = []
    size = 0
    while size < CORPUS_BYTES:
        target = rng.randint(1_000, 6_000)
        parts: list[str] = []
        length = 0
        while length < target:
            if rng.random() < 0.02:
                pool = rng.random()
                limit = 10 if pool < 0.4 else 1_000 if pool < 0.7 else len(names)
                name = names[rng.randrange(limit)]
                if rng.random() < 0.1:
                    name = name.upper()
                word = rng.choice(forms).format(name)
            else:
                word = rng.choice(WORDS)
                if rng.random() < 0.06:
                    word += rng.choice(".,;:")
            parts.append(word)
            length += len(word) + 1
        text = " ".join(parts)
        texts.append(text)
        size += len(text.encode("utf-8"))
    return texts


def watchlist(names: list[str]) -> Watchlist:
    config = WatchlistConfig.model_validate(
        {
            "name": f"{len(names)} vendors",
            "vendors": [{"name": name} for name in names],
            "topics": {"breach": ["breach", "leaked"]},
            "rules": [{"name": "vendor-breach", "all": ["vendors", "breach"]}],
        }
    )
    return Watchlist(path=Path(f"<{len(names)} vendors>"), config=config)


def newsbot_hits(matcher: Matcher, texts: list[str]) -> set[tuple[int, str]]:
    hits: set[tuple[int, str]] = set()
    for index, text in enumerate(texts):
        [evaluation] = matcher.evaluate_text(text)
        hits.update((index, name) for name in evaluation.vendors)
    return hits


def baseline_hits(patterns: list[tuple[str, re.Pattern[str]]], texts: list[str]) -> set[tuple[int, str]]:
    hits: set[tuple[int, str]] = set()
    for index, text in enumerate(texts):
        for term, pattern in patterns:
            if pattern.search(text):
                hits.add((index, term))
    return hits


def prefix(texts: list[str], limit: int) -> list[str]:
    chosen: list[str] = []
    size = 0
    for text in texts:
        if size >= limit:
            break
        chosen.append(text)
        size += len(text.encode("utf-8"))
    return chosen


def megabytes(texts: list[str]) -> float:
    return sum(len(text.encode("utf-8")) for text in texts) / 1e6


def timed(function, *arguments):
    start = time.perf_counter()
    result = function(*arguments)
    return result, time.perf_counter() - start


def main() -> None:
    started = time.perf_counter()
    rng = random.Random(SEED)
    names = vendor_names(max(TERM_COUNTS), rng)
    texts = corpus(names, rng)
    total = megabytes(texts)
    print(
        f"corpus: {len(texts)} texts, {total:.2f} MB (random.Random({SEED})); "
        f"vendor names: {len(names)} generated"
    )
    print()
    rows = []
    notes = []
    for count in TERM_COUNTS:
        terms = names[:count]
        matcher, compile_newsbot = timed(Matcher, [watchlist(terms)])
        patterns, compile_baseline = timed(
            lambda terms=terms: [(term, re.compile(r"\b" + re.escape(term) + r"\b", re.I)) for term in terms]
        )

        found_newsbot, seconds_newsbot = timed(newsbot_hits, matcher, texts)
        subset = prefix(texts, BASELINE_BYTES[count])
        found_baseline, seconds_baseline = timed(baseline_hits, patterns, subset)
        if len(subset) < len(texts):
            notes.append(
                f"baseline at {count:,} terms scanned the first {len(subset)} texts "
                f"({megabytes(subset):.2f} MB) of the corpus, not all {total:.2f} MB"
            )

        newsbot_rate = total / seconds_newsbot
        baseline_rate = megabytes(subset) / seconds_baseline
        sample = min(SAMPLE_TEXTS, len(subset))
        mine = {hit for hit in found_newsbot if hit[0] < sample}
        theirs = {hit for hit in found_baseline if hit[0] < sample}
        union = mine | theirs
        agreement = 100.0 * len(mine & theirs) / len(union) if union else 100.0
        rows.append(
            (
                count,
                newsbot_rate,
                baseline_rate,
                newsbot_rate / baseline_rate,
                agreement,
                len(union),
                sample,
                compile_newsbot,
                compile_baseline,
            )
        )
        if mine != theirs:
            only_newsbot = sorted(mine - theirs)[:5]
            only_baseline = sorted(theirs - mine)[:5]
            notes.append(f"{count:,} terms: only newsbot {only_newsbot}; only baseline {only_baseline}")

    header = (
        f"{'terms':>7} | {'newsbot MB/s':>12} | {'baseline MB/s':>13} | {'ratio':>8} | "
        f"{'agreement':>9} | {'hits compared':>13} | {'compile newsbot/baseline':>24}"
    )
    print(header)
    print("-" * len(header))
    for count, mine, theirs, ratio, agreement, hits, sample, compile_mine, compile_theirs in rows:
        print(
            f"{count:>7,} | {mine:>12.2f} | {theirs:>13.3f} | {ratio:>7.1f}x | {agreement:>8.1f}% | "
            f"{hits:>5} in {sample:>3} texts | {compile_mine:>10.3f}s / {compile_theirs:.3f}s"
        )
    print()
    print("ratio = newsbot MB/s / baseline MB/s (higher is better for newsbot); agreement = |A∩B|/|A∪B|")
    print("of (text index, vendor name) hits on the first texts of the corpus.")
    for note in notes:
        print(f"note: {note}")
    print(f"total runtime: {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
