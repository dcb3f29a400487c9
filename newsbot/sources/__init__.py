"""Fetching: Scrapy in-process, its settings and bounds, address checks, pages, sitemaps and articles."""
