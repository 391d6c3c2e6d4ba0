"""Sitemaps read as a stream and turned into requests as the crawl drains them.

Queued all at once, a sitemap costs a few KB of memory per entry (a request in
the scheduler) before the first article arrives; a news site's sitemaps name
hundreds of thousands. Here a sitemap's entries stay in its body until the crawl
needs them: :class:`SitemapFeed` hands out :attr:`~SitemapFeed.batch` requests at
a time, and asks for the next batch with a request for ``data:,`` queued below
every other request, so it comes out of the scheduler once the crawl has taken
everything else. A sitemap index's sitemaps are fetched one at a time, each
when the entries before it are used up, so memory holds one sitemap per level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

from lxml import etree
from scrapy.http import Request

from newscrawl.vocab import SITEMAP_CHILD

INDEX = "sitemapindex"
URLSET = "urlset"
_ENTRY_TAGS = {"url", "sitemap"}
_FIELDS = {"loc", "lastmod"}


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


class SitemapReader:
    """Entries of a sitemap or sitemap index, parsed as they are read.

    Each entry is a dict of the entry's ``loc``, ``lastmod`` and a news sitemap's
    ``publication_date`` (nested in ``<news:news>``, which Scrapy's reader drops),
    whichever it has. Raises ``etree.XMLSyntaxError`` on a body with no root element,
    and while iterating on a body that breaks off.
    """

    def __init__(self, body: bytes) -> None:
        self._events = etree.iterparse(
            BytesIO(body),
            events=("start", "end"),
            recover=True,
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        _, root = next(self._events)
        self.type = _local(root.tag)

    def __iter__(self) -> Iterator[dict[str, str]]:
        for event, element in self._events:
            if event != "end" or _local(element.tag) not in _ENTRY_TAGS:
                continue
            entry = {}
            for child in element:  # not an <image:loc> nested deeper
                name = _local(child.tag)
                if name in _FIELDS and name not in entry and child.text and child.text.strip():
                    entry[name] = child.text.strip()
            published = next(element.iter("{*}publication_date"), None)
            if published is not None and published.text and published.text.strip():
                entry["publication_date"] = published.text.strip()
            # Done with it: keep memory flat however long the sitemap is.
            element.clear()
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
            if "loc" in entry:
                yield entry


Source = Iterator[Request | None]


class SitemapFeed:
    """Requests from sitemaps, :attr:`batch` at a time (see the module docstring).

    Sources (one per sitemap read, an iterator of requests or None for a skipped
    entry) are a stack: a sitemap index's next sitemap is read and used up before
    the index goes on. ``schedule`` puts the "next batch" request, and an index's next
    sitemap, into the crawl directly (not as callback output, so that they do not
    deepen ``DEPTH_LIMIT`` with every batch).
    """

    def __init__(
        self,
        batch: int,
        next_batch: Callable[[int], Request],
        schedule: Callable[[Request], None],
    ) -> None:
        self.batch = batch
        self._next_batch = next_batch
        self._schedule = schedule
        self._sources: list[tuple[Source, int]] = []  # and the sitemap's crawl depth
        self._waiting = False  # for a "next batch" request or an index's next sitemap

    def __bool__(self) -> bool:
        return bool(self._sources)

    def add(self, source: Source, depth: int, *, resume: bool) -> list[Request]:
        """Add a sitemap's requests; the first batch unless a batch is awaited elsewhere.

        ``resume``: the sitemap is the one the feed waits for (an index's next).
        """
        self._sources.append((source, depth))
        return self.resume() if resume or not self._waiting else []

    def resume(self) -> list[Request]:
        """The next batch of requests (a "next batch" request or an index's next sitemap
        arrived, or failed)."""
        self._waiting = False
        requests: list[Request] = []
        while self._sources and len(requests) < self.batch:
            request = next(self._sources[-1][0], StopIteration)
            if request is StopIteration:
                self._sources.pop()
            elif isinstance(request, Request):
                if request.meta.get(SITEMAP_CHILD):  # its entries come next
                    # As deep as the index's entries, whichever callback drained the sitemap
                    # before it: as that callback's output each next sitemap came one level
                    # deeper, and past DEPTH_LIMIT was dropped (a 100,000-story crawl read 8
                    # of its 10 sitemaps and ended at 80,201 pages).
                    request.meta["depth"] = self._sources[-1][1] + 1
                    self._waiting = True
                    self._schedule(request)
                    return requests
                requests.append(request)
        if self._sources:
            self._ask()
        return requests

    def on_idle(self) -> bool:
        """The crawl ran dry: go on if anything is left (a lost wake-up must not end it)."""
        if not self._sources:
            return False
        self._ask()
        return True

    def _ask(self) -> None:
        """Schedule the request for the next batch, as deep as the sitemap it reads (so that
        its requests are as deep as if the sitemap's callback had made them)."""
        self._waiting = True
        self._schedule(self._next_batch(self._sources[-1][1]))
