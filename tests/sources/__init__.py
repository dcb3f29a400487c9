"""newsbot.sources and newsbot.spiders in-process: crawl settings, pages, spider callbacks, address forms."""
