"""The Datasette that `newsbot browse` serves: newsbot's database file, read-only, with newsbot's metadata.

Built here, apart from the command, so that tests drive the very same Datasette through its own test
client (`site.datasette.client`) without a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasette.app import Datasette
from datasette.plugins import pm

from newsbot.browse import read_only
from newsbot.browse.metadata import SETTINGS, metadata
from newsbot.errors import StorageError
from newsbot.storage.database import Storage


@dataclass(frozen=True)
class Site:
    datasette: Any  # datasette.app.Datasette (Datasette ships no type hints)
    database: str  # the database's name in Datasette's addresses: the file's name without .db
    outdated: bool  # written by an older newsbot: what later migrations add shows once `newsbot run` upgrades it

    @property
    def path(self) -> str:
        """The database page's path, e.g. /newsbot."""
        return str(self.datasette.urls.database(self.database))


def site_for(path: Path) -> Site:
    """Datasette over the database at `path`, checked first as every command checks it (a damaged file or
    another program's database is refused with a sentence). Raises StorageError."""
    if not path.exists():
        raise StorageError(f"no run yet: {path} does not exist; run `newsbot run` first")
    storage = Storage.open(path, migrate=False)
    try:
        if storage.is_empty():  # a first run that failed, or `touch`: "an older newsbot" would hide it
            raise StorageError(f"no run yet: {path} is empty (a first run that failed leaves it so); run `newsbot run`")
        names = [*storage.db.table_names(), *storage.db.view_names()]
        present = {name: list(storage.db[name].columns_dict) for name in names}
        outdated = storage.needs_upgrade()
    finally:
        storage.close()
    if not pm.is_registered(read_only):
        pm.register(read_only, name="newsbot-read-only")
    database = path.stem  # the name Datasette gives a file
    datasette = Datasette(files=[str(path)], metadata=metadata(database, path, present), settings=SETTINGS)
    datasette.get_database(database)  # a KeyError here, not metadata silently ignored, if Datasette named it otherwise
    return Site(datasette, database, outdated)
