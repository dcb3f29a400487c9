"""newsbot.pipeline.worker.StageWorker's settling, with its real thread: a pass starts SETTLE seconds
after the first wake-up since the last pass began, never sooner, and no later than that."""

from __future__ import annotations

import threading
import time

from newsbot.pipeline.worker import StageWorker

SETTLE = 0.6


class Passes:
    """The work: records when each pass began and ended, taking `seconds[i]` for pass i."""

    def __init__(self, *seconds: float):
        self.seconds = list(seconds)
        self.began: list[float] = []
        self.ended: list[float] = []
        self.first_began = threading.Event()

    def __call__(self, final: bool) -> None:
        self.began.append(time.monotonic())
        self.first_began.set()
        time.sleep(self.seconds[len(self.began) - 1] if len(self.began) <= len(self.seconds) else 0)
        self.ended.append(time.monotonic())


def worker_for(passes: Passes) -> StageWorker:
    worker = StageWorker(passes, cleanup=lambda: None, settle_seconds=SETTLE)
    worker.start()
    return worker


def test_a_first_wake_up_settles_before_its_pass() -> None:
    passes = Passes(0.0)
    worker = worker_for(passes)
    woken = time.monotonic()
    worker.wake()
    time.sleep(SETTLE / 2)
    worker.wake()  # a source finishing with the first: same pass, and the wait is not restarted
    assert passes.first_began.wait(5)
    assert SETTLE <= passes.began[0] - woken < SETTLE + 0.4
    worker.finish()
    assert worker.join(5)
    assert len(passes.began) == 2  # the settled pass, then the final one


def test_a_wake_up_during_a_long_pass_has_settled_when_it_ends() -> None:
    """A cold run's pass takes longer than the settle: the sources stored meanwhile had their time;
    waiting again would leave the run's slowest stage idle."""
    passes = Passes(2 * SETTLE, 0.0)
    worker = worker_for(passes)
    worker.wake()
    assert passes.first_began.wait(5)
    time.sleep(0.1)
    worker.wake()  # a source stored during the long pass
    deadline = time.monotonic() + 10
    while len(passes.began) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert passes.began[1] - passes.ended[0] < 0.3
    worker.finish()
    assert worker.join(5)


def test_a_wake_up_during_a_short_pass_still_settles_from_when_it_came() -> None:
    passes = Passes(0.1, 0.0)
    worker = worker_for(passes)
    worker.wake()
    assert passes.first_began.wait(5)
    woken = time.monotonic()
    worker.wake()  # during the first pass, which ends long before the settle does
    deadline = time.monotonic() + 10
    while len(passes.began) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert SETTLE - 0.05 <= passes.began[1] - woken < SETTLE + 0.4
    worker.finish()
    assert worker.join(5)
