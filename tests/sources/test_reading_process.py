"""newsbot.sources.reading_process with its real child process: what crosses the pipe is what a read
in this process gives; a child that is not ready, behind, dead or closed costs no read, only its
speed; what the child logs is logged here; the child never outlives its parent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from newsbot.sources.reading import ArticleRead, FeedRead, read_article, read_feed
from newsbot.sources.reading_process import HEAVY_READ_BYTES, ReadingProcess, ReadingStoppedError
from tests.conftest import REPOSITORY

FEEDS = REPOSITORY / "tests" / "data" / "feeds"
SITES = REPOSITORY / "tests" / "data" / "sites"


def without_time(read: FeedRead | ArticleRead) -> FeedRead | ArticleRead:
    """What was read, without how long it took and where."""
    return replace(read, seconds=0.0, read_there=False)


def child_of(process: ReadingProcess) -> subprocess.Popen[bytes]:
    assert process._child is not None
    return process._child


@pytest.fixture
def reading() -> Iterator[ReadingProcess]:
    process = ReadingProcess()
    process.start()
    yield process
    process.close()


FEED_FILES = sorted(path for path in FEEDS.iterdir() if path.is_file())


def test_every_feed_and_page_reads_there_exactly_as_here(reading: ReadingProcess) -> None:
    """Feeds that parse, feeds that do not (an error sentence crosses too), and article pages."""
    pages = sorted(SITES.glob("*.html"))

    async def both() -> list[tuple[FeedRead | ArticleRead, FeedRead | ArticleRead]]:
        pairs: list[tuple[FeedRead | ArticleRead, FeedRead | ArticleRead]] = []
        for path in FEED_FILES:
            feed = (path.read_bytes(), f"https://feeds.example.test/{path.name}", None)
            pairs.append((await reading.read(read_feed, *feed), read_feed(*feed)))
        for path in pages:
            page = (path.read_text(), f"https://news.example.test/{path.name}", None, None)
            pairs.append((await reading.read(read_article, *page), read_article(*page)))
        return pairs

    pairs = asyncio.run(both())
    assert reading.reads_there == len(FEED_FILES) + len(pages)
    assert all(there.read_there and not here.read_there for there, here in pairs)  # the run's parse figure
    for there, here in pairs:
        assert without_time(there) == without_time(here)
    feeds = [there for there, _ in pairs if isinstance(there, FeedRead)]
    assert any(read.error for read in feeds) and any(read.entries for read in feeds)
    assert all(entry.plain and bool(entry.canonical) == bool(entry.link) for read in feeds for entry in read.entries)
    assert any(isinstance(there, ArticleRead) and there.text for there, _ in pairs)


def test_a_process_never_started_is_not_used_and_one_starting_is_waited_for() -> None:
    """A small crawl never starts the process; a large one's first reads wait for it to be ready
    (a second of imports) rather than take the crawl's own thread."""
    body = (FEEDS / "rss20.xml").read_bytes()
    never_started = ReadingProcess()
    read = asyncio.run(never_started.read(read_feed, body, "https://feeds.example.test/rss", None))
    assert read.entries and never_started.reads_there == 0
    starting = ReadingProcess()
    starting.start()
    try:
        read = asyncio.run(starting.read(read_feed, body, "https://feeds.example.test/rss", None))
        assert read.entries and starting.reads_there == 1
    finally:
        starting.close()
    assert child_of(starting).wait(timeout=10) is not None


def test_the_process_starts_once_the_crawl_has_read_enough_itself() -> None:
    """A warm run's few changed feeds never pay for the process's start; a cold run's many do."""
    body = (FEEDS / "rss20.xml").read_bytes()
    process = ReadingProcess(start_after=3)
    try:
        reads = [asyncio.run(process.read(read_feed, body, "https://feeds.example.test/rss", None)) for _ in range(5)]
        assert process._child is not None and process._child.poll() is None
    finally:
        process.close()
    assert process.reads_there == 2  # the three before it started were read here
    assert len({without_time(read) for read in reads}) == 1


def test_one_heavy_body_starts_the_process_however_few_reads_came_before() -> None:
    """A page that would hold the crawl's thread for seconds is read in the process, even in a small
    crawl that would not otherwise start it; a light one still is not."""
    body = (FEEDS / "rss20.xml").read_bytes()
    light, heavy = ReadingProcess(start_after=100), ReadingProcess(start_after=100)
    try:
        asyncio.run(light.read(read_feed, body, "https://feeds.example.test/rss", None, size=len(body)))
        asyncio.run(heavy.read(read_feed, body, "https://feeds.example.test/rss", None, size=HEAVY_READ_BYTES))
        assert light._child is None and heavy._child is not None
    finally:
        light.close()
        heavy.close()
    assert (light.reads_there, heavy.reads_there) == (0, 1)


def test_a_crawl_expecting_enough_reads_starts_the_process_before_its_first() -> None:
    """A first run's many sources pay for the start while their first requests wait on the start delay;
    fewer expected reads than `start_after` (a warm run's changed feeds) start nothing up front."""
    body = (FEEDS / "rss20.xml").read_bytes()
    few, enough = ReadingProcess(start_after=3), ReadingProcess(start_after=3)
    try:
        few.expect(2)
        enough.expect(3)
        assert few._child is None and enough._child is not None
        asyncio.run(enough.read(read_feed, body, "https://feeds.example.test/rss", None))
    finally:
        few.close()
        enough.close()
    assert enough.reads_there == 1  # the first read already went to the child


def test_reads_beyond_those_queued_for_the_process_are_done_here() -> None:
    process = ReadingProcess(max_queued=1)
    process.start()
    bodies = [(FEEDS / name).read_bytes() for name in ("rss20.xml", "atom10.xml", "rss10.rdf")]
    try:

        async def together() -> list[FeedRead]:
            reads = (process.read(read_feed, body, "https://f.example.test/", None) for body in bodies)
            return list(await asyncio.gather(*reads))

        reads = asyncio.run(together())
    finally:
        process.close()
    assert process.reads_there == 1  # the first waited for the child; the other two were read here
    assert [without_time(read) for read in reads] == [
        without_time(read_feed(body, "https://f.example.test/", None)) for body in bodies
    ]


def test_reads_sent_together_are_each_answered_to_their_own_caller(reading: ReadingProcess) -> None:
    """The child is sent the next read before it has answered the last: the answers come back in
    order, and each reaches the read that asked for it."""
    feeds = [path for path in FEED_FILES if path.suffix in (".xml", ".rdf", ".json")]
    urls = [f"https://feeds.example.test/{number}/{path.name}" for number, path in enumerate(feeds)]

    async def together() -> list[FeedRead]:
        reads = (reading.read(read_feed, path.read_bytes(), url, None) for path, url in zip(feeds, urls, strict=True))
        return list(await asyncio.gather(*reads))

    reads = asyncio.run(together())
    assert reading.reads_there == len(feeds) > 5
    assert [without_time(read) for read in reads] == [
        without_time(read_feed(path.read_bytes(), url, None)) for path, url in zip(feeds, urls, strict=True)
    ]


def test_what_the_child_logs_is_logged_here_under_the_same_logger(
    reading: ReadingProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """trafilatura's complaints about an empty page are the run's warnings (newsbot.sources.crawl_log
    collects them by logger name): they must not vanish in the child."""
    with caplog.at_level(logging.WARNING):
        read = asyncio.run(reading.read(read_article, "", "https://news.example.test/empty", None, None))
    assert reading.reads_there == 1
    assert read.text == "" and read.error is None
    names = {record.name for record in caplog.records}
    assert "trafilatura.core" in names
    assert any("https://news.example.test/empty" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("ending", [signal.SIGKILL, signal.SIGTERM])
def test_a_child_that_dies_costs_no_read_and_a_kill_is_reported(
    reading: ReadingProcess, caplog: pytest.LogCaptureFixture, ending: signal.Signals
) -> None:
    """A read in flight or queued when the child dies is done here; every later read too. The OOM
    killer's SIGKILL is a warning; a SIGTERM is the group's stop (systemd's, cron's), which the run
    reports as such, and not as a failure of its helper."""
    big = (FEEDS / "rss20.xml").read_bytes()
    url = "https://feeds.example.test/rss"
    expected = without_time(read_feed(big, url, None))

    async def reads_across_the_death() -> list[FeedRead]:
        first = asyncio.ensure_future(reading.read(read_feed, big, url, None))
        await asyncio.sleep(0)  # queued for the child
        os.kill(child_of(reading).pid, ending)
        after = [await reading.read(read_feed, big, url, None) for _ in range(3)]
        return [await first, *after]

    with caplog.at_level(logging.WARNING, logger="newsbot.sources.reading_process"):
        reads = asyncio.run(reads_across_the_death())
        reading.join(timeout=10)  # it logs once it has reaped the child
    assert [without_time(read) for read in reads] == [expected] * 4
    assert child_of(reading).poll() == -ending
    warnings = [record.getMessage() for record in caplog.records if record.name == "newsbot.sources.reading_process"]
    if ending is signal.SIGKILL:
        assert warnings == ["the reading process ended (signal 9); the crawl reads in its own thread"]
    else:
        assert warnings == []


def test_closing_kills_the_child_and_later_reads_are_done_here(reading: ReadingProcess) -> None:
    child = child_of(reading)
    reading.close()
    assert child.wait(timeout=10) == -signal.SIGKILL
    body = (FEEDS / "atom10.xml").read_bytes()
    read = asyncio.run(reading.read(read_feed, body, "https://feeds.example.test/atom", None))
    assert read.entries and reading.reads_there == 0


def test_ctrl_c_to_the_group_leaves_the_child_reading() -> None:
    """A terminal's Ctrl-C reaches every process of the group: the run stops its crawl itself, and a
    child that died of it would print a traceback and cost the reads in flight."""
    process = ReadingProcess()
    process.start()
    body = (FEEDS / "rss20.xml").read_bytes()
    try:
        asyncio.run(process.read(read_feed, body, "https://feeds.example.test/rss", None))  # it is ready
        os.kill(child_of(process).pid, signal.SIGINT)
        read = asyncio.run(process.read(read_feed, body, "https://feeds.example.test/rss", None))
        assert read.entries and process.reads_there == 2
        assert child_of(process).poll() is None
    finally:
        process.close()


def test_a_child_that_dies_with_a_stopping_run_leaves_its_reads_undone() -> None:
    """The run is stopping (its budget, a signal): reading in the crawl's thread now would hold the
    stop up, so the read is abandoned with the run's reason, and its source waits for the next run."""
    reason: list[str] = []
    process = ReadingProcess(stopping=lambda: reason[0] if reason else None)
    process.start()
    body = (FEEDS / "rss20.xml").read_bytes()
    try:
        asyncio.run(process.read(read_feed, body, "https://feeds.example.test/rss", None))  # it is ready
        reason.append("stopped by SIGTERM")
        os.kill(child_of(process).pid, signal.SIGTERM)
        process.join(timeout=10)
        with pytest.raises(ReadingStoppedError, match=r"^stopped by SIGTERM$"):
            asyncio.run(process.read(read_feed, body, "https://feeds.example.test/rss", None))
    finally:
        process.close()


def test_the_child_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    """SIGKILL leaves no chance to close anything: the child must see its stdin end and go."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "from newsbot.sources.reading_process import ReadingProcess\n"
        "process = ReadingProcess()\n"
        "process.start()\n"
        "print(process._child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=REPOSITORY)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        time.sleep(1.0)  # past its imports: waiting for a read
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child}").exists() and _state(child) != "Z":
            assert time.monotonic() < deadline, "the reading process outlived its parent"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"
