"""Daily8: listings, the sitemap and related-article links, into article records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from scrapy.http import Request, Response

from newscrawl.pages.daily8 import ARTICLE_PATH_RE, Daily8ArticlePage
from newscrawl.spiders.base import ArticleSpider
from newscrawl.vocab import ARTICLE, LISTING


class Daily8Spider(ArticleSpider):
    """Crawl a Daily8-style aggregator.

    ``scrapy crawl daily8 -a start_urls=https://www.daily8.com/en -a max_pages=500``
    """

    name = "daily8"
    default_start_urls = ("https://www.daily8.com/en",)
    render_wait_for: ClassVar[dict[str, str]] = {
        ARTICLE: "article h1",
        LISTING: "a[href*='/article/']",
    }

    def wants_sitemap_entry(self, entry: dict[str, Any]) -> bool:
        return bool(ARTICLE_PATH_RE.search(entry["loc"].split("?", 1)[0]))

    def parse_listing(self, response: Response) -> Iterator[Request]:
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if ARTICLE_PATH_RE.search(url.split("?", 1)[0]) and (
                request := self.article_request(url)
            ):
                yield request
        next_page = response.css(
            'link[rel="next"]::attr(href), a[rel="next"]::attr(href), a.next::attr(href)'
        ).get()
        if next_page:
            yield self.listing_request(response.urljoin(next_page))

    async def parse_article(self, response: Response) -> AsyncIterator[Any]:
        item = await self.extract_item(response, Daily8ArticlePage)
        if item is None:
            for found in self.parse_listing(response):
                yield found
            return
        yield item
        for related in item.get("relatedArticles", []):
            if request := self.article_request(related["url"]):
                yield request
