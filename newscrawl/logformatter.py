"""Log lines that stay readable: a dropped item is named by its URL, not dumped whole."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter, is_item
from scrapy.logformatter import LogFormatter, LogFormatterResult


class NewsLogFormatter(LogFormatter):
    def dropped(
        self, item: Any, exception: BaseException, response: Any, spider: Any
    ) -> LogFormatterResult:
        result = super().dropped(item, exception, response, spider)
        url = ItemAdapter(item).get("url") if is_item(item) else None
        result["msg"] = "Dropped: %(exception)s (%(url)s)"
        result["args"] = {"exception": exception, "url": url}
        return result
