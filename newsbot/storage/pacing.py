"""Host pacing: each host's delay between requests, remembered from one run to the next.

A crawl starts each remembered host at its pace instead of AutoThrottle's start delay and returns
the paces it ends with (newsbot.sources.throttle); the run reads them here before the crawl and
writes them with its summary, so a run killed mid-crawl leaves the last memory as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from newsbot.storage.base import StoreBase
from newsbot.storage.records import iso


class PacingStore(StoreBase):
    def remembered_paces(self, since: datetime) -> dict[str, float]:
        """Each download slot's delay as recorded at or after `since`; older paces are forgotten."""
        rows = self.db.execute("SELECT slot, delay FROM host_pacing WHERE recorded_at >= ?", [iso(since)])
        return dict(rows)

    def remember_paces(self, paces: Mapping[str, float], now: datetime, forget_before: datetime) -> None:
        """Record each slot's pace as of `now` (a host that did not answer keeps its older pace),
        and drop paces recorded before `forget_before`: hosts no longer polled do not pile up."""
        with self.transaction():
            self.db.table("host_pacing").upsert_all(
                [{"slot": slot, "delay": delay, "recorded_at": iso(now)} for slot, delay in paces.items()], pk="slot"
            )
            self.db.execute("DELETE FROM host_pacing WHERE recorded_at < ?", [iso(forget_before)])
