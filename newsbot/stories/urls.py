"""URLs as identities: which links newsbot follows, and the canonical form that names a story.

The same article reaches newsbot under many addresses: with a new `utm_campaign` each run, as an
AMP or mobile page, wrapped in an aggregator's redirect, with `:443` or a trailing slash. Each of
those is undone here, then w3lib canonicalises the rest (the form Scrapy uses for request
fingerprints), so they are all one story. A page's own `rel=canonical` is applied when the article
is fetched (spiders/news.py), which also joins syndicated copies that credit their original.

A fragment (`#comments`, `#xtor=RSS-3`) is dropped too, except where a feed says it names an item on
a page that holds many (fragment_names_item): there it is the only thing that tells the items apart.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from urllib.parse import SplitResult, parse_qsl, unquote_plus, urljoin, urlsplit, urlunsplit

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
        # A visitor's session, put in every link by servers that find cookies off (newsbot sends none):
        # a new address for the same story each run. Not `sid`, which is a story's own number on
        # some CMSs (`article.php?sid=1234`).
        "jsessionid",
        "phpsessid",
        "sessionid",
        "session_id",
        "cfid",
        "cftoken",
    }
)
_TRACKING_PREFIXES = ("utm_", "__twitter_", "oly_", "aspsessionid")
# Java servlets' session in the path itself: `/story.html;jsessionid=0A1B…?page=2`.
_PATH_SESSION = re.compile(r";jsessionid=[^/;?#]*", re.IGNORECASE)
# Redirect wrappers: (host, path prefix) → the query parameter that holds the real link.
WRAPPERS = {
    ("news.google.com", "/"): "url",
    ("www.google.com", "/url"): "q",
    ("google.com", "/url"): "q",
    ("l.facebook.com", "/l.php"): "u",
    ("lm.facebook.com", "/l.php"): "u",
    ("out.reddit.com", "/"): "url",
    ("www.bing.com", "/news/apiclick.aspx"): "url",
    ("t.umblr.com", "/redirect"): "z",
    ("www.linkedin.com", "/redir/redirect"): "url",
    ("slack-redir.net", "/link"): "url",
}
_AMP_QUERY = frozenset({"amp", "amp=1", "amp=true", "outputtype=amp", "output=amp", "_amp=true"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ROUNDS = 5
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# A link's host that needs no parser to tell it can be fetched (urlsplit costs 30 times this match).
_PLAIN_HOST = re.compile(r"https?://[A-Za-z0-9][A-Za-z0-9.-]*(?::(\d{1,5}))?(?=[/?#]|\Z)", re.IGNORECASE)
_LAST_PORT = 65_535
# An Atom link with no rel is "alternate", and a registered relation's name is the same relation as
# its IANA IRI (RFC 4287, 4.2.7.2); only an alternate page is where the entry itself is read.
_ALTERNATE = frozenset({"alternate", "http://www.iana.org/assignments/relation/alternate"})
_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})


def joined(base: str, link: str) -> str:
    """`link` resolved against `base`, or "" when either cannot be parsed (an unclosed `[` in a host
    makes urljoin raise): a link that leads nowhere, which every caller then skips as not http(s)."""
    try:
        return urljoin(base, link)
    except ValueError:
        return ""


def is_http_url(url: str) -> bool:
    """Only http(s) links that can be fetched become stories (see http_url_problem)."""
    return http_url_problem(url) is None


def http_url_problem(url: str) -> str | None:
    """Why `url` is not an http(s) address newsbot can fetch, or None. URL schemes are case-insensitive.
    A link is read from a page or a feed someone else writes: an unclosed `[` or a port past 65535
    makes every URL parser raise, and one such link once ended its whole source (or, in a team
    spider's item, the whole run); here it is a link like any other that leads nowhere."""
    if not url[:8].lower().startswith(("http://", "https://")):
        return "is not an http:// or https:// address"
    if (plain := _PLAIN_HOST.match(url)) and int(plain[1] or 0) <= _LAST_PORT:
        return None  # nearly every link: a name of letters, digits, dots and dashes, perhaps a port
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises for a port that is not one
    except ValueError as error:
        return f"is not a URL that can be fetched ({error})"
    if not parts.hostname:
        return "has no host"
    if any(character.isspace() or not character.isprintable() for character in parts.netloc):
        return "has a space or an invisible character in its host"
    return None


def is_absolute(url: str) -> bool:
    """A URL or URI with a scheme of its own (http:, tag:, urn:): nothing to resolve it against."""
    return _SCHEME.match(url) is not None


def entry_address(links: Iterable[tuple[str | None, str | None, str | None]]) -> str:
    """The href of an Atom entry's first alternate link to a page, from its (rel, type, href) links; "" if none.

    Its `license`, `enclosure`, `self`, `related` or `via` link names something else (a licence
    every entry shares, a media file, the feed), never the story: taking one as the address would
    merge every entry that shares it into one story. Both feed parsers' links go through here, so
    the fast path and feedparser's name an entry alike.
    """
    for rel, kind, href in links:
        relation = (rel or "alternate").strip().lower()
        media_type = (kind or "text/html").split(";", 1)[0].strip().lower()
        if href and href.strip() and relation in _ALTERNATE and media_type in _PAGE_TYPES:
            return href.strip()
    return ""


def _is_tracking(parameter: str) -> bool:
    key = unquote_plus(parameter.split("=", 1)[0]).lower()
    return key in TRACKING_PARAMETERS or key.startswith(_TRACKING_PREFIXES)


@functools.lru_cache(maxsize=4096)
def canonical_url(url: str, *, keep_fragment: bool = False) -> str:
    """The URL that identifies a story; idempotent, and http(s) links stay http(s).

    Applied until nothing changes: decoding can reveal more to remove (`%61mp` is `amp`), and a
    wrapper may wrap a wrapper. The fragment is kept only when asked (a FeedEntry that is `anchored`).
    Cached: a story's link is made canonical four or five times between its feed and its row (finding
    copies in the feed, the item's identity, the story), and each costs two parses and a rebuild.
    """
    for _ in range(MAX_ROUNDS):
        canonical = _canonical_once(url, keep_fragment)
        if canonical == url:
            break
        url = canonical
    return url


def fragment_names_item(link: str, guid: str) -> bool:
    """Whether a feed item's link fragment is part of its identity: the link has one, and the item has
    a guid that is not simply the address of the page.

    scripting.com's day pages hold many posts, each at its own anchor, link and guid alike
    (`…/23.html#a120634`): without the fragment they would be one story. Where the guid is the page
    (`#xtor=RSS-3` with the page as guid), or there is no guid, nothing says the fragment is more than
    a place on the page or a tracker, and copies of the story must meet under one address.
    """
    if not guid or "#" not in link or not urlsplit(link).fragment:
        return False
    if guid == link or not is_http_url(guid):
        return True
    return canonical_url(guid, keep_fragment=True) != canonical_url(link)


def _canonical_once(url: str, keep_fragment: bool) -> str:
    parts = urlsplit(_unwrapped(url))
    kept = [
        parameter
        for parameter in parts.query.split("&")
        if parameter and not _is_tracking(parameter) and parameter.lower() not in _AMP_QUERY
    ]
    host = _canonical_host(parts)
    path = _without_amp(_PATH_SESSION.sub("", parts.path))
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    canonical = urlunsplit(parts._replace(netloc=host, path=path, query="&".join(kept)))
    return canonicalize_url(canonical, keep_fragments=keep_fragment)


def _unwrapped(url: str, depth: int = 3) -> str:
    """The link inside an aggregator's redirect wrapper (Google, Facebook, Bing, …), if any."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for (wrapper, prefix), parameter in WRAPPERS.items():
        if host == wrapper and parts.path.startswith(prefix):
            inner = dict(parse_qsl(parts.query)).get(parameter, "")
            if is_http_url(inner) and depth > 0:
                return _unwrapped(inner, depth - 1)
    return url


def _canonical_host(parts: SplitResult) -> str:
    """Lower-case host without a default port, an `amp.` or a mobile (`m.`, `mobile.`) prefix."""
    host = (parts.hostname or "").lower()
    for prefix in ("amp.", "m.", "mobile."):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host.removeprefix(prefix)
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    return f"{userinfo}@{host}" if userinfo else host


def _without_amp(path: str) -> str:
    """`/amp/story`, `/story/amp`, `/story/amp/` and `/story.amp.html` are the story's AMP page."""
    segments = path.split("/")
    if "amp" in segments[1:]:
        segments = [segment for index, segment in enumerate(segments) if index == 0 or segment != "amp"]
        path = "/".join(segments) or "/"
    return path.replace(".amp.html", ".html")
