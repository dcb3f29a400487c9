"""A second crawling process for a large warm run: part of the hosts are fetched there, beside the run's crawl.

A warm run is Scrapy's own work per request (its scheduler, middlewares and HTTP client), done in the
run's reactor thread: 950 of 1,000 feeds answer 304, and there is next to nothing to read, cluster or
match, so one core works and the other waits. A child with a Scrapy of its own fetches whole hosts,
40% of the sources (`python -m newsbot.sources.crawl_process`, newsbot.child_process), and sends each
source's FetchResult back as soon as it is complete; the run stores it as one of its own. 1,000 warm
feeds: 2.84 → 2.25 s.

Only where it pays: a run whose sources were nearly all read before (a cold run's cores are busy
reading and clustering already), with at least `SPLIT_AFTER` of them, on at least two hosts.

Politeness holds as in one crawl: each host's sources go to one process, with its robots.txt and its
remembered pace; `concurrent_requests` is divided between the two; and `concurrent_requests_per_domain`
counts both processes' transfers to a host (newsbot.sources.host_tokens), since an article or a
redirect may lead either to any host. Internal sources stay in the run's process, and the child is
told their hosts, so its public sources' links cannot reach them.

Stops are shared: the child has the run's deadline; a signal reaches it through the process group
(cron, systemd, a terminal's Ctrl-C) or is passed on by the run (`kill PID` reaches the run alone),
and it cancels what is in flight and sends what it has, cut short. A child that dies while the run
is not stopping leaves its unfinished sources to the run's own crawl, which fetches them again; if
the run itself is killed, the child finds its stdin closed and stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import BinaryIO
from urllib.parse import urlsplit

from w3lib.url import safe_url_string

from newsbot.child_process import (
    HELPER_FAILED,
    STOP_SIGNALS,
    LinesLogged,
    LoggedLine,
    answers_pipe,
    how_it_ended,
    log_again,
    start_module,
)
from newsbot.configuration.fetch_config import FetchSettings
from newsbot.models import FetchResult, SourceKind, SourceRequest
from newsbot.pipeline.budget import RUN_STOP_SIGNALS, RunBudget

log = logging.getLogger(__name__)

SPLIT_AFTER = 300  # sources read before; fewer, and the child's start (~0.5 s of CPU) costs what it saves
# The child's share of the sources: it starts its crawl later than the run (its imports), and with
# half it finished last (1,000 warm feeds: 2.53 s with half, 2.35 s with 40%).
CHILD_SHARE = 0.4
RUN_ENDED = "the run ended"
MODULE = "newsbot.sources.crawl_process"
_early: list[subprocess.Popen[bytes]] = []  # the child start_early started, until a crawl takes it


@dataclass(frozen=True)
class CrawlOrder:
    """What the child needs for its half: everything `newsbot.sources.crawl.crawl` is given in the run."""

    sources: tuple[SourceRequest, ...]
    fetch: FetchSettings
    is_known: Callable[[str], bool]  # picklable: it opens its own read-only connection there
    budget_seconds: float  # fetch.run_budget_seconds, for the sentence a spent budget gives
    deadline: float  # the run's, on time.monotonic(), which is the machine's: the same in both processes
    spider_modules: tuple[str, ...]
    paces: Mapping[str, float]
    internal_hosts: tuple[str, ...]
    log_level: int
    host_tokens: str  # the folder where both processes count each host's transfers (newsbot.sources.host_tokens)


@dataclass(frozen=True)
class Ended:
    """The child's last message: what its crawl left for the run besides the results."""

    skipped_hosts: tuple[str, ...]
    paces: Mapping[str, float]


def halves(sources: Sequence[SourceRequest], split_after: int) -> tuple[list[SourceRequest], list[SourceRequest]]:
    """(the run's, the child's): whole hosts, the busiest first, to the child until it has its share
    (never over half); the child's half is empty where a split does not pay or is not safe."""
    from newsbot.sources.reading_process import START_AFTER_READS  # the CLI imports this module early: not lxml

    never_read = sum(1 for source in sources if source.body_hash is None)
    if never_read >= START_AFTER_READS or len(sources) - never_read < split_after:
        return list(sources), []
    here: list[SourceRequest] = []
    by_host: dict[str, list[SourceRequest]] = defaultdict(list)
    for source in sources:
        if source.internal or source.kind is SourceKind.SPIDER:
            here.append(source)
        else:
            # The host as Scrapy will name it (IDNA, lower case): one host, one half.
            by_host[urlsplit(safe_url_string(source.feed_url or source.url)).hostname or ""].append(source)
    if len(by_host) < 2:  # two halves
        return list(sources), []
    there: list[SourceRequest] = []
    for group in sorted(by_host.values(), key=len, reverse=True):
        fits = len(there) < CHILD_SHARE * len(sources) and len(there) + len(group) <= len(sources) / 2
        (there if fits else here).extend(group)
    return (here, there) if there else (list(sources), [])


def divided(fetch: FetchSettings) -> tuple[FetchSettings, FetchSettings]:
    """`concurrent_requests` shared by the two processes (the run's keeps the odd one)."""
    there = fetch.concurrent_requests // 2
    return (
        fetch.model_copy(update={"concurrent_requests": fetch.concurrent_requests - there}),
        fetch.model_copy(update={"concurrent_requests": there}),
    )


def start_early(sources: int, database: Path) -> None:
    """Start the child now, before the run loads Scrapy: its imports (half a second of CPU) then
    overlap the run's own, where it waited for them (1,000 warm feeds: 2.50 → 2.36 s). Only where
    a split is likely: enough sources, and a database (a first run is cold). The run's
    CrawlingProcess takes it; a crawl that is not split ends it (`discard_early`), and one never
    taken finds its stdin closed when the run exits, and ends."""
    if sources >= SPLIT_AFTER and database.exists() and not _early:
        with contextlib.suppress(OSError):  # it is started again when needed, and says why it cannot be
            _early.append(start_module(MODULE))


def discard_early() -> None:
    while _early:
        child = _early.pop()
        child.kill()
        child.wait()


class CrawlingProcess:
    """The run's side of the child: sends the order, hears results, logs and the end in a thread of
    its own, and hands each message over to `on_message` there (the crawl passes it to its reactor)."""

    def __init__(self, order: CrawlOrder, on_message: Callable[[FetchResult | Ended | None], None]) -> None:
        self._order = order
        self._on_message = on_message  # None: the child is gone
        self._child: subprocess.Popen[bytes] | None = None
        self._closing = False  # the run ended the child: its death is no news
        self.status: int | None = None  # the child's exit status once it is gone

    def start(self) -> bool:
        """False if the child could not start: its sources are the run's to crawl."""
        try:
            self._child = _early.pop() if _early else start_module(MODULE)
        except OSError as problem:
            log.warning(
                "the second crawling process could not start (%s); the run crawls every host",
                problem,
                extra=HELPER_FAILED,
            )
            return False
        threading.Thread(target=self._receive, args=(self._child,), name="newsbot-crawling", daemon=True).start()
        return True

    def interrupt(self) -> None:
        """The run was stopped by a signal (perhaps sent to it alone, `kill PID`): the child stops as
        the run does, cancelling what is in flight and sending what it has. A signal, not a message:
        its stdin may still be full of the order it has not read yet. SIGTERM, whatever the run's
        was: the child ignores Ctrl-C's SIGINT until its own handlers are set
        (newsbot.child_process), and SIGTERM then ends it as quietly as a stop."""
        if self._child is not None:
            with contextlib.suppress(ProcessLookupError):
                self._child.send_signal(signal.SIGTERM)

    def close(self) -> None:
        """Ends the child at once (a crawl that had to be cut off where it stood)."""
        self._closing = True
        if self._child is not None:
            with contextlib.suppress(ProcessLookupError):
                self._child.kill()

    def _receive(self, child: subprocess.Popen[bytes]) -> None:
        """Sends the order (here: the child reads it once its imports are done, and the crawl must
        not wait for that), then hears the child until it is gone."""
        assert child.stdout is not None and child.stdin is not None
        # Whatever ends the pipe: the child's death, or a message this newsbot cannot unpickle.
        with contextlib.suppress(Exception):
            pickle.dump(self._order, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            child.stdin.flush()
            while True:
                payload, logged = pickle.load(child.stdout)
                log_again(logged)
                self._on_message(payload)
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        self.status = child.wait()
        if self.status != 0 and -self.status not in STOP_SIGNALS and not self._closing:
            log.warning(
                "the second crawling process ended (%s); the run crawls what it left while its budget lasts",
                how_it_ended(self.status),
                extra=HELPER_FAILED,
            )
        self._on_message(None)


class _Answers:
    """The child's side of its stdout: one message at a time, with the log lines recorded since the last."""

    def __init__(self, pipe: BinaryIO) -> None:
        self._pipe = pipe
        self._lock = threading.Lock()
        self.logged: list[LoggedLine] = []

    def send(self, payload: FetchResult | Ended) -> None:
        with self._lock:
            # Taken by count, not copied then cleared: another thread's line logged between the two
            # was lost (the failing reading process's warning is logged by a thread of its own).
            shipped = len(self.logged)
            logged = self.logged[:shipped]
            del self.logged[:shipped]
            pickle.dump((payload, logged), self._pipe, protocol=pickle.HIGHEST_PROTOCOL)
            self._pipe.flush()


def serve(orders: BinaryIO, pipe: BinaryIO) -> None:
    """The child: crawl its half as the run would, sending each result; stop when the run says so,
    when its stdin closes (the run is gone) or on SIGTERM."""
    budget: RunBudget | None = None
    heard: list[int] = []  # a signal before the budget exists (while Scrapy loads, while the order is read)

    def interrupt(number: int, frame: FrameType | None) -> None:
        if budget is None:
            heard.append(number)
        else:
            budget.interrupt(number)

    for stop_signal in RUN_STOP_SIGNALS:  # the group's signal, or the run's passing one on
        signal.signal(stop_signal, interrupt)
    from newsbot.sources.crawl import crawl_here

    try:
        order: CrawlOrder = pickle.load(orders)
    except EOFError:  # started early, and the crawl was not split
        return
    answers = _Answers(pipe)
    logging.getLogger().addHandler(LinesLogged(answers.logged, order.log_level))
    logging.getLogger().setLevel(order.log_level)
    logging.captureWarnings(True)  # py.warnings, as in the run's process
    budget = RunBudget(order.budget_seconds)
    budget.deadline = order.deadline
    if heard:
        budget.interrupt(heard[0])

    def listen(budget: RunBudget) -> None:
        with contextlib.suppress(OSError):
            orders.read()  # nothing more is sent: this returns when the run is gone
        budget.stop(RUN_ENDED)

    threading.Thread(target=listen, args=(budget,), name="newsbot-orders", daemon=True).start()
    end = crawl_here(
        order.sources,
        order.fetch,
        answers.send,
        order.is_known,
        budget,
        order.spider_modules,
        order.paces,
        order.internal_hosts,
        host_tokens=order.host_tokens,
    )
    answers.send(Ended(tuple(end.skipped_hosts), end.paces))


def main() -> None:
    """Ends with `os._exit`: the thread still waiting for the run's stop holds stdin's lock, which
    an interpreter's orderly exit waits for and then reports as a "Fatal Python error" on stderr."""
    status = 0
    try:
        serve(sys.stdin.buffer, answers_pipe())
    except BrokenPipeError:  # the run is gone
        pass
    except BaseException:
        traceback.print_exc()
        status = 1
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    # As the module, not as __main__: what it pickles (Ended) must name a module the run can import.
    from newsbot.sources.crawl_process import main as main_of_the_module

    main_of_the_module()
