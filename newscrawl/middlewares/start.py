"""A spider's start requests that fail: one error line, a count, and a failed exit.

Scrapy logs a failing ``Spider.start()`` with its traceback twice and finishes the
crawl as if nothing happened (exit 0). This middleware wraps the start requests of
every spider: the error becomes one ERROR line (the traceback at DEBUG) and
``newscrawl/errors/start``, which ``scrapy crawl`` turns into exit code 1
(``newscrawl.commands.crawl``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.statscollectors import StatsCollector

from newscrawl.vocab import STATS_START_ERRORS

logger = logging.getLogger(__name__)


class StartGuard:
    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StartGuard:
        assert crawler.stats is not None
        return cls(crawler.stats)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        try:
            async for item_or_request in start:
                yield item_or_request
        except CloseSpider:
            raise
        except Exception as exc:
            self.stats.inc_value(STATS_START_ERRORS)
            logger.error("The crawl could not start its requests: %s: %s", type(exc).__name__, exc)
            logger.debug("Start request failure", exc_info=exc)
