"""The outbox: alerts due, each attempt and its outcome, threads, and newsbot's own notices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from newsbot.models import Alert, AlertKind, AlertStatus, Severity
from newsbot.storage.base import StoreBase
from newsbot.storage.records import (
    alert_from_row,
    iso,
    parse_iso,
)

# The digest's order (newsbot.alerts.format.build_digest): by the alert's severity, the highest first.
_SEVERITY_RANK = (
    "CASE alerts.severity "
    + " ".join(f"WHEN '{severity.value}' THEN {severity.rank}" for severity in Severity)
    + " ELSE 0 END"
)
_MOST_SEVERE_FIRST = f"-({_SEVERITY_RANK})"


class OutboxStore(StoreBase):
    def due_alerts(self, when: datetime) -> list[Alert]:
        """Alerts to (re)send now, oldest first: pending ones whose retry time has come, and ones in
        flight ('sending': a run crashed while sending them, or Slack's answer was lost), whose fate
        must be looked up, where the attempt went, before anything is resent. A pass queues its
        alerts at one time (whole seconds): among those, the stories' own times oldest first, so that
        a channel reads in the order the news broke and its last message is the newest (a feed lists
        newest first: sent as stored, a source's backlog after an outage ended on its oldest story);
        undated stories after them; then the most severe first (one story's alerts for several
        watchlists: the later ones reply in the first's thread), and ties in the order queued (rowid),
        as their stories were stored, not by id (a hash)."""
        rows = self.db.query(
            "SELECT alerts.id AS alert_id, alerts.watchlist, alerts.match, alerts.status AS alert_status, "
            "alerts.attempt_started_at, alerts.destination AS attempt_destination, alerts.attempt_thread_ts, "
            "alerts.kind, alerts.parent_id, stories.*, "
            "(SELECT title FROM stories AS root WHERE root.id = stories.cluster_id) AS cluster_title FROM alerts "
            "JOIN stories ON stories.id = alerts.story_id "
            f"WHERE alerts.status IN ('{AlertStatus.PENDING}', '{AlertStatus.SENDING}') "
            "AND (alerts.next_attempt_at IS NULL OR alerts.next_attempt_at <= ?) "
            "ORDER BY alerts.created_at, stories.published_at IS NULL, stories.published_at, "
            f"{_MOST_SEVERE_FIRST}, alerts.rowid",
            [iso(when)],
        )
        alerts = []
        for row in rows:
            in_flight = parse_iso(row["attempt_started_at"]) if row["alert_status"] == AlertStatus.SENDING else None
            attempt = {"in_flight_to": row["attempt_destination"], "in_flight_thread": row["attempt_thread_ts"]}
            alerts.append(self._alert(row, in_flight_since=in_flight, **(attempt if in_flight else {})))
        return alerts

    def _alert(self, row: dict[str, Any], **in_flight: Any) -> Alert:
        """An outbox row joined with its story and its cluster's title, as delivery needs it."""
        follows_earlier = row["cluster_id"] not in (None, row["id"])
        return alert_from_row(
            row,
            also_in=tuple(self._outlets(row["id"], row["cluster_id"], row["source"])),
            kind=_kind(row),
            parent=row["parent_id"],
            continues=row["cluster_title"] if follows_earlier and row["kind"] == AlertKind.CONTINUES else None,
            **in_flight,
        )

    def _outlets(self, story: str, cluster: str | None, own_source: str) -> list[str]:
        """The other sources that carried this story or any copy of it, first seen first."""
        rows = self.db.query(
            "SELECT story_sources.source, min(story_sources.seen_at) AS first FROM story_sources "
            "JOIN stories ON stories.id = story_sources.story_id "
            "WHERE (stories.cluster_id = ? OR stories.id = ?) AND story_sources.source != ? "
            "GROUP BY story_sources.source ORDER BY first, story_sources.source",
            [cluster or story, story, own_source],
        )
        return [row["source"] for row in rows]

    def sent_message(self, alert: str) -> tuple[str, str] | None:
        """(channel, thread ts) where replies about a delivered alert go: its own message's thread, or
        the thread it is in — its parent's for a reply (Slack threads do not nest), the digest's for
        an alert a digest delivered (where its detail is)."""
        row = self.db.execute(
            "SELECT slack_channel, coalesce(attempt_thread_ts, slack_ts) FROM alerts WHERE id = ? AND status = ?",
            [alert, AlertStatus.SENT],
        ).fetchone()
        return (row[0], row[1]) if row and row[0] and row[1] else None

    def line_in_thread(self, story: str, channel: str, thread: str) -> str | None:
        """The status of an "also in" line about this copy already in this thread, or on its way there
        (sending: a crash left its fate to be looked up): each watchlist that alerted the original
        queues its own, and a second watchlist's alert is a reply in the first's thread, so both lines
        went to one thread, word for word. Sent first when there are both."""
        row = self.db.execute(
            "SELECT status FROM alerts WHERE story_id = ? AND kind = ? AND status IN (?, ?) "
            "AND (slack_channel = ? OR destination = ?) AND attempt_thread_ts = ? ORDER BY status = ? LIMIT 1",
            [
                story,
                AlertKind.ALSO_IN,
                AlertStatus.SENT,
                AlertStatus.SENDING,
                channel,
                channel,
                thread,
                AlertStatus.SENDING,
            ],
        ).fetchone()
        return row[0] if row else None

    def known_channel(self, destination: str) -> str | None:
        """The channel id Slack returned for the last alert sent to `destination` (a name, a user id):
        where to look a message up without resolving the name (a private channel, a user's DM)."""
        row = self.db.execute(
            f"SELECT slack_channel FROM alerts WHERE destination = ? AND status = '{AlertStatus.SENT}' "
            "AND slack_channel IS NOT NULL "
            "ORDER BY sent_at DESC LIMIT 1",
            [destination],
        ).fetchone()
        return row[0] if row else None

    def alert_status(self, alert: str) -> str | None:
        row = self.db.execute("SELECT status FROM alerts WHERE id = ?", [alert]).fetchone()
        return row[0] if row else None

    def start_attempt(
        self, alerts: Sequence[str], destination: str, when: datetime, thread_ts: str | None = None
    ) -> None:
        """Recorded before the message leaves, with where it goes (and the thread, for a reply): a
        crash after this point is visible to the next run, which knows where to look for it."""
        with self.transaction():
            self.db.conn.executemany(
                f"UPDATE alerts SET status = '{AlertStatus.SENDING}', attempts = attempts + 1, attempt_started_at = ?, "
                "destination = ?, attempt_thread_ts = ? WHERE id = ?",
                [(iso(when), destination, thread_ts, alert) for alert in alerts],
            )

    def mark_unknown(self, alerts: Sequence[str], error: str) -> None:
        """An attempt whose outcome nobody knows (the answer was lost): it stays in flight, like one a
        crash interrupted, and is looked up before anything is resent."""
        with self.transaction():
            self.db.conn.executemany(
                f"UPDATE alerts SET last_error = ? WHERE id = ? AND status = '{AlertStatus.SENDING}'",
                [(error, alert) for alert in alerts],
            )

    def mark_sent(
        self,
        alerts: Sequence[str],
        when: datetime,
        channel: str | None = None,
        ts: str | None = None,
        *,
        digest: bool = False,
        detail_due: bool = False,
    ) -> None:
        """`ts` is the message that delivered them. A digest is no alert's own message: its alerts
        record it as the thread they are in too, so none becomes the thread of its story
        (thread_of) while replies about it still find the digest (sent_message). `detail_due`: each
        alert's full message is owed to that thread (due_details)."""
        with self.transaction():
            self.db.conn.executemany(
                f"UPDATE alerts SET status = '{AlertStatus.SENT}', sent_at = ?, last_error = NULL, "
                "next_attempt_at = NULL, detail_due = ?, "
                "slack_channel = ?, slack_ts = ?, attempt_thread_ts = CASE WHEN ? THEN ? ELSE attempt_thread_ts END "
                "WHERE id = ?",
                [(iso(when), detail_due, channel, ts, digest, ts, alert) for alert in alerts],
            )

    def due_details(self, limit: int) -> list[Alert]:
        """At most `limit` alerts a digest delivered whose full message its thread still lacks, in the
        digest's own order: its messages in turn (a Slack ts orders them), in each the most severe first,
        then the oldest. Posted after everything else a pass sends, and by later runs until each is."""
        rows = self.db.query(
            "SELECT alerts.id AS alert_id, alerts.watchlist, alerts.match, alerts.kind, alerts.parent_id, "
            "stories.*, (SELECT title FROM stories AS root WHERE root.id = stories.cluster_id) AS cluster_title "
            "FROM alerts JOIN stories ON stories.id = alerts.story_id WHERE alerts.detail_due = 1 "
            f"ORDER BY alerts.attempt_thread_ts, {_MOST_SEVERE_FIRST}, alerts.created_at, alerts.rowid LIMIT ?",
            [limit],
        )
        return [self._alert(row) for row in rows]

    def set_detail_due(self, alert: str, due: bool) -> None:
        """Taken before its post (a crash then loses one full message, never doubles it), owed again
        if Slack refused it."""
        with self.transaction():
            self.db.execute("UPDATE alerts SET detail_due = ? WHERE id = ?", [due, alert])

    def mark_failed(self, alerts: Sequence[str], error: str, retry_at: datetime | None) -> None:
        with self.transaction():
            self.db.conn.executemany(
                f"UPDATE alerts SET status = '{AlertStatus.PENDING}', last_error = ?, next_attempt_at = ? WHERE id = ?",
                [(error, iso(retry_at), alert) for alert in alerts],
            )

    def sent_alerts_since(self, when: datetime) -> list[Alert]:
        """Alerts delivered at or after `when`, oldest first, each with its story's cluster (for the
        daily digest, which lists a cluster once and leads it with its most severe, the original on a tie).

        sent_at has whole seconds: alerts sent in one second are in the order they were queued
        (rowid), as a story's original before its copies. By id (a hash), a copy sent in the same
        second as the report it copies led the digest about one test run in ten."""
        rows = self.db.query(
            "SELECT alerts.id AS alert_id, alerts.watchlist, alerts.match, alerts.kind, stories.* FROM alerts "
            "JOIN stories ON stories.id = alerts.story_id "
            f"WHERE alerts.status = '{AlertStatus.SENT}' AND alerts.sent_at >= ? "
            "ORDER BY alerts.sent_at, alerts.rowid",
            [iso(when)],
        )
        return [alert_from_row(row, cluster=row["cluster_id"], kind=_kind(row)) for row in rows]

    def mark_unconfirmed(self, alert: str, note: str) -> None:
        """A webhook send interrupted by a crash, under `delivery: at_most_once`: not sent again."""
        with self.transaction():
            self.db.execute(
                f"UPDATE alerts SET status = '{AlertStatus.UNCONFIRMED}', last_error = ? WHERE id = ?", [note, alert]
            )

    def thread_of(self, story: str, destination: str, severity: Severity) -> str | None:
        """The Slack ts of the first alert about this story in this channel that is its own top-level
        message and at least as severe, to reply under it: never a reply, never a digest (its thread
        holds the details of many stories). A more severe alert is a message of its own: a reply
        notifies nobody, and a CRITICAL one went out only in the thread of a LOW alert of another
        watchlist. sent_at has whole seconds, so ts breaks a tie."""
        rows = list(
            self.db.query(
                "SELECT slack_ts FROM alerts WHERE story_id = ? AND destination = ? AND slack_ts IS NOT NULL "
                f"AND attempt_thread_ts IS NULL AND {_SEVERITY_RANK} >= ? "
                "ORDER BY sent_at, CAST(slack_ts AS REAL) LIMIT 1",
                [story, destination, severity.rank],
            )
        )
        return rows[0]["slack_ts"] if rows else None

    def last_notice(self, kind: str) -> datetime | None:
        rows = list(self.db.query("SELECT max(sent_at) AS sent_at FROM notices WHERE kind = ?", [kind]))
        return parse_iso(rows[0]["sent_at"]) if rows else None

    def record_notice(self, kind: str, when: datetime | None, detail: str) -> None:
        """A notice sent at `when`, or, None, one held for a later pass to send (unsent_notice)."""
        with self.transaction():
            self.db.table("notices").insert({"kind": kind, "sent_at": iso(when), "detail": detail})

    def unsent_notice(self, kind: str) -> tuple[int, str] | None:
        row = self.db.execute(
            "SELECT id, detail FROM notices WHERE kind = ? AND sent_at IS NULL ORDER BY id LIMIT 1", [kind]
        ).fetchone()
        return (row[0], row[1]) if row else None

    def mark_notice_sent(self, notice: int, when: datetime) -> None:
        with self.transaction():
            self.db.execute("UPDATE notices SET sent_at = ? WHERE id = ?", [iso(when), notice])


def _kind(row: dict[str, Any]) -> AlertKind:
    """An alert's kind; NULL for one queued before kinds were stored: an alert of its own."""
    return AlertKind(row["kind"] or AlertKind.ALERT)
