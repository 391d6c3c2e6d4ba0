"""Drop items that cannot make a useful record, counting each reason."""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from newscrawl.vocab import STATS_DROPPED, STATS_FIELDS

logger = logging.getLogger(__name__)


class ValidatePipeline:
    """Drops an item missing a required field (``NEWSCRAWL_REQUIRED_FIELDS``).

    Stats: ``newscrawl/dropped/missing_<field>``; ``newscrawl/fields/unusable_<date>``
    counts kept items whose page gave a date that could not be used (unparsable, in the
    future or before 1990): it stays as raw text only.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.required = crawler.settings.getlist("NEWSCRAWL_REQUIRED_FIELDS")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        for name in self.required:
            if not adapter.get(name):
                reason = f"missing_{name}"
                self.stats.inc_value(f"{STATS_DROPPED}/{reason}")
                raise DropItem(reason)
        for name in ("datePublished", "dateModified"):
            raw = adapter.get(f"{name}Raw")
            if raw and not adapter.get(name):
                self.stats.inc_value(f"{STATS_FIELDS}/unusable_{name}")
                logger.info("Unusable %s %r in %s: kept as raw text", name, raw, adapter.get("url"))
        return item
