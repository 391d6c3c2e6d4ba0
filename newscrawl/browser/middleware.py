"""When a page goes through the browser, and keeping the browser healthy.

``RenderMiddleware`` (spider middleware) decides per page: in ``always`` mode
every article and listing request is rendered; in ``auto`` mode (the default)
a page fetched over plain HTTP that gave the spider nothing (no item, and for
a listing no article link) and looks like an app shell is requested once more
through the browser. Pages whose static HTML is enough never touch a browser.

``BrowserMiddleware`` (downloader middleware) sits next to the download
handler: it counts rendered pages, replaces the browser context every
``NEWSCRAWL_BROWSER_CONTEXT_PAGES`` pages so what a context keeps (cache,
cookies, storage) cannot pile up over a long crawl, and turns a missing or
broken browser into one error line: later
browser requests are skipped (or, in ``always`` mode, fetched over plain HTTP)
instead of failing one by one.

A rendered page whose browser ended up off the site (a script or a redirect took it
elsewhere, or the guard proxy refused where it went) is skipped with one line.

Stats: ``newscrawl/browser/rendered``, ``newscrawl/browser/fallback``,
``newscrawl/browser/skipped``, ``newscrawl/browser/unavailable``,
``newscrawl/browser/contexts_recycled``, ``newscrawl/browser/offsite_page``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.statscollectors import StatsCollector

from newscrawl.browser import (
    ALWAYS,
    INSTALL_HINT,
    NEVER,
    BrowserUnavailable,
    looks_like_app_shell,
    missing_reason,
    render_meta,
)
from newscrawl.browser.proxy import REFUSED_HEADER
from newscrawl.offsite import Destinations, host_port
from newscrawl.vocab import ARTICLE, HTML_PAGE_KINDS, LISTING, PAGE_KIND, RENDER, STATS_BROWSER

logger = logging.getLogger(__name__)

FALLBACK = "fallback"
_CONTEXT_NAME = "_newscrawl_context"
_CONTEXT = "_newscrawl_context_object"


class RenderMiddleware:
    """Routes article and listing requests through the browser as the spider's mode says.

    Reads ``spider.render`` (``auto``, ``always`` or ``never``; spiders without
    one never render) and ``spider.render_wait_for`` (page kind -> CSS selector
    a rendered page waits for; without one it waits for the network to idle).
    """

    def __init__(self, crawler: Crawler, timeout: float) -> None:
        """``timeout``: seconds a rendered page may take to build its content."""
        self.crawler = crawler
        self.timeout = timeout

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RenderMiddleware:
        return cls(crawler, crawler.settings.getfloat("NEWSCRAWL_BROWSER_WAIT_TIMEOUT"))

    @property
    def spider(self) -> Spider:
        assert self.crawler.spider is not None  # set before any middleware method runs
        return self.crawler.spider

    def _mode(self) -> str:
        return getattr(self.spider, "render", NEVER)

    def _render(self, request: Request, reason: str) -> Request:
        selector = getattr(self.spider, "render_wait_for", {}).get(request.meta.get(PAGE_KIND))
        request.meta.update(render_meta(selector, self.timeout))
        request.meta[RENDER] = reason
        return request

    def _route(self, output: Any) -> Any:
        if (
            self._mode() == ALWAYS
            and isinstance(output, Request)
            and output.meta.get(PAGE_KIND) in HTML_PAGE_KINDS
            and not output.meta.get("playwright")
        ):
            return self._render(output, ALWAYS)
        return output

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for output in start:
            yield self._route(output)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        useful = False
        async for output in result:
            if isinstance(output, Request):
                useful = useful or (
                    response.meta.get(PAGE_KIND) == LISTING
                    and output.meta.get(PAGE_KIND) == ARTICLE
                )
            else:
                useful = True
            yield self._route(output)
        if not useful and response.request and self._needs_browser(response):
            self.crawler.stats.inc_value(f"{STATS_BROWSER}/fallback")
            yield self._render(response.request.replace(dont_filter=True), FALLBACK)

    def _needs_browser(self, response: Response) -> bool:
        """A static page of a kind we read, not rendered before, that looks like an app shell."""
        return (
            self._mode() != NEVER
            and response.meta.get(PAGE_KIND) in HTML_PAGE_KINDS
            and response.request is not None
            and response.meta.get(RENDER) != FALLBACK
            and "playwright" not in response.flags
            and response.status == 200
            and looks_like_app_shell(response)
        )


class BrowserMiddleware:
    """Context recycling, the rendered count, and one error line for a missing browser."""

    def __init__(
        self,
        stats: StatsCollector,
        destinations: Destinations,
        *,
        context_pages: int,
        available: bool,
        missing: str | None,
    ) -> None:
        """``available``: the spider has a browser; ``missing``: why one that renders has
        none (logged once here)."""
        self.stats = stats
        self.destinations = destinations
        self.context_pages = context_pages
        self.available = available
        self._generation = 0
        self._issued = 0
        self._in_flight: Counter[str] = Counter()
        self._contexts: dict[str, BrowserContext] = {}
        if missing is not None:
            self._give_up(missing)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrowserMiddleware:
        spider = crawler.spider
        assert crawler.stats is not None
        available = getattr(spider, "browser_executable", None) is not None
        renders = getattr(spider, "render", NEVER) != NEVER
        return cls(
            crawler.stats,
            Destinations.of_spider(spider),
            context_pages=crawler.settings.getint("NEWSCRAWL_BROWSER_CONTEXT_PAGES"),
            available=available,
            missing=None
            if available or not renders
            else missing_reason(crawler.settings.get("NEWSCRAWL_BROWSER")),
        )

    def _give_up(self, reason: str) -> None:
        self.available = False
        self.stats.inc_value(f"{STATS_BROWSER}/unavailable")
        logger.error(
            "No browser for JavaScript-rendered pages (%s): %s. Pages that need one are "
            "skipped; the rest of the crawl goes on.",
            reason,
            INSTALL_HINT,
        )

    def process_request(self, request: Request) -> Request | None:
        if not request.meta.get("playwright"):
            return None
        if not self.available:
            return self._without_browser(request)
        name = f"newscrawl-{self._generation}"
        self._issued += 1
        if self.context_pages and self._issued >= self.context_pages:
            self._generation, self._issued = self._generation + 1, 0
        self._in_flight[name] += 1
        request.meta.update(
            {
                "playwright_context": name,
                "playwright_page_init_callback": _remember_context,
                _CONTEXT_NAME: name,
            }
        )
        return None

    async def process_response(self, request: Request, response: Response) -> Response:
        await self._release(request)
        if "playwright" not in response.flags:
            return response
        self.stats.inc_value(f"{STATS_BROWSER}/rendered")
        if response.headers.get(REFUSED_HEADER) or not self.destinations.onsite(
            *host_port(response.url)
        ):
            self.stats.inc_value(f"{STATS_BROWSER}/offsite_page")
            logger.warning(
                "Skipped %s: the browser was sent off the site, to %s", request.url, response.url
            )
            raise IgnoreRequest(f"rendered {request.url} left the site")
        return response

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        await self._release(request)
        if not isinstance(exception, BrowserUnavailable):
            return None
        if self.available:
            self._give_up(str(exception))
        return self._without_browser(request)

    def _without_browser(self, request: Request) -> Request:
        """``always`` pages go over plain HTTP (their HTML may do); the others are skipped."""
        if request.meta.get(RENDER) == ALWAYS:
            return request.replace(meta={**request.meta, "playwright": False}, dont_filter=True)
        self.stats.inc_value(f"{STATS_BROWSER}/skipped")
        raise IgnoreRequest(f"no browser to render {request.url}")

    async def _release(self, request: Request) -> None:
        """One page of its context is done; close a retired context once it has none."""
        name = request.meta.pop(_CONTEXT_NAME, None)
        if name is None:
            return
        if context := request.meta.pop(_CONTEXT, None):
            self._contexts.setdefault(name, context)
        self._in_flight[name] -= 1
        if self._in_flight[name] or name == f"newscrawl-{self._generation}":
            return
        del self._in_flight[name]
        if context := self._contexts.pop(name, None):
            with suppress(PlaywrightError):
                await context.close()
            self.stats.inc_value(f"{STATS_BROWSER}/contexts_recycled")


async def _remember_context(page: Page, request: Request) -> None:
    """``playwright_page_init_callback``: the page's context, for recycling it later."""
    request.meta[_CONTEXT] = page.context
