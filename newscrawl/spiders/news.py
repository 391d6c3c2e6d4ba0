"""Any news site: seeds, RSS/Atom feeds and sitemaps, into article records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any, Self
from urllib.parse import urlsplit

from lxml import etree
from scrapy.crawler import Crawler
from scrapy.http import Request, Response, TextResponse

from newscrawl.pages.classify import looks_like_article_url
from newscrawl.processors import parse_date
from newscrawl.spiders import arguments
from newscrawl.spiders.base import ArticleSpider
from newscrawl.vocab import (
    ARTICLE,
    FEED,
    PAGE_KIND,
    STATS_DROPPED,
    STATS_EXTRACT,
    STATS_FEED,
    STATS_SINCE,
)

_XML = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)


class NewsSpider(ArticleSpider):
    """Crawl any news site with the generic extractor (or a site's own page object).

    ``scrapy crawl news -a start_urls=https://example.com/ -a feeds=https://example.com/rss``
    ``-a sitemaps=https://example.com/news-sitemap.xml -a since=2025-05-01``

    Pages are classified, not assumed: every in-domain page is read, pages whose
    probability of being one story reaches ``NEWSCRAWL_MIN_ARTICLE_PROBABILITY``
    become items (a page fetched as an article that falls short is counted as
    ``newscrawl/dropped/not_an_article``), and every page's links are followed
    within ``DEPTH_LIMIT`` and the per-site ``max_pages`` budget (which counts
    every page request here: a link's shape only guesses whether it is an article).
    """

    name = "news"
    min_article_probability: float  # NEWSCRAWL_MIN_ARTICLE_PROBABILITY, set by from_crawler

    def __init__(
        self,
        feeds: str | list[str] | None = None,
        sitemaps: str | list[str] | None = None,
        since: str | None = None,
        **kwargs: Any,
    ) -> None:
        explicit_domains = bool(kwargs.get("allowed_domains"))
        super().__init__(**kwargs)
        self.feeds = arguments.urls("feeds", feeds)
        self.sitemaps = arguments.urls("sitemaps", sitemaps)
        self.since = arguments.iso_date("since", since)
        if not explicit_domains:
            hosts = {urlsplit(url).hostname for url in self.feeds + self.sitemaps}
            self.allowed_domains = sorted(set(self.allowed_domains) | {h for h in hosts if h})

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.min_article_probability = crawler.settings.getfloat(
            "NEWSCRAWL_MIN_ARTICLE_PROBABILITY"
        )
        return spider

    async def start(self) -> AsyncIterator[Request]:
        async for request in super().start():
            yield request
        for url in self.feeds:
            yield Request(url, callback=self.parse_feed, meta={PAGE_KIND: FEED})
        for url in self.sitemaps:
            yield self.sitemap_request(url)

    def is_recent(self, published: str | None) -> bool:
        """Whether a sitemap or feed entry is new enough for ``-a since``."""
        if self.since is None or not published:
            return True
        parsed = parse_date(published)
        if parsed and datetime.fromisoformat(parsed).date() < self.since:
            self.crawler.stats.inc_value(f"{STATS_SINCE}/skipped")
            return False
        return True

    def wants_sitemap_entry(self, entry: dict[str, Any]) -> bool:
        return self.is_recent(entry.get("publication_date") or entry.get("lastmod"))

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """RSS 2.0 ``<item>`` and Atom ``<entry>`` links, filtered by date."""
        try:
            root = etree.fromstring(response.body, parser=_XML)
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            self.logger.warning("Unreadable feed at %s", response.url)
            self.crawler.stats.inc_value(f"{STATS_FEED}/unreadable")
            return
        for entry in root.xpath("//*[local-name()='item' or local-name()='entry']"):
            link = entry.xpath(
                "string(*[local-name()='link'][not(@rel) or @rel='alternate']/@href"
                " | *[local-name()='link'][not(@href)])"
            ).strip()
            published = entry.xpath(
                "string(*[local-name()='pubDate' or local-name()='published'"
                " or local-name()='updated' or local-name()='date'])"
            ).strip()
            if link and self.is_recent(published):
                request = self.article_request(response.urljoin(link), parent=response)
                if request:
                    yield request

    async def parse_listing(self, response: Response) -> list[Any]:
        return await self.parse_page(response)

    async def parse_article(self, response: Response) -> list[Any]:
        return await self.parse_page(response)

    async def parse_page(self, response: Response) -> list[Any]:
        """The page's record if it reads as a story, and requests for its links.

        Classification, extraction and link extraction run where extraction does
        (``newscrawl.workers``): this callback only counts, logs and schedules. A
        coroutine returning a list, for the reason ``Daily8Spider.parse_article`` gives.
        """
        if not isinstance(response, TextResponse):
            return []
        page = await self.extractor.extract(
            response, None, self.name, min_probability=self.min_article_probability, links=True
        )
        output: list[Any] = []
        if page.item is not None:
            if page.issues:
                # A source that failed (JSON too deep or broken) costs that source only.
                for issue in page.issues:
                    self.crawler.stats.inc_value(f"{STATS_EXTRACT}/{issue}")
                self.logger.warning(
                    "Extraction issues (%s): %s", ", ".join(page.issues), response.url
                )
            output.append(page.item)
        elif response.meta.get(PAGE_KIND) == ARTICLE:
            # Fetched as an article, read as something else: counted, never silent.
            self.crawler.stats.inc_value(f"{STATS_DROPPED}/not_an_article")
            self.logger.warning(
                "Not an article (%s, probability %.2f): %s",
                page.page_type,
                page.probability or 0.0,
                response.url,
            )
        for url, nofollow in page.links:
            if nofollow or not self.is_allowed(url):
                continue
            if looks_like_article_url(url):
                if request := self.article_request(url, parent=response):
                    output.append(request)
            elif self.spend_budget(url):  # unknown pages count against the budget too
                output.append(self.listing_request(url))
        return output
