"""A Daily8 spider whose page object kills its worker or hangs on chosen pages (for
``test_workers``: ``-s SPIDER_MODULES=tests.support.crashing_spider``)."""

from __future__ import annotations

import os
import time
from typing import Any

from scrapy.http import Response

from newscrawl.pages.daily8 import Daily8ArticlePage
from newscrawl.spiders.daily8 import Daily8Spider


class CrashingPage(Daily8ArticlePage):
    """Kills its process on a URL ending in ``$CRASH_ON``, hangs on ``$HANG_ON`` and
    raises on ``$RAISE_ON``; otherwise Daily8's page object."""

    def is_article(self) -> bool:
        url = self.response.url
        if url.endswith(os.environ.get("CRASH_ON") or "\0"):
            os._exit(3)
        if url.endswith(os.environ.get("HANG_ON") or "\0"):
            time.sleep(3600)
        if url.endswith(os.environ.get("RAISE_ON") or "\0"):
            raise KeyError("a page object's bug")
        return super().is_article()


class CrashingSpider(Daily8Spider):
    name = "daily8_crashing"

    async def extract_item(self, response: Response, page_cls: Any) -> Any:
        return await super().extract_item(response, CrashingPage)
