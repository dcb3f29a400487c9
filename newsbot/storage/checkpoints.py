"""The write-ahead log copied back into the database file beside a run's writers, not inside their commits.

SQLite checkpoints in the connection whose commit takes the log past `wal_autocheckpoint` pages: that
commit copies about 4 MB into the database file and waits on two fsyncs. In a run those commits are
the crawl's (a source's stories) and the stage thread's (a batch's clusters and index rows), both on
a cold run's critical path: storing 20,000 stories took 1.1 s with the copies and 0.6 s without.
So the run's writers do not checkpoint, and a thread of its own does, with a connection of its own:
a PASSIVE checkpoint every `POLL_SECONDS`, which never waits for a writer or a reader, and waits on
the disk with the interpreter lock released.

Nothing about durability changes: a commit is as durable as its connection's `synchronous` makes
it, and a checkpoint (this connection keeps SQLite's FULL) syncs the log before it copies and the
file after. A checkpoint that fails (a full disk) is tried again `RETRY_SECONDS` later, as a writer's
next commit would have tried again; meanwhile the writers' own checkpoints, left on at 25,000 pages,
are the backstop. (The log's size is not what this bounds: a cold run's readers keep it growing to
120-150 MB either way, since SQLite starts it over only when nothing reads what it holds.)
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlite_utils import Database

log = logging.getLogger(__name__)

WRITERS_AUTOCHECKPOINT_PAGES = 25_000  # ~100 MB: only if this thread cannot keep up or fails
# A checkpoint copies each page once, in its latest version, however many commits rewrote it since
# the last. A cold run's stage thread commits a batch every half second, each rewriting most of the
# cluster index (its rows' hashes are random): one checkpoint a second copies two batches' pages
# once, where one every 0.25 s copied each batch's. The thread's CPU 0.57-0.71 → 0.33-0.38 s, and
# cold 14.19 → 13.52 s (medians of 6, alternating; 5 of 6 pairs faster).
POLL_SECONDS = 1.0
RETRY_SECONDS = 2.0  # after a checkpoint failed
# A checkpoint under way when the run ends is waited for this long at most: a stuck disk must not
# stretch a stopped run past its 10 seconds (the thread is a daemon; its connection dies with it).
STOP_SECONDS = 1.0


def leave_checkpoints_to_the_run(db: Database) -> None:
    """A writer of the run: it checkpoints only if the log grew far past what `checkpointing` keeps."""
    db.execute(f"PRAGMA wal_autocheckpoint = {WRITERS_AUTOCHECKPOINT_PAGES}")


@contextlib.contextmanager
def checkpointing(database: Path) -> Iterator[None]:
    """Checkpoints `database`'s log in a thread while the block runs."""
    stop = threading.Event()
    thread = threading.Thread(target=_checkpoint_until, args=(database, stop), name="newsbot-checkpoints", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(STOP_SECONDS)


def _checkpoint_until(database: Path, stop: threading.Event) -> None:
    try:
        # mode=rw: the run's file, never a new empty one where it was moved away
        connection = sqlite3.connect(f"{database.absolute().as_uri()}?mode=rw", uri=True, timeout=0)
    except sqlite3.Error as problem:
        log.info("no checkpoints beside the run (%s): its writers checkpoint", problem)
        return
    with contextlib.closing(connection):
        wait = POLL_SECONDS
        while not stop.wait(wait):
            try:  # copies what the log holds beyond the last checkpoint; nothing, at once, if it is all copied
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                wait = POLL_SECONDS
            except sqlite3.Error as problem:
                log.info("a checkpoint failed (%s); trying again in %.0f s", problem, RETRY_SECONDS)
                wait = RETRY_SECONDS
