"""Scrapy spiders: the only place newsbot fetches from the network. See newsbot/settings.py."""
