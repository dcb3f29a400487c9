"""The peer's run: lemon24/reader updating the same feeds into its own SQLite database (a child of crawl.py).

    python benchmarks/reader_update.py DATABASE FEEDS_FILE WORKERS

Adds each URL of FEEDS_FILE (one a line; feeds already in DATABASE stay as they are) and calls
`update_feeds()` once, as a user's cron job would: with `scheduled=False`, since reader 3.21 skips a
feed updated within the hour otherwise, and `workers` threads downloading (reader parses and stores
on the calling thread). reader sends the ETag and Last-Modified it stored, so a warm update costs a
304 per unchanged feed. Prints one JSON line: feeds, broken feeds, entries stored, seconds.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from reader import make_reader


def main() -> None:
    database, feeds_file, workers = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    started = time.perf_counter()
    reader = make_reader(database)
    for url in feeds_file.read_text(encoding="utf-8").split():
        reader.add_feed(url, exist_ok=True)
    reader.update_feeds(scheduled=False, workers=workers)
    feeds = reader.get_feed_counts()
    summary = {
        "feeds": feeds.total,
        "broken": feeds.broken,
        "entries": reader.get_entry_counts().total,
        "seconds": time.perf_counter() - started,
    }
    reader.close()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
