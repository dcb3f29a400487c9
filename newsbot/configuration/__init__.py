"""The configuration: newsbot.yaml, watchlist files, their validation with file:line, secrets, OPML."""
