"""The canned queries `newsbot browse` offers on the database page: the questions asked most mornings.

Each names the tables and columns it reads, and is offered only when the database has them (a database
from before the feedback buttons has no Not relevant alerts to list).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

# ISO text compares as time when both sides have the same form: stored times are UTC, seconds, "+00:00".
_A_WEEK_AGO = "strftime('%Y-%m-%dT%H:%M:%S', 'now', '-7 days')"


@dataclass(frozen=True)
class CannedQuery:
    name: str  # its address: /DATABASE/NAME
    title: str
    description: str
    sql: str
    reads: Mapping[str, frozenset[str]]  # table or view → the columns it needs


QUERIES = (
    CannedQuery(
        "alerts_last_7_days",
        "Alerts of the last 7 days",
        "Every alert queued in the last seven days, newest first, with the passage that matched.",
        f"""SELECT created_at, severity, watchlist, title, snippet, rules, vendors, source, feedback, status, url
FROM alert_list
WHERE created_at >= {_A_WEEK_AGO}
ORDER BY created_at DESC""",
        {"alert_list": frozenset({"created_at", "feedback"})},
    ),
    CannedQuery(
        "not_relevant_alerts",
        "Alerts marked Not relevant",
        "Alerts whose latest Relevant / Not relevant click in Slack was Not relevant: what `newsbot tune` learns from.",
        """SELECT created_at, watchlist, rules, vendors, title, snippet, matched, feedback_by, url
FROM alert_list
WHERE feedback = 'not_relevant'
ORDER BY created_at DESC""",
        {"alert_list": frozenset({"created_at", "feedback", "feedback_by"})},
    ),
    CannedQuery(
        "failing_sources",
        "Failing sources",
        "Sources whose last fetch failed, or whose health is not ok (failing, stale, no links), most failures first.",
        """SELECT name, health, health_since, health_detail, last_status, last_error, consecutive_failures,
       last_fetch_at, url
FROM sources
WHERE coalesce(health, 'ok') != 'ok' OR last_status = 'error'
ORDER BY consecutive_failures DESC, name""",
        {"sources": frozenset({"health", "health_since", "health_detail", "last_status", "consecutive_failures"})},
    ),
    CannedQuery(
        "recent_clusters",
        "Recent clusters",
        "Stories carried by more than one outlet, or copied under other addresses, that came in during the "
        "last 7 days: the first story of each cluster, how many copies, who carried them.",
        f"""SELECT stories.cluster_id, head.title AS first_story, count(DISTINCT stories.id) AS stories,
       count(DISTINCT story_sources.source) AS sources,
       replace(group_concat(DISTINCT story_sources.source), ',', ', ') AS carried_by,
       max(story_sources.seen_at) AS latest
FROM stories
JOIN story_sources ON story_sources.story_id = stories.id
LEFT JOIN stories AS head ON head.id = stories.cluster_id
GROUP BY stories.cluster_id
HAVING max(story_sources.seen_at) >= {_A_WEEK_AGO}
   AND (count(DISTINCT stories.id) > 1 OR count(DISTINCT story_sources.source) > 1)
ORDER BY latest DESC""",
        {"stories": frozenset({"cluster_id"}), "story_sources": frozenset({"seen_at"})},
    ),
)


def canned_queries(present: Mapping[str, Collection[str]]) -> dict[str, dict[str, str]]:
    """Datasette's `queries` metadata: the queries whose tables and columns `present` has."""
    return {
        query.name: {"title": query.title, "description": query.description, "sql": query.sql}
        for query in QUERIES
        if all(table in present and columns <= set(present[table]) for table, columns in query.reads.items())
    }
