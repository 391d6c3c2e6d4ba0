"""Daily8: an aggregator that republishes publishers' stories.

Structured data first (JSON-LD, the Next.js app state, OpenGraph), then the
DOM, then the generic extractor, so a markup change on the site degrades one
source of candidates instead of emptying fields. The DOM rules are deliberately loose (``h1``,
paragraphs of the article container) for the same reason.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from parsel import Selector

from newscrawl.pages.base import ArticlePage, Extraction
from newscrawl.pages.generic import GenericArticlePage
from newscrawl.pages.structured import is_article_type, loads_lenient, node_types, parse_jsonld

logger = logging.getLogger(__name__)

ARTICLE_PATH_RE = re.compile(r"/[a-z]{2}/article/[0-9a-f]{32}/?$")


def is_article_url(url: str) -> bool:
    """Whether ``url`` has the shape of a Daily8 article (``/<lang>/article/<32 hex>``)."""
    return bool(ARTICLE_PATH_RE.search(url.split("?", 1)[0].split("#", 1)[0]))


# Record field <- key in the structured data.
JSON_LD_FIELDS = {
    "headline": "headline",
    "datePublishedRaw": "datePublished",
    "dateModifiedRaw": "dateModified",
    "articleBody": "articleBody",
    "inLanguage": "inLanguage",
    "canonicalUrl": "url",
}
NEXT_DATA_FIELDS = {
    "headline": "title",
    "datePublishedRaw": "publishedAt",
    "articleBody": "content",
    "inLanguage": "language",
    "mainImage": "image",
    "source": "source",
}


# An element's text as a reader sees it: not the code inside scripts and styles.
_VISIBLE_TEXT = (
    ".//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template)]"
)


def _text(element: Selector) -> str:
    return "".join(element.xpath(_VISIBLE_TEXT).getall())


def _offer_fields(
    extraction: Extraction, data: dict[str, Any], fields: dict[str, str], method: str
) -> None:
    for name, key in fields.items():
        extraction.offer(name, data.get(key), method)


class Daily8ArticlePage(ArticlePage):
    """Extracts a Daily8 article page: one story plus its related cards."""

    def is_article(self) -> bool:
        """Every page on an article URL is one: a page that shows no story there is a
        broken article (dropped and counted as such), never a listing."""
        return is_article_url(self.response.url)

    def extract(self) -> Extraction:
        extraction = Extraction()
        self._json_ld(extraction)
        self._next_data(extraction)
        self._meta(extraction)
        self._dom(extraction)
        if not {"headline", "articleBody"} <= extraction.values.keys():
            self._generic(extraction)
        return extraction

    def _generic(self, extraction: Extraction) -> None:
        """The site's markup changed under us: take what the generic extractor finds.

        Only when it reads the page as an article: a video-only page would
        otherwise get a related card's summary as its body.
        """
        generic = GenericArticlePage(self.response)
        if not generic.is_article():
            return
        found = generic.extract()
        for name, value in found.values.items():
            extraction.offer(name, value, f"generic/{found.methods[name]}")

    def _json_ld(self, extraction: Extraction) -> None:
        scripts = self.response.xpath('//script[@type="application/ld+json"]/text()').getall()
        for node in parse_jsonld(scripts, issues=[]).top:
            if not is_article_type(node_types(node)):
                continue
            _offer_fields(extraction, node, JSON_LD_FIELDS, "json-ld")
            image = node.get("image")
            if isinstance(image, list):
                image = image[0] if image else None
            if isinstance(image, dict):
                image = image.get("url")
            extraction.offer("mainImage", image, "json-ld")
            source = node.get("sourceOrganization")
            if isinstance(source, dict):
                url = source.get("url") or node.get("isBasedOn")
                extraction.offer("source", {"name": source.get("name"), "url": url}, "json-ld")

    def _next_data(self, extraction: Extraction) -> None:
        text = self.response.xpath('//script[@id="__NEXT_DATA__"]/text()').get()
        try:
            article = loads_lenient(text or "")["props"]["pageProps"]["article"]
        except (KeyError, TypeError):
            logger.debug("No article in __NEXT_DATA__ on %s", self.response.url)
            return
        if isinstance(article, dict):
            _offer_fields(extraction, article, NEXT_DATA_FIELDS, "next-data")

    def _meta(self, extraction: Extraction) -> None:
        def meta(attribute: str, name: str) -> str | None:
            return self.response.css(f'meta[{attribute}="{name}"]::attr(content)').get()

        canonical = self.response.css('link[rel="canonical"]::attr(href)').get()
        extraction.offer("canonicalUrl", canonical, "meta")
        extraction.offer("description", meta("name", "description"), "meta")
        for name, prop in (
            ("headline", "og:title"),
            ("canonicalUrl", "og:url"),
            ("mainImage", "og:image"),
            ("datePublishedRaw", "article:published_time"),
        ):
            extraction.offer(name, meta("property", prop), "opengraph")

    def _dom(self, extraction: Extraction) -> None:
        response = self.response
        method = "dom"
        extraction.offer("headline", [_text(h1) for h1 in response.css("h1")], method)
        byline = response.css(".article-byline")
        source = {
            "name": byline.css(".article-source ::text").get(),
            "url": byline.css("a::attr(href)").get(),
        }
        if source["name"]:
            extraction.offer("source", source, method)
        if "datePublishedRaw" not in extraction.values:
            # The byline's text is the publisher glued to the date; the loader splits it.
            extraction.offer("byline", byline.xpath("string()").get(), method)
        paragraphs = response.css(".article-content p") or response.xpath(
            "//article//p[not(ancestor::*[contains(@class, 'promo')"
            " or contains(@class, 'comments') or contains(@class, 'related')])]"
        )
        extraction.offer("articleBody", [_text(p) for p in paragraphs], method)
        extraction.offer("inLanguage", response.xpath("/html/@lang").get(), method)
        extraction.offer("mainImage", response.css("article figure img::attr(src)").get(), method)
        extraction.offer("relatedArticles", self._related_cards(), method)

    def _related_cards(self) -> list[dict[str, str | None]]:
        cards = []
        for card in self.response.css(".related .related-card"):
            url = card.css("a::attr(href)").get()
            if not url:
                continue
            cards.append(
                {
                    "url": url,
                    "headline": card.css(".related-title").xpath("string()").get()
                    or card.css("a").xpath("string()").get(),
                    "datePublishedRaw": card.css(".related-time").xpath("string()").get(),
                }
            )
        return cards
