"""A large warm crawl fetches part of its hosts in a second process (newsbot.sources.crawl_process).

The crawl tests run tests/split_crawl.py, which calls newsbot.sources.crawl.crawl as the run does
(with `split_after` low enough for a few sources), against two loopback hosts that count what they
are asked: 127.0.0.1 serves 6 feeds, 127.0.0.3 serves 4, so the second crawling process gets
127.0.0.3 (its share is 40%, never over half: 6 feeds would be more). Faults are real: the child or
the run killed with SIGKILL, SIGTERM to the run or to its whole process group, a feed that does not
answer. What must hold: each source's result comes out once; a source not fetched comes out cut
short (the next run fetches it), never as failed; no process is left behind; nothing on stderr
but log lines.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from newsbot.child_process import LinesLogged
from newsbot.configuration.fetch_config import FetchSettings
from newsbot.models import FeedEntry, FetchResult, FetchStatus, SourceKind, SourceRequest
from newsbot.pipeline.budget import RunBudget
from newsbot.sources.crawl import STOP_GRACE_SECONDS, crawl_here
from newsbot.sources.crawl_process import CHILD_SHARE, CrawlOrder, Ended, _Answers, divided, halves
from newsbot.storage.database import Storage
from newsbot.stories.normalize import to_story
from tests.conftest import REPOSITORY, newsbot_environment
from tests.servers import FeedServer, Route, TimedFeedServer, rss

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

RUN_HOST, CHILD_HOST = "127.0.0.1", "127.0.0.3"
CHILD_MODULE = "newsbot.sources.crawl_process"
ARTICLE_TEXT = "The SMS aggregator's network was used to locate phones through SS7. " * 30


Server = TypeVar("Server", bound=FeedServer)


def started(server: Server) -> Server:
    server.start()
    return server


def source(name: str, host: str, *, internal: bool = False) -> SourceRequest:
    return SourceRequest(name, SourceKind.FEED, f"http://{host}/{name}.xml", internal=internal, body_hash="h")


# --- which sources go where -------------------------------------------------------------------------


def test_whole_hosts_go_to_the_child_up_to_its_share() -> None:
    sources = [source(f"a{n}", "a.example") for n in range(50)]
    sources += [source(f"b{n}", "b.example") for n in range(30)]
    sources += [source(f"c{n}", "c.example") for n in range(20)]
    sources += [source("intranet", "c.example", internal=True)]
    here, there = halves(sources, split_after=10)
    hosts_there = {s.url.split("/")[2] for s in there}
    assert {s.source for s in here} | {s.source for s in there} == {s.source for s in sources}
    assert not {s.source for s in here} & {s.source for s in there}
    assert hosts_there == {"a.example"}  # 50 of 101: within half; then the child has its share (40%)
    assert not any(s.internal for s in there)  # an internal source stays with the run, whatever its host
    assert not {s.url.split("/")[2] for s in here if not s.internal} & hosts_there  # no host in both


def test_the_child_takes_about_its_share_of_many_hosts() -> None:
    sources = [source(f"s{n}", f"host{n % 100}.example") for n in range(1000)]
    _, there = halves(sources, split_after=300)
    assert abs(len(there) - CHILD_SHARE * 1000) <= 10  # whole hosts of 10 sources each


def test_one_host_written_two_ways_goes_to_one_half() -> None:
    sources = [source(f"a{n}", "bücher.example") for n in range(3)] + [source("b", "xn--bcher-kva.example")]
    sources += [source(f"c{n}", "c.example") for n in range(4)]
    _, there = halves(sources, split_after=2)
    assert {s.source for s in there} in ({"a0", "a1", "a2", "b"}, {"c0", "c1", "c2", "c3"})


@pytest.mark.parametrize(
    ("sources", "why"),
    [
        ([source(f"s{n}", f"h{n % 2}.example") for n in range(299)], "fewer than split_after read before"),
        ([source(f"s{n}", "one.example") for n in range(400)], "a single host"),
        (
            [source(f"s{n}", f"h{n % 2}.example") for n in range(400)]
            + [SourceRequest(f"new{n}", SourceKind.FEED, f"http://h{n % 2}.example/new{n}") for n in range(100)],
            "100 sources never read: a cold crawl, whose cores are busy already",
        ),
    ],
)
def test_no_child_where_it_would_not_pay(sources: list[SourceRequest], why: str) -> None:
    here, there = halves(sources, split_after=300)
    assert there == [], why
    assert here == sources


def test_concurrent_requests_are_shared_not_doubled() -> None:
    for total in (2, 3, 16, 64):
        run, child = divided(FetchSettings(concurrent_requests=total))
        assert run.concurrent_requests + child.concurrent_requests == total
        assert child.concurrent_requests >= 1
        assert run.concurrent_requests >= child.concurrent_requests
        assert run.concurrent_requests_per_domain == child.concurrent_requests_per_domain == 2  # hosts are not shared


def test_the_child_reads_its_order_without_importing_the_watchlists_or_slack_models() -> None:
    """The child is started in every large warm run, and what it imports is CPU the run pays twice.
    Its order's settings are unpickled from their own module (newsbot.configuration.fetch_config):
    the config module would bring the watchlists', the matcher's and Slack's models (about 50 ms)."""
    order = pickle.dumps(FetchSettings(concurrent_requests=8))
    program = (
        "import pickle, sys\n"
        f"import {CHILD_MODULE}, newsbot.sources.crawl\n"
        f"settings = pickle.loads({order!r})\n"
        "print(settings.concurrent_requests, sorted(name for name in sys.modules if name.startswith(("
        "'newsbot.configuration.config', 'newsbot.configuration.watchlists', 'newsbot.matching', "
        "'newsbot.configuration.slack_secrets', 'slack_sdk'))))\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", program], env=newsbot_environment({}), capture_output=True, text=True, check=True
    )
    assert finished.stdout.split(maxsplit=1) == ["8", "[]\n"]


class PipeWrittenInPython(io.RawIOBase):
    """The child's stdout, kept: its writes are Python code, where the interpreter switches threads,
    as it does when a full pipe makes the child's write wait."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        self.written += data
        return len(memoryview(data))


def test_every_line_logged_while_the_child_sends_is_shipped_once() -> None:
    """Lines are logged by any thread of the child (a failed reading process's warning by the thread
    that reads its answers) while the crawl's thread sends results: a line logged between the copy
    of the list and its clearing was lost (11% of 100,000 in a review's stress run)."""
    lines = 100_000
    pipe = PipeWrittenInPython()
    answers = _Answers(pipe)  # type: ignore[arg-type]  # a raw binary stream, as the pipe's is
    child_side = logging.getLogger("tests.crawl_child_side")
    child_side.propagate = False  # in the child, this handler is the root's only one
    child_side.addHandler(LinesLogged(answers.logged, logging.WARNING))
    try:

        def log_lines() -> None:
            for number in range(lines):
                child_side.warning("line %d", number)

        logging_thread = threading.Thread(target=log_lines)
        logging_thread.start()
        while logging_thread.is_alive():
            answers.send(Ended((), {}))
        answers.send(Ended((), {}))
    finally:
        child_side.handlers.clear()
        child_side.propagate = True
    shipped = []
    received = io.BytesIO(bytes(pipe.written))
    with contextlib.suppress(EOFError):
        while True:
            shipped += [message for _, _, message, _ in pickle.load(received)[1]]

    assert shipped == [f"line {n}" for n in range(lines)]


# --- real crawls ------------------------------------------------------------------------------------


@dataclass
class Sites:
    run: FeedServer
    child: FeedServer
    gates: list[threading.Event] = field(default_factory=list)

    def feed(self, server: FeedServer, name: str, **route: Any) -> dict[str, Any]:
        """A feed that answers 304 to its ETag (read before), unless the test gives it a body to change."""
        body = rss([{"title": f"{name} news", "link": f"{server.url}/{name}/1", "description": "teaser"}])
        server.add(f"/{name}.xml", Route(body=body, etag='"v1"', **route))
        return {"name": name, "url": f"{server.url}/{name}.xml", "etag": '"v1"', "full_text": "never"}

    def gate(self) -> threading.Event:
        gate = threading.Event()
        self.gates.append(gate)
        return gate


@pytest.fixture
def sites() -> Iterator[Sites]:
    made = Sites(started(FeedServer(RUN_HOST)), started(FeedServer(CHILD_HOST)))
    yield made
    for gate in made.gates:
        gate.set()
    made.run.stop()
    made.child.stop()


def standard_feeds(sites: Sites, **child_route: Any) -> list[dict[str, Any]]:
    """6 feeds on the run's host, 4 on the child's; the child's last one answers as `child_route` says."""
    feeds = [sites.feed(sites.run, f"run{n}") for n in range(6)]
    feeds += [sites.feed(sites.child, f"child{n}") for n in range(3)]
    feeds.append(sites.feed(sites.child, "child3", **child_route))
    return feeds


def start_crawl(
    tmp_path: Path, feeds: list[dict[str, Any]], new_session: bool = False, fail_on: str | None = None, **fetch: Any
) -> subprocess.Popen[str]:
    spec = {
        "fail_on": fail_on,
        "sources": feeds,
        "fetch": {"allowed_networks": ["127.0.0.0/8"], "autothrottle_start_delay": 0, "retries": 0, **fetch},
        "database": str(tmp_path / "newsbot.db"),
        "split_after": 2,
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    return subprocess.Popen(
        [sys.executable, str(REPOSITORY / "tests" / "split_crawl.py"), str(tmp_path / "spec.json")],
        cwd=tmp_path,
        env=newsbot_environment({}),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=new_session,
    )


@dataclass
class Outcome:
    results: list[dict[str, Any]]
    end: dict[str, Any] | None
    stderr: str
    returncode: int

    def by_source(self) -> dict[str, dict[str, Any]]:
        return {result["source"]: result for result in self.results}


def outcome(crawl: subprocess.Popen[str], timeout: float = 60) -> Outcome:
    stdout, stderr = crawl.communicate(timeout=timeout)
    results, end = [], None
    for line in stdout.splitlines():
        if line.startswith("END "):
            end = json.loads(line.removeprefix("END "))
        elif line.startswith("{"):
            results.append(json.loads(line))
    return Outcome(results, end, stderr, crawl.returncode)


def crawling_child(parent: int, timeout: float = 15) -> int:
    """The pid of `parent`'s second crawling process, once it is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task in Path(f"/proc/{parent}/task").iterdir():
            for child in (task / "children").read_text().split():
                if CHILD_MODULE in command_line(int(child)):
                    return int(child)
        time.sleep(0.05)
    raise AssertionError(f"no {CHILD_MODULE} under {parent}")


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def gone(pid: int, timeout: float = 10) -> bool:
    """Whether `pid` has exited (a zombie its parent has not reaped counts as exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def stopped(crawl: subprocess.Popen[str], number: int, to_the_group: bool) -> tuple[Outcome, float]:
    """`number` sent to the crawl (`kill PID`) or to its process group (cron, systemd, a terminal):
    what came out, and how long after the signal the crawl ended."""
    signalled = time.monotonic()
    if to_the_group:
        os.killpg(crawl.pid, number)
    else:
        os.kill(crawl.pid, number)
    result = outcome(crawl, timeout=30)
    return result, time.monotonic() - signalled


def wait_for_request(server: FeedServer, path: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not server.requests_to(path):
        assert time.monotonic() < deadline, f"{path} was never requested"
        time.sleep(0.02)


def clean(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "Fatal Python error" not in stderr


def test_each_source_comes_out_once_and_each_host_is_asked_by_one_process(sites: Sites, tmp_path: Path) -> None:
    feeds = standard_feeds(sites)
    result = outcome(start_crawl(tmp_path, feeds))
    assert result.returncode == 0, result.stderr
    assert sorted(r["source"] for r in result.results) == sorted(feed["name"] for feed in feeds)
    assert {r["status"] for r in result.results} == {"NOT_MODIFIED"}
    assert "the second crawling process fetched 4 of 4 sources" in result.stderr
    for server, prefix in ((sites.run, "run"), (sites.child, "child")):
        asked = [request.path for request in server.requests if request.path != "/robots.txt"]
        assert sorted(asked) == sorted(f"/{f['name']}.xml" for f in feeds if f["name"].startswith(prefix))
        assert len(server.requests_to("/robots.txt")) == 1  # each host's robots.txt read by one process
    assert result.end is not None
    assert set(result.end["paces"]) == {RUN_HOST, CHILD_HOST}  # the child's hosts' paces come back to be kept
    clean(result.stderr)


def test_the_two_processes_share_concurrent_requests(tmp_path: Path) -> None:
    """Each feed takes ANSWER_SECONDS to answer, so no more feed requests arrive within a shorter
    window than may be in flight at once: `concurrent_requests: 2` is 2 for both processes together."""
    answer_seconds = 0.5
    timed = [TimedFeedServer(RUN_HOST), TimedFeedServer(CHILD_HOST)]
    sites = Sites(started(timed[0]), started(timed[1]))
    try:
        feeds = standard_feeds(sites)
        for server in (sites.run, sites.child):
            for route in server.routes.values():
                route.delay = answer_seconds
        result = outcome(start_crawl(tmp_path, feeds, concurrent_requests=2))
        assert result.returncode == 0, result.stderr
        assert "the second crawling process fetched 4 of 4 sources" in result.stderr
        arrivals = sorted(when for server in timed for path, when in server.arrivals if path != "/robots.txt")
        assert len(arrivals) == 10
        most_at_once = max(
            sum(1 for other in arrivals if start <= other < start + answer_seconds - 0.05) for start in arrivals
        )
        assert most_at_once <= 2
    finally:
        sites.run.stop()
        sites.child.stop()


def test_a_host_both_halves_link_to_gets_no_more_transfers_at_once_than_one_crawl_allows(
    sites: Sites, tmp_path: Path
) -> None:
    """Articles of one publisher (127.0.0.2) linked from a feed of each half: each process alone
    would open `concurrent_requests_per_domain` (2) transfers to it; together they still open 2."""
    answer_seconds = 0.5
    publisher = TimedFeedServer("127.0.0.2")
    started(publisher)
    try:
        page = f"<html><body><article><p>{ARTICLE_TEXT}</p></article></body></html>".encode()
        feeds = standard_feeds(sites)
        for half, server in (("run", sites.run), ("child", sites.child)):
            links = [f"{publisher.url}/{half}-story-{n}" for n in range(4)]
            for link in links:
                publisher.add(
                    link.removeprefix(publisher.url), Route(page, content_type="text/html", delay=answer_seconds)
                )
            server.add(
                f"/{half}0.xml", Route(rss([{"title": "t", "link": link, "description": "t"} for link in links]))
            )
            feeds[0 if half == "run" else 6] = {"name": f"{half}0", "url": f"{server.url}/{half}0.xml"}
        result = outcome(start_crawl(tmp_path, feeds))
        assert result.returncode == 0, result.stderr
        assert "the second crawling process fetched 4 of 4 sources" in result.stderr
        arrivals = sorted(when for path, when in publisher.arrivals if "-story-" in path)
        assert len(arrivals) == 8, publisher.arrivals  # every article, from both processes
        assert {path.split("-")[0] for path, _ in publisher.arrivals if "-story-" in path} == {"/run", "/child"}
        window = answer_seconds - 0.05
        most_at_once = max(sum(1 for other in arrivals if start <= other < start + window) for start in arrivals)
        assert most_at_once <= FetchSettings().concurrent_requests_per_domain
    finally:
        publisher.stop()


def test_the_child_fetches_articles_it_does_not_have_and_skips_those_stored(sites: Sites, tmp_path: Path) -> None:
    """Its own read-only connection to the run's database answers "is this story stored?"."""
    feeds = standard_feeds(sites)
    stored, new = f"{sites.child.url}/stored-story", f"{sites.child.url}/new-story"
    page = f"<html><head><title>SS7</title></head><body><article><p>{ARTICLE_TEXT}</p></article></body></html>"
    for path in ("/stored-story", "/new-story"):
        sites.child.add(path, Route(body=page.encode(), content_type="text/html; charset=utf-8"))
    teasers = rss(
        [{"title": "Stored", "link": stored, "description": "t"}, {"title": "New", "link": new, "description": "t"}]
    )
    sites.child.add("/teasers.xml", Route(body=teasers))
    feeds[-1] = {"name": "teasers", "url": f"{sites.child.url}/teasers.xml", "full_text": "auto"}
    storage = Storage.open(tmp_path / "newsbot.db")
    story = to_story(FeedEntry(link=stored, title="Stored", summary="t"), "teasers")
    assert story is not None
    storage.record_fetch(FetchResult("teasers", feeds[-1]["url"], FetchStatus.OK), [story], datetime.now(UTC))
    storage.close()

    result = outcome(start_crawl(tmp_path, feeds))
    assert result.returncode == 0, result.stderr
    teaser_result = result.by_source()["teasers"]
    assert teaser_result["status"] == "OK"
    assert sites.child.requests_to("/new-story")
    assert not sites.child.requests_to("/stored-story")
    assert any(ARTICLE_TEXT.strip()[:60] in entry["text"] for entry in teaser_result["entries"])
    assert "the second crawling process fetched 4 of 4 sources" in result.stderr


def test_a_child_killed_mid_crawl_leaves_its_sources_to_the_run(sites: Sites, tmp_path: Path) -> None:
    gate = sites.gate()
    crawl = start_crawl(tmp_path, standard_feeds(sites, gate=gate))
    child = crawling_child(crawl.pid)
    wait_for_request(sites.child, "/child3.xml")
    os.kill(child, signal.SIGKILL)
    time.sleep(0.5)
    gate.set()  # the run's own crawl asks again, and gets an answer
    result = outcome(crawl)
    assert result.returncode == 0, result.stderr
    by_source = result.by_source()
    assert len(result.results) == 10 == len(by_source)
    assert {r["status"] for r in result.results} == {"NOT_MODIFIED"}  # fetched, by one process or the other
    assert not any(r["cut_short"] for r in result.results)
    assert len(sites.child.requests_to("/child3.xml")) == 2  # the dead child's, then the run's
    ended = "the second crawling process ended (signal 9); the run crawls what it left while its budget lasts"
    assert ended in result.stderr
    clean(result.stderr)


@pytest.mark.parametrize("to_the_group", [False, True], ids=["to the run", "to its process group"])
def test_sigterm_stops_both_and_what_was_not_fetched_waits_for_the_next_run(
    sites: Sites, tmp_path: Path, to_the_group: bool
) -> None:
    """cron or systemd signal the group (both processes hear it); `kill PID` reaches the run alone,
    which tells its child. Either way the child's source in flight comes out cut short."""
    gate = sites.gate()
    crawl = start_crawl(tmp_path, standard_feeds(sites, gate=gate), new_session=to_the_group)
    child = crawling_child(crawl.pid)
    wait_for_request(sites.child, "/child3.xml")
    time.sleep(0.3)  # the other feeds are answered meanwhile
    result, seconds = stopped(crawl, signal.SIGTERM, to_the_group)
    assert seconds < STOP_GRACE_SECONDS  # the child stops as the run does: not cut off after the run's grace
    assert result.returncode == 0, result.stderr
    by_source = result.by_source()
    assert len(result.results) == 10 == len(by_source)
    assert by_source["child3"]["cut_short"] == "the run was interrupted (SIGTERM)"
    assert by_source["child3"]["status"] == "ERROR"  # not fetched: its old validators stay (newsbot.storage.sources)
    assert {by_source[f"child{n}"]["status"] for n in range(3)} == {"NOT_MODIFIED"}  # fetched before: kept
    assert gone(child)
    clean(result.stderr)


@pytest.mark.parametrize("to_the_group", [False, True], ids=["to the run", "to its process group"])
def test_ctrl_c_while_the_child_still_loads_stops_it_at_once(sites: Sites, tmp_path: Path, to_the_group: bool) -> None:
    """The child ignores SIGINT until its handlers are set (a terminal's Ctrl-C reaches the whole
    group while it imports): passed on as SIGINT, the stop was lost, and the child crawled on until
    the run cut it off after its grace."""
    crawl = start_crawl(tmp_path, standard_feeds(sites), new_session=to_the_group)
    crawling_child(crawl.pid)  # it has just been started: it imports Scrapy for about half a second
    result, seconds = stopped(crawl, signal.SIGINT, to_the_group)
    assert seconds < STOP_GRACE_SECONDS
    assert result.returncode == 0, result.stderr
    by_source = result.by_source()
    assert len(result.results) == 10 == len(by_source)
    assert not [request.path for request in sites.child.requests if request.path.endswith(".xml")]
    assert all(by_source[f"child{n}"]["cut_short"].startswith("the run was interrupted") for n in range(4))
    clean(result.stderr)


def test_the_run_killed_leaves_no_child_behind(sites: Sites, tmp_path: Path) -> None:
    gate = sites.gate()
    crawl = start_crawl(tmp_path, standard_feeds(sites, gate=gate), new_session=True)
    child = crawling_child(crawl.pid)
    wait_for_request(sites.child, "/child3.xml")
    os.kill(crawl.pid, signal.SIGKILL)
    crawl.communicate(timeout=10)
    assert gone(child), "the second crawling process outlived the run"


def test_a_host_that_never_answers_in_the_childs_half_costs_the_budget_only(sites: Sites, tmp_path: Path) -> None:
    gate = sites.gate()
    started = time.monotonic()
    # 8 s: the child's other sources must be done by then on a loaded machine (its imports alone
    # took over 3 s with five of these crawls at once on 2 cores)
    result = outcome(start_crawl(tmp_path, standard_feeds(sites, gate=gate), run_budget_seconds=8))
    assert time.monotonic() - started < 8 + 6  # the budget, then the stop's grace at most
    assert result.returncode == 0, result.stderr
    by_source = result.by_source()
    assert len(result.results) == 10
    assert by_source["child3"]["cut_short"] == "the run's budget of 8 s (fetch.run_budget_seconds) was spent"
    assert by_source["child0"]["status"] == "NOT_MODIFIED", by_source["child0"]
    clean(result.stderr)


def test_a_public_source_in_the_child_cannot_reach_an_internal_sources_host(tmp_path: Path) -> None:
    """The internal source stays in the run's process, but the child is told its host: a public
    feed there linking to it is refused, as it would be in one crawl."""
    public_run, public_child = started(FeedServer(RUN_HOST)), started(FeedServer(CHILD_HOST))
    intranet = started(FeedServer("127.0.0.2"))
    try:
        sites = Sites(public_run, public_child)
        feeds = [sites.feed(public_run, f"run{n}") for n in range(7)]
        feeds += [sites.feed(public_child, f"child{n}") for n in range(3)]
        intranet.add("/secret", Route(body=b"<html><body>secret</body></html>", content_type="text/html"))
        intranet.add("/wiki.xml", Route(body=rss([{"title": "w", "link": f"{intranet.url}/w", "description": "x"}])))
        feeds.append({"name": "wiki", "url": f"{intranet.url}/wiki.xml", "internal": True, "full_text": "never"})
        lure = rss([{"title": "Lure", "link": f"{intranet.url}/secret", "description": "short"}])
        public_child.add("/lure.xml", Route(body=lure))
        feeds.append({"name": "lure", "url": f"{public_child.url}/lure.xml", "full_text": "always"})
        result = outcome(start_crawl(tmp_path, feeds))  # every loopback host allowed: the intranet's too
        assert result.returncode == 0, result.stderr
        assert "the second crawling process fetched 4 of 4 sources" in result.stderr  # lure's host was the child's
        assert result.by_source()["wiki"]["status"] == "OK"
        assert public_child.requests_to("/lure.xml")
        assert not intranet.requests_to("/secret")
    finally:
        public_run.stop()
        public_child.stop()
        intranet.stop()


def test_a_stop_while_the_child_has_not_read_its_order_does_not_hold_the_run(sites: Sites, tmp_path: Path) -> None:
    """An order of 500 sources is more than a pipe holds: its writer waits until the child has
    imported and reads it. A child held still (SIGSTOP, standing in for a slow start) must not hold
    the run's stop: the run passes the signal on and, after its grace, ends the child."""
    feeds = [sites.feed(sites.run, f"run{n}") for n in range(700)]
    feeds += [sites.feed(sites.child, f"child{n}") for n in range(500)]
    crawl = start_crawl(tmp_path, feeds)
    child = crawling_child(crawl.pid)
    try:
        os.kill(child, signal.SIGSTOP)
        wait_for_request(sites.run, "/run0.xml")
        signalled = time.monotonic()
        os.kill(crawl.pid, signal.SIGTERM)
        result = outcome(crawl, timeout=30)
        assert time.monotonic() - signalled < STOP_GRACE_SECONDS + 3
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    assert result.returncode == 0, result.stderr
    by_source = result.by_source()
    assert len(result.results) == 1200 == len(by_source)
    assert {by_source[f"child{n}"]["cut_short"] for n in range(500)} == {"the run was interrupted (SIGTERM)"}
    assert not sites.child.requests
    assert "the second crawling process ended" not in result.stderr  # the run ended it: no news
    clean(result.stderr)


def test_a_store_that_fails_ends_the_child_without_a_false_warning(sites: Sites, tmp_path: Path) -> None:
    feeds = standard_feeds(sites)
    crawl = start_crawl(tmp_path, feeds, fail_on="child0")
    child = crawling_child(crawl.pid)
    result = outcome(crawl)
    assert result.returncode == 1
    assert "StoreFailedError: the store refused child0" in result.stderr  # the crawl raises what the store raised
    assert "the second crawling process ended" not in result.stderr
    assert gone(child)


def test_a_stop_just_after_the_split_still_gives_every_source_of_both_halves() -> None:
    """The budget ran out (or a signal came) between the decision to split and the crawl's start:
    the child's half was neither crawled nor reported."""
    fetch = FetchSettings()
    sources = [source(f"s{n}", f"h{n % 3}.example") for n in range(9)]
    here, there = halves(sources, split_after=2)
    assert here and there
    budget = RunBudget(60)
    budget.interrupt(signal.SIGTERM)
    order = CrawlOrder(tuple(there), fetch, lambda url: False, 60, 60, (), {}, (), logging.WARNING, "")
    reported: list[FetchResult] = []
    crawl_here(here, fetch, reported.append, lambda url: False, budget, (), None, (), order)
    assert sorted(result.source for result in reported) == sorted(s.source for s in sources)
    assert {result.cut_short for result in reported} == {"the run was interrupted (SIGTERM)"}
