"""Page budgets: how many pages a crawl may request per site (``-a max_pages=N``).

A spider asks its budget before making a page request (:meth:`PageBudget.spend`);
whatever drops the request afterwards without fetching it (the incremental
middleware for an article already stored, the scheduler for a URL already seen)
gives the page back (:meth:`PageBudget.refund`). Spiders and middlewares are
given the spider's ``budget``; nothing looks for a spider class to find it.

:class:`PageBudget` counts in the spider's ``state``, which a ``JOBDIR`` keeps
across a stop and resume. :class:`SharedPageBudget` is the budget of a crawl
spread over several workers (``newscrawl.frontier``): a page is charged to the
whole crawl by the frontier, atomically, when the request enters it (after
de-duplication, so a URL another worker already queued costs nothing); the
worker only remembers which URLs it spent and which sites the frontier found
spent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit


def site_of(url: str) -> str:
    """The site a page counts against: its host name."""
    return urlsplit(url).hostname or ""


class PageBudget:
    """Pages requested per site, counted in ``state()["budget_spent"]``.

    ``state`` returns the spider's state dict when called: Scrapy replaces that dict
    at spider open with what a ``JOBDIR`` saved, so it is looked up, not kept.
    """

    def __init__(self, max_pages: int | None, state: Callable[[], dict[str, Any]]) -> None:
        self.max_pages = max_pages
        self._state = state

    @property
    def spent(self) -> Counter[str]:
        spent: Counter[str] = self._state().setdefault("budget_spent", Counter())
        return spent

    def spend(self, url: str) -> bool:
        """Count one page against ``url``'s site; False once the site's budget is spent."""
        if self.exhausted(url):
            return False
        self.spent[site_of(url)] += 1
        return True

    def exhausted(self, url: str) -> bool:
        """Whether ``url``'s site has no page left."""
        return self.max_pages is not None and self.spent[site_of(url)] >= self.max_pages

    def refund(self, url: str) -> None:
        """Give back a page counted for ``url`` that will not be fetched."""
        self.spent[site_of(url)] -= 1


class SharedPageBudget(PageBudget):
    """A budget for the whole crawl, charged by the shared frontier.

    :meth:`spend` notes the URL as one to charge; the frontier calls :meth:`take`
    when the request reaches it and charges the site in Redis, refusing the request
    when the site is spent (then :meth:`mark_exhausted`, so this worker stops making
    requests for that site). A refund before the request reaches the frontier
    forgets the URL: it was never charged.
    """

    def __init__(self, max_pages: int | None) -> None:
        super().__init__(max_pages, dict)
        self._to_charge: Counter[str] = Counter()
        self._exhausted: set[str] = set()

    def spend(self, url: str) -> bool:
        if self.exhausted(url):
            return False
        if self.max_pages is not None:
            self._to_charge[url] += 1
        return True

    def exhausted(self, url: str) -> bool:
        return site_of(url) in self._exhausted

    def refund(self, url: str) -> None:
        if self._to_charge[url] > 1:
            self._to_charge[url] -= 1
        else:
            self._to_charge.pop(url, None)

    def take(self, url: str) -> bool:
        """Whether the frontier must charge a page for this request's URL (once)."""
        if url not in self._to_charge:
            return False
        self.refund(url)
        return True

    def mark_exhausted(self, url: str) -> None:
        self._exhausted.add(site_of(url))
