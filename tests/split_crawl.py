"""A crawl split between two processes, for tests/sources/test_second_crawling_process.py.

Runs newsbot.sources.crawl.crawl as the run does (its budget, SIGTERM and SIGINT handled by
stop_on_signals), with `split_after` low enough for a test's few sources. Its one argument is a
JSON file: {"sources": [{name, url, etag?, internal?, full_text?}], "fetch": {…}, "database": path,
"split_after": n, "fail_on"?: a source whose result the store refuses (a full disk, say)}. Each
result is printed as a JSON line the moment it arrives (a test that kills something reads what got
out), then one line "END" with the crawl's skipped hosts and paces.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from newsbot.configuration.fetch_config import FetchSettings
from newsbot.models import FetchResult, FullText, SourceKind, SourceRequest
from newsbot.pipeline.budget import RunBudget, stop_on_signals
from newsbot.sources.crawl import crawl
from newsbot.storage.database import Storage
from newsbot.storage.sources import StoredURLs


class StoreFailedError(Exception):
    pass


def printed(result: FetchResult, fail_on: str | None = None) -> None:
    if result.source == fail_on:
        raise StoreFailedError(f"the store refused {fail_on}")
    entries = [{"link": entry.link, "text": entry.content or entry.summary} for entry in result.entries]
    shown = {key: value for key, value in asdict(result).items() if key in ("source", "error", "cut_short")}
    print(json.dumps({**shown, "status": result.status.name, "entries": entries}), flush=True)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    spec = json.loads(Path(sys.argv[1]).read_text())
    database = Path(spec["database"])
    storage = Storage.open(database)
    sources = [
        SourceRequest(
            source["name"],
            SourceKind.FEED,
            source["url"],
            internal=source.get("internal", False),
            full_text=FullText(source.get("full_text", "auto")),
            etag=source.get("etag"),
            body_hash="read before",  # not never read: a warm crawl
        )
        for source in spec["sources"]
    ]
    fetch = FetchSettings(**spec["fetch"])
    budget = RunBudget(fetch.run_budget_seconds)
    with stop_on_signals(budget):
        end = crawl(
            sources,
            fetch,
            lambda result: printed(result, spec.get("fail_on")),
            storage.is_known,
            budget,
            known_there=StoredURLs(database),
            split_after=spec["split_after"],
        )
    print("END", json.dumps({"skipped_hosts": end.skipped_hosts, "paces": end.paces}), flush=True)
    storage.close()


if __name__ == "__main__":
    main()
