"""Scrapy spiders: the only place newsbot fetches from the network. See newsbot/sources/settings.py."""
