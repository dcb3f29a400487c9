"""newsbot.configuration in-process: newsbot.yaml, sources, OPML."""
