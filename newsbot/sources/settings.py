"""Scrapy settings for every newsbot crawl: polite, bounded, and quiet.

`newsbot.sources.crawl` loads this module explicitly (cron starts in $HOME, where Scrapy would not find
scrapy.cfg) and overlays the `fetch:` section of newsbot.yaml on it.
"""

from scrapy.settings import default_settings

from newsbot.configuration import source_config  # lowercase: not a Scrapy setting

BOT_NAME = "newsbot"
SPIDER_MODULES = ["newsbot.spiders"]
NEWSPIDER_MODULE = "newsbot.spiders"

# Polite from the first request.
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = source_config.MAX_THROTTLE_DELAY  # also fetch.autothrottle_start_delay's bound
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Scrapy (2.13 on) starts CONCURRENT_ITEMS asyncio tasks for every response's output, however few items
# it has (scrapy/scrapy#5182, #7959): its default of 100 cost a warm run of 1,000 feeds ~100,000 tasks
# and 1.5 s of its 12. newsbot's items and requests are handed over synchronously (newsbot.sources.crawl
# collects them), so processing them one at a time loses nothing.
CONCURRENT_ITEMS = 1
# AutoThrottle for feed polling: an unchanged feed's 304 paces its host as a 200 does, instead of
# holding it at the start delay (see newsbot/sources/throttle.py). A 304 lowers a host's delay to no
# less than 25 ms: at most 40 conditional GETs a second to a host that answers them in a millisecond.
# A host answered within the last 7 days starts at the delay it ended that run with, not at the start
# delay (never below 25 ms nor above the max delay): newsbot.sources.crawl sets DOWNLOAD_SLOTS for it.
EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "newsbot.sources.throttle.PollingThrottle": 0,
}
NEWSBOT_NOT_MODIFIED_MIN_DELAY = 0.025

# Bounded: Scrapy's defaults (1 GiB, 180 s) would let one hostile feed stall a cron run.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0  # a source over DOWNLOAD_MAXSIZE is reported in the run's summary
DOWNLOAD_TIMEOUT = 30
DNS_TIMEOUT = 15
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_BACKOFF_SECONDS = 2.0
RETRY_BACKOFF_MAX_SECONDS = 30.0
REDIRECT_MAX_TIMES = 5
# A <meta http-equiv="refresh"> is followed as a redirect only when it is one (a few seconds at most):
# a news page that reloads itself every minute was followed to itself until "redirected too many
# times", and its source failed every run (Scrapy's default follows refreshes of up to 100 s).
METAREFRESH_MAXDELAY = 5

# Every connection's resolved address is checked (redirects included), and a public source's
# links may not reach an internal source's host: see newsbot/sources/addresses.py.
TWISTED_DNS_RESOLVER = "newsbot.sources.addresses.GuardedResolver"
DOWNLOADER_MIDDLEWARES = {
    "newsbot.sources.bounds.BoundsGate": 10,  # first: a stopped run or a dead host costs no DNS lookup or robots.txt
    "newsbot.sources.addresses.SourceGuard": 50,  # before robots.txt (100): a refused URL costs no request at all
    "newsbot.sources.bounds.BoundsGateAfterRobots": 101,  # a host skipped while its robots.txt was fetched
    "newsbot.sources.throttle.RobotsTxtOwnSlot": 102,  # robots.txt is not the host's first paced request
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "newsbot.sources.retries.BackoffRetryMiddleware": 550,
}

# Feeds only ever come over http(s): no local files, no data: URLs, no FTP or S3. HTTP goes through
# Scrapy's own handler, bounded by the run: its budget, its dead hosts (see newsbot/sources/bounds.py).
DOWNLOAD_HANDLERS = {
    "http": "newsbot.sources.bounds.BoundedDownloadHandler",
    "https": "newsbot.sources.bounds.BoundedDownloadHandler",
    "file": None,
    "data": None,
    "ftp": None,
    "s3": None,
}
# newsbot.sources.bounds cancels transfers as asyncio tasks: the asyncio reactor (Scrapy's default) is required.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# Conditional GET is done per source with stored validators (see spiders/news.py), not with
# Scrapy's HTTP cache, whose state would be a second store beside the database.
HTTPCACHE_ENABLED = False
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # no listening port during a cron run
# Not merely disabled but left out: Scrapy imports every component it is given to learn whether it is
# enabled, and a name set to None in EXTENSIONS is imported too; the remote control's aiohttp cost every
# run 0.1 s of its start. (The cookie middleware stays, for a team spider that turns cookies on.)
_listening_ports = {"scrapy.extensions.remote_control.RemoteControl", "scrapy.extensions.telnet.TelnetConsole"}
EXTENSIONS_BASE = {
    name: order for name, order in default_settings.EXTENSIONS_BASE.items() if name not in _listening_ports
}

# Items are collected in-process by newsbot.sources.crawl; no feed exports.
FEEDS: dict[str, dict[str, object]] = {}
LOG_LEVEL = "WARNING"
LOG_INSTALL_ROOT_HANDLER = False  # newsbot.cli.commands configures logging
