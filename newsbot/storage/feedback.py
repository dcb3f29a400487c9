"""Feedback from Slack: clicks on an alert's buttons, the mutes they set, and the alerts mutes suppress.

A click is keyed by (alert, user, action), so Slack retrying a request or a person clicking twice
stores it once. A mute is a row with an end (`until`) that `newsbot mutes lift` may bring forward;
whether it is active is decided against the time the caller passes (the run's clock), never the
system's. A match a mute suppresses is still an alert row, with status `muted` and the mute's id:
kept, searchable and explained, never sent. Lifting a mute changes no row it suppressed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newsbot.models import Alert, AlertKind, AlertStatus, FeedbackAction
from newsbot.storage.base import StoreBase
from newsbot.storage.records import batched, iso, parse_iso


@dataclass(frozen=True)
class Click:
    """One click on one alert's buttons, as Slack reported it."""

    alert_id: str
    user_id: str
    user_name: str
    action: FeedbackAction
    clicked_at: datetime


@dataclass(frozen=True)
class MuteTarget:
    """What one mute silences in one watchlist: a vendor, or a story's cluster (its copies)."""

    watchlist: str
    vendor: str | None = None
    cluster_id: str | None = None


@dataclass(frozen=True)
class Mute:
    """A row of `mutes`, with who set it and how many matches it has suppressed so far."""

    id: int
    target: MuteTarget
    until: datetime
    created_by: str
    created_by_name: str | None
    created_at: datetime
    alert_id: str | None
    lifted_at: datetime | None
    lifted_by: str | None
    suppressed: int

    def active(self, now: datetime) -> bool:
        return self.lifted_at is None and self.until > now

    @property
    def what(self) -> str:
        """What it mutes: `vendor Mitto AG`, or `cluster 3f2a…` (by its first story's id)."""
        return f"vendor {self.target.vendor}" if self.target.vendor is not None else f"cluster {self.target.cluster_id}"

    @property
    def by(self) -> str:
        """The Slack user who set it, by name when Slack gave one."""
        return f"@{self.created_by_name or self.created_by}"


@dataclass(frozen=True)
class FeedbackAlert:
    """What a click needs to know about the alert it is on: what a mute of it would silence."""

    id: str
    watchlist: str
    vendors: tuple[str, ...]
    cluster_id: str | None
    title: str


_MUTE_COLUMNS = (
    "SELECT mutes.*, (SELECT count(*) FROM alerts WHERE alerts.mute_id = mutes.id) AS suppressed, "
    "(SELECT user_name FROM feedback WHERE feedback.alert_id = mutes.alert_id "
    "AND feedback.user_id = mutes.created_by ORDER BY clicked_at LIMIT 1) AS created_by_name FROM mutes"
)
_ACTIVE = "mutes.lifted_at IS NULL AND mutes.until > ?"
_VERDICTS = (FeedbackAction.RELEVANT.value, FeedbackAction.NOT_RELEVANT.value)
# Each alert's verdict: its latest Relevant or Not relevant click, whoever clicked.
_LATEST_VERDICT = (
    "SELECT alert_id, action FROM (SELECT alert_id, action, row_number() OVER "
    "(PARTITION BY alert_id ORDER BY clicked_at DESC, rowid DESC) AS latest FROM feedback "
    f"WHERE action IN {_VERDICTS}) WHERE latest = 1"
)


@dataclass(frozen=True)
class Tally:
    """What the team said about the alerts sent for one watchlist, or one of its rules (`rule`)."""

    watchlist: str
    rule: str | None
    alerts: int
    relevant: int
    not_relevant: int

    @property
    def precision(self) -> float | None:
        """Relevant ÷ judged: an alert nobody clicked is neither right nor wrong yet."""
        judged = self.relevant + self.not_relevant
        return self.relevant / judged if judged else None


class FeedbackStore(StoreBase):
    def feedback_alert(self, alert_id: str) -> FeedbackAlert | None:
        """The stored alert a click is about; None when this database never queued it."""
        row = self.db.execute(
            "SELECT alerts.watchlist, alerts.match, stories.cluster_id, stories.title FROM alerts "
            "JOIN stories ON stories.id = alerts.story_id WHERE alerts.id = ?",
            [alert_id],
        ).fetchone()
        if row is None:
            return None
        watchlist, match, cluster, title = row
        return FeedbackAlert(alert_id, watchlist, tuple(json.loads(match).get("vendors", ())), cluster, title)

    def record_click(
        self, click: Click, targets: Sequence[MuteTarget] = (), until: datetime | None = None
    ) -> tuple[bool, list[Mute]]:
        """Store a click and the mutes it sets (each target until `until`), together. Returns whether
        the click was new, and the active mute covering each target (an earlier mute of the same
        target that lasts at least as long is kept instead of a second one).
        """
        with self.transaction():
            new = bool(
                self.db.execute(
                    "INSERT OR IGNORE INTO feedback (alert_id, user_id, user_name, action, clicked_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [click.alert_id, click.user_id, click.user_name, click.action.value, iso(click.clicked_at)],
                ).rowcount
            )
            if new and click.action in _VERDICTS:  # a change of mind: Relevant, Not relevant, Relevant again
                self.db.execute(
                    "DELETE FROM feedback WHERE alert_id = ? AND user_id = ? AND action IN (?, ?) AND action != ?",
                    [click.alert_id, click.user_id, *_VERDICTS, click.action.value],
                )
            elif click.action in _VERDICTS:
                # The same verdict again (a double click, a client not refreshed) is the latest word, as
                # the message it edits then shows: kept at its first time, another person's later
                # verdict went on counting under "Not relevant — alice".
                self.db.execute(
                    "UPDATE feedback SET clicked_at = ? WHERE alert_id = ? AND user_id = ? AND action = ?",
                    [iso(click.clicked_at), click.alert_id, click.user_id, click.action.value],
                )
            covering: list[Mute] = []
            # Compared as stored (whole seconds): two clicks in one second made two mutes, and Slack
            # named the first while the second went on muting after `mutes lift` of the first.
            stored_until = until.replace(microsecond=0) if until is not None else None
            for target in targets:
                found = self._covering(target, click.clicked_at)
                # A click seen before sets a mute only where none is active: after `mutes lift`, the
                # same button clicked again mutes again (Slack's retry of a click finds its mute).
                if stored_until is not None and (found is None or (new and found.until < stored_until)):
                    self.db.execute(
                        "INSERT INTO mutes (watchlist, vendor, cluster_id, until, created_by, created_at, alert_id) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [
                            target.watchlist,
                            target.vendor,
                            target.cluster_id,
                            iso(until),
                            click.user_id,
                            iso(click.clicked_at),
                            click.alert_id,
                        ],
                    )
                    found = self._covering(target, click.clicked_at)
                if found is not None:
                    covering.append(found)
        return new, covering

    def _covering(self, target: MuteTarget, now: datetime) -> Mute | None:
        """The active mute of exactly this target that lasts longest."""
        rows = self.db.query(
            f"{_MUTE_COLUMNS} WHERE {_ACTIVE} AND watchlist = ? AND vendor IS ? AND cluster_id IS ? "
            "ORDER BY until DESC, id LIMIT 1",
            [iso(now), target.watchlist, target.vendor, target.cluster_id],
        )
        return next((_mute(row) for row in rows), None)

    def mute_for(self, watchlist: str, vendors: Sequence[str], cluster_id: str | None, now: datetime) -> int | None:
        """The id of the mute that suppresses a match at `now`: its story's cluster is muted in the
        watchlist, or every one of its vendors is (a match naming no vendor is muted by its cluster only)."""
        if cluster_id is not None:
            row = self.db.execute(
                f"SELECT id FROM mutes WHERE {_ACTIVE} AND watchlist = ? AND cluster_id = ? ORDER BY id LIMIT 1",
                [iso(now), watchlist, cluster_id],
            ).fetchone()
            if row is not None:
                return int(row[0])
        found: list[int] = []
        for vendor in vendors:
            row = self.db.execute(
                f"SELECT id FROM mutes WHERE {_ACTIVE} AND watchlist = ? AND vendor = ? ORDER BY id LIMIT 1",
                [iso(now), watchlist, vendor],
            ).fetchone()
            if row is None:
                return None
            found.append(int(row[0]))
        return min(found) if found else None

    def mark_muted(self, alert_id: str, mute_id: int) -> None:
        """A just-queued alert a mute suppresses: kept with the mute's id, never sent."""
        with self.transaction():
            self.db.execute(
                f"UPDATE alerts SET status = '{AlertStatus.MUTED}', mute_id = ? "
                f"WHERE id = ? AND status = '{AlertStatus.PENDING}' AND attempts = 0",
                [mute_id, alert_id],
            )

    def mute_waiting(self, alerts: Sequence[Alert], now: datetime) -> set[str]:
        """The alerts, of those waiting to be sent, that a mute set since they were queued suppresses,
        marked muted in one transaction: a "Mute vendor" clicked while a run sends (or after an outage
        left hundreds waiting) once let every queued alert of that vendor through. Only an alert
        not in flight (pending) is muted: one in flight may be in Slack already."""
        if self.db.execute(f"SELECT 1 FROM mutes WHERE {_ACTIVE} LIMIT 1", [iso(now)]).fetchone() is None:
            return set()
        muted: set[str] = set()
        with self.transaction():
            for alert in alerts:
                # The cluster as stored now (an outbox alert does not carry it): a cluster mute too.
                row = self.db.execute("SELECT cluster_id FROM stories WHERE id = ?", [alert.story.id]).fetchone()
                mute = self.mute_for(alert.match.watchlist, alert.match.vendors, row[0] if row else None, now)
                if (
                    mute is not None
                    and self.db.execute(
                        f"UPDATE alerts SET status = '{AlertStatus.MUTED}', mute_id = ? "
                        f"WHERE id = ? AND status = '{AlertStatus.PENDING}'",
                        [mute, alert.id],
                    ).rowcount
                ):
                    muted.add(alert.id)
        return muted

    def mutes(self, now: datetime) -> list[Mute]:
        """The mutes active at `now`, oldest first."""
        return [_mute(row) for row in self.db.query(f"{_MUTE_COLUMNS} WHERE {_ACTIVE} ORDER BY id", [iso(now)])]

    def mute(self, mute_id: int) -> Mute | None:
        return next((_mute(row) for row in self.db.query(f"{_MUTE_COLUMNS} WHERE id = ?", [mute_id])), None)

    def lift_mute(self, mute_id: int, when: datetime, by: str) -> bool:
        """End a mute now; False when it was lifted before. The alerts it suppressed stay muted."""
        with self.transaction():
            return bool(
                self.db.execute(
                    "UPDATE mutes SET lifted_at = ?, lifted_by = ? WHERE id = ? AND lifted_at IS NULL",
                    [iso(when), by, mute_id],
                ).rowcount
            )

    def muted_alerts(self, story_id: str) -> list[tuple[str, Mute]]:
        """(watchlist, the mute) for each of a story's matches a mute suppressed."""
        rows = self.db.execute(
            f"SELECT watchlist, mute_id FROM alerts WHERE story_id = ? AND status = '{AlertStatus.MUTED}' "
            "ORDER BY watchlist",
            [story_id],
        ).fetchall()
        found = [(watchlist, self.mute(mute_id)) for watchlist, mute_id in rows]
        return [(watchlist, mute) for watchlist, mute in found if mute is not None]

    def verdicts(self, alert_ids: Iterable[str] | None = None) -> dict[str, FeedbackAction]:
        """Each alert's verdict: its latest Relevant or Not relevant click, whoever clicked."""
        if alert_ids is None:
            rows = self.db.execute(_LATEST_VERDICT).fetchall()
        else:
            rows = []
            for chunk in batched(list(alert_ids)):
                marks = ",".join("?" * len(chunk))
                rows += self.db.execute(f"{_LATEST_VERDICT} AND alert_id IN ({marks})", chunk).fetchall()
        return {alert: FeedbackAction(action) for alert, action in rows}

    def tallies(self, since: datetime | None = None) -> list[Tally]:
        """Per watchlist (rule None), then per rule that fired: sent alerts and their verdicts. An alert
        two rules fired counts once for its watchlist and once for each rule. A copy noted beside an
        earlier alert (`also_in`) carries no buttons and alerted no one: it is not counted."""
        period = "AND alerts.sent_at >= ?" if since is not None else ""
        counts = "count(*), coalesce(sum(verdict.action = ?), 0), coalesce(sum(verdict.action = ?), 0)"
        query = (
            f"WITH verdict AS ({_LATEST_VERDICT}) SELECT alerts.watchlist, {{rule}}, {counts} FROM alerts {{hits}}"
            f"LEFT JOIN verdict ON verdict.alert_id = alerts.id WHERE alerts.status = '{AlertStatus.SENT}' "
            f"AND alerts.kind != '{AlertKind.ALSO_IN}' {period} "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        ).format
        parameters = [*_VERDICTS, *([iso(since)] if since is not None else [])]
        watchlists = self.db.execute(query(rule="NULL", hits=""), parameters).fetchall()
        rules = self.db.execute(
            query(rule="json_extract(hit.value, '$.rule')", hits="JOIN json_each(alerts.match, '$.rules') AS hit "),
            parameters,
        ).fetchall()
        return [Tally(*row) for row in [*watchlists, *rules]]


def _mute(row: dict[str, Any]) -> Mute:
    return Mute(
        id=row["id"],
        target=MuteTarget(row["watchlist"], row["vendor"], row["cluster_id"]),
        until=datetime.fromisoformat(row["until"]),
        created_by=row["created_by"],
        created_by_name=row["created_by_name"],
        created_at=datetime.fromisoformat(row["created_at"]),
        alert_id=row["alert_id"],
        lifted_at=parse_iso(row["lifted_at"]),
        lifted_by=row["lifted_by"],
        suppressed=row["suppressed"],
    )
