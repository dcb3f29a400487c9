"""Feed parsing: feedparser (newsbot.stories.feeds.parse_feed_reference) against the fastfeedparser fast path.

    python benchmarks/parsers.py [--quick]

Feeds: the real RSS, Atom, RDF and JSON feeds of ../shared/corpus/feeds, read in place (nothing
is measured without the corpus). Two paths, in this process, over the same bodies:
- feedparser: `parse_feed_reference(body, url)`, newsbot's feedparser path alone;
- fast path: `parse_well_formed(body, url)`, and `parse_feed_reference` when it returns None (the path a
  caller would run).

Each file is parsed in batches of at least 25 ms (5 ms with --quick) and its time per parse is
the best of 5 batches (2 with --quick); items/s is the corpus's entries divided by the sum of
those times. Then: the share of files (of feeds/ and of broken-feeds/) that took the fast path,
and how often the fast path's entries agree with feedparser's, field by field (titles, summaries
and contents compared as newsbot's plain text, whitespace collapsed). About 25 s; --quick ~5 s.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
CORPUS = REPOSITORY.parent / "shared" / "corpus"

from newsbot.models import FeedEntry  # noqa: E402
from newsbot.stories import fastfeeds  # noqa: E402
from newsbot.stories.fastfeeds import parse_well_formed  # noqa: E402
from newsbot.stories.feeds import FeedParseError, parse_feed_reference  # noqa: E402
from newsbot.stories.normalize import html_to_text  # noqa: E402

FIELDS = ("link", "title", "published", "summary", "content")
MB = 1e6


@dataclass(frozen=True)
class Settings:
    batch_seconds: float  # a file is parsed this long at least per batch...
    batches: int  # ...this many times, and the fastest batch counts


FULL = Settings(0.025, 5)
QUICK = Settings(0.005, 2)


@dataclass(frozen=True)
class Feed:
    name: str
    url: str
    body: bytes
    items: int
    fast: bool  # parse_well_formed accepted it


def fast_path(body: bytes, url: str) -> list[FeedEntry]:
    entries = parse_well_formed(body, url)
    return parse_feed_reference(body, url) if entries is None else entries


def load(folder: Path) -> list[Feed]:
    feeds = []
    for path in sorted(folder.iterdir()):
        url = f"https://corpus.example.test/{folder.name}/{path.name}"
        body = path.read_bytes()
        try:
            items = len(parse_feed_reference(body, url))
        except FeedParseError:
            items = 0
        feeds.append(Feed(path.name, url, body, items, parse_well_formed(body, url) is not None))
    return feeds


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


def seconds_per_parse(function: Callable[[bytes, str], object], feed: Feed, settings: Settings) -> float:
    """The best of `settings.batches` batches, each of enough parses to last batch_seconds."""
    started = time.perf_counter()
    function(feed.body, feed.url)
    once = max(time.perf_counter() - started, 1e-6)
    repeats = max(1, round(settings.batch_seconds / once))
    best = float("inf")
    for _ in range(settings.batches):
        gc.collect()
        started = time.perf_counter()
        for _ in range(repeats):
            function(feed.body, feed.url)
        best = min(best, (time.perf_counter() - started) / repeats)
    return best


@dataclass
class Timing:
    name: str
    seconds: dict[str, float]  # file -> seconds per parse

    def rate(self, feeds: list[Feed]) -> tuple[float, float, float]:
        """(items/s, MB/s, seconds for one parse of each file)."""
        total = sum(self.seconds[feed.name] for feed in feeds)
        items = sum(feed.items for feed in feeds)
        return items / total, sum(len(feed.body) for feed in feeds) / MB / total, total


def measure(feeds: list[Feed], settings: Settings) -> list[Timing]:
    paths = {
        "feedparser (parse_feed_reference)": parse_feed_reference,
        "fast path (parse_well_formed, else feedparser)": fast_path,
        "  of which the trust check (expat)": lambda body, url: fastfeeds._trusted_root(body),
    }
    return [
        Timing(name, {feed.name: seconds_per_parse(function, feed, settings) for feed in feeds})
        for name, function in paths.items()
    ]


# ---------------------------------------------------------------------------------------------
# Agreement
# ---------------------------------------------------------------------------------------------


def text(markup: str) -> str:
    return " ".join(html_to_text(markup).split())


@dataclass
class Agreement:
    entries: int = 0
    same: Counter[str] = field(default_factory=Counter)
    fast_only_dates: int = 0
    count_mismatches: list[str] = field(default_factory=list)
    differences: Counter[tuple[str, str]] = field(default_factory=Counter)  # (field, file) -> entries

    def add(self, feed: Feed) -> None:
        fast = parse_well_formed(feed.body, feed.url) or []
        reference = parse_feed_reference(feed.body, feed.url)
        if len(fast) != len(reference):
            self.count_mismatches.append(f"{feed.name} ({len(fast)} vs {len(reference)})")
            return
        for ours, theirs in zip(fast, reference, strict=True):
            self.entries += 1
            pairs = {
                "link": (ours.link, theirs.link),
                "title": (text(ours.title), text(theirs.title)),
                "published": (ours.published, theirs.published),
                "summary": (text(ours.summary), text(theirs.summary)),
                "content": (text(ours.content), text(theirs.content)),
            }
            for name, (mine, expected) in pairs.items():
                if mine == expected:
                    self.same[name] += 1
                else:
                    self.differences[name, feed.name] += 1
                    self.fast_only_dates += name == "published" and expected is None


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter batches, fewer of them")
    arguments = parser.parse_args()
    if not (CORPUS / "feeds").is_dir():
        sys.exit(f"no corpus at {CORPUS}: nothing to measure")
    settings = QUICK if arguments.quick else FULL
    feeds = load(CORPUS / "feeds")
    broken = load(CORPUS / "broken-feeds")
    fast = [feed for feed in feeds if feed.fast]

    print(
        f"== Corpus: {len(feeds)} feeds, {sum(len(f.body) for f in feeds) / MB:.2f} MB, "
        f"{sum(f.items for f in feeds):,} items ({CORPUS / 'feeds'}) =="
    )
    timings = measure(feeds, settings)
    throughput(timings, feeds, fast, settings)
    share(feeds, broken)
    agreement(fast + [feed for feed in broken if feed.fast], len(fast))


def throughput(timings: list[Timing], feeds: list[Feed], fast: list[Feed], settings: Settings) -> None:
    print()
    print(
        f"== Throughput, in this process (best of {settings.batches} batches of "
        f"≥ {settings.batch_seconds * 1000:g} ms per file) =="
    )
    print("| path | all feeds: items/s | MB/s | s per corpus pass | fast-path files only: items/s | MB/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for timing in timings:
        items, megabytes, seconds = timing.rate(feeds)
        fast_items, fast_megabytes, _ = timing.rate(fast)
        print(
            f"| {timing.name} | {items:,.0f} | {megabytes:.1f} | {seconds:.3f} | "
            f"{fast_items:,.0f} | {fast_megabytes:.1f} |"
        )
    reference, candidate = timings[0], timings[1]
    print(
        f"\nRatio fast / feedparser (items/s): {candidate.rate(feeds)[0] / reference.rate(feeds)[0]:.1f}× "
        f"over all feeds, {candidate.rate(fast)[0] / reference.rate(fast)[0]:.1f}× on the files the fast "
        "path accepted (the rest are parsed by feedparser on both paths, after the trust check)."
    )


def share(feeds: list[Feed], broken: list[Feed]) -> None:
    print()
    print("== Files that took the fast path ==")
    for folder, group in (("feeds/", feeds), ("broken-feeds/", broken)):
        taken = [feed for feed in group if feed.fast]
        items = sum(feed.items for feed in group)
        print(
            f"{folder}: {len(taken)} of {len(group)} files ({len(taken) / len(group):.0%}), "
            f"{sum(f.items for f in taken) / max(items, 1):.0%} of their items"
        )
    left = ", ".join(feed.name for feed in feeds if not feed.fast)
    print(f"feeds/ left to feedparser: {left}")


def agreement(feeds: list[Feed], real: int) -> None:
    result = Agreement()
    for feed in feeds:
        result.add(feed)
    print()
    print(
        f"== Agreement with feedparser: {result.entries:,} entries of the {len(feeds)} files that took the "
        f"fast path ({real} of feeds/, {len(feeds) - real} of broken-feeds/) =="
    )
    print(f"Files whose number of entries differs: {', '.join(result.count_mismatches) or 'none'}")
    print("| field | same | % | where they differ (file: entries) |")
    print("| --- | ---: | ---: | --- |")
    for name in FIELDS:
        where = ", ".join(f"{file}: {count}" for (key, file), count in result.differences.items() if key == name)
        print(f"| {name} | {result.same[name]:,} | {result.same[name] / result.entries:.2%} | {where or '-'} |")
    dated = result.same["published"] + result.fast_only_dates
    print(
        f"\nOf the published differences, {result.fast_only_dates} are dates feedparser could not read and "
        f"fastfeedparser could; counting those as agreement, published agrees on {dated / result.entries:.2%}."
    )


if __name__ == "__main__":
    main()
