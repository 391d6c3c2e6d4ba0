"""robots.txt read once per crawl, not once per worker: the shared frontier keeps it.

Scrapy's ``RobotsTxtMiddleware`` fetches a host's robots.txt in every process; with
many workers on one crawl a site sees it fetched as many times. Here the first worker
to parse a host's robots.txt stores the body in the crawl's Redis keys; the others
build their parser from it. Redis unreachable: the worker fetches it itself.
"""

from __future__ import annotations

import contextlib

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Request, Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler

from newscrawl.frontier.queue import Frontier
from newscrawl.frontier.scheduler import REDIS_DOWN, FrontierScheduler
from newscrawl.vocab import STATS_FRONTIER


class SharedRobotsTxt(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with the body shared through the frontier."""

    def _frontier(self) -> Frontier | None:
        scheduler = self.crawler.engine.scheduler if self.crawler.engine else None
        return scheduler.frontier if isinstance(scheduler, FrontierScheduler) else None

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        frontier = self._frontier()
        if netloc not in self._parsers and frontier is not None:
            try:
                body = await frontier.robots(netloc)
            except REDIS_DOWN:
                body = None
            if body is not None and netloc not in self._parsers:
                self._parsers[netloc] = build_from_crawler(self._parserimpl, self.crawler, body)
                self._stats.inc_value(f"{STATS_FRONTIER}/robots_shared")
        return await super().robot_parser(request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        await super()._parse_robots(response, netloc, request)
        if (frontier := self._frontier()) is not None:
            with contextlib.suppress(*REDIS_DOWN):  # the next worker fetches it too
                await frontier.keep_robots(netloc, response.body)
