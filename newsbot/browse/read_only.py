"""A Datasette plugin that makes newsbot's database unwritable through Datasette, not merely unwritten.

Datasette reads a file through `mode=ro` connections, but it opens a read-write connection for any plugin
or canned query that asks to write: `PRAGMA query_only` on every connection to a file refuses those writes
in SQLite itself. Its own in-memory databases (its catalogue, `_internal`) stay writable: it keeps them up
to date. And reading needs no request but GET and HEAD: anything else is answered 405 before Datasette sees
it (Datasette 0.65 answers a POST to a read-only canned query with an error 500 and a traceback).

Plugins register with Datasette's process-wide plugin manager, so this holds for every Datasette in the
process: in newsbot's, there is only the one `newsbot browse` starts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pluggy import HookimplMarker

hookimpl = HookimplMarker("datasette")  # what Datasette exports as datasette.hookimpl, typed

Message = MutableMapping[str, Any]
ASGIApp = Callable[[Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

REFUSAL = b"newsbot browse is read-only: it answers GET and HEAD only\n"


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Any) -> None:
    # Not get_database(): /-/versions opens a connection for "_memory", which no database is named,
    # and it raised KeyError (a 500 and a traceback).
    known = datasette.databases.get(database)
    if known is None or not known.is_memory:
        conn.execute("PRAGMA query_only = 1")


@hookimpl
def asgi_wrapper(datasette: Any) -> Callable[[ASGIApp], ASGIApp]:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def read_only(
            scope: Message, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
        ) -> None:
            if scope["type"] != "http" or scope["method"] in {"GET", "HEAD"}:
                await app(scope, receive, send)
                return
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"allow", b"GET, HEAD")]
            await send({"type": "http.response.start", "status": 405, "headers": headers})
            await send({"type": "http.response.body", "body": REFUSAL})

        return read_only

    return wrap
