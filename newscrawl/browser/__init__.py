"""A headless Chromium for pages that only exist after their scripts run.

Rendering costs a browser page per URL, so a crawl renders only when its mode
asks for it (``-a render=auto|always|never``, see
:mod:`newscrawl.browser.middleware`). This module holds what does not depend
on a running crawl: finding the system's Chromium (``NEWSCRAWL_BROWSER``, else
the first of :data:`CANDIDATES`), installing scrapy-playwright's download
handler only for crawls that may render, starting Playwright and its Node
driver only when the first page asks for the browser (a crawl whose pages all
read without one never starts it) with all its traffic through
:mod:`newscrawl.browser.proxy`, what a rendered page waits for, and telling an app
shell from a page with content.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any
from weakref import WeakKeyDictionary

from playwright.async_api import Browser, Page
from playwright.async_api import Request as PlaywrightRequest
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from scrapy import signals
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Request, Response
from scrapy.settings import Settings
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from scrapy_playwright.page import PageMethod
from scrapy_playwright.provider import PlaywrightBrowserProvider

from newscrawl.browser.proxy import GuardProxy
from newscrawl.offsite import Destinations
from newscrawl.vocab import STATS_BROWSER

logger = logging.getLogger(__name__)

AUTO, ALWAYS, NEVER = "auto", "always", "never"
RENDER_MODES = (AUTO, ALWAYS, NEVER)

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
"""Where Debian/Ubuntu packages put Chromium (or Chrome); ``playwright install`` is not needed."""

DOWNLOAD_HANDLER = "newscrawl.browser.BrowserDownloadHandler"
ABORTED_RESOURCE_TYPES = frozenset({"image", "media", "font"})
SHELL_MAX_TEXT = 400
"""Visible characters below which a page with scripts is an app shell, not a page to read."""

INSTALL_HINT = "install one with `apt-get install chromium`, or set NEWSCRAWL_BROWSER to its path"


class BrowserUnavailable(Exception):
    """The browser could not be started; every later launch fails the same way at once."""


def resolve_executable(configured: str | None) -> str | None:
    """The browser to launch: ``configured`` if it is an executable file, else the first
    candidate that is; None when there is none."""
    for path in [configured] if configured else CANDIDATES:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def missing_reason(configured: str | None) -> str:
    """Why :func:`resolve_executable` found nothing, for the error line."""
    if configured:
        return f"NEWSCRAWL_BROWSER={configured} is not an executable file"
    return f"none of {', '.join(CANDIDATES)} exists"


def configure(settings: Settings, render: str) -> str | None:
    """Set up scrapy-playwright for a crawl in ``render`` mode; the browser's path, or None.

    Must run before the settings freeze (a spider's ``from_crawler``). Crawls
    that never render, or have no browser, keep Scrapy's own HTTP handlers.
    """
    if render == NEVER:
        return None
    executable = resolve_executable(settings.get("NEWSCRAWL_BROWSER"))
    if executable is None:
        return None
    options = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    options.setdefault("executable_path", executable)
    priority = settings.getpriority("PLAYWRIGHT_LAUNCH_OPTIONS") or "spider"
    settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", options, priority)
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    for scheme in ("http", "https"):
        handlers.setdefault(scheme, DOWNLOAD_HANDLER)
    settings.set("DOWNLOAD_HANDLERS", handlers, "spider")
    chosen: str = options["executable_path"]
    return chosen


class BrowserDownloadHandler(BaseDownloadHandler):
    """``http``/``https`` handler: plain requests go to Scrapy's own handler; the first
    request with ``playwright`` in its meta starts scrapy-playwright's handler.

    scrapy-playwright's handler starts Playwright's Node driver (about 125 MB) when
    the crawl opens, one per scheme, whether or not a page is ever rendered. Here
    one handler, shared by both schemes, starts on first use.
    """

    lazy = False

    def __init__(self, crawler: Crawler, plain: Any, browser: _LazyBrowser) -> None:
        super().__init__(crawler)
        self.plain = plain
        self.browser = browser

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrowserDownloadHandler:
        settings = crawler.settings
        browser = _BROWSERS.get(crawler)
        if browser is None:
            browser = _BROWSERS[crawler] = _LazyBrowser(
                crawler,
                blocked=frozenset(settings.getlist("NEWSCRAWL_BROWSER_BLOCKED_HOSTS")),
                onsite_only=not settings.getbool("NEWSCRAWL_BROWSER_OFFSITE_ASSETS"),
            )
        plain = load_object(settings.getdict("DOWNLOAD_HANDLERS_BASE")["http"])
        return cls(crawler, build_from_crawler(plain, crawler), browser)

    async def download_request(self, request: Request) -> Response:
        if request.meta.get("playwright"):
            handler = await self.browser.handler()
            rendered: Response = await handler.download_request(request)
            return rendered
        response: Response = await self.plain.download_request(request)
        return response

    async def close(self) -> None:
        await self.plain.close()
        await self.browser.close()


class _LazyBrowser:
    """One crawl's scrapy-playwright handler, made on first use and closed once, and
    the proxy every request of its browser goes through."""

    def __init__(self, crawler: Crawler, *, blocked: frozenset[str], onsite_only: bool) -> None:
        self.crawler = crawler
        self.blocked = blocked
        self.onsite_only = onsite_only
        self._handler: ScrapyPlaywrightDownloadHandler | None = None
        self._proxy: GuardProxy | None = None
        self._proxy_url = ""
        self._lock = asyncio.Lock()

    async def handler(self) -> ScrapyPlaywrightDownloadHandler:
        async with self._lock:
            if self._handler is None:
                handler = ScrapyPlaywrightDownloadHandler.from_crawler(self.crawler)
                # It starts Playwright when the engine starts; that is now, and once.
                self.crawler.signals.disconnect(
                    handler._maybe_launch_in_thread, signals.engine_started
                )
                if self._proxy is None:
                    self._proxy = GuardProxy(
                        Destinations.of_spider(self.crawler.spider),
                        self._refused,
                        self.blocked,
                        self.onsite_only,
                    )
                    self._proxy_url = await self._proxy.start()
                handler.config.launch_options["proxy"] = {"server": self._proxy_url}
                await handler._maybe_launch_in_thread()
                self._handler = handler
            return self._handler

    def _refused(self, url: str, reason: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"{STATS_BROWSER}/refused")
        logger.warning("Refused a browser request to %s: %s", url, reason)

    async def close(self) -> None:
        handler, self._handler = self._handler, None
        if handler is not None:
            await handler.close()
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            await proxy.close()


_BROWSERS: WeakKeyDictionary[Crawler, _LazyBrowser] = WeakKeyDictionary()


class ChromiumProvider(PlaywrightBrowserProvider):
    """Launches the browser at most until it fails once.

    scrapy-playwright relaunches for every request that finds no browser; a
    broken executable would then cost a launch timeout per queued page. After
    the first failure every launch raises :class:`BrowserUnavailable` at once.
    """

    failure: str | None = None

    async def launch_browser(self) -> Browser:
        if self.failure is None:
            try:
                return await super().launch_browser()
            except Exception as exc:  # Playwright raises Error, TargetClosedError, TimeoutError
                executable = self.config.launch_options.get("executable_path", "the browser")
                self.failure = f"{executable} failed to start: {str(exc).splitlines()[0]}"
        raise BrowserUnavailable(self.failure)


def abort_request(request: PlaywrightRequest) -> bool:
    """``PLAYWRIGHT_ABORT_REQUEST``: skip what text extraction never reads."""
    return request.resource_type in ABORTED_RESOURCE_TYPES


async def settle(page: Page, selector: str | None, timeout_ms: float) -> None:
    """Wait until the page has built its content: ``selector`` attached, or the network
    idle when the site names no selector. A timeout is not an error: the page object
    judges whatever rendered."""
    try:
        if selector:
            await page.wait_for_selector(selector, state="attached", timeout=timeout_ms)
        else:
            await page.wait_for_load_state("networkidle", timeout=timeout_ms)
    except PlaywrightTimeoutError:
        logger.debug("%s did not settle within %d ms", page.url, timeout_ms)


def render_meta(selector: str | None, timeout: float) -> dict[str, Any]:
    """Request meta that sends a request through the browser."""
    return {
        "playwright": True,
        "playwright_page_methods": [PageMethod(settle, selector, timeout * 1000)],
    }


def looks_like_app_shell(response: Response) -> bool:
    """An HTML page with scripts and next to no visible text: content comes from scripts."""
    if not isinstance(response, HtmlResponse):
        return False
    scripts = response.xpath(
        "//script[not(@type) or @type='module' or contains(@type, 'javascript')]"
    )
    if not scripts:
        return False
    text = response.xpath(
        "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
        " or ancestor::template)]"
    ).getall()
    return sum(len(chunk.strip()) for chunk in text) < SHELL_MAX_TEXT
