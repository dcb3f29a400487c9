"""Alert → Slack message (Block Kit plus a plain-text fallback). Pure: no I/O, table-tested.

Everything that came from a feed is escaped (`&`, `<`, `>`), so a headline cannot ping a channel,
mention a user or hide a link behind a misleading label; the only link is the story's own URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from newsbot.models import Alert, Match, Severity
from newsbot.snippets import render

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
TEXT_LIMIT = 40000
SUMMARY_LIMIT = 600
LABEL_LIMIT = 300
LABEL_MINIMUM = 20
SEVERITY_EMOJI = {
    Severity.LOW: ":large_blue_circle:",
    Severity.MEDIUM: ":large_orange_circle:",
    Severity.HIGH: ":red_circle:",
    Severity.CRITICAL: ":rotating_light:",
}


def escape(text: str) -> str:
    """Slack's three control characters; see api.slack.com 'Escaping text'."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis, so a long story never makes a send fail."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace():  # the cut splits a word: drop its start
        space = cut.rfind(" ")
        if space > limit // 2:
            cut = cut[:space]
    return cut.rstrip() + "…"


def safe_link_target(url: str) -> str:
    """A URL that cannot end Slack's `<url|label>` early or smuggle a second link."""
    return url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")


def slack_date(alert: Alert) -> str:
    """Slack renders `<!date^…>` in each reader's own time zone; the fallback is UTC."""
    published = alert.story.published_at
    if published is None:
        return "unknown"
    fallback = utc_text(published)
    return f"<!date^{int(published.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def story_link(url: str, title: str) -> str:
    """`<url|title>` within one section; a URL too long to leave room for a label goes bare."""
    target = safe_link_target(url)
    room = SECTION_LIMIT - len(target) - 3
    if room >= LABEL_MINIMUM:
        return f"<{target}|{escape(truncate(title, min(LABEL_LIMIT, room // 5)))}>"
    if len(target) + 2 <= SECTION_LIMIT:
        return f"<{target}>"
    return escape(truncate(title, SECTION_LIMIT // 5))


def build_message(alert: Alert, *, unfurl_links: bool = False) -> dict[str, Any]:
    """The webhook / chat.postMessage payload for one alert."""
    story, match = alert.story, alert.match
    severity = match.severity
    # plain_text: Slack shows it literally and never parses it for mentions or links, so it is not
    # escaped (escaping would show "&lt;" to the reader).
    title = truncate(story.title, HEADER_LIMIT)
    link = story_link(story.url, story.title)
    rules = ", ".join(f"{escape(hit.rule)} ({hit.severity.value})" for hit in match.rules)
    terms = ", ".join(escape(term) for term in match.terms)
    facts = [
        f"*Source:* {escape(story.source)}",
        f"*Published:* {slack_date(alert)}",
        f"*Watchlist:* {escape(match.watchlist)}",
        f"*Severity:* {SEVERITY_EMOJI[severity]} {severity.value}",
    ]
    details = [f"*Rules:* {rules}", f"*Matched:* {terms}"]
    if alert.continues:
        details.insert(0, f"*Continues an earlier story:* {escape(truncate(alert.continues, LABEL_LIMIT))}")
    if alert.also_in:
        details.append(f"*Also in:* {escape(', '.join(alert.also_in))}")
    passage = slack_snippet(match) or escape(truncate(story.summary or story.text, SUMMARY_LIMIT))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": False}},
        {"type": "section", "text": {"type": "mrkdwn", "text": link}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": fact} for fact in facts]},
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate("\n".join(details), SECTION_LIMIT)}},
    ]
    if passage:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": passage}]})
    fallback = (
        f"{SEVERITY_EMOJI[severity]} [{severity.value}] {escape(match.watchlist)}: "
        f"{escape(story.title)} ({', '.join(escape(term) for term in match.terms)})"
    )
    return {
        "text": truncate(fallback, TEXT_LIMIT),
        "blocks": blocks,
        "unfurl_links": unfurl_links,
        "unfurl_media": unfurl_links,
    }


def slack_snippet(match: Match) -> str:
    """The passage around the matched words, escaped, with those words in bold."""
    return truncate(render(match.snippet, escape), SECTION_LIMIT)


def plain_text(alert: Alert) -> str:
    """The terminal rendering of an alert: the same facts as the Slack message, unescaped."""
    story, match = alert.story, alert.match
    published = utc_text(story.published_at) if story.published_at else "unknown"
    lines = [
        f"[{match.severity.value.upper()}] {match.watchlist}: {story.title}",
        f"  {story.url}",
        f"  source: {story.source}   published: {published}",
        f"  rules: {', '.join(f'{hit.rule} ({hit.severity.value})' for hit in match.rules)}",
        f"  matched: {', '.join(match.terms)}",
    ]
    if alert.continues:
        lines.insert(1, f"  continues an earlier story: {alert.continues}")
    if match.snippet:
        lines.append(f"  {match.snippet_field}: {render(match.snippet)}")
    if alert.also_in:
        lines.append(f"  also in: {', '.join(alert.also_in)}")
    return "\n".join(lines)


def build_also_in(alert: Alert, *, unfurl_links: bool = False) -> dict[str, Any]:
    """A copy of an alerted story elsewhere: one line in the first alert's thread, no ping."""
    text = f"Also in {escape(alert.story.source)}: {story_link(alert.story.url, alert.story.title)}"
    return {
        "text": truncate(f"Also in {escape(alert.story.source)}: {escape(alert.story.title)}", TEXT_LIMIT),
        "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}]}],
        "unfurl_links": unfurl_links,
        "unfurl_media": unfurl_links,
    }


def plain_also_in(alert: Alert) -> str:
    return f"  also in {alert.story.source}: {alert.story.title}\n  {alert.story.url}"


BLOCK_LIMIT = 50
DIGEST_LINES_PER_BLOCK = 10


def build_digest(title: str, alerts: Sequence[Alert], *, unfurl_links: bool = False) -> dict[str, Any]:
    """One message listing many alerts (a backfill, or `newsbot digest`), within Slack's limits."""
    lines = [
        f"{SEVERITY_EMOJI[alert.match.severity]} {story_link(alert.story.url, alert.story.title)} — "
        f"{escape(alert.story.source)}; {escape(', '.join(alert.match.terms))}"
        for alert in alerts
    ]
    room = BLOCK_LIMIT - 2
    chunks = [lines[start : start + DIGEST_LINES_PER_BLOCK] for start in range(0, len(lines), DIGEST_LINES_PER_BLOCK)]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(title, HEADER_LIMIT)}}
    ]
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate("\n".join(chunk), SECTION_LIMIT)}}
        for chunk in chunks[:room]
    ]
    if len(chunks) > room:
        hidden = len(lines) - room * DIGEST_LINES_PER_BLOCK
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {hidden} more"}]})
    return {
        "text": truncate(f"{escape(title)}: {len(alerts)} alerts", TEXT_LIMIT),
        "blocks": blocks,
        "unfurl_links": unfurl_links,
        "unfurl_media": unfurl_links,
    }


def plain_digest(title: str, alerts: Sequence[Alert]) -> str:
    lines = [f"{title}: {len(alerts)} alerts"]
    lines += [f"  [{a.match.severity.value.upper()}] {a.story.title}  {a.story.url}" for a in alerts]
    return "\n".join(lines)


def build_notice(text: str) -> dict[str, Any]:
    """newsbot's own words (delivery failing), not feed text: still escaped, never a mention."""
    return {
        "text": escape(text),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": escape(text)}}],
    }
