"""Drop items that cannot make a useful record, counting each reason."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem


class ValidatePipeline:
    """Drops an item missing a required field (``NEWSCRAWL_REQUIRED_FIELDS``).

    Stats: ``newscrawl/dropped/missing_<field>``.
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
                self.stats.inc_value(f"newscrawl/dropped/{reason}")
                raise DropItem(reason)
        return item
