"""Which page object reads a page: a site's own, else the generic one.

Site-specific page objects pay where a site's markup carries more than
structured data does (Daily8's publisher byline and related cards); every
other site goes through :class:`~newscrawl.pages.generic.GenericArticlePage`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.http import TextResponse

from newscrawl.pages.base import ArticlePage
from newscrawl.pages.daily8 import Daily8ArticlePage
from newscrawl.pages.generic import GenericArticlePage

SITE_PAGES: dict[str, type[ArticlePage]] = {
    "daily8.com": Daily8ArticlePage,
}


def page_class_for(url: str) -> type[ArticlePage]:
    """The page class registered for ``url``'s domain (or a parent domain)."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    while host:
        if host in SITE_PAGES:
            return SITE_PAGES[host]
        host = host.partition(".")[2]
    return GenericArticlePage


def page_for(response: TextResponse) -> ArticlePage:
    return page_class_for(response.url)(response)
