"""The page-object contract shared by every extractor.

A page object reads one ``TextResponse`` and returns raw field values; it does
no I/O and no normalisation (that is the loader's job), so it can be tested
against saved pages and reused outside a crawl.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scrapy.http import TextResponse

from newscrawl.pages.classify import PageClass
from newscrawl.vocab import ARTICLE, OTHER


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, dict, set)):
        return not value
    return False


@dataclass
class Extraction:
    """Raw values keyed by ``Article`` field name, with the method behind each.

    Raw values are strings, lists of strings, or for nested fields dicts of
    them (``source`` -> ``{"name", "url"}``; ``relatedArticles`` -> list of
    ``{"url", "headline", "datePublishedRaw"}``; ``authors`` -> list of names
    or one byline string; ``mainImage`` -> a URL string).
    """

    values: dict[str, Any] = field(default_factory=dict)
    methods: dict[str, str] = field(default_factory=dict)
    # What the page is (``article``, ``liveBlog``, ``listing``, ``other``) and the
    # probability that it is one story; None when the page object does not classify.
    page_type: str | None = None
    probability: float | None = None
    # Problems met on the way that cost a source, not the page ("invalid-json-ld"):
    # the caller counts them (``newscrawl/extract/<issue>``).
    issues: list[str] = field(default_factory=list)

    def offer(self, name: str, value: Any, method: str) -> bool:
        """Set ``name`` unless it is already set or ``value`` is empty.

        Callers offer candidates in order of trust, so the first non-empty
        one wins and its method is recorded.
        """
        if name in self.values or _is_empty(value):
            return False
        self.values[name] = value
        self.methods[name] = method
        return True

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


class ArticlePage:
    """Base class: subclasses implement :meth:`extract`."""

    def __init__(self, response: TextResponse) -> None:
        self.response = response

    def is_article(self) -> bool:
        """Whether the page holds an article (as opposed to a listing)."""
        raise NotImplementedError

    @property
    def page_class(self) -> PageClass:
        """What the page is; page objects that only tell articles apart say 1 or 0."""
        if self.is_article():
            return PageClass(ARTICLE, 1.0)
        return PageClass(OTHER, 0.0)

    def extract(self) -> Extraction:
        raise NotImplementedError

    def read(self) -> Extraction:
        """:meth:`extract`, with what the page is: every record carries ``pageType`` and
        ``probability``, whichever page object read it (a site's own object only tells
        articles apart, so its pages say 1.0 or 0.0)."""
        extraction = self.extract()
        if extraction.page_type is None:
            kind = self.page_class
            extraction.page_type, extraction.probability = kind.page_type, kind.probability
        return extraction
