"""Feed entry → Story: a canonical URL as the story's identity, plain text, UTC time.

Canonicalisation is w3lib's (the one Scrapy uses for request fingerprints), after tracking
parameters are dropped, so the same article linked from two feeds, or with a new `utm_campaign`
in the next run, is one story.
"""

from __future__ import annotations

import hashlib
import html
import re
from urllib.parse import parse_qsl, urlsplit

from w3lib.html import remove_tags, remove_tags_with_content, replace_entities
from w3lib.url import canonicalize_url, url_query_cleaner

from newsbot.models import FeedEntry, Story

TRACKING_PARAMETERS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_hsenc",
     "_hsmi", "mkt_tok", "ref_src", "cmpid", "ncid", "sr_share", "guccounter"}
)
_TRACKING_PREFIXES = ("utm_", "__twitter_", "oly_")
_WHITESPACE = re.compile(r"\s+")
_BLOCK_TAGS = re.compile(r"</?(p|div|br|li|h[1-6]|blockquote|tr|section|article)\b[^>]*>", re.I)


def canonical_url(url: str) -> str:
    """The URL that identifies a story: no tracking parameters, no fragment, sorted query."""
    query_keys = {key for key, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    tracking = [
        key for key in query_keys
        if key.lower() in TRACKING_PARAMETERS or key.lower().startswith(_TRACKING_PREFIXES)
    ]
    if tracking:
        url = url_query_cleaner(url, tracking, remove=True, keep_fragments=True)
    return canonicalize_url(url, keep_fragments=False)


def story_id(url: str) -> str:
    """A short, stable id for a canonical URL, used as a key in the outbox and in Slack metadata."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]


def html_to_text(markup: str) -> str:
    """Readable plain text from feed HTML: no tags, scripts or styles, entities decoded, spaced."""
    if "<" not in markup and "&" not in markup:
        return _WHITESPACE.sub(" ", markup).strip()
    markup = remove_tags_with_content(markup, which_ones=("script", "style", "noscript"))
    markup = _BLOCK_TAGS.sub(" ", markup)
    text = html.unescape(replace_entities(remove_tags(markup)))
    return _WHITESPACE.sub(" ", text).strip()


def to_story(entry: FeedEntry, source: str) -> Story | None:
    """A Story, or None when the entry has no http(s) link to identify it."""
    if not entry.link.startswith(("http://", "https://")):
        return None
    url = canonical_url(entry.link)
    summary = html_to_text(entry.summary)
    text = html_to_text(entry.content)
    return Story(
        id=story_id(url),
        url=url,
        title=html_to_text(entry.title) or url,
        summary=summary,
        text=text if text != summary else "",
        source=source,
        published_at=entry.published,
    )
