"""Incremental crawling: a scheduled re-run fetches only articles not stored yet.

Listing pages, feeds and sitemaps are fetched every run (that is where new
articles appear); requests for article pages whose URL already leads to a stored
article are dropped before they reach the scheduler. URLs are looked up in
batches, one query per batch, by URL key (``newscrawl.processors.url_key``), so
fetched, canonical and merged-duplicate URLs all count as stored.

A dropped request gives its page back to the spider's ``budget`` (``max_pages``,
a :class:`newscrawl.budget.PageBudget`; spiders without one have no budget), so
a budget is spent on new articles only. When a budget is about to run out the
pending batch is looked up at once, before the spider offers its next request,
so the refund arrives in time.

Off with ``-a incremental=0`` (one run) or ``NEWSCRAWL_INCREMENTAL_ENABLED=False``,
and whenever the store is disabled. Stats: ``newscrawl/incremental/checked``
(article requests looked up), ``/skipped`` (dropped as stored), ``/queries``
and ``/errors`` (no database, or a failed lookup: requests are then fetched, never lost).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from newscrawl.budget import PageBudget
from newscrawl.db.crawl import CrawlDatabase
from newscrawl.db.store import ArticleStore
from newscrawl.processors import url_key
from newscrawl.vocab import ARTICLE, PAGE_KIND, STATS_INCREMENTAL

logger = logging.getLogger(__name__)


class IncrementalMiddleware:
    """Spider middleware dropping requests for article URLs already stored.

    Settings: ``NEWSCRAWL_INCREMENTAL_ENABLED`` (default True),
    ``NEWSCRAWL_INCREMENTAL_BATCH_SIZE`` (URLs per lookup, default 200).
    """

    def __init__(self, crawler: Crawler, batch_size: int) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.batch_size = batch_size
        self.database: CrawlDatabase | None = None
        self.store: ArticleStore | None = None
        self.budget: PageBudget | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalMiddleware:
        settings = crawler.settings
        if not settings.getbool("NEWSCRAWL_STORE_ENABLED"):
            raise NotConfigured("the store is disabled: nothing to compare with")
        if not settings.getbool("NEWSCRAWL_INCREMENTAL_ENABLED"):
            raise NotConfigured("NEWSCRAWL_INCREMENTAL_ENABLED is off")
        middleware = cls(crawler, max(1, settings.getint("NEWSCRAWL_INCREMENTAL_BATCH_SIZE")))
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    async def spider_opened(self, spider: Spider) -> None:
        self.budget = getattr(spider, "budget", None)
        if not getattr(spider, "incremental", True):
            logger.info(
                "Incremental crawl off (-a incremental=0): stored articles are fetched again"
            )
            return
        database = CrawlDatabase.of(self.crawler)
        if database.failed:
            return  # the store pipeline said why, and the crawl stops
        try:
            await database.acquire()
        except Exception as exc:  # crawl everything rather than nothing
            logger.error("Incremental crawl off, no database: %s", database.describe(exc))
            self.stats.inc_value(f"{STATS_INCREMENTAL}/errors")
            return
        self.database = database
        self.store = ArticleStore(database.link())
        logger.info(
            "Incremental crawl: articles already stored in %s are not fetched", database.label
        )

    async def spider_closed(self) -> None:
        database, self.database, self.store = self.database, None, None
        if database is not None:
            await database.release()

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        """Pass everything through but article requests, which wait for one lookup per batch."""
        if self.store is None:
            async for output in result:
                yield output
            return
        pending: list[Request] = []
        async for output in result:
            if not (isinstance(output, Request) and output.meta.get(PAGE_KIND) == ARTICLE):
                yield output
                continue
            pending.append(output)
            budget_spent = self.budget is not None and self.budget.exhausted(output.url)
            if len(pending) >= self.batch_size or budget_spent:
                for request in await self._new(pending):
                    yield request
                pending = []
        for request in await self._new(pending):
            yield request

    async def _new(self, requests: list[Request]) -> list[Request]:
        """The requests whose URL leads to no stored article; on a failed lookup, all of them."""
        if not requests:
            return requests
        assert self.store is not None
        keyed = [(request, url_key(request.url)) for request in requests]
        self.stats.inc_value(f"{STATS_INCREMENTAL}/checked", len(requests))
        self.stats.inc_value(f"{STATS_INCREMENTAL}/queries")
        try:
            known = await self.store.known_url_keys(sorted({key for _, key in keyed}))
        except Exception as exc:  # fetching again is better than losing new articles
            logger.error(
                "Incremental lookup of %d URLs failed, fetching them: %s",
                len(keyed),
                CrawlDatabase.of(self.crawler).describe(exc),
            )
            self.stats.inc_value(f"{STATS_INCREMENTAL}/errors")
            return requests
        fresh = []
        for request, key in keyed:
            if key not in known:
                fresh.append(request)
                continue
            logger.debug("Skipping stored article %s", request.url)
            self.stats.inc_value(f"{STATS_INCREMENTAL}/skipped")
            if self.budget is not None:
                self.budget.refund(request.url)
        return fresh
