"""What checking the database at start costs: `Storage.open` against stores of 50,000 and 200,000 stories.

    python benchmarks/integrity_check.py [--quick]

Every command opens the database with `Storage.open`, which runs `PRAGMA integrity_check` before
anything else (a damaged page or index is refused with exit 4, see newsbot/storage/database_errors.py).
That check reads every page, so its cost grows with the file. Each store is a fresh database in
newsbot's own schema, seeded by plain SQL, clustered and in the full-text index (m012): stories of 500
words (a generated Zipf vocabulary of 30,000 words), one source each, and an alert for one story in
ten. Per store: `Storage.open` with the file in the page cache (median of 3), the same from a cold
cache (when this process may drop the kernel's caches: root), and, for comparison, a bare
connection's `PRAGMA quick_check`, `PRAGMA integrity_check` and FTS5's 'integrity-check' (warm).
About 12 minutes on 2 cores, most of it seeding (1.4 GB of scratch files, removed at the end);
--quick (5,000 and 20,000 stories) about 1 minute.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsbot.storage.database import Storage

DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def seed(path: Path, stories: int) -> None:
    Storage.open(path).close()
    pick = random.Random(1)
    vocabulary = [
        "".join(pick.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(pick.randint(3, 10))) for _ in range(30_000)
    ]
    weights = [1 / rank for rank in range(1, len(vocabulary) + 1)]
    with contextlib.closing(sqlite3.connect(path)) as connection:
        for start in range(0, stories, 5_000):
            batch = []
            for number in range(start, min(stories, start + 5_000)):
                words = pick.choices(vocabulary, weights, k=500)
                day = "2026-01-01T00:00:00+00:00"
                batch.append(
                    (
                        f"s{number}",
                        f"https://news.example.com/{number}",
                        " ".join(words[:10]),
                        " ".join(words[10:40]),
                        " ".join(words),
                        "Wire",
                        day,
                        day,
                        day,
                        f"s{number}",
                    )
                )
            connection.execute("BEGIN")
            connection.executemany(
                "INSERT INTO stories (id, url, title, summary, text, source, published_at, first_seen_at, "
                "matched_at, cluster_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
            connection.execute(  # clustered stories are in the full-text index (m012)
                "INSERT INTO stories_fts (rowid, title, summary, text) SELECT rowid, title, summary, text "
                "FROM stories WHERE rowid > (SELECT coalesce(max(id), 0) FROM stories_fts_docsize)"
            )
            connection.executemany(
                "INSERT INTO story_sources (story_id, source, seen_at) VALUES (?, 'Wire', '2026-01-01')",
                [(row[0],) for row in batch],
            )
            connection.executemany(
                "INSERT INTO alerts (id, story_id, watchlist, severity, match, status, attempts, created_at, kind) "
                "VALUES (?, ?, 'vendors', 'high', '{}', 'sent', 1, '2026-01-01', 'alert')",
                [(f"a{row[0]}", row[0]) for row in batch[::10]],
            )
            connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        DROP_CACHES.write_text("3\n")
    except OSError:
        return False
    return True


def measure(path: Path) -> dict[str, float]:
    def open_and_close() -> None:
        Storage.open(path).close()

    def pragma(sql: str) -> Callable[[], object]:
        def run() -> object:
            with contextlib.closing(sqlite3.connect(path)) as connection:
                found = connection.execute(sql).fetchall()
                connection.commit()
                return found

        return run

    results = {}
    if drop_caches():
        results["Storage.open, cold cache"] = seconds(open_and_close)
    open_and_close()
    results["Storage.open, warm"] = statistics.median(seconds(open_and_close) for _ in range(3))
    results["quick_check, warm"] = seconds(pragma("PRAGMA quick_check"))
    results["integrity_check, warm"] = seconds(pragma("PRAGMA integrity_check"))
    results["FTS5 integrity-check, warm"] = seconds(
        pragma("INSERT INTO stories_fts (stories_fts, rank) VALUES ('integrity-check', 1)")
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 and 20,000 stories")
    arguments = parser.parse_args()
    sizes = (5_000, 20_000) if arguments.quick else (50_000, 200_000)
    with tempfile.TemporaryDirectory(prefix="newsbot-integrity-") as folder:
        for stories in sizes:
            path = Path(folder) / f"{stories}.db"
            seed(path, stories)
            megabytes = path.stat().st_size / 1e6
            for name, value in measure(path).items():
                print(f"{stories:>8,} stories {megabytes:>7,.0f} MB  {name:<28} {value:6.2f} s")
            path.unlink()


if __name__ == "__main__":
    main()
