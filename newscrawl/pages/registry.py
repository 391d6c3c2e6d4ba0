"""Which page object reads a page: a site's own, else the generic one.

Site-specific page objects pay where a site's markup carries more than
structured data does (Daily8's publisher byline and related cards); every
other site goes through :class:`~newscrawl.pages.generic.GenericArticlePage`.

A site is known by its host, or, on any other host, by the name the page gives
its site: ``og:site_name``, ``application-name``, or the last part of its
``<title>`` ("Headline | Daily8"). The second is what makes a copy of a site
read as the site itself: the bundled sample site on 127.0.0.1, a mirror, a saved
page with another address. The ``news`` spider, ``newscrawl extract`` and
``newscrawl.extract`` all decide here, so they read a page alike; the ``daily8``
spider reads every page with Daily8's object, which on the sample site is the
same choice (``tests/test_extract_cli.py`` checks every page it stores).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from lxml import etree
from scrapy.http import TextResponse

from newscrawl.pages import daily8
from newscrawl.pages.base import ArticlePage
from newscrawl.pages.daily8 import Daily8ArticlePage
from newscrawl.pages.generic import GenericArticlePage
from newscrawl.processors import TITLE_SEPARATORS, name_key, normalize_text

SITE_PAGES: dict[str, type[ArticlePage]] = {
    "daily8.com": Daily8ArticlePage,
}
"""Domain (subdomains included) -> its page object; also the ``--page`` names."""
SITE_NAMES: dict[str, str] = dict.fromkeys(daily8.SITE_NAMES, "daily8.com")
"""Name a site gives itself (``og:site_name``, title suffix) -> its domain above."""

# Compiled, and run on the parsed page itself: a Selector's xpath() wraps every result.
_NAMES = etree.XPath(
    "//meta[@property='og:site_name' or @name='og:site_name' or @name='application-name']/@content"
)
_TITLE = etree.XPath("string((//title)[1])")


def site_names(response: TextResponse) -> list[str]:
    """The names ``response`` may give its site: meta tags first, then its title's last
    and first parts (the whole title when it has one part)."""
    root = response.selector.root
    names = [str(name) for name in _NAMES(root)]
    title = normalize_text(str(_TITLE(root)))
    if title:  # "Headline | Site" or "Site - Section"
        parts = TITLE_SEPARATORS.split(title)
        names += {parts[-1]: None, parts[0]: None}
    return names


def page_class_for(url: str, response: TextResponse | None = None) -> type[ArticlePage]:
    """The page class that reads ``url``: its domain's (or a parent domain's), else, given
    the page, the one of the site the page names, else the generic one."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    while host:
        if host in SITE_PAGES:
            return SITE_PAGES[host]
        host = host.partition(".")[2]
    if response is not None:
        domains = {name_key(name): domain for name, domain in SITE_NAMES.items()}
        for name in site_names(response):
            if (domain := domains.get(name_key(name))) in SITE_PAGES:
                return SITE_PAGES[domain]
    return GenericArticlePage


def page_for(response: TextResponse) -> ArticlePage:
    return page_class_for(response.url, response)(response)
