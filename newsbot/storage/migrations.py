"""The database's migrations, in order; newsbot.storage.schema shows what they add up to.

A migration is history: it must do tomorrow what it did the day it was written, so it calls no
live code (m004 brings stored URLs to the canonical form of its day with a frozen copy,
newsbot.storage.m004_urls, not with today's newsbot.stories.urls).
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from newsbot.storage.m004_urls import canonical_url

MIGRATIONS = Migrations("newsbot")


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    db.table("sources").create(
        {
            "name": str,
            "url": str,
            "etag": str,
            "last_modified": str,
            "last_fetch_at": str,
            "last_status": str,
            "last_error": str,
            "consecutive_failures": int,
        },
        pk="name",
    )
    db.table("stories").create(
        {
            "id": str,
            "url": str,
            "title": str,
            "summary": str,
            "text": str,
            "source": str,
            "published_at": str,
            "first_seen_at": str,
            "matched_at": str,
        },
        pk="id",
    )
    db.table("stories").create_index(["url"], unique=True)
    db.table("stories").create_index(["matched_at"])
    db.table("stories").enable_fts(["title", "summary", "text"], create_triggers=True)
    db.table("story_sources").create(
        {"story_id": str, "source": str, "seen_at": str},
        pk=("story_id", "source"),
        foreign_keys=[("story_id", "stories", "id")],
    )
    db.table("alerts").create(
        {
            "id": str,
            "story_id": str,
            "watchlist": str,
            "severity": str,
            "match": str,
            "status": str,
            "attempts": int,
            "last_error": str,
            "created_at": str,
            "next_attempt_at": str,
            "sent_at": str,
        },
        pk="id",
        foreign_keys=[("story_id", "stories", "id")],
    )
    db.table("alerts").create_index(["story_id", "watchlist"], unique=True)
    db.table("alerts").create_index(["status"])
    db.table("runs").create({"id": int, "started_at": str, "finished_at": str, "summary": str}, pk="id")


@MIGRATIONS()
def m002_delivery_state(db: Database) -> None:
    """Where and when each alert was (being) sent, so a crash mid-send can be checked, not guessed."""
    for column in ("destination", "slack_channel", "slack_ts", "attempt_started_at"):
        db.table("alerts").add_column(column, str)
    db.table("notices").create({"id": int, "kind": str, "sent_at": str, "detail": str}, pk="id")


@MIGRATIONS()
def m003_source_health(db: Database) -> None:
    """What a source's last fetch found, its health, and the health notices waiting to be sent."""
    for column, kind in (
        ("body_hash", str),
        ("feed_url", str),
        ("links_found", int),
        ("last_warning", str),
        ("first_fetch_at", str),
        ("last_new_story_at", str),
        ("health", str),
        ("health_detail", str),
        ("health_since", str),
    ):
        db.table("sources").add_column(column, kind)
    # Sources fetched before health existed: staleness counts from their last new story (or fetch).
    db.execute(
        "UPDATE sources SET first_fetch_at = last_fetch_at, last_new_story_at = "
        "(SELECT max(seen_at) FROM story_sources WHERE story_sources.source = sources.name)"
    )
    db.table("source_notices").create(
        {
            "id": int,
            "source": str,
            "kind": str,
            "detail": str,
            "created_at": str,
            "sent_at": str,
            "attempts": int,
            "last_error": str,
        },
        pk="id",
    )
    db.table("source_notices").create_index(["sent_at"])


@MIGRATIONS()
def m004_clusters(db: Database) -> None:
    """Clusters of copies of one story, the index of sampled shingles, and alerts that follow one.

    Stored URLs are brought to today's canonical form (AMP, mobile, wrappers, ports, slashes), so
    a copy seen again under its old address is still the same story; earlier stories are clusters
    of one.
    """
    for column, kind in (
        ("cluster_id", str),
        ("cluster_score", float),
        ("cluster_neighbour", str),
        ("cluster_note", str),
    ):
        db.table("stories").add_column(column, kind)
    db.execute("UPDATE stories SET cluster_id = id")
    db.table("stories").create_index(["cluster_id"])
    db.table("shingle_index").create({"hash": int, "story_id": str, "cluster_id": str, "seen_at": str})
    db.table("shingle_index").create_index(["hash"])
    db.table("shingle_index").create_index(["seen_at"])
    # sqlite-utils' trigger re-indexes a story on any update; marking it clustered or matched must not.
    db.execute("DROP TRIGGER stories_au")
    db.execute(
        "CREATE TRIGGER stories_au AFTER UPDATE OF title, summary, text ON stories BEGIN "
        "INSERT INTO stories_fts (stories_fts, rowid, title, summary, text) "
        "VALUES('delete', old.rowid, old.title, old.summary, old.text); "
        "INSERT INTO stories_fts (rowid, title, summary, text) VALUES (new.rowid, new.title, new.summary, new.text); "
        "END"
    )
    db.table("alerts").add_column("kind", str)
    db.table("alerts").add_column("parent_id", str)
    db.execute("UPDATE alerts SET kind = 'alert'")
    taken = {row[0] for row in db.execute("SELECT url FROM stories")}
    for story, url in list(db.execute("SELECT id, url FROM stories")):
        canonical = canonical_url(url)
        if canonical != url and canonical not in taken:
            db.execute("UPDATE stories SET url = ? WHERE id = ?", [canonical, story])
            taken.add(canonical)


@MIGRATIONS()
def m005_attempt_thread(db: Database) -> None:
    """The thread an attempt replied in: a reply is found with conversations.replies, not history."""
    db.table("alerts").add_column("attempt_thread_ts", str)


@MIGRATIONS()
def m006_feedback(db: Database) -> None:
    """Clicks from Slack and the mutes they set; a match a mute suppressed is kept as a muted alert."""
    db.table("feedback").create(
        {"alert_id": str, "user_id": str, "user_name": str, "action": str, "clicked_at": str},
        pk=("alert_id", "user_id", "action"),
    )
    db.table("mutes").create(
        {
            "id": int,
            "watchlist": str,
            "vendor": str,
            "cluster_id": str,
            "until": str,
            "created_by": str,
            "created_at": str,
            "alert_id": str,
            "lifted_at": str,
            "lifted_by": str,
        },
        pk="id",
    )
    db.table("alerts").add_column("mute_id", int)


@MIGRATIONS()
def m007_browse_views(db: Database) -> None:
    """`alert_list`: each alert as a person reads it in `newsbot browse` (Datasette), its match JSON taken
    apart — rules and vendors as JSON arrays (Datasette facets them), the snippet as text with matched
    words between asterisks as in Slack, the latest relevant/not relevant click. A view, not a query of
    newsbot browse, because Datasette facets views and serves the file read-only (it cannot create one).
    A later migration that drops or renames a column read here must create the view again.
    """
    db.execute(
        """
        CREATE VIEW alert_list AS
        SELECT
            alerts.created_at,
            alerts.severity,
            alerts.watchlist,
            stories.title,
            (SELECT group_concat(CASE WHEN json_extract(part, '$[1]') THEN '*' || json_extract(part, '$[0]') || '*'
                                      ELSE json_extract(part, '$[0]') END, '')
               FROM (SELECT value AS part FROM json_each(alerts.match, '$.snippet') ORDER BY key)) AS snippet,
            (SELECT json_group_array(json_extract(value, '$.rule'))
               FROM json_each(alerts.match, '$.rules')) AS rules,
            (SELECT json_group_array(value) FROM json_each(alerts.match, '$.vendors')) AS vendors,
            (SELECT group_concat(term, ', ')
               FROM (SELECT DISTINCT terms.value AS term
                       FROM json_each(alerts.match, '$.rules') AS hits, json_each(hits.value, '$.terms') AS terms))
              AS matched,
            stories.source,
            (SELECT action FROM feedback
              WHERE feedback.alert_id = alerts.id AND action IN ('relevant', 'not_relevant')
              ORDER BY clicked_at DESC, feedback.rowid DESC LIMIT 1) AS feedback,
            (SELECT user_name FROM feedback
              WHERE feedback.alert_id = alerts.id AND action IN ('relevant', 'not_relevant')
              ORDER BY clicked_at DESC, feedback.rowid DESC LIMIT 1) AS feedback_by,
            alerts.status,
            alerts.kind,
            stories.url,
            alerts.id AS alert_id,
            alerts.story_id
        FROM alerts JOIN stories ON stories.id = alerts.story_id
        """
    )


@MIGRATIONS()
def m008_compact_shingle_index(db: Database) -> None:
    """The cluster window's index in integers: a story and its cluster by the stories table's rowid,
    the time as Unix seconds, the hash and story as the primary key of a WITHOUT ROWID table.

    Its rows were ~140 bytes with their two indexes (two 20-character ids and an ISO time each, and
    the hash index beside the table); a cold run of 20,000 stories wrote 220 MB of index for 80 MB of
    stories, and every run's integrity check read it all. Rows now take about 45 bytes (24 in the table,
    20 in the time index). Rows whose story is gone are dropped (it can no longer be a neighbour).
    """
    db.execute(
        "CREATE TABLE shingle_index_compact (hash INTEGER NOT NULL, story INTEGER NOT NULL, "
        "cluster INTEGER NOT NULL, seen INTEGER NOT NULL, PRIMARY KEY (hash, story)) WITHOUT ROWID"
    )
    db.execute(
        "INSERT OR IGNORE INTO shingle_index_compact (hash, story, cluster, seen) "
        "SELECT shingle_index.hash, story.rowid, cluster.rowid, CAST(strftime('%s', shingle_index.seen_at) AS INTEGER) "
        "FROM shingle_index JOIN stories AS story ON story.id = shingle_index.story_id "
        "JOIN stories AS cluster ON cluster.id = shingle_index.cluster_id ORDER BY 1, 2"
    )
    db.execute("DROP TABLE shingle_index")
    db.execute("ALTER TABLE shingle_index_compact RENAME TO shingle_index")
    db.execute("CREATE INDEX idx_shingle_index_seen ON shingle_index (seen)")


@MIGRATIONS()
def m009_host_pacing(db: Database) -> None:
    """Each host's pace, remembered between runs (newsbot.sources.throttle): the delay between
    requests its download slot ended a run with, and when, so the next run starts it there."""
    db.table("host_pacing").create({"slot": str, "delay": float, "recorded_at": str}, pk="slot")


@MIGRATIONS()
def m010_shingle_index_without_time_index(db: Database) -> None:
    """The cluster window's index loses its index by time, which only made pruning a seek.

    That index was a sixth of a cold run's clustering writes (a row in it for every one of the ~80
    sampled shingles of each new story), a sixth of the file a cold run of 20,000 stories leaves (168
    → 140 MB, compacted), and two thirds of the integrity check that every command runs first (1.27 →
    0.43 s on that file). Pruning scans the window's rows instead, once a run (0.1 s for 1.6 million
    rows).
    """
    db.execute("DROP INDEX IF EXISTS idx_shingle_index_seen")


@MIGRATIONS()
def m011_full_text_index_merges_less_often(db: Database) -> None:
    """The full-text index merges its segments 16 at a time, not FTS5's default 4.

    Each stored source is a commit, and each commit writes the stories' index entries as a new
    segment; FTS5 merges them as they pile up, rewriting each entry once per level. With 4 a level,
    a cold run of 20,000 stories (1,000 sources) spent 4.0 s of CPU inserting them into the index;
    with 16, 3.4 s, and the file is the same size. A search may read up to 16 segments a level
    instead of 4: five searches of that file took 2-3 ms either way.
    """
    db.execute("INSERT INTO stories_fts (stories_fts, rank) VALUES ('automerge', 16)")


@MIGRATIONS()
def m012_full_text_index_written_with_clusters(db: Database) -> None:
    """A story enters the full-text index when it is clustered, a batch at a time, not when stored.

    Stored one source (a commit) at a time, each commit wrote its stories' entries as a segment of
    their own for FTS5 to merge: 2.8 s of CPU for a cold run's 20,000 stories, all of it inside the
    crawl's write transactions, which the stage thread's writes wait behind. Written with each
    batch of clustered stories (2,000 in a cold run), the same stories cost 0.9-1.3 s, storing them
    included. A story stored but not yet clustered (a run stopped in between) is not searchable
    until the next run clusters it. The dropped trigger had indexed such stories: they leave the
    index here and come back with their cluster. Updates and deletes reach the index only for the
    stories it holds (FTS5's 'delete' must be given exactly what was indexed).
    """
    db.execute("DROP TRIGGER stories_ai")
    db.execute("DROP TRIGGER stories_ad")
    db.execute("DROP TRIGGER stories_au")
    db.execute(
        "INSERT INTO stories_fts (stories_fts, rowid, title, summary, text) "
        "SELECT 'delete', rowid, title, summary, text FROM stories WHERE cluster_id IS NULL"
    )
    db.execute(
        "CREATE TRIGGER stories_ad AFTER DELETE ON stories WHEN old.cluster_id IS NOT NULL BEGIN "
        "INSERT INTO stories_fts (stories_fts, rowid, title, summary, text) "
        "VALUES('delete', old.rowid, old.title, old.summary, old.text); "
        "END"
    )
    db.execute(
        "CREATE TRIGGER stories_au AFTER UPDATE OF title, summary, text ON stories "
        "WHEN old.cluster_id IS NOT NULL BEGIN "
        "INSERT INTO stories_fts (stories_fts, rowid, title, summary, text) "
        "VALUES('delete', old.rowid, old.title, old.summary, old.text); "
        "INSERT INTO stories_fts (rowid, title, summary, text) VALUES (new.rowid, new.title, new.summary, new.text); "
        "END"
    )


@MIGRATIONS()
def m013_digest_details_due(db: Database) -> None:
    """An alert delivered in a digest owes its thread its full message (with its feedback buttons) until
    that message is posted: `detail_due`. They were posted only in the run's time left after the
    digest: a digest of 3,000 alerts after a Slack outage got the full message of 86 of them, and the
    rest never, since the alerts themselves were sent."""
    db.execute("ALTER TABLE alerts ADD COLUMN detail_due INTEGER NOT NULL DEFAULT 0")
    # Every delivery pass asks for them: the owed few, not a scan of every alert ever sent.
    db.execute("CREATE INDEX idx_alerts_detail_due ON alerts (attempt_thread_ts) WHERE detail_due = 1")


@MIGRATIONS()
def m014_cluster_sample_size(db: Database) -> None:
    """How many sampled shingles a clustered story put in the window's index: `cluster_sampled`.

    A new story's candidates are the stories sharing the most of its sampled shingles, and each was
    read back and shingled again to be compared in full (~0.25 ms). Most share a shingle or two by
    chance, and more of them as the window fills: in a cold run of 100,000 stories, its last 2,000
    compared 2,800 stored stories, a fifth of the time it spent on each story. With each
    candidate's sample size known, the share of the sample the two have in common is bounded
    before anything is read (newsbot.clustering.clusters.sample_share_at_most). Stories clustered
    before this migration stay NULL and are compared as before."""
    db.execute("ALTER TABLE stories ADD COLUMN cluster_sampled INTEGER")


@MIGRATIONS()
def m015_story_links(db: Database) -> None:
    """The links feeds gave to stories stored under another address: `story_links`.

    An article page whose `rel=canonical`, or a redirect's end, differs from the feed's link was
    stored under that address, and the next run, asking whether the feed's link was stored, fetched
    the page again, every run: with `max_articles`, the same newest pages took every run's share, and
    the older stories behind them were never stored."""
    # IF NOT EXISTS: tests that build a database of an older schema store stories through today's code
    db.execute("CREATE TABLE IF NOT EXISTS story_links (url TEXT PRIMARY KEY, story_id TEXT NOT NULL) WITHOUT ROWID")


@MIGRATIONS()
def m016_full_text_merges_spread_over_runs(db: Database) -> None:
    """FTS5 merges all of a level's segments at once when 64 pile up, not 16 (`crisismerge`).

    With `automerge` 16 (m011) and FTS5's default `crisismerge` of 16, the commit that wrote a
    level's 16th segment merged the whole level: after a cold run of 1,000 feeds (15 large
    segments, one a batch), the next run's batch of 75 stories paid a 0.15 s merge, alone on one
    core in its last half second. With 64, a commit merges only when its pages carry FTS5's count
    of pages written past a multiple of 64 (automerge's work unit), then up to 64 pages a level, so
    the cold run's segments are merged by a later commit, and a larger merge over several: 200 later
    batches of 75 stories took 0.92 s of FTS5 time either way, the most one batch paid 0.17 s with
    16 and 0.03 s with 64. Commits of a page or two merge every 32 to 64 commits, as many segments
    at once: the same work, half to a quarter as often. Searches read more segments: five took 0.7 and
    0.8 ms (21 segments against 29)."""
    db.execute("INSERT INTO stories_fts (stories_fts, rank) VALUES ('crisismerge', 64)")


@MIGRATIONS()
def m017_runs_found_by_start(db: Database) -> None:
    """Runs are found by when they started: each run reads the summaries of the last day's runs
    (the problems already reported), and `runs` is never pruned, so without an index that read
    scanned every run ever recorded (a year of a 10-minute cron: 52,000 rows, 30 ms a run)."""
    db.execute("CREATE INDEX idx_runs_started_at ON runs (started_at)")
