"""A test extension: the most requests the scheduler held at once, as the stat
``test/scheduler_max`` (``-s EXTENSIONS='{"tests.support.scheduler_probe.SchedulerProbe": 0}'``)."""

from __future__ import annotations

from scrapy import signals
from scrapy.crawler import Crawler


class SchedulerProbe:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.sample, signal=signals.request_scheduled)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SchedulerProbe:
        return cls(crawler)

    def sample(self) -> None:
        assert self.crawler.engine is not None and self.crawler.stats is not None
        scheduler = self.crawler.engine.scheduler
        self.crawler.stats.max_value("test/scheduler_max", len(scheduler))  # type: ignore[arg-type]
