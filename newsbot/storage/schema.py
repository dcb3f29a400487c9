"""The database as the migrations leave it, in one place: every table, column and index, and what
each holds. tests/storage/test_storage.py checks that a freshly migrated database is exactly this, so the
page cannot drift from newsbot.storage.migrations. (The full-text index, stories_fts, is
sqlite-utils' FTS5 table over stories' title, summary and text; a story enters it when it is
clustered, migration m012.)
"""

from __future__ import annotations

Columns = dict[str, tuple[str, str]]  # column → (SQLite type, what it holds)

TABLES: dict[str, Columns] = {
    "sources": {
        "name": ("TEXT", "the source's name in newsbot.yaml (primary key)"),
        "url": ("TEXT", "the address fetched; a changed address forgets the validators"),
        "etag": ("TEXT", "the last ETag, sent back as If-None-Match"),
        "last_modified": ("TEXT", "the last Last-Modified, sent back as If-Modified-Since"),
        "last_fetch_at": ("TEXT", "ISO time of the last fetch"),
        "last_status": ("TEXT", "ok | not_modified | error"),
        "last_error": ("TEXT", "the last failure, as a sentence"),
        "consecutive_failures": ("INTEGER", "failed runs in a row"),
        "body_hash": ("TEXT", "sha256 of the last body: an unchanged body is not parsed"),
        "feed_url": ("TEXT", "the feed a site: source announced"),
        "links_found": ("INTEGER", "story links a listing page gave"),
        "last_warning": ("TEXT", "what went wrong in a fetch that succeeded"),
        "first_fetch_at": ("TEXT", "ISO time of the first fetch"),
        "last_new_story_at": ("TEXT", "ISO time of the last new story (for stale)"),
        "health": ("TEXT", "ok | failing | stale | no_links"),
        "health_detail": ("TEXT", "why, as a sentence"),
        "health_since": ("TEXT", "ISO time the health last changed"),
    },
    "stories": {
        "id": ("TEXT", "sha256 of the canonical URL, 20 hex digits (primary key)"),
        "url": ("TEXT", "the canonical URL (unique)"),
        "title": ("TEXT", "plain text"),
        "summary": ("TEXT", "plain text"),
        "text": ("TEXT", "plain text, at most 200,000 characters"),
        "source": ("TEXT", "the source that stored it first"),
        "published_at": ("TEXT", "ISO time the feed or page gave, if believable"),
        "first_seen_at": ("TEXT", "ISO time it was stored"),
        "matched_at": ("TEXT", "ISO time it was matched; NULL: waits to be matched"),
        "cluster_id": ("TEXT", "the id of the first story of its cluster"),
        "cluster_score": ("REAL", "containment against its nearest stored story"),
        "cluster_neighbour": ("TEXT", "that story's id"),
        "cluster_note": ("TEXT", "why it did not join that story's cluster"),
        "cluster_sampled": ("INTEGER", "its sampled shingles in the window's index (NULL: clustered before m014)"),
    },
    "story_links": {  # WITHOUT ROWID, primary key url
        "url": ("TEXT", "a feed's link to a story stored under another address (its page's canonical)"),
        "story_id": ("TEXT", "that story"),
    },
    "story_sources": {
        "story_id": ("TEXT", "a story (part of the primary key)"),
        "source": ("TEXT", "a source that carried it (part of the primary key)"),
        "seen_at": ("TEXT", "ISO time that source carried it first"),
    },
    "shingle_index": {  # WITHOUT ROWID, primary key (hash, story)
        "hash": ("INTEGER", "a sampled shingle's hash"),
        "story": ("INTEGER", "the rowid in stories of a story within the cluster window that has it"),
        "cluster": ("INTEGER", "the rowid in stories of that story's cluster (its first story)"),
        "seen": ("INTEGER", "Unix seconds it was clustered; rows older than the window are pruned"),
    },
    # A rowid table: its rowid is the order alerts were queued, which the outbox and the digest follow
    # among alerts of one second (times have whole seconds). A migration that rebuilds it copies rowid.
    "alerts": {
        "id": ("TEXT", "sha256 of story id and watchlist, 20 hex digits (primary key)"),
        "story_id": ("TEXT", "the story"),
        "watchlist": ("TEXT", "the watchlist that matched (unique with story_id)"),
        "severity": ("TEXT", "low | medium | high | critical"),
        "match": ("TEXT", "JSON: the rules that fired, their terms, the snippet"),
        "status": ("TEXT", "pending | sending | sent | unconfirmed | muted (newsbot.models.AlertStatus)"),
        "attempts": ("INTEGER", "attempts to send it"),
        "last_error": ("TEXT", "the last attempt's failure, as a sentence"),
        "created_at": ("TEXT", "ISO time it was queued"),
        "next_attempt_at": ("TEXT", "ISO time before which it is not retried"),
        "sent_at": ("TEXT", "ISO time Slack took it"),
        "destination": ("TEXT", "the channel or webhook label of its attempt"),
        "slack_channel": ("TEXT", "the channel id Slack answered"),
        "slack_ts": ("TEXT", "the message's ts"),
        "attempt_started_at": ("TEXT", "ISO time the attempt in flight started (status sending)"),
        "kind": ("TEXT", "alert | also_in | continues"),
        "parent_id": ("TEXT", "the earlier alert an also_in or continues belongs to"),
        "attempt_thread_ts": ("TEXT", "the thread the attempt replied in; a digest's ts once delivered in one"),
        "mute_id": ("INTEGER", "the mute that suppressed it (status muted)"),
        "detail_due": ("INTEGER", "1: delivered in a digest, its full message not yet in the digest's thread"),
    },
    "feedback": {
        "alert_id": ("TEXT", "the alert clicked (part of the primary key)"),
        "user_id": ("TEXT", "the Slack user id who clicked (part of the primary key)"),
        "user_name": ("TEXT", "their Slack user name when clicked"),
        "action": ("TEXT", "relevant | not_relevant | mute_7d | mute_30d | mute_cluster (part of the primary key)"),
        "clicked_at": ("TEXT", "ISO time of the click (a verdict clicked again: the last time); it counts once"),
    },
    "mutes": {
        "id": ("INTEGER", "primary key"),
        "watchlist": ("TEXT", "the watchlist it mutes in"),
        "vendor": ("TEXT", "the vendor muted (NULL for a cluster mute)"),
        "cluster_id": ("TEXT", "the cluster muted (NULL for a vendor mute)"),
        "until": ("TEXT", "ISO time it expires"),
        "created_by": ("TEXT", "the Slack user id who clicked"),
        "created_at": ("TEXT", "ISO time of the click"),
        "alert_id": ("TEXT", "the alert whose button was clicked"),
        "lifted_at": ("TEXT", "ISO time `newsbot mutes lift` ended it early"),
        "lifted_by": ("TEXT", "who lifted it (the local user)"),
    },
    "notices": {
        "id": ("INTEGER", "primary key"),
        "kind": ("TEXT", "what newsbot announced about itself (delivery failing)"),
        "sent_at": ("TEXT", "ISO time it was announced"),
        "detail": ("TEXT", "the announcement"),
    },
    "source_notices": {
        "id": ("INTEGER", "primary key"),
        "source": ("TEXT", "the source"),
        "kind": ("TEXT", "failing | stale | no_links | recovered"),
        "detail": ("TEXT", "the announcement"),
        "created_at": ("TEXT", "ISO time of the change"),
        "sent_at": ("TEXT", "ISO time it was announced; NULL: waits"),
        "attempts": ("INTEGER", "attempts to announce it"),
        "last_error": ("TEXT", "the last attempt's failure"),
    },
    "runs": {
        "id": ("INTEGER", "primary key"),
        "started_at": ("TEXT", "ISO time"),
        "finished_at": ("TEXT", "ISO time"),
        "summary": ("TEXT", "JSON: the run's RunSummary"),
    },
    "host_pacing": {
        "slot": ("TEXT", "a host's Scrapy download slot, its name (primary key)"),
        "delay": ("REAL", "seconds between its requests when it last answered: where the next run starts it"),
        "recorded_at": ("TEXT", "ISO time of the run that learned it; older than 7 days: forgotten"),
    },
}

INDEXES: dict[str, tuple[str, tuple[str, ...], bool]] = {  # name → (table, columns, unique)
    "idx_stories_url": ("stories", ("url",), True),
    "idx_stories_matched_at": ("stories", ("matched_at",), False),
    "idx_stories_cluster_id": ("stories", ("cluster_id",), False),
    "idx_alerts_status": ("alerts", ("status",), False),
    "idx_alerts_story_id_watchlist": ("alerts", ("story_id", "watchlist"), True),
    "idx_alerts_detail_due": ("alerts", ("attempt_thread_ts",), False),  # WHERE detail_due = 1
    "idx_source_notices_sent_at": ("source_notices", ("sent_at",), False),
    "idx_runs_started_at": ("runs", ("started_at",), False),
}
