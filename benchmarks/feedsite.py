"""A synthetic news web for benchmarks/crawl.py: feeds, article pages and the server that hosts them.

Everything is generated from random.Random(SEED), so two runs serve the same bytes (but for the
dates, relative to now). Every sentence is new, and 3% of the full-content items are re-titled
copies of another feed's story, as syndicated news is. Sizes follow ../shared/corpus/feeds and
pages: a full-content feed's item is a 60-90 character title, a 150-400 character summary and
1.5-3.5 KB of HTML content (the corpus's full-content feeds, such as arstechnica's, carry 3.4-4.1 KB
per item in all); a teaser feed's item has a short description and no content, so newsbot's
`full_text: auto` fetches its article page, 40-85 KB of HTML with the navigation, inline scripts,
JSON-LD, related links and footer of a news site (the corpus's saved pages are 30-380 KB, median ~85
KB). Feeds are RSS 2.0 (content:encoded) or Atom, about 3 to 2.

`Site` binds one listening socket per loopback address (127.0.0.2, 127.0.0.3, …) in the calling
process, so every URL is known before any body is written, then serves from a child process
(asyncio, HTTP/1.1 keep-alive, gzip when asked, ETag/Last-Modified → 304, robots.txt → 404): the
client baseline in benchmarks/crawl.py's own process then shares no GIL with the server. Phases
("cold", "warm") select which version of each feed is served; `Site.phase(name)` switches, and
`Site.stats()` returns what the server did since the last switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import multiprocessing
import os
import random
import signal
import socket
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

SEED = 42
ITEMS_PER_FEED = 20

# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------

# General and security news vocabulary. Watchlist vendor names (Twilio, Sinch, …) are absent and
# "bandwidth" too (Bandwidth Inc is a case-sensitive vendor): matches come only from PLANTED.
WORDS = [
    "the", "a", "of", "to", "in", "and", "for", "on", "with", "by", "from", "at", "as", "is", "was",
    "were", "has", "have", "had", "said", "says", "report", "reports", "security", "network",
    "networks", "mobile", "phone", "phones", "operator", "operators", "carrier", "carriers",
    "customers", "users", "data", "access", "attack", "attackers", "vulnerability", "vulnerabilities",
    "exploit", "exploited", "flaw", "flaws", "patch", "patched", "update", "updates", "server",
    "servers", "cloud", "gateway", "messages", "routing", "protocol", "roaming", "platform", "vendor",
    "supplier", "contract", "company", "companies", "executive", "founder", "statement",
    "investigation", "police", "court", "regulator", "regulators", "fine", "million", "billion",
    "percent", "week", "month", "year", "government", "agency", "agencies", "intelligence", "officials",
    "researchers", "analysts", "tracking", "location", "calls", "logs", "records", "authentication",
    "codes", "passwords", "login", "accounts", "fraud", "scam", "software", "hardware", "devices",
    "firmware", "chip", "chips", "market", "share", "revenue", "quarter", "growth", "sales",
    "investors", "deal", "acquisition", "merger", "startup", "funding", "round", "service", "services",
    "outage", "outages", "incident", "incidents", "response", "team", "teams", "engineers",
    "infrastructure", "rollout", "deployment", "spectrum", "antenna", "tower", "towers", "satellite",
    "broadband", "fiber", "subscribers", "prices", "plan", "plans", "policy", "policies", "rules",
    "law", "lawmakers", "bill", "privacy", "consumer", "consumers", "complaint", "lawsuit",
    "settlement", "internal", "external", "public", "private", "source", "sources", "document",
    "documents", "emails", "systems"
]  # fmt: skip
NAMES = [
    "Halvorsen", "Okafor", "Brightline", "Meridian", "Castellan", "Norrland", "Veltrix", "Orbis",
    "Kestrel", "Aldane", "Quorra", "Solvay", "Tarrant", "Wexley", "Zorin", "Calder", "Pemberton",
    "Ashgrove", "Lindqvist", "Marisol", "Dunmore", "Everett", "Fairbank", "Grayson"
]  # fmt: skip
PLACES = [
    "Brussels", "Frankfurt", "Singapore", "Lagos", "Austin", "Toronto", "Madrid", "Nairobi", "Seoul",
    "Oslo", "Lisbon", "Denver"
]  # fmt: skip
SECTIONS = ("security", "telecom", "policy", "business", "tech", "world")
# A handful of items carry one of these, so the telecom watchlist alerts on a few stories.
PLANTED = (
    "Syniverse said attackers gained unauthorized access to its messaging platform for five years.",
    "Twilio confirmed a data breach after employees were targeted in a smishing campaign.",
    "Telesign customers were hit by SIM swap fraud, a court filing says.",
    "Infobip traffic was used for SMS pumping fraud, investigators said.",
    "Vonage disclosed a breach of customer records in its Nexmo API platform.",
)
PLANTED_EVERY = 400  # one item in this many carries a planted sentence
COPY_SHARE = 0.03  # items of full-content feeds that are a copy of another feed's story


SYLLABLES = (
    "ka", "lo", "mi", "tren", "ex", "va", "zo", "ne", "ri", "qua", "bel", "dor", "fin", "gar", "hul",
    "jin", "kor", "lum", "mar", "nix", "ost", "pra", "sel", "tav", "ulm", "vek", "wyn", "xan", "yor",
)  # fmt: skip


def _vocabulary() -> list[str]:
    """Common words 40 times over, about 1,500 made-up rarer words (a fifth of the text), names,
    places and numbers."""
    rng = random.Random(SEED)
    rare = sorted({"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) for _ in range(1_600)})
    numbers = [str(rng.randint(2, 2_000)) for _ in range(200)]
    return WORDS * 40 + rare + NAMES * 12 + PLACES * 12 + numbers


VOCABULARY = _vocabulary()
WORD_CHARS = sum(len(word) + 1 for word in VOCABULARY) / len(VOCABULARY)


class Writer:
    """News-like sentences, each one new (random.choices over VOCABULARY): two stories share no
    passage unless one is made a copy of the other, as newsbot clusters stories sharing passages."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def sentences_of(self, chars: int) -> list[str]:
        rng = self.rng
        words = rng.choices(VOCABULARY, k=int(chars / WORD_CHARS) + 1)
        sentences = []
        at = 0
        while at < len(words):
            chunk = words[at : at + rng.randint(10, 26)]
            at += len(chunk)
            if len(chunk) > 6 and rng.random() < 0.4:
                comma = rng.randrange(2, len(chunk) - 2)
                chunk[comma] += ","
            sentence = " ".join(chunk)
            sentences.append(sentence[0].upper() + sentence[1:] + ("?" if rng.random() < 0.04 else "."))
        return sentences

    def text(self, chars: int) -> str:
        return " ".join(self.sentences_of(chars))

    def title(self) -> str:
        words = self.sentences_of(120)[0].rstrip(".?").replace(",", "").split()[: self.rng.randint(8, 13)]
        return " ".join(words)

    def paragraphs(self, chars: int, base: str, planted: str | None = None) -> list[str]:
        """HTML paragraphs with some links and emphasis, `chars` of text in all."""
        paragraphs = []
        sentences = self.sentences_of(chars)
        if planted:
            sentences.insert(self.rng.randrange(len(sentences) + 1), planted)
        while sentences:
            take = sentences[: self.rng.randint(2, 5)]
            sentences = sentences[len(take) :]
            text = escape(" ".join(take))
            if self.rng.random() < 0.3:
                words = text.split(" ")
                at = self.rng.randrange(len(words))
                slug = "-".join(self.rng.choices(WORDS, k=4))
                words[at] = f'<a href="{base}/{self.rng.choice(SECTIONS)}/{slug}.html">{words[at]}</a>'
                text = " ".join(words)
            if self.rng.random() < 0.15:
                text = f"<strong>{text[:40]}</strong>{text[40:]}" if "<" not in text[:40] else text
            paragraphs.append(f"<p>{text}</p>")
        return paragraphs


# ---------------------------------------------------------------------------------------------
# Feeds and articles
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    serial: int
    title: str
    link: str
    summary: str  # plain text
    content: str  # HTML; empty in a teaser feed
    published: datetime
    author: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Resource:
    body: bytes
    gzipped: bytes
    content_type: str
    etag: str
    last_modified: str


@dataclass
class Feed:
    number: int
    host: int  # index into Site.hosts
    atom: bool
    teaser: bool
    url: str = ""
    path: str = ""
    items: list[Item] = field(default_factory=list)  # cold, newest first
    new_items: list[Item] = field(default_factory=list)  # what the warm phase adds (changed feeds only)


def _resource(body: bytes, content_type: str, version: str, modified: datetime) -> Resource:
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + version + '"'
    return Resource(body, gzip.compress(body, 6), content_type, etag, format_datetime(modified, usegmt=True))


def render_rss(feed: Feed, items: list[Item], base: str) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">\n'
        "<channel>\n"
        f"  <title>Newsroom {feed.number:04d}</title>\n"
        f'  <atom:link href="{feed.url}" rel="self" type="application/rss+xml"/>\n'
        f"  <link>{base}/</link>\n"
        f"  <description>Security and telecom news from newsroom {feed.number:04d}</description>\n"
        f"  <lastBuildDate>{format_datetime(items[0].published)}</lastBuildDate>\n"
        "  <language>en-US</language>\n  <sy:updatePeriod>hourly</sy:updatePeriod>\n"
        f"  <image><url>{base}/logo.png</url><title>Newsroom {feed.number:04d}</title><link>{base}/</link></image>\n"
    ]
    for item in items:
        categories = "".join(f"    <category><![CDATA[{name}]]></category>\n" for name in item.categories)
        content = f"    <content:encoded><![CDATA[{item.content}]]></content:encoded>\n" if item.content else ""
        parts.append(
            "  <item>\n"
            f"    <title>{escape(item.title)}</title>\n"
            f"    <link>{item.link}</link>\n"
            f"    <comments>{item.link}#comments</comments>\n"
            f"    <dc:creator><![CDATA[{item.author}]]></dc:creator>\n"
            f"    <pubDate>{format_datetime(item.published)}</pubDate>\n"
            f"{categories}"
            f'    <guid isPermaLink="true">{item.link}</guid>\n'
            f"    <description>{escape(item.summary)}</description>\n"
            f"{content}"
            "  </item>\n"
        )
    parts.append("</channel>\n</rss>\n")
    return "".join(parts).encode("utf-8")


def render_atom(feed: Feed, items: list[Item], base: str) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">\n'
        f"  <title>Newsroom {feed.number:04d}</title>\n"
        f"  <subtitle>Security and telecom news from newsroom {feed.number:04d}</subtitle>\n"
        f'  <link href="{feed.url}" rel="self"/>\n  <link href="{base}/" rel="alternate" type="text/html"/>\n'
        f"  <id>{base}/</id>\n  <updated>{items[0].published.isoformat()}</updated>\n"
    ]
    for item in items:
        categories = "".join(f"    <category term={quoteattr(name)}/>\n" for name in item.categories)
        content = f'    <content type="html">{escape(item.content)}</content>\n' if item.content else ""
        parts.append(
            "  <entry>\n"
            f"    <title>{escape(item.title)}</title>\n"
            f'    <link href="{item.link}" rel="alternate" type="text/html"/>\n'
            f"    <id>{item.link}</id>\n"
            f"    <published>{item.published.isoformat()}</published>\n"
            f"    <updated>{item.published.isoformat()}</updated>\n"
            f"    <author><name>{escape(item.author)}</name></author>\n"
            f"{categories}"
            f'    <summary type="html">{escape(escape(item.summary))}</summary>\n'
            f"{content}"
            "  </entry>\n"
        )
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")


def render_article(item: Item, writer: Writer, base: str) -> bytes:
    """A news article page: a long head, navigation, the story in <article>, related links, footer."""
    rng = writer.rng
    nav = "".join(
        f'<li><a href="{base}/{section}/{topic}/">{topic.title()}</a></li>'
        for section in SECTIONS
        for topic in rng.sample(WORDS, 10)
    )
    trending = "".join(
        f'<li><a href="{base}/{rng.choice(SECTIONS)}/{n}.html">{escape(writer.title())}</a></li>' for n in range(10)
    )
    related = "".join(
        f'<div class="card"><a href="{base}/{rng.choice(SECTIONS)}/r{n}.html"><img src="{base}/img/r{n}.jpg" '
        f'alt=""><h3>{escape(writer.title())}</h3></a><p>{escape(writer.text(120))}</p></div>'
        for n in range(12)
    )
    footer = "".join(f'<a href="{base}/about/{word}.html">{word.title()}</a> ' for word in rng.sample(WORDS, 40))
    script = "var _cfg=" + json.dumps({f"k{n}": writer.text(110) for n in range(rng.randint(100, 330))}) + ";"
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": item.title,
            "datePublished": item.published.isoformat(),
            "author": {"@type": "Person", "name": item.author},
        }
    )
    body = "\n".join(writer.paragraphs(rng.randint(3000, 6500), base))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(item.title)} | Newsroom</title>
<meta name="description" content={quoteattr(item.summary)}>
<meta property="og:title" content={quoteattr(item.title)}><meta property="og:type" content="article">
<meta property="article:published_time" content="{item.published.isoformat()}">
<link rel="canonical" href="{item.link}">
{"".join(f'<link rel="stylesheet" href="{base}/css/{n}.css">' for n in range(5))}
<script type="application/ld+json">{ld}</script>
<script>{script}</script>
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. {escape(writer.text(300))}</div>
<header><a class="logo" href="{base}/">Newsroom</a><nav><ul>{nav}</ul></nav></header>
<aside class="trending"><h2>Trending</h2><ol>{trending}</ol></aside>
<main><article>
<h1>{escape(item.title)}</h1>
<div class="byline">By <a href="{base}/authors/{item.author.replace(" ", "-").lower()}/">{escape(item.author)}</a>
<time datetime="{item.published.isoformat()}">{item.published:%B %d, %Y}</time></div>
<figure><img src="{base}/img/{item.serial}.jpg" alt="illustration">
<figcaption>{escape(writer.text(80))}</figcaption></figure>
{body}
<div class="share"><a href="#">Share on social media</a> <a href="#">Email</a> <a href="#">Copy link</a></div>
</article>
<section class="related"><h2>Related stories</h2>{related}</section>
<section class="newsletter"><h2>Newsletter</h2><form><input type="email"><button>Subscribe</button></form></section>
</main>
<footer>{footer}<p>© 2025 Newsroom Media. {escape(writer.text(200))}</p></footer>
<script>{script[: len(script) // 2]}</script>
</body></html>
"""
    return page.encode("utf-8")


def plan_feeds(count: int, teaser_every: int) -> list[Feed]:
    """Feed n is a teaser feed when n % teaser_every == 0; Atom for about 2 in 5."""
    rng = random.Random(SEED)
    return [Feed(n, 0, rng.random() < 0.4, n % teaser_every == 0) for n in range(count)]


def _items(
    feed: Feed, writer: Writer, base: str, newest: datetime, serials: range, spacing: int, wire: list[Item]
) -> list[Item]:
    """Items `serials`, newest first: the last serial at `newest`, each earlier one ~`spacing` minutes older.

    COPY_SHARE of a full-content feed's items are another feed's story (from `wire`, the stories
    written for earlier feeds) re-titled and cut by a paragraph, as syndicated wire copy is.
    """
    rng = writer.rng
    items = []
    earlier = len(wire)  # stories of the feeds written before this one
    for serial in reversed(serials):
        title = writer.title()
        planted = PLANTED[(feed.number + serial) % len(PLANTED)] if rng.randrange(PLANTED_EVERY) == 0 else None
        if feed.teaser:
            link = f"{base}/articles/{feed.number:04d}-{serial}.html"
            content = ""
            summary = writer.text(rng.randint(150, 300)) + (f" {planted}" if planted else "")
        else:
            slug = "-".join(word.lower().strip(",.?") for word in title.split()[:6])
            link = f"{base}/{rng.choice(SECTIONS)}/{newest:%Y/%m}/{slug}-{feed.number:04d}-{serial}.html"
            if earlier and rng.random() < COPY_SHARE:
                original = wire[rng.randrange(earlier)]
                content, summary = original.content.rsplit("\n", 1)[0], original.summary
            else:
                content = "\n".join(writer.paragraphs(rng.randint(1200, 3200), base, planted))
                summary = writer.text(rng.randint(150, 400))
        published = newest - timedelta(minutes=(serials[-1] - serial) * spacing + rng.randint(0, spacing // 2))
        items.append(
            Item(
                serial=serial,
                title=title,
                link=link,
                summary=summary,
                content=content,
                published=published,
                author=f"{rng.choice(NAMES)} {rng.choice(NAMES)}",
                categories=tuple(rng.sample(SECTIONS, 2)),
            )
        )
        if content and content.count("\n") >= 3:
            wire.append(items[-1])
    return items


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------


@dataclass
class Stats:
    requests: int = 0
    not_modified: int = 0
    not_found: int = 0
    articles: int = 0
    feeds: int = 0
    bytes_sent: int = 0
    cpu_seconds: float = 0.0


class _Server:
    """The child process's asyncio server; `phases` maps a phase name to {path: Resource}."""

    def __init__(self, phases: dict[str, dict[str, Resource]]):
        self.phases = phases
        self.phase = "cold"
        self.stats = Stats()
        self.cpu_at_switch = time.process_time()

    def respond(self, target: str, headers: dict[str, str]) -> tuple[str, list[tuple[str, str]], bytes]:
        if target.startswith("/_control/"):
            return self.control(target.removeprefix("/_control/"))
        self.stats.requests += 1
        resource = self.phases[self.phase].get(target)
        if resource is None:
            self.stats.not_found += 1
            return "404 Not Found", [("Content-Type", "text/plain")], b"not found"
        self.stats.articles += target.startswith("/articles/")
        self.stats.feeds += target.startswith("/feeds/")
        validators = [("ETag", resource.etag), ("Last-Modified", resource.last_modified)]
        if_none_match = headers.get("if-none-match")
        if (if_none_match is not None and if_none_match == resource.etag) or (
            if_none_match is None and headers.get("if-modified-since") == resource.last_modified
        ):
            self.stats.not_modified += 1
            return "304 Not Modified", validators, b""
        fields = [("Content-Type", resource.content_type), ("Vary", "Accept-Encoding"), *validators]
        if "gzip" in headers.get("accept-encoding", ""):
            fields.append(("Content-Encoding", "gzip"))
            return "200 OK", fields, resource.gzipped
        return "200 OK", fields, resource.body

    def control(self, command: str) -> tuple[str, list[tuple[str, str]], bytes]:
        if command.startswith("phase/"):
            self.phase = command.removeprefix("phase/")
            self.stats = Stats()
            self.cpu_at_switch = time.process_time()
        self.stats.cpu_seconds = time.process_time() - self.cpu_at_switch
        return "200 OK", [("Content-Type", "application/json")], json.dumps(self.stats.__dict__).encode()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if value:
                        headers[name.strip().lower()] = value.strip()
                status, fields, body = self.respond(target, headers)
                close = headers.get("connection", "").lower() == "close"
                fields.append(("Content-Length", str(len(body))))
                if close:
                    fields.append(("Connection", "close"))
                reply = f"HTTP/1.1 {status}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in fields) + "\r\n"
                writer.write(reply.encode("latin-1") + (body if method != "HEAD" else b""))
                self.stats.bytes_sent += len(body)
                await writer.drain()
                if close:
                    return
        except ConnectionError:
            return
        finally:
            writer.close()

    async def serve(self, sockets: list[socket.socket]) -> None:
        servers = [await asyncio.start_server(self.handle, sock=sock, limit=1 << 16) for sock in sockets]
        await asyncio.gather(*(server.serve_forever() for server in servers))


def _serve(phases: dict[str, dict[str, Resource]], sockets: list[socket.socket]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the server
    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(_Server(phases).serve(sockets))


# ---------------------------------------------------------------------------------------------
# The site
# ---------------------------------------------------------------------------------------------


class Site:
    """`feeds` feeds on up to `hosts` loopback addresses; every `teaser_every`-th feed is a teaser feed
    whose items link to article pages served here.

    The warm phase serves the same bodies (so a conditional GET gets a 304) except for
    `changed_share` of the first `changed_among` feeds, chosen at random, which gain 1-2 new items
    each (and drop as many old ones) under a new ETag.
    """

    def __init__(
        self, feeds: int, teaser_every: int, hosts: int, changed_among: int, changed_share: float = 0.05
    ) -> None:
        self.sockets, self.hosts = _bind(hosts)
        self.feeds = plan_feeds(feeds, teaser_every)
        rng = random.Random(SEED + 1)
        self.changed = set(rng.sample(range(changed_among), round(changed_among * changed_share)))
        self.process: multiprocessing.process.BaseProcess | None = None
        self.phases: dict[str, dict[str, Resource]] = {"cold": {}, "warm": {}}
        self._write()

    def _write(self) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        writer = Writer(random.Random(SEED))
        wire: list[Item] = []
        cold, warm = self.phases["cold"], self.phases["warm"]
        for feed in self.feeds:
            feed.host = feed.number % len(self.hosts)
            base = self.hosts[feed.host]
            feed.path = f"/feeds/{feed.number:04d}.{'atom' if feed.atom else 'xml'}"
            feed.url = base + feed.path
            writer.rng = random.Random(SEED * 1_000_003 + feed.number)
            feed.items = _items(feed, writer, base, now - timedelta(hours=1), range(ITEMS_PER_FEED), 200, wire)
            render = render_atom if feed.atom else render_rss
            content_type = "application/atom+xml; charset=utf-8" if feed.atom else "application/rss+xml; charset=utf-8"
            cold[feed.path] = warm[feed.path] = _resource(
                render(feed, feed.items, base), content_type, "", feed.items[0].published
            )
            if feed.number in self.changed:
                count = writer.rng.randint(1, 2)
                feed.new_items = _items(
                    feed, writer, base, now, range(ITEMS_PER_FEED, ITEMS_PER_FEED + count), 20, wire
                )
                items = feed.new_items + feed.items[:-count]
                warm[feed.path] = _resource(render(feed, items, base), content_type, "w", items[0].published)
            if feed.teaser:
                for item in [*feed.items, *feed.new_items]:
                    path = item.link.removeprefix(base)
                    resource = _resource(render_article(item, writer, base), "text/html; charset=utf-8", "", now)
                    cold[path] = warm[path] = resource

    def start(self) -> Site:
        context = multiprocessing.get_context("fork")
        self.process = context.Process(target=_serve, args=(self.phases, self.sockets), daemon=True)
        self.process.start()
        for sock in self.sockets:  # the child serves them; keeping them open here would do nothing
            sock.close()
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.pid is not None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.join(5)

    def _control(self, command: str) -> Stats:
        with urllib.request.urlopen(f"{self.hosts[0]}/_control/{command}", timeout=10) as response:
            return Stats(**json.loads(response.read()))

    def phase(self, name: str) -> Stats:
        return self._control(f"phase/{name}")

    def stats(self) -> Stats:
        return self._control("stats")

    def resource(self, url: str, phase: str = "cold") -> Resource:
        return self.phases[phase][urllib.parse.urlsplit(url).path]


def _bind(count: int) -> tuple[list[socket.socket], list[str]]:
    """One listening socket per loopback address 127.0.0.2…; as many as the system lets us bind."""
    sockets, hosts = [], []
    for number in range(2, 2 + count):
        address = f"127.0.0.{number}"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((address, 0))
        except OSError:
            sock.close()
            if sockets:
                break
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            address = "127.0.0.1"
            sock.bind((address, 0))
        sock.listen(1024)
        sockets.append(sock)
        hosts.append(f"http://{address}:{sock.getsockname()[1]}")
        if address == "127.0.0.1":
            break
    return sockets, hosts
