"""Keep each article once per run, by URL identity and by content identity."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from newscrawl.processors import url_key
from newscrawl.vocab import STATS_DUPLICATES


class DedupePipeline:
    """Drops an item whose canonical URL or body hash this run already emitted.

    Runs after the store, which has already recorded the second URL of a story
    reached twice; here the duplicate only leaves the feed. Stats:
    ``newscrawl/duplicates/url`` and ``newscrawl/duplicates/content``.
    """

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats
        self.url_keys: set[str] = set()
        self.body_hashes: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        assert crawler.stats is not None
        return cls(crawler.stats)

    async def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        keys = {url_key(adapter[name]) for name in ("url", "canonicalUrl") if adapter.get(name)}
        if keys & self.url_keys:
            self.stats.inc_value(f"{STATS_DUPLICATES}/url")
            raise DropItem("duplicate URL", log_level="DEBUG")
        self.url_keys |= keys
        digest = adapter.get("bodyHash")
        if digest:
            if digest in self.body_hashes:
                self.stats.inc_value(f"{STATS_DUPLICATES}/content")
                raise DropItem("duplicate content", log_level="DEBUG")
            self.body_hashes.add(digest)
        return item
