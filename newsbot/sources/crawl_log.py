"""Scrapy's and Twisted's own log lines, kept as the run's warnings instead of reaching stderr.

A robots.txt that cannot be fetched or an article host that refuses connections makes Scrapy log
an ERROR with a 60-line traceback. newsbot already reports each failure in the run's summary, by
source and in a sentence; the same failure on stderr would make cron mail every ten minutes about
a problem nobody can act on. So, unless `-v` asks for the crawl's own logging, the CLI's stderr
handler drops those records (`hide_crawler_records`) and the run collects their first lines.

Both sit on the root logger's side: Scrapy runs `logging.config.dictConfig` when a crawl starts,
which strips any handler from its own `scrapy` and `twisted` loggers.
"""

from __future__ import annotations

import contextlib
import logging

from newsbot.log_capture import collected_by

# Scrapy and Twisted, and the libraries that read what they fetch: trafilatura logs an ERROR for an
# article page that is empty or not HTML, which the source's warnings already say in a sentence.
CRAWLER_LOGGERS = ("scrapy", "twisted", "py.warnings", "filelock", "hpack", "trafilatura", "htmldate", "courlan")
MAX_KEPT = 20  # the summary shows a few; a thousand dead links need not be a thousand lines


def is_crawler_record(record: logging.LogRecord) -> bool:
    return any(record.name == name or record.name.startswith(name + ".") for name in CRAWLER_LOGGERS)


def hide_crawler_records(record: logging.LogRecord) -> bool:
    """A logging filter for the stderr handler: the crawler's records are the run's warnings."""
    return not is_crawler_record(record)


class CrawlerWarnings(logging.Handler):
    """The first line of every crawler record of WARNING or worse, deduplicated, in arrival order."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.addFilter(is_crawler_record)
        self.lines: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().strip()
        except Exception:  # a record whose arguments do not format must not break the crawl
            message = str(record.msg).strip()
        first_line = message.splitlines()[0] if message else ""
        if first_line and (first_line in self.lines or len(self.lines) < MAX_KEPT):
            self.lines[first_line] = self.lines.get(first_line, 0) + 1

    def warnings(self) -> list[str]:
        return [line if count == 1 else f"{line} (×{count})" for line, count in self.lines.items()]


def crawler_warnings() -> contextlib.AbstractContextManager[CrawlerWarnings]:
    """Collect the crawler's warnings while the block runs."""
    return collected_by(CrawlerWarnings())
