"""The one module that reads and writes the SQLite database (through sqlite-utils).

Every write that belongs together happens in one `BEGIN IMMEDIATE` transaction — a source's new
stories with its new ETag, a story's alerts with its "matched" mark — so a crash at any point leaves
the database as it was before that step, and the next run redoes only what is missing.
"""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.db import quote_identifier

from newsbot.errors import StorageError
from newsbot.storage.clusters import ClusterStore
from newsbot.storage.database_errors import damaged, database_faults
from newsbot.storage.feedback import FeedbackStore
from newsbot.storage.migrations import MIGRATIONS
from newsbot.storage.outbox import OutboxStore
from newsbot.storage.pacing import PacingStore
from newsbot.storage.runs import RunStore
from newsbot.storage.sources import SourceStore
from newsbot.storage.stories import StoryStore

APPLICATION_ID = 0x4E425354  # "NBST": refuses to write into some other program's database
UNCOMPARED = frozenset({"shingle_index"})  # tables whose indexes the start's check does not compare with their rows


class Storage(SourceStore, ClusterStore, StoryStore, OutboxStore, RunStore, FeedbackStore, PacingStore):
    """newsbot's database. Open with `Storage.open(path)`; it migrates itself on open."""

    @classmethod
    def open(cls, path: Path, *, migrate: bool = True, checked: bool = False) -> Storage:
        """The database at `path`, checked whole before anything reads or writes it (unless `checked`:
        a copy just made of a checked file); any SQLite error becomes a StorageError whose sentence
        names the file and what to do (newsbot.storage.database_errors)."""
        if not path.parent.is_dir():
            raise StorageError(f"cannot open the database {path}: the folder {path.parent} does not exist")
        with database_faults(path):
            db = Database(path)
            storage = cls(db)
            try:
                if not checked:
                    storage._check_integrity(path)
                storage._check_identity(creating=migrate)
                if migrate:
                    storage._migrate()
            except BaseException:
                db.close()
                raise
        return storage

    def close(self) -> None:
        self.db.close()

    def _check_integrity(self, path: Path) -> None:
        """Refuse a damaged file: a damaged page fails a run half-way, and a damaged index can let a
        story in twice or an alert be sent twice without any error at all.

        Every page of every table and index is read (`PRAGMA quick_check`), and every index but one is
        compared with its table (`PRAGMA integrity_check(table)`): quick_check alone skips that
        comparison, and missed a damaged index of alerts that integrity_check found. The exception is
        the shingle index's index by time (`UNCOMPARED`): it only tells `prune_shingles` which rows
        have left the window, every read of the index filters by time on the rows themselves, so a
        mismatch cannot change a cluster or an alert. It is as large as the index it indexes, and
        comparing the two was two thirds of the check: a 20,000-story cold run's file (180 MB) is
        checked in 0.9 s instead of 1.9 s, on every run after it.

        Both read every page, so the cost grows with the file (benchmarks/integrity_check.py). FTS5's
        own 'integrity-check' is not run: a damaged full-text index only misleads `search`, and the
        pages of its tables are read like any others.
        """
        found = [row[0] for row in self.db.execute("PRAGMA quick_check(1)")]
        for table in self._compared_tables() if found == ["ok"] else ():
            found = [row[0] for row in self.db.execute(f"PRAGMA integrity_check({quote_identifier(table)})")]
            if found != ["ok"]:
                break
        if found != ["ok"]:
            lines = [line for line in "\n".join(found).splitlines() if not line.startswith("***")]
            raise StorageError(damaged(path, (lines or found)[0][:200]))

    def _compared_tables(self) -> list[str]:
        """The tables with an index to compare with their rows."""
        rows = self.db.execute(
            "SELECT DISTINCT tbl_name FROM sqlite_schema WHERE type = 'index' ORDER BY tbl_name"
        ).fetchall()
        return [row[0] for row in rows if row[0] not in UNCOMPARED]

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

    def _migrate(self) -> None:
        known = {migration.name for migration in MIGRATIONS._migrations}
        applied = {migration.name for migration in MIGRATIONS.applied(self.db)}
        unknown = applied - known
        if unknown:
            raise StorageError(
                "this database was written by a newer newsbot (migrations "
                f"{', '.join(sorted(unknown))}); upgrade newsbot before running it"
            )
        MIGRATIONS.apply(self.db)

    def needs_upgrade(self) -> bool:
        """Whether migrations are pending (the database was written by an older newsbot)."""
        applied = {migration.name for migration in MIGRATIONS.applied(self.db)}
        return any(migration.name not in applied for migration in MIGRATIONS._migrations)
