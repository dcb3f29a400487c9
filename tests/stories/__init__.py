"""newsbot.stories in-process: feeds, normalisation, the fast parser against feedparser, text bounds."""
