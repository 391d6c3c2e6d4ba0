"""The throughput baseline: Scrapy following every on-site link, extracting nothing.

    scrapy runspider bench/bare_spider.py -a start_urls=http://127.0.0.1:PORT/en

It fetches what ``daily8`` fetches on the benchmark site (the seed, robots.txt,
the sitemaps, listings, articles and their related links) with the same settings
but none of newscrawl's components (page objects, items, pipelines, middlewares),
so the gap between the two is the cost of newscrawl itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

from scrapy import Request
from scrapy.http import Response
from scrapy.spiders import SitemapSpider


class BareSpider(SitemapSpider):
    name = "bare"
    # Scrapy's own components only: none of newscrawl's pipelines, middlewares or
    # extensions, except those reporting the stats and the benchmark probe.
    custom_settings: ClassVar[dict[str, Any]] = {
        "ITEM_PIPELINES": {},
        "SPIDER_MIDDLEWARES": {},
        "DOWNLOADER_MIDDLEWARES": {},
        "DOWNLOAD_HANDLERS": {},
        "EXTENSIONS": {"newscrawl.extensions.StatsFile": 500, "bench.probe.Probe": 900},
        "NEWSCRAWL_STORE_ENABLED": False,
    }

    def __init__(self, start_urls: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = [start_urls]
        self.sitemap_urls = [urljoin(start_urls, "/robots.txt")]
        self.allowed_domains = [urlsplit(start_urls).hostname or ""]

    async def start(self) -> AsyncIterator[Request]:
        for url in self.start_urls:
            yield Request(url)
        async for request in super().start():
            yield request

    def parse(self, response: Response) -> Iterator[Request]:
        yield from response.follow_all(css="a")
