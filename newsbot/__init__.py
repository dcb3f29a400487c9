"""newsbot: crawl telecom-security news, match it against watchlists, alert Slack once per match."""

__version__ = "0.1.0"
