"""Daily8: listings, the sitemap and related-article links, into article records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from scrapy.http import Request, Response

from newscrawl.pages.daily8 import Daily8ArticlePage, is_article_url
from newscrawl.spiders.base import ArticleSpider
from newscrawl.vocab import ARTICLE, LISTING, STATS_LISTING


class Daily8Spider(ArticleSpider):
    """Crawl a Daily8-style aggregator.

    ``scrapy crawl daily8 -a start_urls=https://www.daily8.com/en -a max_pages=500``;
    an article URL as a seed gives that article and the stories its related cards link.
    """

    name = "daily8"
    default_start_urls = ("https://www.daily8.com/en",)
    render_wait_for: ClassVar[dict[str, str]] = {
        ARTICLE: "a[href*='/article/']",
        LISTING: "a[href*='/article/']",
    }

    def is_article_url(self, url: str) -> bool:
        return is_article_url(url)

    def wants_sitemap_entry(self, entry: dict[str, Any]) -> bool:
        return self.is_article_url(entry["loc"])

    def parse_listing(self, response: Response) -> Iterator[Request]:
        found = False
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if self.is_article_url(url):
                found = True
                if request := self.article_request(url, parent=response):
                    yield request
        if not found:  # Daily8 listings always link stories: this one is broken or changed
            self.crawler.stats.inc_value(f"{STATS_LISTING}/empty")
            self.logger.warning("Listing without article links: %s", response.url)
        next_page = response.css(
            'link[rel="next"]::attr(href), a[rel="next"]::attr(href), a.next::attr(href)'
        ).get()
        if next_page:
            yield self.listing_request(response.urljoin(next_page))

    async def parse_article(self, response: Response) -> list[Any]:
        """The article's record and requests for its related stories.

        A coroutine returning a list, not an async generator: Scrapy hands a callback's
        output to ``CONCURRENT_ITEMS`` tasks that each wait for the next output, and while
        a generator awaited its record from an extraction worker, every one of them
        parked on the empty queue (a future and a wake-up each, per page).
        """
        item = await self.extract_item(response, Daily8ArticlePage)
        if item is None:  # an article request redirected to a listing, say
            self.drop(response, "not_an_article")
            return list(self.parse_listing(response))
        output: list[Any] = [item] if self.complete(item, response) else []
        for related in item.get("relatedArticles", []):
            if request := self.article_request(related["url"], parent=response):
                output.append(request)
        return output
