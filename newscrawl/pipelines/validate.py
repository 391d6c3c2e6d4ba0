"""Drop items that cannot make a useful record, and bound what goes to the database,
counting each reason.

The limits keep one page from blocking or bloating storage: a URL longer than
``NEWSCRAWL_MAX_URL_LENGTH`` does not fit PostgreSQL's index rows (about 2.7 KB),
a time-zone offset beyond ±15:59 is refused by ``timestamptz``, and a 1 MB
headline is no headline. What escapes them anyway is dead-lettered by the store
(``rejected_items``), not lost.
"""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from newscrawl.db.store import usable_timestamp
from newscrawl.vocab import STATS_DROPPED, STATS_FIELDS

logger = logging.getLogger(__name__)


class ValidatePipeline:
    """Drops an item missing a required field (``NEWSCRAWL_REQUIRED_FIELDS``) or whose URL
    is longer than ``NEWSCRAWL_MAX_URL_LENGTH``; drops a canonical URL or related link
    over that length; truncates fields to ``NEWSCRAWL_FIELD_LIMITS`` (characters).

    Stats: ``newscrawl/dropped/missing_<field>``, ``newscrawl/dropped/long_url``;
    ``newscrawl/fields/unusable_<date>`` counts kept items whose page gave a date that
    could not be used (unparsable, in the future or before 1990, a UTC offset PostgreSQL
    refuses): it stays as raw text only; ``newscrawl/fields/long_canonicalUrl``,
    ``long_relatedArticles`` (links dropped) and ``truncated_<field>``.
    """

    def __init__(
        self,
        stats: StatsCollector,
        *,
        required: list[str],
        max_url: int,
        field_limits: dict[str, int],
    ) -> None:
        self.stats = stats
        self.required = required
        self.max_url = max_url
        self.field_limits = field_limits

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        settings = crawler.settings
        assert crawler.stats is not None
        return cls(
            crawler.stats,
            required=settings.getlist("NEWSCRAWL_REQUIRED_FIELDS"),
            max_url=settings.getint("NEWSCRAWL_MAX_URL_LENGTH"),
            field_limits={
                name: int(limit)
                for name, limit in settings.getdict("NEWSCRAWL_FIELD_LIMITS").items()
            },
        )

    async def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        for name in self.required:
            if not adapter.get(name):
                reason = f"missing_{name}"
                self.stats.inc_value(f"{STATS_DROPPED}/{reason}")
                raise DropItem(reason)
        url = str(adapter.get("url") or "")
        if len(url) > self.max_url:
            self.stats.inc_value(f"{STATS_DROPPED}/long_url")
            raise DropItem(f"long_url ({len(url)} characters)")
        self._limit(adapter, url)
        for name in ("datePublished", "dateModified"):
            value = adapter.get(name)
            if value and not usable_timestamp(value):
                adapter[name] = None
                adapter[f"{name}Raw"] = adapter.get(f"{name}Raw") or str(value)
            raw = adapter.get(f"{name}Raw")
            if raw and not adapter.get(name):
                self.stats.inc_value(f"{STATS_FIELDS}/unusable_{name}")
                logger.info("Unusable %s %r in %s: kept as raw text", name, raw, adapter.get("url"))
        return item

    def _limit(self, adapter: ItemAdapter, url: str) -> None:
        canonical = adapter.get("canonicalUrl")
        if isinstance(canonical, str) and len(canonical) > self.max_url:
            adapter["canonicalUrl"] = None
            self._count(url, "long_canonicalUrl", f"canonical URL of {len(canonical)} characters")
        related = adapter.get("relatedArticles")
        if isinstance(related, list):
            kept = [
                link
                for link in related
                if not (isinstance(link, dict) and len(str(link.get("url") or "")) > self.max_url)
            ]
            if len(kept) < len(related):
                adapter["relatedArticles"] = kept
                n = len(related) - len(kept)
                self._count(url, "long_relatedArticles", f"{n} related links too long", n)
        for name, limit in self.field_limits.items():
            value = adapter.get(name)
            if isinstance(value, str) and len(value) > limit:
                adapter[name] = value[:limit]
                self._count(url, f"truncated_{name}", f"{name} of {len(value)} characters")

    def _count(self, url: str, key: str, what: str, n: int = 1) -> None:
        self.stats.inc_value(f"{STATS_FIELDS}/{key}", n)
        logger.warning("Limit: %s in %s (%s)", what, url, key)
