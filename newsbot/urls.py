"""URLs as identities: which links newsbot follows, and the canonical form that names a story.

Canonicalisation is w3lib's (the one Scrapy uses for request fingerprints), after tracking
parameters are dropped, so the same article linked from two feeds, or with a new `utm_campaign`
in the next run, is one story.
"""

from __future__ import annotations

from urllib.parse import unquote_plus, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref_src",
        "cmpid",
        "ncid",
        "sr_share",
        "guccounter",
    }
)
_TRACKING_PREFIXES = ("utm_", "__twitter_", "oly_")


def is_http_url(url: str) -> bool:
    """Only http(s) links become stories (URL schemes are case-insensitive)."""
    return url[:8].lower().startswith(("http://", "https://"))


def _is_tracking(parameter: str) -> bool:
    key = unquote_plus(parameter.split("=", 1)[0]).lower()
    return key in TRACKING_PARAMETERS or key.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The URL that identifies a story: no tracking parameters, no fragment, sorted query."""
    parts = urlsplit(url)
    kept = [parameter for parameter in parts.query.split("&") if parameter and not _is_tracking(parameter)]
    return canonicalize_url(urlunsplit(parts._replace(query="&".join(kept))), keep_fragments=False)
