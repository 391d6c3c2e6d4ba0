"""Crawling logic shared by every newscrawl spider.

Seeds come from ``-a start_urls=URL[,URL...]`` and are classified, not assumed: a seed
with the site's article shape (:meth:`ArticleSpider.is_article_url`) is requested as an
article, any other as a listing. Offsite links stay offsite
(``allowed_domains`` defaults to the seeds' hosts); a page budget
(``-a max_pages=N``) caps article requests per site; article requests outrank listing
pages so a crawl yields articles early and a budget is spent on them. Articles already
stored are not fetched again (``-a incremental=0`` to refetch them; see
``newscrawl.middlewares.incremental``). Argument values are checked at creation
(``newscrawl.spiders.arguments``); any other argument, such as scrapyd's ``_job`` and
``_version``, becomes a spider attribute. Pages built by scripts go through a
headless browser as ``-a render=auto|always|never`` says (``newscrawl.browser``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import scrapy
from lxml import etree
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Request, Response, TextResponse
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import sitemap_urls_from_robots
from twisted.python.failure import Failure

from newscrawl import browser
from newscrawl.budget import PageBudget, SharedPageBudget
from newscrawl.items import Article
from newscrawl.pages.base import ArticlePage
from newscrawl.pages.classify import looks_like_article_url
from newscrawl.processors import url_key
from newscrawl.sitemaps import INDEX, SitemapFeed, SitemapReader
from newscrawl.spiders import arguments
from newscrawl.vocab import (
    ARTICLE,
    LISTING,
    PAGE_KIND,
    SITEMAP,
    SITEMAP_CHILD,
    STATS_BUDGET,
    STATS_DROPPED,
    STATS_SITEMAP,
)
from newscrawl.workers import Extractor


class ArticleSpider(scrapy.Spider):
    """Base spider: seeds, offsite policy, page budget and request priorities."""

    default_start_urls: tuple[str, ...] = ()
    article_priority = 10
    listing_priority = 0
    render = browser.AUTO
    """This site's render mode; ``-a render=`` overrides it for one run."""
    render_wait_for: ClassVar[dict[str, str]] = {}
    """Page kind -> CSS selector a rendered page waits for (default: the network idles)."""
    browser_executable: str | None = None
    """The browser this crawl renders with (set at start; None: it renders nothing)."""
    extractor: Extractor
    sitemap_feed: SitemapFeed
    depth_limit: int = 0
    """``DEPTH_LIMIT``, read once: links beyond it are not requested (0: no limit)."""

    def __init__(
        self,
        start_urls: str | list[str] | None = None,
        allowed_domains: str | list[str] | None = None,
        max_pages: str | int | None = None,
        incremental: str | bool = True,
        render: str | None = None,
        crawl_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.crawl_id = crawl_id  # the shared-frontier crawl this worker joins (newscrawl.frontier)
        arguments.check_names(type(self), kwargs, self.logger)
        self.render = arguments.choice("render", render or self.render, browser.RENDER_MODES)
        self.start_urls = arguments.urls("start_urls", start_urls) or list(self.default_start_urls)
        self.allowed_domains = arguments.domains("allowed_domains", allowed_domains) or sorted(
            {urlsplit(url).hostname or "" for url in self.start_urls} - {""}
        )
        self.max_pages = arguments.positive_int("max_pages", max_pages)
        self.budget = PageBudget(self.max_pages, lambda: self.state)
        self.incremental = arguments.flag("incremental", incremental)
        self._article_keys: set[str] = set()
        # Scrapy's SpiderState replaces this at open with what a JOBDIR saved at a clean
        # stop, so a resumed crawl keeps the budget it had spent.
        self.state: dict[str, Any] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """Set up the browser while settings can still change (before they freeze)."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.browser_executable = browser.configure(crawler.settings, spider.render)
        spider.extractor = Extractor.from_crawler(crawler)
        spider.depth_limit = crawler.settings.getint("DEPTH_LIMIT")
        spider.sitemap_feed = SitemapFeed(
            batch=crawler.settings.getint("NEWSCRAWL_SITEMAP_BATCH"),
            next_batch=spider._next_sitemap_batch,
            schedule=lambda request: crawler.engine.crawl(request),
        )
        crawler.signals.connect(spider._spider_idle, signal=signals.spider_idle)
        if crawler.settings.get("NEWSCRAWL_FRONTIER_URL"):  # one budget for all the workers
            spider.budget = SharedPageBudget(spider.max_pages)
        crawler.signals.connect(spider._request_dropped, signal=signals.request_dropped)
        return spider

    def _request_dropped(self, request: Request) -> None:
        """The scheduler dropped an article request as already seen (a resumed crawl's
        earlier run made it): it costs no page."""
        if request.meta.get(PAGE_KIND) == ARTICLE and "redirect_urls" not in request.meta:
            self.refund_budget(request.url)

    def article_request(
        self, url: str, *, parent: Response | None = None, **kwargs: Any
    ) -> Request | None:
        """A request for an article page, or None when seen before, over its site's budget
        or, linked from ``parent``, beyond ``DEPTH_LIMIT``.

        The depth is checked here, before the URL is marked seen: were it left to Scrapy's
        depth middleware, a story first linked too deep would be dropped there and then
        refused as seen when a sitemap or listing names it at a shallow depth.
        """
        if parent is not None and self.too_deep(parent):
            self.crawler.stats.inc_value("depth/request_ignored_count")
            return None
        key = url_key(url)
        if key in self._article_keys or not self.spend_budget(url):
            return None
        self._article_keys.add(key)
        kwargs.setdefault("callback", self.parse_article)
        kwargs.setdefault("priority", self.article_priority)
        kwargs.setdefault("meta", {})[PAGE_KIND] = ARTICLE
        return Request(url, **kwargs)

    def too_deep(self, parent: Response) -> bool:
        """Whether a link on ``parent`` lies beyond ``DEPTH_LIMIT`` (0: no limit)."""
        return bool(self.depth_limit) and parent.meta.get("depth", 0) + 1 > self.depth_limit

    def spend_budget(self, url: str) -> bool:
        """Count one page against ``url``'s site; False once the site's budget is spent."""
        if self.budget.spend(url):
            return True
        self.crawler.stats.inc_value(f"{STATS_BUDGET}/skipped")
        return False

    def budget_exhausted(self, url: str) -> bool:
        """Whether ``url``'s site has no page left in its budget."""
        return self.budget.exhausted(url)

    def refund_budget(self, url: str) -> None:
        """Give back a page counted for ``url`` that will not be fetched (already stored)."""
        self.budget.refund(url)

    def is_allowed(self, url: str) -> bool:
        """Whether ``url`` is on an allowed domain (or a subdomain of one)."""
        host = urlsplit(url).hostname or ""
        return any(host == domain or host.endswith(f".{domain}") for domain in self.allowed_domains)

    def listing_request(self, url: str, **kwargs: Any) -> Request:
        kwargs.setdefault("callback", self.parse_listing)
        kwargs.setdefault("priority", self.listing_priority)
        kwargs.setdefault("meta", {})[PAGE_KIND] = LISTING
        return Request(url, **kwargs)

    def sitemap_request(self, url: str, *, child: bool = False) -> Request:
        """``child``: a sitemap of an index, which the sitemap feed waits for."""
        return Request(
            url,
            callback=self.parse_sitemap,
            errback=self.sitemap_failed,
            meta={PAGE_KIND: SITEMAP, SITEMAP_CHILD: child},
            # An index's sitemap the feed waits for must arrive, or fail, but never be dropped.
            dont_filter=child,
        )

    def is_article_url(self, url: str) -> bool:
        """Whether ``url`` has this site's article shape (sites with known URLs override)."""
        return looks_like_article_url(url)

    def seed_request(self, url: str) -> Request | None:
        """A seed as an article request when its URL says article, else as a listing
        (None for an article seed given twice)."""
        if self.is_article_url(url):
            return self.article_request(url)
        return self.listing_request(url)

    async def start(self) -> AsyncIterator[Request]:
        for url in self.start_urls:
            if request := self.seed_request(url):
                yield request
            yield Request(
                response_url_join(url, "/robots.txt"),
                callback=self.parse_robots,
                meta={PAGE_KIND: SITEMAP},
            )

    def parse_robots(self, response: Response) -> Iterator[Request]:
        """Sitemaps named in robots.txt; ``/sitemap.xml`` when it names none."""
        urls = list(sitemap_urls_from_robots(response.body, base_url=response.url))
        for url in urls or [response.urljoin("/sitemap.xml")]:
            yield self.sitemap_request(url)

    def parse_sitemap(self, response: Response) -> list[Request]:
        """The sitemap's entries, requested as the crawl drains (``newscrawl.sitemaps``)."""
        resume = bool(response.meta.get(SITEMAP_CHILD))
        body = response.body
        if response.url.endswith(".gz") or body[:2] == b"\x1f\x8b":
            body = gunzip(body, max_size=self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            sitemap = SitemapReader(body)
        except Exception:  # lxml raises several types on garbage
            self._unreadable_sitemap(response.url)
            return self.sitemap_feed.resume() if resume else []
        source = self._sitemap_requests(sitemap, response.url, response.request)
        return self.sitemap_feed.add(source, response.meta.get("depth", 0), resume=resume)

    def sitemap_failed(self, failure: Failure) -> list[Request]:
        """A sitemap could not be fetched (the download guard logged why): go on without it."""
        request = failure.request  # type: ignore[attr-defined]
        return self.sitemap_feed.resume() if request.meta.get(SITEMAP_CHILD) else []

    def _sitemap_requests(
        self, sitemap: SitemapReader, url: str, read_for: Request | None
    ) -> Iterator[Request | None]:
        """The sitemap's requests. ``read_for`` (the sitemap's request) stays referenced
        until the last entry is handed out: a shared frontier acknowledges a request once
        nothing holds it, so a worker that dies halfway through a sitemap leaves it to be
        read again (``newscrawl.frontier``)."""
        try:
            for entry in sitemap:
                if sitemap.type == INDEX:
                    yield self.sitemap_request(entry["loc"], child=True)
                elif self.wants_sitemap_entry(entry):
                    yield self.article_request(entry["loc"])
                else:
                    yield None
        except etree.XMLSyntaxError:
            self._unreadable_sitemap(url)

    def _unreadable_sitemap(self, url: str) -> None:
        self.logger.warning("Unreadable sitemap at %s", url)
        self.crawler.stats.inc_value(f"{STATS_SITEMAP}/unreadable")

    def _next_sitemap_batch(self, depth: int) -> Request:
        """A request that does not leave the process: its callback hands out the next batch."""
        return Request(
            "data:,",
            callback=self._sitemap_batch,
            priority=-1000,
            dont_filter=True,
            meta={"depth": depth},
        )

    def _sitemap_batch(self, response: Response) -> list[Request]:
        self.crawler.stats.inc_value(f"{STATS_SITEMAP}/batches")
        return self.sitemap_feed.resume()

    def _spider_idle(self) -> None:
        if self.sitemap_feed.on_idle():
            raise DontCloseSpider

    def wants_sitemap_entry(self, entry: dict[str, Any]) -> bool:
        """Subclasses filter sitemap entries (by URL shape, by date) before fetching."""
        return True

    def parse(self, response: Response) -> Any:
        """A page with no callback (``scrapy parse URL``, ``scrapy shell``): classified by URL."""
        if self.is_article_url(response.url):
            return self.parse_article(response)
        return self.parse_listing(response)

    def parse_listing(self, response: Response) -> Any:
        raise NotImplementedError

    async def extract_item(self, response: Response, page_cls: type[ArticlePage]) -> Article | None:
        """``response``'s article record as ``page_cls`` reads it; None when it holds none
        (or is not text).

        Extraction runs in worker processes (``newscrawl.workers``); a page whose
        extraction fails is counted and logged, and ends the callback quietly.
        """
        if not isinstance(response, TextResponse):
            return None
        return await self.extractor.extract_item(response, page_cls, self.name)

    def parse_article(self, response: Response) -> Any:
        raise NotImplementedError

    def complete(self, item: Article, response: Response) -> bool:
        """Whether ``item`` is a record; a page without headline or body is dropped here,
        counted and logged (the validation pipeline would only see an anonymous item)."""
        for field, reason in (("headline", "no_headline"), ("articleBody", "no_body")):
            if not item.get(field):
                self.drop(response, reason)
                return False
        return True

    def drop(self, response: Response, reason: str) -> None:
        """Count and log a page requested as an article that gives no record.

        Not yet for a static app shell in a crawl that may render: the render
        middleware fetches it again through the browser, and that page counts.
        """
        if (
            self.render != browser.NEVER
            and "playwright" not in response.flags
            and browser.looks_like_app_shell(response)
        ):
            self.logger.debug("App shell at %s: judged once rendered", response.url)
            return
        self.crawler.stats.inc_value(f"{STATS_DROPPED}/{reason}")
        self.logger.warning("Dropped %s: %s", reason, response.url)

    def requested_as_article(self, response: Response) -> bool:
        return response.meta.get(PAGE_KIND) == ARTICLE


def response_url_join(url: str, path: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{path}"
