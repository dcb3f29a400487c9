"""Story clusters: what clustering a new story costs against stores of 10k, 100k and 1M stories, and the index.

    python benchmarks/clusters.py [--quick] [--cold]

Stores of 10,000, 100,000 and 1,000,000 stories (1,000, 10,000 and 100,000 with --quick), each a
fresh database in newsbot's own schema (`Storage.open` runs the migrations), seeded by plain SQL,
oldest first, 10,000 stories a transaction, each transaction's stories added to the full-text
index (settled stories are clustered ones, which newsbot indexes since migration m012), so every
store has the full-text index a deployment of that size has. One story every 63 s (1,000,000 over two
years; every 630 s with --quick): the 7-day window (newsbot's default `cluster_window_days`)
holds the same 9,600 newest stories (960) in every store, and a larger store only has a longer
history, which is the question: does history cost anything? For the stories inside the window,
shingle_index holds their sampled shingles (`fingerprint(...).sampled`) as `record_clusters` writes
them: a row names its story and its cluster's root story by their rowids in stories, and is seen
(Unix seconds) when its story was. Then the worst case: 100,000 stories (10,000), all inside the
window.

Text: 300-600 words a story as news is written (a one- or two-sentence lede, then paragraphs of
one to four sentences), its summary the lede's first sentence, from the word frequencies of real
news in ../shared/corpus (datasets and saved articles, read here, never copied; a generated Zipf
vocabulary without it). What clustering must cope with in real news is there too: 400 stock
sentences ("… did not respond to a request for comment") in about one story in three, a footer
for each of 200 outlets on 60% of its stories (both become boilerplate), and one story in five a
syndicated copy of an earlier one (re-titled, trimmed of a paragraph, cut to an excerpt, given a
new lede, or re-flowed into one paragraph under an "Updated" line) stored in its cluster. A
story's text depends only on its rank from the newest, so the window is the same in every store.

Per store, rounds of 200 new stories, inserted unclustered as a fetch stores them: 100 copies (one
of the five edits, the copying outlet's footer) of original stories inside the window and 100 new
stories; `newsbot.clustering.assign.assign_clusters` runs over them as `newsbot run` does (one
batch), and its time / 200 is the cost of a new story: the median of 5 rounds as newsbot runs
(SQLite's default synchronous = FULL), then 3 rounds with synchronous = OFF set on the connection
(no fsync: what is left is CPU and SQLite), rounds interleaved across the stores so that a drift of
the disk hits them alike. Before the first, a read-only pass times the stages, warm (decide_batch
once first): the fingerprints, the batch's index read (`Storage.window_shingles`), then
`decide_batch` whole, whose remainder is "decide" (boilerplate and candidates from the batch's index
in memory, reading the candidates back and comparing), with the index rows the read returned;
"write" is the rest of a round's cost: `record_clusters` (the stories' UPDATEs and their index rows)
and the commit. KB written: what the process wrote to the WAL and by checkpoints (/proc/self/io
wchar). Every copy should join its original's cluster and no new story should be merged: the index
must still find what it should. One more round runs in a fresh interpreter (as cron starts newsbot)
for the peak resident memory of assign_clusters above the interpreter's own.

Baselines, measured in this run: a naive linear scan on the smallest store (every story of the
window read, fingerprinted and compared with the new story: clustering without an index), and
a story's index rows read by one scan of the window's rows (the hash kept out of the plan: `+hash`)
against newsbot's read of them by hash, on the smallest store and the worst case: what a plan not
using the hash would cost. And one empty commit on this disk.

The index: its rows and bytes (SQLite's dbstat), per row and per story in the window: the table,
which is itself the hash index (WITHOUT ROWID, its primary key (hash, story)), with no other index
(migration m010). Query plans: EXPLAIN QUERY PLAN of the statements assign_clusters's Storage methods run,
as newsbot leaves the database (no statistics) and after `ANALYZE shingle_index`. About 11
minutes on 2 cores, most of it seeding (~10 GB of scratch files, removed at the end); --quick
about 90 s.

--cold instead measures a cold run (the first run, or a large OPML import), where every story is
new and inside the window, so the window grows with the run: 2,000, 20,000 and 100,000 new stories
(a run of 100, 1,000 and 5,000 feeds; --quick: the first two), each into an empty database, stored
by `Storage.record_fetch` 20 a feed on one connection and clustered by `assign_clusters` on a second
one after every 2,000 (the run's stage worker clusters what is stored after each settle), as
`newsbot run` does. Per size: store and cluster time per story (the whole run's, and per pass:
first / median / last), this thread's CPU time, what was written, and whether every copy joined its
story (one story in five is a copy of one of the 2,000 before it; joining the cluster of its
original, or of another copy of it that is nearer, counts; one copy in 200 is on its original's own
site, where newsbot joins only near-identical pages, and most stay apart) and no original was
merged, and the index's bytes per story at the end (dbstat, as above). And once, the calls into
sqlite3 and the statements SQLite runs to store a feed of 20 new stories. About 8 minutes; --quick
about 90 s.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import gc
import hashlib
import itertools
import json
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from urllib.parse import urlsplit

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
CORPUS = REPOSITORY.parent / "shared" / "corpus"

from sqlite_utils import Database  # noqa: E402

from newsbot.clustering.assign import assign_clusters, cluster_text, decide_batch  # noqa: E402
from newsbot.clustering.clusters import CONTAINMENT, containment, fingerprint  # noqa: E402
from newsbot.configuration.config import Settings as NewsbotSettings  # noqa: E402
from newsbot.models import FetchResult, FetchStatus, Story  # noqa: E402
from newsbot.storage.database import Storage  # noqa: E402
from newsbot.storage.records import seconds as unix_seconds  # noqa: E402

SEED = 42
WINDOW = timedelta(days=NewsbotSettings.model_fields["cluster_window_days"].default)
SPAN = timedelta(days=730)  # the largest store's history; smaller stores are its newest part
SEED_BATCH = 10_000  # stories per seeding transaction
ROUNDS = 5  # batches of new stories clustered as newsbot runs (the median is reported)
UNSYNCED_ROUNDS = 3  # then batches without fsync at commit, and one in a fresh interpreter
SOURCES = 200
STOCK_SENTENCES = 400
STOCK_SHARE = 0.02  # of sentences (~22 a story): about one story in three has one
FOOTER_SHARE = 0.6  # of an outlet's stories end with its footer
COPY_SHARE = 0.2  # of stored stories are copies of an earlier one
BAG_BITS = 16  # words are drawn from a bag of 65,536, filled by their frequency in news
MB = 1e6
COLD_FLAT = 1.25  # --cold: a story of the largest run may cost this much more than one of the smallest


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]  # stories in each store, one story every SPAN / max(sizes)
    worst: int  # a store of this many stories, all inside the window
    copies: int  # new stories that are copies of stories in the window...
    new: int  # ...and new stories, clustered in one assign_clusters call
    naive_stories: int  # the naive scan runs for this many new stories at most...
    naive_seconds: float  # ...or this long (and so does the window scan)


FULL = Settings((10_000, 100_000, 1_000_000), 100_000, 100, 100, 5, 30.0)
QUICK = Settings((1_000, 10_000, 100_000), 10_000, 100, 100, 5, 5.0)


def iso(moment: datetime) -> str:
    """As newsbot writes the stories' times (records.iso); its window's index keeps Unix seconds."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def unit(rank: int, salt: str) -> float:
    """A number in [0, 1) fixed by (rank, salt): a story's traits do not depend on the store's size."""
    digest = hashlib.blake2b(f"{salt}:{rank}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    source: str
    bag: tuple[str, ...]  # 2**BAG_BITS words, each about as often as in news

    @property
    def distinct(self) -> int:
        return len(set(self.bag))


_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def corpus_texts(folder: Path) -> Iterator[str]:
    """Titles and bodies of the corpus's datasets, and its saved articles (read, never copied)."""
    csv.field_size_limit(1 << 30)
    for path in sorted((folder / "datasets").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                yield " ".join(
                    value for key, value in row.items() if key and key.lower() in ("title", "text") and value
                )
    for path in sorted((folder / "pages").glob("*.md")):
        yield path.read_text(encoding="utf-8", errors="replace")


def vocabulary() -> Vocabulary:
    rng = random.Random(SEED)
    counts: Counter[str] = Counter()
    if CORPUS.is_dir():
        for text in corpus_texts(CORPUS):
            counts.update(word.casefold() for word in _TOKEN.findall(text))
    if sum(counts.values()) > 100_000:
        tokens = sum(counts.values())
        source = f"word frequencies of real news in {CORPUS} ({tokens:,} words, {len(counts):,} distinct)"
    else:
        syllables = ["ka", "lo", "mi", "tre", "ex", "va", "zo", "ne", "ri", "qu", "bel", "dor", "fin", "gar", "sel"]
        words = list(
            dict.fromkeys("".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(40_000))
        )
        counts = Counter({word: 1e6 / (rank + 1) ** 1.07 for rank, word in enumerate(words)})  # Zipf
        source = f"a generated Zipf vocabulary of {len(counts):,} words (no {CORPUS})"
    words, weights = zip(*counts.most_common(), strict=True)
    bag = tuple(rng.choices(words, cum_weights=list(itertools.accumulate(weights)), k=2**BAG_BITS))
    return Vocabulary(source, bag)


@dataclass(frozen=True)
class Draft:
    title: str
    paragraphs: tuple[str, ...]

    @property
    def summary(self) -> str:
        return self.paragraphs[0].split(". ")[0].rstrip(".") + "."


@dataclass(frozen=True)
class Stored:
    rank: int  # 0 is the newest story
    id: str
    root: int  # the rank of the story it is a copy of (its cluster), its own rank when original
    row: tuple[str | None, ...]  # the stories row
    story: Story


COPY_KINDS = ("re-titled", "trimmed", "excerpt", "new lede", "re-flowed")


class Newsroom:
    """Stories by rank (0 the newest), the same whatever the store's size; copies of earlier ones."""

    def __init__(self, words: Vocabulary, interval: timedelta, now: datetime, max_offset: int):
        self.bag = words.bag
        self.interval = interval
        self.now = now
        self.max_offset = max_offset  # a stored copy follows its root by at most this many stories
        rng = random.Random(SEED)
        self.stock = [self._sentence(rng) for _ in range(STOCK_SENTENCES)]
        self.footers = [
            " ".join(self._sentence(rng) for _ in range(2)) + f" © Outlet {source} Media. All rights reserved."
            for source in range(SOURCES)
        ]

    def _words(self, rng: random.Random, count: int) -> tuple[str, ...]:
        raw = rng.getrandbits(BAG_BITS * count).to_bytes(2 * count, "little")
        return itemgetter(*memoryview(raw).cast("H"))(self.bag)  # count > 1: a tuple

    def _sentence(self, rng: random.Random) -> str:
        return " ".join(self._words(rng, rng.randint(12, 28))).capitalize() + "."

    def draft(self, rng: random.Random) -> Draft:
        """A story of 300-600 words as news is written: a lede of one or two sentences, then short paragraphs."""
        target = rng.randint(300, 600)
        words = self._words(rng, target)
        paragraphs: list[str] = []
        sentences: list[str] = []
        at = 0
        ends = rng.randint(1, 2)  # sentences in the current paragraph
        while at < target:
            if paragraphs and rng.random() < STOCK_SHARE:
                sentences.append(rng.choice(self.stock))
            else:
                length = rng.randint(12, 28)
                sentences.append(" ".join(words[at : at + length]).capitalize() + ".")
                at += length
            if len(sentences) == ends:
                paragraphs.append(" ".join(sentences))
                sentences = []
                ends = rng.choice((1, 2, 2, 3, 3, 4))
        if sentences:
            paragraphs.append(" ".join(sentences))
        title = " ".join(self._words(rng, rng.randint(7, 12))).capitalize()
        return Draft(title, tuple(paragraphs))

    def copy(self, draft: Draft, rng: random.Random) -> Draft:
        """A syndicated copy, as outlets make them."""
        kind = rng.choice(COPY_KINDS)
        paragraphs = list(draft.paragraphs)
        title = draft.title
        if kind == "re-titled":
            title = " ".join(self._words(rng, rng.randint(7, 12))).capitalize()
        elif kind == "trimmed" and len(paragraphs) > 2:
            del paragraphs[rng.randrange(1, len(paragraphs))]
        elif kind == "excerpt":
            keep = max(2, round(len(paragraphs) * rng.uniform(0.4, 0.7)))
            paragraphs = [*paragraphs[:keep], "Read the full story on our partner's website."]
        elif kind == "new lede":  # the lede rewritten
            paragraphs[0] = " ".join(self._sentence(rng) for _ in range(rng.randint(1, 2)))
        elif kind == "re-flowed":
            paragraphs = [f"Updated {rng.randint(1, 12)}:{rng.randint(0, 59):02d} pm. " + " ".join(paragraphs)]
        return Draft(title, tuple(paragraphs))

    def root(self, rank: int, size: int) -> int:
        """One story in five is a copy of one up to `max_offset` older, itself an original in this store."""
        if unit(rank, "copy") >= COPY_SHARE:
            return rank
        root = rank + 1 + int(unit(rank, "offset") * self.max_offset)
        return root if root < size and unit(root, "copy") >= COPY_SHARE else rank

    def stored_draft(self, rank: int, size: int) -> Draft:
        root = self.root(rank, size)
        original = self.draft(random.Random(root * 4))
        return original if root == rank else self.copy(original, random.Random(rank * 4 + 1))

    def id_of(self, rank: int) -> str:
        """The id of the stored story at `rank` (its URL's hash, as newsbot's ids)."""
        return story_id(self.url(rank))

    def url(self, rank: int) -> str:
        return f"https://news{int(unit(rank, 'source') * SOURCES)}.example.net/story-{rank}.html"

    def seen_at(self, rank: int) -> datetime:
        return self.now - timedelta(minutes=30) - self.interval * (rank + 1)

    def stored(self, rank: int, size: int) -> Stored:
        source = int(unit(rank, "source") * SOURCES)
        draft = self.stored_draft(rank, size)
        with_footer = unit(rank, "footer") < FOOTER_SHARE
        return self.story(
            rank, draft, source, self.url(rank), self.seen_at(rank), self.root(rank, size), with_footer=with_footer
        )

    def story(
        self, rank: int, draft: Draft, source: int, url: str, seen: datetime, root: int, *, with_footer: bool
    ) -> Stored:
        text = "\n\n".join(draft.paragraphs) + (f"\n\n{self.footers[source]}" if with_footer else "")
        identity = story_id(url)
        when = iso(seen)
        row = (identity, url, draft.title, draft.summary, text, f"Outlet {source}", when, when, when)
        story = Story(identity, url, draft.title, draft.summary, text, f"Outlet {source}", seen)
        return Stored(rank, identity, root, row, story)


def story_id(url: str) -> str:
    """Like newsbot's: a hash of the canonical URL."""
    return hashlib.sha256(url.encode()).hexdigest()[:20]


# ---------------------------------------------------------------------------------------------
# Stores
# ---------------------------------------------------------------------------------------------


@dataclass
class Round:
    """One assign_clusters call over a batch of new stories."""

    seconds: float
    written: int  # bytes the process passed to write() meanwhile (/proc/self/io wchar): WAL and checkpoints
    stories: int
    copies: int
    joined: int  # copies given their original's cluster
    merged: int  # new stories given some other story's cluster


@dataclass
class Store:
    label: str
    size: int
    path: Path
    newsroom: Newsroom
    in_window: int = 0
    generate_seconds: float = 0.0
    fingerprint_seconds: float = 0.0
    sql_seconds: float = 0.0
    megabytes: float = 0.0
    index: dict[str, int] = field(default_factory=dict)  # table or index name -> bytes
    index_rows: int = 0
    plans: dict[str, str] = field(default_factory=dict)
    analyzed_plans: dict[str, str] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)  # ms per story, read-only pass over the first batch
    rounds: list[Round] = field(default_factory=list)  # as newsbot runs: synchronous FULL
    unsynced: list[Round] = field(default_factory=list)  # the same with synchronous = OFF: no fsync at commit
    fresh: dict[str, float] = field(default_factory=dict)  # a fresh interpreter's run: seconds, peak MB
    window_scan: tuple[float, float, int] | None = None  # ms per story scanning the window, by hash, stories
    naive: tuple[float, int, int] | None = None  # ms per story, clustered as expected, stories tried

    @property
    def seed_seconds(self) -> float:
        return self.generate_seconds + self.fingerprint_seconds + self.sql_seconds

    @property
    def per_story_ms(self) -> float:
        """The median round's cost of a new story (the disk's fsync makes single rounds noisy)."""
        return statistics.median(round_.seconds / round_.stories * 1000 for round_ in self.rounds)

    @property
    def unsynced_ms(self) -> float:
        return statistics.median(round_.seconds / round_.stories * 1000 for round_ in self.unsynced)

    @property
    def spread(self) -> str:
        costs = [round_.seconds / round_.stories * 1000 for round_ in self.rounds]
        return f"{min(costs):.1f}-{max(costs):.1f}"

    def every_round(self) -> list[Round]:
        return [*self.rounds, *self.unsynced]


def seed(store: Store, since: datetime, *, fts: bool = True) -> None:
    """The store's stories oldest first, and the window's sampled shingles, by SQL in newsbot's schema:
    the index rows `record_clusters` would write (story and cluster by rowid, seen in Unix seconds),
    sorted by hash as it sorts them."""
    newsroom = store.newsroom
    Storage.open(store.path).close()  # newsbot's own migrations create the schema
    with contextlib.closing(sqlite3.connect(store.path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode = OFF")  # a benchmark's scratch file: no rollback journal while seeding
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -256000")
        indexed_on_insert = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'stories_ai'").fetchone()
        if indexed_on_insert and not fts:  # a build from before m012 indexed each story as it was stored
            db.execute("DROP TRIGGER stories_ai")
        counts_samples = any(column[1] == "cluster_sampled" for column in db.execute("PRAGMA table_info(stories)"))
        for last in range(store.size, 0, -SEED_BATCH):
            started = time.perf_counter()
            batch = [newsroom.stored(rank, store.size) for rank in range(last - 1, max(last - SEED_BATCH, 0) - 1, -1)]
            generated = time.perf_counter()
            shingles: list[tuple[int, str, str, int]] = []  # (hash, story id, cluster id, seen)
            samples: list[tuple[int, str]] = []  # (sampled shingles, story id), as record_clusters keeps (m014)
            for stored in batch:
                if stored.story.published_at and stored.story.published_at >= since:
                    store.in_window += 1
                    found = fingerprint(cluster_text(stored.story))
                    cluster = newsroom.id_of(stored.root)
                    seen = unix_seconds(stored.story.published_at)
                    shingles += [(value, stored.id, cluster, seen) for value in (found.sampled if found else ())]
                    samples.append((len(found.sampled) if found else 0, stored.id))
            fingerprinted = time.perf_counter()
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO stories (id, url, title, summary, text, source, published_at, first_seen_at, matched_at, "
                "cluster_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*stored.row, newsroom.id_of(stored.root)) for stored in batch],
            )
            if counts_samples:
                db.executemany("UPDATE stories SET cluster_sampled = ? WHERE id = ?", samples)
            if fts and not indexed_on_insert:  # clustered, so indexed (m012)
                db.execute(
                    "INSERT INTO stories_fts (rowid, title, summary, text) SELECT rowid, title, summary, text "
                    "FROM stories WHERE id IN (SELECT value FROM json_each(?))",
                    [json.dumps([stored.id for stored in batch])],
                )
            named = {story for _, story, _, _ in shingles} | {cluster for _, _, cluster, _ in shingles}
            rowids = dict(  # a root older than this batch was stored by an earlier one
                db.execute(
                    "SELECT id, rowid FROM stories WHERE id IN (SELECT value FROM json_each(?))",
                    [json.dumps(list(named))],
                )
            )
            db.executemany(
                "INSERT OR IGNORE INTO shingle_index (hash, story, cluster, seen) VALUES (?, ?, ?, ?)",
                sorted((value, rowids[story], rowids[cluster], seen) for value, story, cluster, seen in shingles),
            )
            db.execute("COMMIT")
            store.generate_seconds += generated - started
            store.fingerprint_seconds += fingerprinted - generated
            store.sql_seconds += time.perf_counter() - fingerprinted
        db.execute("PRAGMA journal_mode = wal")  # as newsbot creates its databases
    with store.path.open("rb+") as handle:
        os.fsync(handle.fileno())  # so the write-back of seeding does not slow what is measured next
    store.megabytes = sum(path.stat().st_size for path in store.path.parent.glob(store.path.name + "*")) / MB


# ---------------------------------------------------------------------------------------------
# New stories
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewStory:
    stored: Stored
    expected: str | None  # the cluster a copy must join; None for a new story (its own)


def new_stories(newsroom: Newsroom, settings: Settings, window_count: int, now: datetime, batch: int) -> list[NewStory]:
    """Copies of original stories inside the window and new stories, interleaved, seen in the last 20 minutes.

    A copy is made from the original (one edit, its own outlet's footer), not from a stored copy: edits
    on edits can leave less than half of a short text shared, which is no longer a clear copy.
    """
    rng = random.Random(SEED + 1 + batch)
    size = max(settings.sizes)  # the window's stories are the same in every store
    originals = [rank for rank in range(window_count) if newsroom.root(rank, size) == rank]
    drafts: list[tuple[Draft, str, str | None]] = []
    for number, rank in enumerate(rng.sample(originals, settings.copies)):
        draft = newsroom.copy(newsroom.stored_draft(rank, size), random.Random(10**9 + 1000 * batch + number))
        drafts.append((draft, f"https://copy{number}.example.org/wire/{batch}/{rank}.html", newsroom.id_of(rank)))
    for number in range(settings.new):
        draft = newsroom.draft(random.Random(2 * 10**9 + 1000 * batch + number))
        drafts.append((draft, f"https://fresh{number}.example.org/news/{batch}/{number}.html", None))
    rng.shuffle(drafts)
    start = now - timedelta(minutes=20)
    stories = []
    for number, (draft, url, expected) in enumerate(drafts):
        seen = start + timedelta(seconds=number)
        with_footer = rng.random() < FOOTER_SHARE
        story = newsroom.story(-1, draft, rng.randrange(SOURCES), url, seen, -1, with_footer=with_footer)
        stories.append(NewStory(story, expected))
    return stories


def insert_new(storage: Storage, stories: Sequence[NewStory]) -> None:
    """As record_fetch stores them: unclustered, unmatched (indexed for search once clustered)."""
    with storage.transaction():
        storage.db.conn.executemany(
            "INSERT INTO stories (id, url, title, summary, text, source, published_at, first_seen_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [item.stored.row[:8] for item in stories],
        )


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------


def traced(storage: Storage, call: Callable[[], object]) -> list[str]:
    """The statements a Storage method runs, parameters bound (sqlite3's trace callback): newsbot's own
    SQL, so the plans and the forced scan below follow its code."""
    statements: list[str] = []
    storage.db.conn.set_trace_callback(statements.append)
    try:
        call()
    finally:
        storage.db.conn.set_trace_callback(None)
    return [sql for sql in statements if sql.lstrip().upper().startswith(("SELECT", "DELETE", "WITH"))]


def query_plans(storage: Storage, since: datetime, sample: frozenset[int]) -> dict[str, str]:
    """EXPLAIN QUERY PLAN of the queries assign_clusters runs (`sample`: a new story's sampled shingles)."""
    calls: dict[str, Callable[[], object]] = {
        "window": lambda: storage.window_shingles(sample, since),  # clusters per shingle, then the rows
        "unclustered": storage.unclustered_ids,
        "prune": lambda: storage.prune_shingles(since, timedelta()),  # deletes nothing: all seeded rows are newer
    }
    plans: dict[str, str] = {}
    for name, call in calls.items():
        for number, sql in enumerate(traced(storage, call)):
            plan = "; ".join(row[3] for row in storage.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
            plans[f"{name} {number + 1}" if number or name == "window" else name] = plan
    return plans


def index_size(db: sqlite3.Connection) -> dict[str, int]:
    """Bytes of the pages of shingle_index (WITHOUT ROWID: the table is the hash index; SQLite's dbstat table)."""
    found: int = db.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = 'shingle_index'").fetchone()[0]
    return {"shingle_index": found}


def stage_pass(storage: Storage, stories: Sequence[NewStory], since: datetime) -> dict[str, float]:
    """assign_clusters's reading stages timed one by one (ms per story), warm (decide_batch runs once
    first, as the fetch that stored the stories would have warmed the cache): the fingerprints, the
    window's index read for the batch (`Storage.window_shingles`), then decide_batch whole, whose
    remainder is "decide" (boilerplate and candidates from the batch's index in memory, reading the
    candidates back, fingerprinting and comparing them). "rows" is the number of index rows that read
    returned, per story."""
    batch = [item.stored.story for item in stories]
    decide_batch(storage, batch, since)
    started = time.perf_counter()
    fingerprints = [fingerprint(cluster_text(story)) for story in batch]
    fingerprinted = time.perf_counter()
    window = storage.window_shingles({value for found in fingerprints if found for value in found.sampled}, since)
    read = time.perf_counter()
    decide_batch(storage, batch, since)
    decided = time.perf_counter()
    stages = {
        "fingerprint": fingerprinted - started,
        "index read": read - fingerprinted,
        "decide": (decided - read) - (read - started),
    }
    rows = sum(len(found) for found in window.rows.values())
    return {**{name: seconds / len(stories) * 1000 for name, seconds in stages.items()}, "rows": rows / len(stories)}


def window_scan(storage: Storage, stories: Sequence[NewStory], since: datetime, budget: float) -> tuple:
    """A story's index rows read without the hash: one scan of the window's rows (`+hash` keeps the
    primary key out of the plan), every row of the window read once, their stories and clusters named by id as
    newsbot's second read names them, against newsbot's read of the same story by hash, the table's
    primary key (`Storage.window_shingles`): (ms per story scanning, ms per story newsbot's way,
    stories), the reads' time only."""
    scan = indexed = 0.0
    tried = 0
    for item in stories:
        if scan > budget:
            break
        shingles = fingerprint(cluster_text(item.stored.story))
        if shingles is None:
            continue
        started = time.perf_counter()
        storage.window_shingles(shingles.sampled, since)
        read = time.perf_counter()
        storage.db.execute(
            "SELECT shingle_index.hash, story.id, cluster.id FROM shingle_index "
            "JOIN stories AS story ON story.rowid = shingle_index.story "
            "JOIN stories AS cluster ON cluster.rowid = shingle_index.cluster "
            "WHERE +shingle_index.hash IN (SELECT value FROM json_each(?)) AND shingle_index.seen >= ?",
            [json.dumps(sorted(shingles.sampled)), unix_seconds(since)],
        ).fetchall()
        scan += time.perf_counter() - read
        indexed += read - started
        tried += 1
    return scan / max(tried, 1) * 1000, indexed / max(tried, 1) * 1000, tried


def naive_scan(db: sqlite3.Connection, stories: Sequence[NewStory], since: datetime, settings: Settings) -> tuple:
    """No index: every story of the window read, fingerprinted and compared: (ms/story, as expected, stories)."""
    started = time.perf_counter()
    tried = right = 0
    for item in stories:
        if tried >= settings.naive_stories or time.perf_counter() - started > settings.naive_seconds:
            break
        shingles = fingerprint(cluster_text(item.stored.story))
        if shingles is None:
            continue
        best: tuple[float, str | None] = (0.0, None)
        for summary, text, cluster in db.execute(
            "SELECT summary, text, cluster_id FROM stories WHERE first_seen_at >= ? AND cluster_id IS NOT NULL",
            [iso(since)],
        ):
            other = fingerprint(f"{summary}\n{text}")
            if other is not None:
                best = max(best, (containment(shingles.shingles, other.shingles), cluster), key=itemgetter(0))
        tried += 1
        right += (best[1] if best[0] >= CONTAINMENT else None) == item.expected
    return (time.perf_counter() - started) / max(tried, 1) * 1000, right, tried


def written_bytes() -> int:
    with open("/proc/self/io") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("wchar:"))


def outcome(storage: Storage, stories: Sequence[NewStory], seconds: float, written: int) -> Round:
    ids = [item.stored.id for item in stories]
    clusters = dict(
        storage.db.execute(f"SELECT id, cluster_id FROM stories WHERE id IN ({','.join('?' * len(ids))})", ids)
    )
    copies = [item for item in stories if item.expected]
    return Round(
        seconds,
        written,
        len(stories),
        len(copies),
        sum(clusters[item.stored.id] == item.expected for item in copies),
        sum(clusters[item.stored.id] != item.stored.id for item in stories if not item.expected),
    )


def assign(store: Store, stories: Sequence[NewStory], now: datetime, *, synchronous: str = "FULL") -> Round:
    """assign_clusters as `newsbot run` calls it, over stories just stored."""
    storage = Storage.open(store.path)
    try:
        storage.db.execute(f"PRAGMA synchronous = {synchronous}")  # FULL: SQLite's default, newsbot's
        insert_new(storage, stories)
        gc.collect()
        written = written_bytes()
        started = time.perf_counter()
        assign_clusters(storage, now, WINDOW)
        seconds = time.perf_counter() - started
        return outcome(storage, stories, seconds, written_bytes() - written)
    finally:
        storage.close()


FRESH_SCRIPT = """
import json, sys, time
from datetime import datetime, timedelta
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from sqlite_utils import Database  # noqa: E402

from newsbot.clustering.assign import assign_clusters
from newsbot.storage.database import Storage

def status(key):
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) / 1024 for line in handle if line.startswith(key + ":"))

storage = Storage.open(Path(sys.argv[2]))
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # resets VmHWM (peak RSS) to the current RSS
before = status("VmRSS")
started = time.perf_counter()
assign_clusters(storage, datetime.fromisoformat(sys.argv[3]), timedelta(seconds=float(sys.argv[4])))
print(json.dumps({"seconds": time.perf_counter() - started, "peak": status("VmHWM") - before, "rss": before}))
"""


def assign_fresh(store: Store, stories: Sequence[NewStory], now: datetime) -> dict[str, float]:
    """assign_clusters in a fresh interpreter, as a cron run: its peak resident memory above its start."""
    storage = Storage.open(store.path)
    try:
        insert_new(storage, stories)
    finally:
        storage.close()
    arguments = [str(REPOSITORY), str(store.path), now.isoformat(), str(WINDOW.total_seconds())]
    result = subprocess.run(
        [sys.executable, "-c", FRESH_SCRIPT, *arguments], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def commit_milliseconds(database: Path, commits: int = 200) -> float:
    """One small write transaction on this disk, as newsbot commits: WAL, SQLite's default synchronous (FULL)."""
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode = wal")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, value TEXT)")
        started = time.perf_counter()
        for n in range(commits):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t (value) VALUES (?)", [f"row {n}"])
            db.execute("COMMIT")
        return (time.perf_counter() - started) / commits * 1000


def inspect(store: Store, since: datetime, sample: frozenset[int]) -> None:
    """The index as seeded: its rows and bytes, and the plans of the queries on it."""
    storage = Storage.open(store.path)
    try:
        store.plans = query_plans(storage, since, sample)
    finally:
        storage.close()
    with contextlib.closing(sqlite3.connect(store.path)) as db:
        store.index = index_size(db)
        store.index_rows = db.execute("SELECT count(*) FROM shingle_index").fetchone()[0]


def first_round(
    store: Store, stories: Sequence[NewStory], now: datetime, settings: Settings, *, baselines: int
) -> Round:
    """The stages one by one, the baselines (1: both; 2: the window scan only), then assign_clusters."""
    since = now - WINDOW
    storage = Storage.open(store.path)
    try:
        insert_new(storage, stories)
        store.stages = stage_pass(storage, stories, since)
        if baselines:
            store.window_scan = window_scan(storage, stories, since, settings.naive_seconds)
        if baselines == 1:
            store.naive = naive_scan(storage.db.conn, stories, since, settings)
    finally:
        storage.close()
    storage = Storage.open(store.path)  # the stories are stored and unclustered: assign_clusters takes them
    try:
        gc.collect()
        written = written_bytes()
        started = time.perf_counter()
        assign_clusters(storage, now, WINDOW)
        seconds = time.perf_counter() - started
        return outcome(storage, stories, seconds, written_bytes() - written)
    finally:
        storage.close()


def analyze(store: Store, since: datetime, sample: frozenset[int]) -> None:
    """What the planner does once it has statistics (newsbot never runs ANALYZE; a user or a tool might)."""
    storage = Storage.open(store.path)
    try:
        storage.db.execute("ANALYZE shingle_index")
        store.analyzed_plans = query_plans(storage, since, sample)
    finally:
        storage.close()


# ---------------------------------------------------------------------------------------------
# A cold run (--cold): every story new, stored feed by feed into an empty database
# ---------------------------------------------------------------------------------------------

COLD_SIZES = (2_000, 20_000, 100_000)  # the stories of a cold run of 100, 1,000 and 5,000 feeds
COLD_QUICK_SIZES = (2_000, 20_000)
FEED_ITEMS = 20
# Stories stored between two passes of assign_clusters: about the feeds a crawl stores while the
# run's stage worker settles (newsbot.pipeline.worker, 5 s) and clusters the previous ones.
COLD_PASS = 2_000
COLD_MAX_OFFSET = 2_000  # a copy follows its original by at most this many stories, whatever the run's size
COUNTED_FEEDS = 20  # feeds stored under the profiler and SQLite's trace, for the calls and statements per feed


@dataclass
class ColdPass:
    stories: int
    seconds: float
    cpu_seconds: float  # this thread's: Python and SQLite both run in it
    written: int  # bytes passed to write() (/proc/self/io wchar): WAL and checkpoints

    @property
    def ms_per_story(self) -> float:
        return self.seconds / self.stories * 1000


@dataclass
class ColdRun:
    stories: int
    store_seconds: float = 0.0
    store_cpu_seconds: float = 0.0
    passes: list[ColdPass] = field(default_factory=list)
    copies: int = 0  # on another outlet's site than their original's
    joined: int = 0  # of those, copies in the cluster of their original or of another copy of it
    same_site: int = 0  # copies on their original's own site
    same_site_apart: int = 0  # of those, kept apart (two pages of one site must be near-identical)
    merged: int = 0  # originals in some other story's cluster
    index_bytes: int = 0  # shingle_index and its index at the end of the run (dbstat)

    @property
    def cluster_ms(self) -> float:
        """The whole run's clustering time per story."""
        return sum(each.seconds for each in self.passes) / self.stories * 1000

    @property
    def cluster_cpu_ms(self) -> float:
        return sum(each.cpu_seconds for each in self.passes) / self.stories * 1000


def cold_feeds(newsroom: Newsroom, size: int, start: datetime) -> Iterator[tuple[FetchResult, list[Story], datetime]]:
    """The run's feeds in the order a crawl stores them, oldest story first, one feed a second; made as
    they are stored, so 100,000 stories never sit in memory at once."""
    ranks = range(size - 1, -1, -1)
    for number, first in enumerate(range(0, size, FEED_ITEMS)):
        stories = [newsroom.stored(rank, size).story for rank in ranks[first : first + FEED_ITEMS]]
        feed = f"Feed {number}"
        yield (
            FetchResult(feed, f"https://feeds.example.net/{number}.xml", FetchStatus.OK),
            stories,
            start + timedelta(seconds=number),
        )


def cold_run(words: Vocabulary, size: int, folder: Path, now: datetime) -> ColdRun:
    """`size` new stories stored feed by feed by one connection and clustered every COLD_PASS stories
    by a second one, as `newsbot run`'s crawl and stage worker do, into an empty database."""
    newsroom = Newsroom(words, timedelta(seconds=1), now, COLD_MAX_OFFSET)
    path = folder / f"cold-{size}.db"
    store, worker = Storage.open(path), None
    run = ColdRun(size)
    try:
        worker = Storage(Database(path))
        worker.db.execute("PRAGMA busy_timeout = 30000")
        unclustered = 0
        for result, stories, when in cold_feeds(newsroom, size, now - timedelta(days=2)):
            started, cpu = time.perf_counter(), time.thread_time()
            store.record_fetch(result, stories, when)
            run.store_seconds += time.perf_counter() - started
            run.store_cpu_seconds += time.thread_time() - cpu
            unclustered += len(stories)
            if unclustered >= COLD_PASS or stories[-1].id == newsroom.id_of(0):
                gc.collect()
                written, started, cpu = written_bytes(), time.perf_counter(), time.thread_time()
                # Pruned in the first pass only, as newsbot run does (a scan of the window's rows).
                assign_clusters(worker, when + timedelta(seconds=1), WINDOW, prune=not run.passes)
                seconds, cpu_seconds = time.perf_counter() - started, time.thread_time() - cpu
                run.passes.append(ColdPass(unclustered, seconds, cpu_seconds, written_bytes() - written))
                unclustered = 0
        clusters = dict(worker.db.execute("SELECT id, cluster_id FROM stories").fetchall())
        run.index_bytes = sum(index_size(worker.db.conn).values())
    finally:
        store.close()
        if worker is not None:
            worker.close()
    count_copies(run, newsroom, clusters)
    return run


def count_copies(run: ColdRun, newsroom: Newsroom, clusters: dict[str, str]) -> None:
    """Whether each copy joined its story: the cluster of its original, or of another copy of it (a copy
    nearer to it than the original is its nearest story); and whether any original was merged."""
    roots = {rank: newsroom.root(rank, run.stories) for rank in range(run.stories)}
    story_clusters: dict[int, set[str]] = {}
    for rank, root in roots.items():
        story_clusters.setdefault(root, set()).add(clusters[newsroom.id_of(rank)])
    for rank, root in roots.items():
        identity = newsroom.id_of(rank)
        if root == rank:
            run.merged += clusters[identity] != identity
        elif urlsplit(newsroom.url(rank)).hostname == urlsplit(newsroom.url(root)).hostname:
            run.same_site += 1
            run.same_site_apart += clusters[identity] == identity
        else:
            run.copies += 1
            run.joined += clusters[identity] != identity and clusters[identity] in story_clusters[root]


def statements_per_feed(words: Vocabulary, folder: Path, now: datetime) -> tuple[float, float]:
    """(calls into sqlite3 from Python: execute, executemany…, statements SQLite ran: its trace, the
    full-text index's triggers left out) per stored feed of FEED_ITEMS new stories."""
    newsroom = Newsroom(words, timedelta(seconds=1), now, COLD_MAX_OFFSET)
    storage = Storage.open(folder / "counted.db")
    statements: list[str] = []
    profiler = cProfile.Profile()
    try:
        feeds = itertools.islice(cold_feeds(newsroom, COUNTED_FEEDS * FEED_ITEMS, now), COUNTED_FEEDS)
        storage.db.conn.set_trace_callback(statements.append)
        for result, stories, when in feeds:
            profiler.runcall(storage.record_fetch, result, stories, when)
    finally:
        storage.db.conn.set_trace_callback(None)
        storage.close()
    calls = sum(
        entry.callcount
        for entry in profiler.getstats()
        if isinstance(entry.code, str) and "of 'sqlite3." in entry.code and "execute" in entry.code
    )
    ran = sum(not sql.startswith("--") for sql in statements)  # "--": a statement of a trigger
    return calls / COUNTED_FEEDS, ran / COUNTED_FEEDS


def cold_main(sizes: Sequence[int]) -> None:
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    words = vocabulary()
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    print(f"text: {words.source}; load average {os.getloadavg()[0]:.2f}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="newsbot-clusters-cold-"))
    runs = []
    try:
        calls, ran = statements_per_feed(words, folder, now)
        for size in sizes:
            runs.append(cold_run(words, size, folder, now))
            print(f"measured: a cold run of {size:,} stories, {time.perf_counter() - started:.0f}s", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cold_report(runs, calls, ran)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}; total runtime {time.perf_counter() - started:.0f}s")


def cold_report(runs: list[ColdRun], calls: float, ran: float) -> None:
    base = runs[0]
    print()
    print(
        f"== A cold run: new stories stored {FEED_ITEMS} a feed into an empty database, assign_clusters after every "
        f"{COLD_PASS:,} (ms per story; passes: first / median / last) =="
    )
    print(
        "| stories | feeds | store ms/story | cluster ms/story | ÷ smallest | cluster CPU ms/story | ÷ smallest | "
        "passes | KB written/story | index bytes/story | copies joined | same-site copies apart | originals merged |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for run in runs:
        per_pass = [each.ms_per_story for each in run.passes]
        written = sum(each.written for each in run.passes) / run.stories / 1000
        print(
            f"| {run.stories:,} | {run.stories // FEED_ITEMS:,} | {run.store_seconds / run.stories * 1000:.2f} | "
            f"{run.cluster_ms:.2f} | {run.cluster_ms / base.cluster_ms:.2f}× | {run.cluster_cpu_ms:.2f} | "
            f"{run.cluster_cpu_ms / base.cluster_cpu_ms:.2f}× | {per_pass[0]:.2f} / "
            f"{statistics.median(per_pass):.2f} / {per_pass[-1]:.2f} | {written:.0f} | "
            f"{run.index_bytes / run.stories:,.0f} | {run.joined:,}/{run.copies:,} | "
            f"{run.same_site_apart}/{run.same_site} | "
            f"{run.merged}/{run.stories - run.copies - run.same_site:,} |"
        )
    print(
        f"storing a feed of {FEED_ITEMS} new stories (record_fetch): {calls:.0f} calls into sqlite3 from Python "
        f"(execute, executemany), {ran:.0f} statements run by SQLite (each row of an executemany counts; the "
        "full-text index's triggers do not). Same-site copies: a copy on its original's own site joins only when "
        "near-identical (it may be the site's template that the two share)"
    )
    largest = runs[-1]
    print()
    print("== Targets ==")
    for name, ratio in (
        ("time", largest.cluster_ms / base.cluster_ms),
        ("CPU", largest.cluster_cpu_ms / base.cluster_cpu_ms),
    ):
        verdict = "PASS" if ratio <= COLD_FLAT else "FAIL"
        print(
            f"{verdict}  clustering a story of a {largest.stories:,}-story cold run ≤ {COLD_FLAT}× one of a "
            f"{base.stories:,}-story run ({name}): {ratio:.2f}×"
        )
    copies = sum(run.copies for run in runs)
    joined = sum(run.joined for run in runs)
    merged = sum(run.merged for run in runs)
    print(f"{'PASS' if joined == copies else 'FAIL'}  every copy on another site joins its story: {joined}/{copies}")
    print(f"{'PASS' if merged == 0 else 'FAIL'}  no original is merged: {merged}")


# ---------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stores of 1k, 10k and 100k stories")
    parser.add_argument("--cold", action="store_true", help="cold runs of 2k, 20k and 100k new stories instead")
    arguments = parser.parse_args()
    if arguments.cold:
        cold_main(COLD_QUICK_SIZES if arguments.quick else COLD_SIZES)
        return
    settings = QUICK if arguments.quick else FULL
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    since = now - WINDOW
    words = vocabulary()
    interval = SPAN / max(settings.sizes)
    window_count = int((WINDOW - timedelta(minutes=30)) / interval)  # ranks whose seen_at is inside the window
    newsroom = Newsroom(words, interval, now, max(2, window_count // 30))
    worst_interval = (WINDOW - timedelta(hours=1)) / settings.worst
    worst = Newsroom(words, worst_interval, now, newsroom.max_offset)  # the same stories, closer together
    rounds = [
        new_stories(newsroom, settings, window_count, now, batch) for batch in range(ROUNDS + UNSYNCED_ROUNDS + 1)
    ]
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, SQLite {sqlite3.sqlite_version}"
    print(f"python {platform.python_version()} on {machine}")
    print(f"text: {words.source}; {words.distinct:,} of them drawn")
    print(
        f"stores: one story every {interval.total_seconds():.0f}s, {window_count:,} of them in the {WINDOW.days}-day "
        f"window; {len(rounds[0])} new stories a round ({settings.copies} copies, {settings.new} new)",
        flush=True,
    )
    copy = next(item for item in rounds[0] if item.expected)  # its shingles are in the index: both reads run
    sample = fingerprint(cluster_text(copy.stored.story)).sampled
    folder = Path(tempfile.mkdtemp(prefix="newsbot-clusters-"))
    try:
        commit_ms = commit_milliseconds(folder / "commits.db")
        plain = Store("without the full-text index", min(settings.sizes), folder / "plain.db", newsroom)
        seed(plain, since, fts=False)
        jobs = [(f"{size:,}", size, newsroom) for size in settings.sizes]
        jobs.append((f"{settings.worst:,}, all in the window", settings.worst, worst))
        stores = []
        for number, (label, size, writer) in enumerate(jobs):
            store = Store(label, size, folder / f"store-{number}.db", writer)
            seed(store, since)
            inspect(store, since, sample)
            stores.append(store)
            print(f"seeded {label}: {store.seed_seconds:.0f}s", flush=True)
        for number, store in enumerate(stores):  # rounds interleaved: a drift of the disk hits every store alike
            baselines = 1 if number == 0 else 2 if number == len(stores) - 1 else 0
            store.rounds.append(first_round(store, rounds[0], now, settings, baselines=baselines))
        for batch in range(1, ROUNDS + UNSYNCED_ROUNDS):
            for store in stores:
                if batch < ROUNDS:
                    store.rounds.append(assign(store, rounds[batch], now))
                else:
                    store.unsynced.append(assign(store, rounds[batch], now, synchronous="OFF"))
        for store in stores:
            store.fresh = assign_fresh(store, rounds[-1], now)
            analyze(store, since, sample)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(stores, plain, commit_ms)
    print(
        f"\npeak resident memory of this process (seeding included): "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB; total runtime: "
        f"{time.perf_counter() - started:.0f}s"
    )


def report(stores: list[Store], plain: Store, commit_ms: float) -> None:
    base = stores[0]
    print()
    print(
        f"== Cost of a new story: assign_clusters over {base.rounds[0].stories} new stories, median of {ROUNDS} rounds "
        f"(no fsync: of {UNSYNCED_ROUNDS}); stages: ms, a read-only pass =="
    )
    print(
        "| stories | in window | ms/story | rounds | ÷ smallest | no fsync | ÷ smallest | fingerprint | index read | "
        "decide | write | index rows read | KB written | fresh process MB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for store in stores:
        stages = store.stages
        write = store.per_story_ms - sum(ms for name, ms in stages.items() if name != "rows")
        written = statistics.median(round_.written / round_.stories / 1000 for round_ in store.rounds)
        print(
            f"| {store.label} | {store.in_window:,} | {store.per_story_ms:.2f} | {store.spread} | "
            f"{store.per_story_ms / base.per_story_ms:.2f}× | {store.unsynced_ms:.2f} | "
            f"{store.unsynced_ms / base.unsynced_ms:.2f}× | {stages['fingerprint']:.2f} | "
            f"{stages['index read']:.2f} | {stages['decide']:.2f} | {write:.2f} | "
            f"{stages['rows']:,.0f} | {written:.0f} | "
            f"{store.fresh.get('peak', float('nan')):.1f} |"
        )
    print(
        "(write: the rest of a round's cost, record_clusters's UPDATEs and index rows and the commits; one empty "
        f"commit on this disk: {commit_ms:.2f} ms. index rows read: returned by the index read. no fsync: rounds with "
        "synchronous = OFF. KB written: to the WAL and by checkpoints. fresh process: peak RSS of a round in a new "
        "interpreter above its start)"
    )
    copies = sum(round_.copies for store in stores for round_ in store.every_round())
    joined = sum(round_.joined for store in stores for round_ in store.every_round())
    fresh = sum(round_.stories - round_.copies for store in stores for round_ in store.every_round())
    merged = sum(round_.merged for store in stores for round_ in store.every_round())
    each = ", ".join(f"{sum(round_.joined for round_ in store.every_round()):,}" for store in stores)
    print(
        f"copies that joined their original's cluster: {joined:,}/{copies:,} ({each}); "
        f"new stories merged: {merged}/{fresh:,}"
    )
    print()
    print("== Index: shingle_index, as seeded (dbstat) ==")
    print("| stories | rows | rows/story | table = (hash, story) key MB | bytes/row | KB/story | database MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for store in stores:
        index_bytes = sum(store.index.values())
        print(
            f"| {store.label} | {store.index_rows:,} | {store.index_rows / store.in_window:.1f} | "
            f"{index_bytes / MB:.1f} | {index_bytes / store.index_rows:.1f} | "
            f"{index_bytes / store.in_window / 1000:.1f} | {store.megabytes:,.0f} |"
        )
    seeding = "; ".join(
        f"{store.label}: {store.seed_seconds:.0f}s (text {store.generate_seconds:.0f}, fingerprints "
        f"{store.fingerprint_seconds:.0f}, SQL {store.sql_seconds:.0f})"
        for store in stores
    )
    print(f"seeding: {seeding}; the smallest store's SQL without the full-text index {plain.sql_seconds:.1f}s")
    print()
    print("== Baselines, measured here ==")
    if base.naive:
        naive_ms, right, tried = base.naive
        print(
            f"{base.label}: naive linear scan (read, fingerprint and compare all {base.in_window:,} stories of the "
            f"window) {naive_ms:,.0f} ms/story ({right}/{tried} as expected) = {naive_ms / base.per_story_ms:,.0f}× "
            f"newsbot's {base.per_story_ms:.2f} ms"
        )
    for store in stores:
        if store.window_scan:
            scan_ms, queries, tried = store.window_scan
            print(
                f"{store.label}: a story's index rows read by a scan of the window ({tried} stories) "
                f"{scan_ms:.1f} ms/story; newsbot's read by hash {queries:.2f} ms: {scan_ms / queries:,.0f}×"
            )
    print()
    print("== Query plans (EXPLAIN QUERY PLAN), as newsbot leaves the database ==")
    for name in base.plans:
        plans = {store.plans[name] for store in stores}
        analyzed = {store.analyzed_plans[name] for store in stores}
        same = "in every store" if len(plans) == 1 else "DIFFERS between stores"
        after = "the same after ANALYZE" if analyzed == plans else f"after ANALYZE: {' | '.join(sorted(analyzed))}"
        print(f"{name}: {' | '.join(sorted(plans))} ({same}; {after})")
    print()
    print("== Targets ==")
    largest = max(stores[:-1], key=lambda store: store.size)
    ratio = largest.per_story_ms / base.per_story_ms
    print(
        f"{'PASS' if ratio <= 2 else 'FAIL'}  a new story at {largest.label} stories ≤ 2× at {base.label}: {ratio:.2f}×"
    )
    print(f"{'PASS' if joined == copies else 'FAIL'}  every copy joins its original's cluster: {joined}/{copies}")
    print(f"{'PASS' if merged == 0 else 'FAIL'}  no new story is merged: {merged}/{fresh}")


if __name__ == "__main__":
    main()
