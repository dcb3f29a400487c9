"""Alert → Slack message (Block Kit plus a plain-text fallback). Pure: no I/O, table-tested.

Everything that came from a feed is escaped (`&`, `<`, `>`), so a headline cannot ping a channel,
mention a user or hide a link behind a misleading label; the only link is the story's own URL.
escape() also drops control characters (HIDDEN_CONTROLS), so a headline with a right-to-left
override cannot reorder the rest of the message nor an escape sequence recolour a terminal, and
neutralises mrkdwn's formatting characters, so a feed's `*bold*` or `` `code` `` shows as the text
it is; `visible()` drops those controls from the plain-text renderings (the terminal, and so the
mail cron sends), which are not escaped.

An alert reads at a glance: its header is the severity and the vendors (or, for a rule without a
vendor, the matched words), the line under it the story's title as its one link, then which
matched words are the vendor's and which the topic's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from newsbot.matching.snippets import render
from newsbot.models import Alert, FeedbackAction, Match, Severity

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
TEXT_LIMIT = 40000
BLOCK_LIMIT = 50
SUMMARY_LIMIT = 600
FIELD_LIMIT = 2000  # a section field's text
FACTS_LIMIT = 1000  # the matched words and rules of one alert
LABEL_LIMIT = 300
LABEL_MINIMUM = 20
SEVERITY_EMOJI = {
    Severity.LOW: ":large_blue_circle:",
    Severity.MEDIUM: ":large_orange_circle:",
    Severity.HIGH: ":red_circle:",
    Severity.CRITICAL: ":rotating_light:",
}
# The alert's header is plain_text with emoji off (a `:word:` in a name stays text): SEVERITY_EMOJI as characters.
SEVERITY_MARK = {Severity.LOW: "🔵", Severity.MEDIUM: "🟠", Severity.HIGH: "🔴", Severity.CRITICAL: "🚨"}
# What feed text may not carry to a reader: the C0 and C1 control characters but tab and line feed,
# and DEL (an escape sequence in a headline recolours the terminal cron's mail is read in, or
# retitles its window), and the bidi controls: LRM, RLM, the embeddings and overrides (LRE RLE PDF
# LRO RLO), the isolates (LRI RLI FSI PDI), ALM.
HIDDEN_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
_PARTIAL_ENTITY = re.compile(r"&(?:amp|am|a|lt|l|gt|g)?…$")  # what truncate() can leave of an escape
# Slack documents an escape for `&`, `<` and `>` only; `*`, `_`, `~` and `` ` `` have none, and
# `verbatim` keeps formatting on. A zero-width space beside one is what makes Slack format it inside a
# word (jsx-slack's "exact mode"), so invisible characters are no way out either. Each becomes a
# look-alike that Slack does not read (jsx-slack's <Escape> table), full-width forms included, which
# Slack also reads. Between two letters or digits Slack never formats, so `channel_not_found` and
# `AT*T` keep their own characters. A `>` opening a line (a quote) gets an invisible soft hyphen first.
LOOKALIKES = {"*": "∗", "_": "ˍ", "~": "∼", "`": "ˋ", "＊": "﹡", "＿": "⸏", "｀": "ˋ"}
_FORMATTING = re.compile(r"(?<=[^\W_])[*_~](?=[^\W_])|([*_~`＊＿｀])")  # group 1: one to replace
_QUOTE = re.compile("^(?=&gt;|＞)", re.MULTILINE)
# A scheme, "www." or a dotted host name ("cisa.gov", "login.bank.example"): text a reader takes for
# where a link goes.
_ADDRESS_LIKE = re.compile(r"(?i)(?:\b[a-z][a-z0-9+.-]*://|\bwww\.|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b)")


def visible(text: str) -> str:
    """Feed text without control characters: what a reader sees is what is there, in the order it is in."""
    return HIDDEN_CONTROLS.sub("", text)


def escape(text: str) -> str:
    """The one door for feed text into mrkdwn: bidi controls dropped, Slack's three control
    characters escaped (api.slack.com 'Escaping text'), its formatting characters made inert."""
    escaped = visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    inert = _FORMATTING.sub(lambda found: LOOKALIKES[found[1]] if found[1] else found[0], escaped)
    return _QUOTE.sub("\u00ad", inert)


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object. `verbatim`: Slack links only what newsbot wrote as a link, never a bare
    URL, `#channel` or mention in a feed's words (it still reads `<url|label>`, `<!date^…>`, `*bold*`)."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


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


def truncate_escaped(text: str, limit: int) -> str:
    """truncate() for escaped text: a cut through "&amp;" would show the reader "&am…"."""
    return _PARTIAL_ENTITY.sub("…", truncate(text, limit))


def safe_link_target(url: str) -> str:
    """A URL that cannot end Slack's `<url|label>` early, smuggle a second link or reorder the text."""
    return plain_url(url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace(" ", "%20"))


def plain_url(url: str) -> str:
    """The URL with its control characters percent-encoded: the same address, shown as it is."""
    return HIDDEN_CONTROLS.sub(lambda control: "".join(f"%{byte:02X}" for byte in control[0].encode()), url)


def slack_date(alert: Alert) -> str:
    """Slack renders `<!date^…>` in each reader's own time zone; the fallback is UTC."""
    published = alert.story.published_at
    if published is None:
        return "unknown"
    fallback = utc_text(published)
    return f"<!date^{int(published.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def story_link(url: str, title: str, room: int = SECTION_LIMIT) -> str:
    """`<url|title>` in at most `room` characters: the label shrinks first, then goes (a bare link);
    only a URL longer than the room itself is left out, for the title alone. A title that reads as an
    address is followed by the link's real host: a feed titled "https://www.cisa.gov/…" over a link
    to another host showed a trusted address and led elsewhere, and nothing else in the alert said
    where (unfurls are off)."""
    target = safe_link_target(url)
    host = f" ({escape(urlsplit(url).hostname or '')})" if _ADDRESS_LIKE.search(visible(title)) else ""
    label_room = room - len(target) - 3 - len(host)
    if label_room >= LABEL_MINIMUM:
        return f"<{target}|{escaped_within(title, min(LABEL_LIMIT, label_room))}>{host}"
    if len(target) + 2 <= room:
        return f"<{target}>"
    return escaped_within(title, room)


def escaped_within(text: str, limit: int) -> str:
    """escape(text) in at most `limit` characters, cut before escaping (at a word boundary) so an
    entity such as `&amp;` is never broken."""
    if limit <= 0:
        return ""
    cut = visible(text)
    while len(escaped := escape(cut)) > limit:
        cut = truncate(cut, max(1, len(cut) - (len(escaped) - limit)))
    return escaped


def build_message(alert: Alert, *, unfurl_links: bool = False, feedback: bool = False) -> dict[str, Any]:
    """The webhook / chat.postMessage payload for one alert; with `feedback`, its buttons (feedback_actions).

    Read from the top: the header says how severe and about whom, the line under it is the story's
    title (its only appearance, as the link) and which matched words are the vendor's and which the
    topic's; then source, time, watchlist and rules; then the passage with the matched words in bold.
    """
    story, match = alert.story, alert.match
    why = truncate_escaped(why_line(match), FACTS_LIMIT)
    link = story_link(story.url, story.title, SECTION_LIMIT - len(why) - 1)
    facts = [
        f"*Source:* {escape(story.source)}",
        f"*Published:* {slack_date(alert)}",
        f"*Watchlist:* {escape(match.watchlist)}",
        truncate_escaped(f"*Rules:* {rules_text(match, escape)}", FIELD_LIMIT),
    ]
    details = []
    if alert.continues:
        details.append(f"*Continues an earlier story:* {escape(truncate(alert.continues, LABEL_LIMIT))}")
    if alert.also_in:
        details.append(f"*Also in:* {escape(', '.join(alert.also_in))}")
    # A passage of the title would show the title twice: then the summary, without bold words.
    snippet = slack_snippet(match) if match.snippet_field != "title" else ""
    passage = snippet or escape(truncate(story.summary or story.text, SUMMARY_LIMIT))
    blocks: list[dict[str, Any]] = [
        # plain_text: Slack shows it literally and never parses it for mentions or links, so it is not
        # escaped (escaping would show "&lt;" to the reader).
        {"type": "header", "text": {"type": "plain_text", "text": headline(match), "emoji": False}},
        {"type": "section", "text": mrkdwn(f"{link}\n{why}")},
        {"type": "section", "fields": [mrkdwn(fact) for fact in facts]},
    ]
    if details:
        blocks.append({"type": "section", "text": mrkdwn(truncate_escaped("\n".join(details), SECTION_LIMIT))})
    if passage:
        blocks.append({"type": "context", "elements": [mrkdwn(passage)]})
    if feedback:
        blocks.append(feedback_actions(alert))
    severity = match.severity
    words = f" ({why_text(match, escape)})" if match.vendors else ""  # without vendors the subject is the words
    fallback = (
        f"{SEVERITY_EMOJI[severity]} {severity.value.upper()} · {escape(subject(match))}: {escape(story.title)}{words}"
    )
    return {
        "text": truncate_escaped(fallback, TEXT_LIMIT),
        "blocks": blocks,
        "unfurl_links": unfurl_links,
        "unfurl_media": unfurl_links,
    }


def headline(match: Match) -> str:
    """The header: severity and whom the alert is about, e.g. "🔴 HIGH · Mitto AG"."""
    severity = match.severity
    return truncate(visible(f"{SEVERITY_MARK[severity]} {severity.value.upper()} · {subject(match)}"), HEADER_LIMIT)


def subject(match: Match) -> str:
    """Whom or what the alert is about: its vendors, or for a rule that names none, the matched words."""
    return ", ".join(match.vendors or match.terms)


def matched_words(match: Match) -> list[tuple[str, tuple[str, ...]]]:
    """The matched words by what they stand for: [("vendor", …), ("topic", …)]. A vendor's words are
    named as the matcher labels them (its name, or "Mitto AG (as Mitto)" when an alias matched). A
    match naming no vendor (a topic-only rule, or an alert stored before matches named their vendors)
    cannot tell them apart: its words are only "matched"."""
    if not match.vendors:
        return [("matched", match.terms)]
    vendor_words = tuple(term for term in match.terms if _names_a_vendor(term, match.vendors))
    topic_words = tuple(term for term in match.terms if term not in vendor_words)
    groups = [("vendors" if len(match.vendors) > 1 else "vendor", vendor_words)]
    return [*groups, ("topic", topic_words)] if topic_words else groups


def _names_a_vendor(term: str, vendors: Sequence[str]) -> bool:
    return any(term == vendor or term.startswith(f"{vendor} (as ") for vendor in vendors)


def why_line(match: Match) -> str:
    """The matched words for Slack, each group under its name: "*Vendor:* Mitto AG  ·  *Topic:* SS7"."""
    return "  ·  ".join(
        f"*{label.capitalize()}:* {', '.join(escape(word) for word in words)}" for label, words in matched_words(match)
    )


def why_text(match: Match, quote: Callable[[str], str] = str) -> str:
    """The same groups as a phrase, for a digest's line and a notification: "vendor: Mitto AG; topic: SS7"."""
    return "; ".join(f"{label}: {', '.join(quote(word) for word in words)}" for label, words in matched_words(match))


def rules_text(match: Match, quote: Callable[[str], str] = str) -> str:
    return ", ".join(f"{quote(hit.rule)} ({hit.severity.value})" for hit in match.rules)


FEEDBACK_BLOCK = "newsbot_feedback"
ACTION_PREFIX = "newsbot_"  # every element's action_id starts with it: `newsbot serve` listens for those
FEEDBACK_MORE = ACTION_PREFIX + "more"  # the overflow menu
BUTTON_VALUE_LIMIT = 2000  # Slack's limit on a button's value (an overflow option's is 150)


def feedback_actions(alert: Alert) -> dict[str, Any]:
    """The buttons `newsbot serve` answers: Relevant, Not relevant, Mute vendor 7 days (when the match
    names a vendor), and an overflow menu with a 30-day mute and a mute of the story's cluster.

    Only for messages posted with a bot token to a Slack app that receives interactions: a webhook's
    message cannot call back, and a button nobody answers shows the clicker an error. Each value is
    JSON naming the alert and the action, and on the mute button what it mutes (the watchlist and
    vendors) when that fits Slack's 2,000 characters; an overflow option's value may hold only 150,
    so it names the alert and action alone. The click's handler takes what to mute from the stored
    alert, the one authority for every element alike (newsbot.alerts.interactions).
    """
    match = alert.match
    elements: list[dict[str, Any]] = [
        _button("Relevant", alert, FeedbackAction.RELEVANT),
        _button("Not relevant", alert, FeedbackAction.NOT_RELEVANT),
    ]
    options = []
    if match.vendors:
        target = {"watchlist": match.watchlist, "vendors": list(match.vendors)}
        elements.append(_button("Mute vendor 7 days", alert, FeedbackAction.MUTE_7D, target))
        options.append(_option("Mute vendor 30 days", alert, FeedbackAction.MUTE_30D))
    options.append(_option("Mute this story's cluster 7 days", alert, FeedbackAction.MUTE_CLUSTER))
    elements.append({"type": "overflow", "action_id": FEEDBACK_MORE, "options": options})
    return {"type": "actions", "block_id": FEEDBACK_BLOCK, "elements": elements}


def _value(alert: Alert, action: FeedbackAction, target: dict[str, Any] | None = None) -> str:
    bare = {"alert": alert.id, "action": action.value}
    whole = json.dumps({**bare, **(target or {})}, separators=(",", ":"))
    return whole if len(whole) <= BUTTON_VALUE_LIMIT else json.dumps(bare, separators=(",", ":"))


def _button(label: str, alert: Alert, action: FeedbackAction, target: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": ACTION_PREFIX + action.value,
        "text": {"type": "plain_text", "text": label},
        "value": _value(alert, action, target),
    }


def _option(label: str, alert: Alert, action: FeedbackAction) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": _value(alert, action)}


def answered(blocks: Sequence[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """An alert's blocks once a click was stored: its buttons replaced by `note` (mrkdwn, escaped by
    the caller) so everyone in the channel sees who judged it and how."""
    kept = [block for block in blocks if block.get("block_id") != FEEDBACK_BLOCK]
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate_escaped(note, SECTION_LIMIT)}]}]


def slack_snippet(match: Match) -> str:
    """The passage around the matched words, escaped, with those words in bold."""
    return truncate_escaped(render(match.snippet, escape), SECTION_LIMIT)


def plain_text(alert: Alert) -> str:
    """The terminal rendering of an alert: the same facts as the Slack message, unescaped."""
    story, match = alert.story, alert.match
    published = utc_text(story.published_at) if story.published_at else "unknown"
    lines = [
        f"[{match.severity.value.upper()}] {match.watchlist}: {story.title}",
        f"  {plain_url(story.url)}",
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
    return visible("\n".join(lines))


def build_also_in(alert: Alert, *, unfurl_links: bool = False) -> dict[str, Any]:
    """A copy of an alerted story elsewhere: one line in the first alert's thread, no ping."""
    prefix = f"Also in {escape(alert.story.source)}: "  # counted in the link's room: cut, the link was left open
    text = prefix + story_link(alert.story.url, alert.story.title, SECTION_LIMIT - len(prefix))
    return {
        "text": truncate_escaped(f"Also in {escape(alert.story.source)}: {escape(alert.story.title)}", TEXT_LIMIT),
        "blocks": [{"type": "context", "elements": [mrkdwn(truncate_escaped(text, SECTION_LIMIT))]}],
        "unfurl_links": unfurl_links,
        "unfurl_media": unfurl_links,
    }


def plain_also_in(alert: Alert) -> str:
    return visible(f"  also in {alert.story.source}: {alert.story.title}\n  {plain_url(alert.story.url)}")


# Slack rejects a message whose blocks hold more than about 12,000 characters in all
# (msg_blocks_too_long; slackapi/bolt-js #2509 and #2867, where 11,341 was already refused).
DIGEST_MESSAGE_CHARS = 10_000
SOURCE_LIMIT = 200


@dataclass(frozen=True)
class DigestMessage:
    """One message of a digest and the alerts it lists, each in full: posting it delivers exactly those."""

    payload: dict[str, Any]
    plain: str
    alert_ids: tuple[str, ...]


def build_digest(title: str, alerts: Sequence[Alert], *, unfurl_links: bool = False) -> list[DigestMessage]:
    """Many alerts as few messages within Slack's limits, most severe first (in the order given
    within a severity), every alert whole: its link intact, its source, matched words and rules. A
    line is never cut and nothing is left out: when the alerts do not fit in one message (50 blocks,
    3,000 characters a section, about 12,000 a message), the digest continues in the next, whose
    header says which part it is. `title` is the header, and the notification's text."""
    parts: list[tuple[list[Alert], list[str]]] = []
    for alert in sorted(alerts, key=lambda alert: alert.match.severity.rank, reverse=True):  # a stable sort
        entry = digest_entry(alert)
        sections = _placed(parts[-1][1], entry) if parts else []
        if not parts or len(sections) > BLOCK_LIMIT - 1 or sum(map(len, sections)) > DIGEST_MESSAGE_CHARS:
            parts.append(([], []))
            sections = [entry]
        parts[-1][0].append(alert)
        parts[-1][1][:] = sections
    return [
        _digest_message(title, listed, sections, f" ({number}/{len(parts)})" if len(parts) > 1 else "", unfurl_links)
        for number, (listed, sections) in enumerate(parts, start=1)
    ]


def _digest_message(
    title: str, listed: list[Alert], sections: list[str], part: str, unfurl_links: bool
) -> DigestMessage:
    header = truncate(visible(title), HEADER_LIMIT - len(part)) + part
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": header}}]
    blocks += [{"type": "section", "text": mrkdwn(text)} for text in sections]
    payload = {
        "text": truncate_escaped(f"{escape(title)}{part}", TEXT_LIMIT),
        "blocks": blocks,
        "unfurl_links": unfurl_links,
        "unfurl_media": unfurl_links,
    }
    return DigestMessage(payload, plain_digest(title + part, listed), tuple(alert.id for alert in listed))


def digest_entry(alert: Alert) -> str:
    """One alert in a digest, at most one section long: link, source and the other outlets that carried
    it, then its vendor and topic words and its rules."""
    story, match = alert.story, alert.match
    facts = escaped_within(f"{why_text(match)}; rules: {rules_text(match)}", FACTS_LIMIT)
    source = escaped_within(story.source, SOURCE_LIMIT)
    if alert.also_in:
        source += f" (also in {escaped_within(', '.join(alert.also_in), SOURCE_LIMIT)})"
    emoji = SEVERITY_EMOJI[match.severity]
    room = SECTION_LIMIT - len(f"{emoji}  — {source}\n      ↳ {facts}")
    return f"{emoji} {story_link(story.url, story.title, room)} — {source}\n      ↳ {facts}"


def _placed(sections: list[str], entry: str) -> list[str]:
    """The section texts with one more entry: on the last section's end if it fits, else in a new one."""
    if sections and len(sections[-1]) + 1 + len(entry) <= SECTION_LIMIT:
        return [*sections[:-1], sections[-1] + "\n" + entry]
    return [*sections, entry]


def plain_digest(title: str, alerts: Sequence[Alert]) -> str:
    """A digest on the terminal: the same entries, in the order given."""
    lines = [title]
    for alert in alerts:
        also = f" (also in {', '.join(alert.also_in)})" if alert.also_in else ""
        lines.append(f"  [{alert.match.severity.value.upper()}] {alert.story.title}  {plain_url(alert.story.url)}")
        lines.append(f"      {alert.story.source}{also}; {why_text(alert.match)}; rules: {rules_text(alert.match)}")
    return visible("\n".join(lines))


def build_notice(text: str) -> dict[str, Any]:
    """newsbot's own words (delivery failing), not feed text: still escaped, never a mention. Its
    lines go in as many sections as Slack's 3,000 characters a section need: a notice naming many
    watchlists' failing channels was one section past the limit, refused, and retried every run."""
    sections: list[str] = []
    for line in (truncate_escaped(line, SECTION_LIMIT) for line in escape(text).split("\n")):
        if sections and len(sections[-1]) + 1 + len(line) <= SECTION_LIMIT:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
    if len(sections) > BLOCK_LIMIT:
        sections[BLOCK_LIMIT - 1 :] = [truncate_escaped("\n".join(sections[BLOCK_LIMIT - 1 :]), SECTION_LIMIT)]
    return {
        "text": truncate_escaped(escape(text), TEXT_LIMIT),
        "blocks": [{"type": "section", "text": mrkdwn(section)} for section in sections],
    }
