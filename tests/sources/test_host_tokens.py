"""A host's transfers counted across two processes (newsbot.sources.host_tokens): real locks on
real files; a second HostTokens on the same folder stands for the other process (flock locks
belong to open files, so two of them contend as two processes do), and a real child killed with
SIGKILL shows that the kernel gives its tokens back."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from newsbot.owned_folders import OWNER, remove_if_abandoned
from newsbot.sources.host_tokens import FOLDER_PREFIX, HostTokens, token_folder
from tests.conftest import REPOSITORY

HOLD_ONE = """
import asyncio, sys, time
from pathlib import Path
from newsbot.owned_folders import OWNER, remove_if_abandoned
from newsbot.sources.host_tokens import FOLDER_PREFIX, HostTokens, token_folder

async def hold() -> None:
    async with HostTokens(Path(sys.argv[1]), 1).held("news.example"):
        print("holding", flush=True)
        time.sleep(60)

asyncio.run(hold())
"""


def test_the_two_processes_hold_no_more_than_per_host_tokens_of_a_host(tmp_path: Path) -> None:
    run, child = HostTokens(tmp_path, 2), HostTokens(tmp_path, 2)
    at_once: list[int] = []
    holding = 0

    async def transfer(tokens: HostTokens) -> None:
        nonlocal holding
        async with tokens.held("news.example"):
            holding += 1
            at_once.append(holding)
            await asyncio.sleep(0.05)
            holding -= 1

    async def crawl() -> None:
        await asyncio.gather(*(transfer(tokens) for tokens in (run, child) for _ in range(4)))
        async with run.held("other.example"), run.held("other.example"):  # another host has tokens of its own
            pass

    asyncio.run(crawl())
    assert len(at_once) == 8
    assert max(at_once) == 2


def test_a_cancelled_transfer_gives_its_token_back(tmp_path: Path) -> None:
    run, child = HostTokens(tmp_path, 1), HostTokens(tmp_path, 1)

    async def scenario() -> bool:
        holder = asyncio.ensure_future(_hold_forever(run))
        await asyncio.sleep(0.02)
        waiter = asyncio.ensure_future(_hold_forever(child))  # waits: the only token is the run's
        await asyncio.sleep(0.02)
        waiter.cancel()  # a stop cancels a transfer waiting for its token…
        holder.cancel()  # … and one holding it
        await asyncio.gather(holder, waiter, return_exceptions=True)
        async with child.held("news.example"):
            return True

    assert asyncio.run(asyncio.wait_for(scenario(), 5))


async def _hold_forever(tokens: HostTokens) -> None:
    async with tokens.held("news.example"):
        await asyncio.sleep(3600)


def test_a_killed_process_holds_no_token(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_ONE, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        tokens = HostTokens(tmp_path, 1)
        assert tokens._take("news.example") is None  # the child holds the only one
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        deadline = time.monotonic() + 5
        while (token := tokens._take("news.example")) is None:
            assert time.monotonic() < deadline, "the dead process's token was not given back"
            time.sleep(0.01)
        os.close(token)
    finally:
        holder.kill()
        holder.wait()


def test_a_transfer_keeps_no_file_open_after_it(tmp_path: Path) -> None:
    """A process reaches each host once or twice in a run: 1,000 hosts, 1,000 files kept open, and
    the 1,024 descriptors cron allows were spent (a reviewer's crawl lost a third of its sources)."""
    tokens = HostTokens(tmp_path, 2)
    before = len(os.listdir("/proc/self/fd"))

    async def crawl() -> None:
        for number in range(300):
            async with tokens.held(f"host{number}.example"):
                pass

    asyncio.run(crawl())
    assert len(os.listdir("/proc/self/fd")) <= before + 1  # the event loop's own, at most


def test_a_token_that_cannot_be_had_is_not_waited_for(tmp_path: Path) -> None:
    """No descriptor left, or the folder gone: the transfer goes ahead uncounted, not never."""
    tokens = HostTokens(tmp_path / "gone", 2)

    async def transfer() -> bool:
        async with tokens.held("news.example"):
            return True

    assert asyncio.run(asyncio.wait_for(transfer(), 5))


OWN_A_FOLDER = """
import asyncio, sys, time
from newsbot.sources.host_tokens import HostTokens, token_folder

async def take_one(tokens: HostTokens) -> None:
    async with tokens.held("news.example"):
        pass

with token_folder() as folder:
    asyncio.run(take_one(HostTokens(folder, 2)))  # a token file in it, as a crawl leaves them
    print(folder, flush=True)
    time.sleep(60)
"""


def folder_owner(temporary: Path) -> subprocess.Popen[str]:
    """A real process in the middle of a split crawl: it owns a token folder of `temporary`."""
    return subprocess.Popen(
        [sys.executable, "-c", OWN_A_FOLDER],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY), "TMPDIR": str(temporary)},
    )


def test_the_next_split_crawl_removes_a_killed_runs_folder_and_keeps_a_live_ones(tmp_path: Path) -> None:
    killed, alive = folder_owner(tmp_path), folder_owner(tmp_path)
    try:
        assert killed.stdout is not None and alive.stdout is not None
        killed_folder, alive_folder = Path(killed.stdout.readline().strip()), Path(alive.stdout.readline().strip())
        assert len(list(killed_folder.iterdir())) == 2  # its owner file and a token file
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(10)
        assert killed_folder.is_dir()  # SIGKILL runs no cleanup

        assert killed_folder.parent == alive_folder.parent == tmp_path
        with token_folder(tmp_path) as mine:
            assert not killed_folder.exists()
            assert alive_folder.is_dir() and (alive_folder / OWNER).exists()
            assert (mine / OWNER).exists()
        assert not mine.exists()

        alive.kill()
        alive.wait(10)
        remove_if_abandoned(alive_folder)
        assert not alive_folder.exists()
    finally:
        for process in (killed, alive):
            process.kill()
            process.wait()


def test_only_this_users_finished_token_folders_are_removed(tmp_path: Path) -> None:
    """A folder being made (no owner file yet, and new), a link of that name and a file of it are left
    alone; a finished one and one an older build left a day ago are removed."""
    being_made = tmp_path / f"{FOLDER_PREFIX}new"
    being_made.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / OWNER).touch()
    linked = tmp_path / f"{FOLDER_PREFIX}link"
    linked.symlink_to(elsewhere)
    (tmp_path / f"{FOLDER_PREFIX}file").touch()
    finished = tmp_path / f"{FOLDER_PREFIX}done"
    finished.mkdir()
    (finished / OWNER).touch()
    left_by_an_older_build = tmp_path / f"{FOLDER_PREFIX}old"  # before owner files: none, and days old
    left_by_an_older_build.mkdir()
    (left_by_an_older_build / "token.0").touch()
    a_day_ago = time.time() - 86_400 - 60
    os.utime(left_by_an_older_build, (a_day_ago, a_day_ago))

    kept = ["elsewhere", f"{FOLDER_PREFIX}new", f"{FOLDER_PREFIX}link", f"{FOLDER_PREFIX}file"]
    if os.geteuid() == 0:  # another user's finished folder: only root can make one here
        theirs = tmp_path / f"{FOLDER_PREFIX}theirs"
        theirs.mkdir()
        (theirs / OWNER).touch()
        os.chown(theirs, 65534, 65534)
        kept.append(theirs.name)

    for entry in [*tmp_path.glob(f"{FOLDER_PREFIX}*"), tmp_path / f"{FOLDER_PREFIX}gone"]:  # gone: by another run
        remove_if_abandoned(entry)

    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(kept)
    assert (elsewhere / OWNER).exists()
