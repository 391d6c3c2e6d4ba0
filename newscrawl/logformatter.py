"""Log lines that stay readable: an item is named by its URL, never dumped whole."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter, is_item
from scrapy.logformatter import LogFormatter, LogFormatterResult


def _url(item: Any) -> Any:
    return ItemAdapter(item).get("url") if is_item(item) else None


class NewsLogFormatter(LogFormatter):
    def scraped(self, item: Any, response: Any, spider: Any) -> LogFormatterResult:
        """A DEBUG line naming the article: a whole item (its body) is kilobytes per line."""
        result = super().scraped(item, response, spider)
        args = result["args"]
        assert isinstance(args, dict)
        result["msg"] = "Scraped %(url)s from %(src)s"
        result["args"] = {"url": _url(item), "src": args["src"]}
        return result

    def dropped(
        self, item: Any, exception: BaseException, response: Any, spider: Any
    ) -> LogFormatterResult:
        result = super().dropped(item, exception, response, spider)
        result["msg"] = "Dropped: %(exception)s (%(url)s)"
        result["args"] = {"exception": exception, "url": _url(item)}
        return result
