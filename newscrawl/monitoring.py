"""Extension running the Spidermon close monitors of :mod:`newscrawl.monitors`.

``NEWSCRAWL_MONITORS``: ``"scheduled"`` (default: scrapyd jobs, which carry ``_job``),
``"always"`` or ``"never"``. Spidermon (about 8 MB of imports) is loaded only when a
run is monitored, so ad-hoc crawls do not pay for it; the suite runs through
Spidermon's own runner, which logs its results as Spidermon always does.
"""

from __future__ import annotations

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

MODES = ("scheduled", "always", "never")


class Monitors:
    def __init__(self, crawler: Crawler, mode: str) -> None:
        self.crawler = crawler
        self.mode = mode

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Monitors:
        mode = crawler.settings.get("NEWSCRAWL_MONITORS")
        if mode not in MODES:
            raise NotConfigured(f"NEWSCRAWL_MONITORS must be one of {', '.join(MODES)}")
        if mode == "never":
            raise NotConfigured("NEWSCRAWL_MONITORS is never")
        extension = cls(crawler, mode)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Spider) -> None:
        if self.mode != "always" and not getattr(spider, "_job", None):
            return
        from spidermon.contrib.scrapy.runners import SpiderMonitorRunner

        from newscrawl.monitors import CrawlMonitors

        assert self.crawler.stats is not None
        data = {
            "stats": self.crawler.stats.get_stats(),
            "stats_history": [],
            "crawler": self.crawler,
            "spider": spider,
            "sc_spider_name": spider.name,
            "job": None,
        }
        SpiderMonitorRunner(spider=spider).run(CrawlMonitors(crawler=self.crawler), **data)
