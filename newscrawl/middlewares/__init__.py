"""Scrapy middlewares: what a crawl fetches (incremental crawling) and how it fetches it."""
