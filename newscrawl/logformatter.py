"""Log lines that stay readable: an item is named by its URL, never dumped whole."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter, is_item
from scrapy.logformatter import LogFormatter, LogFormatterResult

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler


def _url(item: Any) -> Any:
    return ItemAdapter(item).get("url") if is_item(item) else None


class NewsLogFormatter(LogFormatter):
    def __init__(self, log_scraped: bool = True) -> None:
        self.log_scraped = log_scraped

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        # Scrapy's root logger passes every record to its handler, which filters by LOG_LEVEL:
        # a DEBUG "Scraped" record per item would be built only to be thrown away.
        level = crawler.settings.get("LOG_LEVEL")
        number = level if isinstance(level, int) else logging.getLevelName(str(level))
        return cls(log_scraped=not isinstance(number, int) or number <= logging.DEBUG)

    def scraped(self, item: Any, response: Any, spider: Any) -> LogFormatterResult | None:  # type: ignore[override]  # Scrapy skips the line on None
        """A DEBUG line naming the article: a whole item (its body) is kilobytes per line."""
        if not self.log_scraped:
            return None
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
