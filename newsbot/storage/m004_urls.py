"""canonical_url as migration m004 applies it: a frozen copy of newsbot.stories.urls (as of commit
3ea03a1, "canonical_url to a fixed point"), so that m004 does tomorrow what it did the day it was
written whatever later changes urls.py. Do not edit it to follow urls.py; a new canonical form for
stored stories needs a new migration with a copy of its own.
"""

from __future__ import annotations

from urllib.parse import SplitResult, parse_qsl, unquote_plus, urlsplit, urlunsplit

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


def is_http_url(url: str) -> bool:
    """Only http(s) links become stories (URL schemes are case-insensitive)."""
    return url[:8].lower().startswith(("http://", "https://"))


def _is_tracking(parameter: str) -> bool:
    key = unquote_plus(parameter.split("=", 1)[0]).lower()
    return key in TRACKING_PARAMETERS or key.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The URL that identifies a story; idempotent, and http(s) links stay http(s).

    Applied until nothing changes: decoding can reveal more to remove (`%61mp` is `amp`), and a
    wrapper may wrap a wrapper.
    """
    for _ in range(MAX_ROUNDS):
        canonical = _canonical_once(url)
        if canonical == url:
            break
        url = canonical
    return url


def _canonical_once(url: str) -> str:
    parts = urlsplit(_unwrapped(url))
    kept = [
        parameter
        for parameter in parts.query.split("&")
        if parameter and not _is_tracking(parameter) and parameter.lower() not in _AMP_QUERY
    ]
    host = _canonical_host(parts)
    path = _without_amp(parts.path)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    canonical = urlunsplit(parts._replace(netloc=host, path=path, query="&".join(kept)))
    return canonicalize_url(canonical, keep_fragments=False)


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
