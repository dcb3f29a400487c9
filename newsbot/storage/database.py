"""The one module that reads and writes the SQLite database (through sqlite-utils).

Every write that belongs together happens in one `BEGIN IMMEDIATE` transaction — a source's new
stories with its new ETag, a story's alerts with its "matched" mark — so a crash at any point leaves
the database as it was before that step, and the next run redoes only what is missing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from newsbot.errors import StorageError
from newsbot.storage.clusters import ClusterStore
from newsbot.storage.database_errors import damaged, database_faults
from newsbot.storage.feedback import FeedbackStore
from newsbot.storage.integrity import EarlyCheck, first_damage
from newsbot.storage.migrations import MIGRATIONS
from newsbot.storage.outbox import OutboxStore
from newsbot.storage.pacing import PacingStore
from newsbot.storage.runs import RunStore
from newsbot.storage.sources import SourceStore
from newsbot.storage.stories import StoryStore

APPLICATION_ID = 0x4E425354  # "NBST": refuses to write into some other program's database


def require_folder(path: Path) -> None:
    """A database whose folder is missing is refused, never started afresh there: a typo in the config,
    or a data volume not mounted, would otherwise begin an empty database and alert again every story
    of the last `max_age_days`."""
    if not path.parent.is_dir():
        raise StorageError(f"cannot open the database {path}: the folder {path.parent} does not exist")


class Storage(SourceStore, ClusterStore, StoryStore, OutboxStore, RunStore, FeedbackStore, PacingStore):
    """newsbot's database. Open with `Storage.open(path)`; it migrates itself on open."""

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        migrate: bool = True,
        checked: bool = False,
        early: EarlyCheck | None = None,
        existing: bool = False,
    ) -> Storage:
        """The database at `path`, checked whole before anything reads or writes it (unless `checked`:
        a copy just made of a checked file; `early`: the check begun on it before, whose verdict is
        taken if it could read the file); any SQLite error becomes a StorageError whose sentence names
        the file and what to do (newsbot.storage.database_errors). `existing`: the file a run has open
        already, or none (mode=rw): opened by its path once it was moved away, an empty one was made."""
        require_folder(path)
        with database_faults(path):
            db = (
                Database(sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", uri=True))
                if existing
                else Database(path)
            )
            storage = cls(db)
            try:
                if not checked:
                    storage._check_integrity(path, early)
                storage._check_identity(creating=migrate)
                storage._refuse_newer(path)
                if migrate:
                    MIGRATIONS.apply(storage.db)
            except BaseException:
                db.close()
                raise
        return storage

    def close(self) -> None:
        self.db.close()

    def _check_integrity(self, path: Path, early: EarlyCheck | None) -> None:
        """Refuse a damaged file (newsbot.storage.integrity): `early`'s verdict if it could read it."""
        checked, damage = early.outcome() if early is not None and early.path == path else (False, None)
        if not checked:
            damage = first_damage(self.db.conn)
        if damage is not None:
            raise StorageError(damaged(path, damage))

    def _check_identity(self, *, creating: bool) -> None:
        application_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        if application_id == APPLICATION_ID:
            return
        if application_id != 0 or self.db.table_names():
            raise StorageError(
                f"{self.db.conn.execute('PRAGMA database_list').fetchone()[2]} is not a newsbot "
                "database (it has other tables); point `database:` at a new file"
            )
        if creating:
            with self.db.ensure_autocommit_on():
                self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self.db.execute("PRAGMA journal_mode = wal")

    def _refuse_newer(self, path: Path) -> None:
        """A database a newer newsbot migrated is refused by every command that opens it, readers too:
        `status` calling all well while each cron run exits 4 on it would hide that nothing runs."""
        known = {migration.name for migration in MIGRATIONS._migrations}
        unknown = {migration.name for migration in MIGRATIONS.applied(self.db)} - known
        if unknown:
            raise StorageError(
                f"the database {path} was written by a newer newsbot (migrations {', '.join(sorted(unknown))}); "
                "upgrade newsbot before using it"
            )

    def is_empty(self) -> bool:
        """Whether no run has set this database up: an empty file (`touch`), or what a first run that
        failed before its first commit (a full disk) leaves."""
        return not self.db.table_names()

    def needs_upgrade(self) -> bool:
        """Whether migrations are pending (the database was written by an older newsbot)."""
        applied = {migration.name for migration in MIGRATIONS.applied(self.db)}
        return any(migration.name not in applied for migration in MIGRATIONS._migrations)
