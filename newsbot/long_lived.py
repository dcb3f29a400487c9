"""Keep what a process has built before its work out of the cyclic garbage collector's way.

A run's process holds about 90,000 objects once Scrapy, Twisted, pydantic and its config are
loaded, and none of them ever becomes garbage; yet every full collection (triggered as the crawl's
and the stages' allocations pile up) walks them all, and so does the final collection at exit.
`gc.freeze()` moves them into a generation the collector never walks. Measured on a cold
`benchmarks/crawl.py` run of 1,000 feeds, the run's process: garbage collection 0.55 → 0.31 s,
its exit 0.19 → 0.08 s. What is frozen is never freed before the process ends, so this is for
processes that do one job and exit (a run and its children), called once, after their imports.
"""

import gc


def freeze_what_exists() -> None:
    """Every object alive now is treated as permanent by the collector from here on."""
    gc.freeze()
