"""The article record.

Field names follow zyte-common-items' ``Article`` where one exists, so users
who already know that schema recognise every field. Nested values are plain
dicts (``{"name": ...}``, ``{"url": ...}``) so that JSON-lines feeds and the
database's JSONB columns hold exactly what the item holds.
"""

from __future__ import annotations

import scrapy


class Article(scrapy.Item):
    # Identity
    url = scrapy.Field()  # the URL that was fetched (after redirects)
    canonicalUrl = scrapy.Field()  # rel=canonical / og:url, cleaned
    # Content
    headline = scrapy.Field()
    description = scrapy.Field()
    articleBody = scrapy.Field()  # paragraphs joined by "\n"
    bodyHash = scrapy.Field()  # sha256 of the normalised body: content identity
    inLanguage = scrapy.Field()
    mainImage = scrapy.Field()  # {"url": ...}
    breadcrumbs = scrapy.Field()  # [{"name": ..., "url": ...}]
    authors = scrapy.Field()  # [{"name": ...}]
    # Dates: ISO 8601; a date alone ("2025-05-17") when the page gives no time
    datePublished = scrapy.Field()
    datePublishedRaw = scrapy.Field()
    dateModified = scrapy.Field()
    dateModifiedRaw = scrapy.Field()
    dateDownloaded = scrapy.Field()  # UTC, when the response was fetched
    # News-specific
    source = scrapy.Field()  # original publisher: {"name": ..., "url": ...}
    relatedArticles = scrapy.Field()  # [{"url", "headline", "datePublished", "datePublishedRaw"}]
    # What the page is ("article", "liveBlog", "listing", "other") and the probability
    # that it is one story, as zyte-common-items' pageType and metadata.probability.
    pageType = scrapy.Field()
    probability = scrapy.Field()
    # Provenance: {"spider": ..., "fields": {field: extraction method}}
    provenance = scrapy.Field()
