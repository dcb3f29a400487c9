"""What `status` says of the last run from its record alone (newsbot.cli.status): the lines a cron
user reads first in the morning, for records a stopped run leaves."""

from __future__ import annotations

from newsbot.cli.status import _runs_needing_attention
from newsbot.storage.records import RunRecord

STARTED, FINISHED = "2026-12-06T06:00:00+00:00", "2026-12-06T06:00:09+00:00"
INTERRUPTED = "the run was interrupted (SIGTERM)"


def attention(summary: dict[str, object]) -> list[str]:
    return _runs_needing_attention({}, RunRecord(STARTED, FINISHED, summary))


def test_sources_cut_short_for_one_reason_name_it_once() -> None:
    """Each source's reason may add what is its alone (its articles waiting): the reason is said once."""
    cut_short = {"Wire": INTERRUPTED, "Desk": f"{INTERRUPTED}; 3 stories wait for the next run"}

    assert attention({"cut_short": cut_short}) == [
        f"the last run was cut short ({INTERRUPTED}): 2 sources wait for the next run"
    ]


def test_a_run_cut_short_with_alerts_pending_says_they_wait_too() -> None:
    """The budget spent while alerts were queued: the crawl's sources and the alerts both wait."""
    summary = {"cut_short": {"Wire": INTERRUPTED}, "alerts_pending": 5, "stories_waiting": 3}

    assert attention(summary) == [
        f"the last run was cut short ({INTERRUPTED}): 1 source waits for the next run; 5 alerts wait to be sent; "
        "3 stories wait to be matched"
    ]


def test_a_run_stopped_before_matching_its_stories_says_how_many_wait() -> None:
    assert attention({"stopped": INTERRUPTED, "alerts_pending": 0, "stories_waiting": 1}) == [
        f"the last run was stopped before it matched every story ({INTERRUPTED}): 1 story waits for the next run"
    ]
    assert attention({"stopped": INTERRUPTED, "alerts_pending": 2, "stories_waiting": 40}) == [
        f"the last run was stopped while it delivered ({INTERRUPTED}): 2 alerts wait for the next run; "
        "40 stories wait to be matched"
    ]


def test_a_run_recorded_before_stories_waiting_was_kept_reads_as_before() -> None:
    assert attention({"stopped": INTERRUPTED, "alerts_pending": 0}) == []
    assert attention({"stopped": None, "alerts_pending": 0, "stories_waiting": 0}) == []


def test_a_helper_process_that_failed_is_named_with_what_the_run_did_instead() -> None:
    """Its warning went to stderr only, and without this line `status` read "Nothing needs attention";
    what the run's budget then left undone has a cut-short line of its own."""
    killed = "the reading process ended (signal 9); the crawl reads in its own thread"
    refused = "the second crawling process could not start ([Errno 11] Resource temporarily unavailable)"

    assert attention({"helper_failures": [killed, f"{refused}; the run crawls every host"]}) == [
        "in the last run, the reading process ended (signal 9): the run went on without it, more slowly; a signal 9 "
        "nobody sent is most often the kernel's out-of-memory killer (see `dmesg`)",
        f"in the last run, {refused}: the run went on without it, more slowly",
    ]
    assert attention({"stopped": None, "alerts_pending": 0}) == [], "a record from before helper_failures"
