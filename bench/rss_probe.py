"""A Scrapy extension for ``bench.memory``: the crawl's own RSS every N pages.

    -s EXTENSIONS='{..., "bench.rss_probe.RssProbe": 900}'
    -s BENCH_RSS_FILE=rss.json -s BENCH_RSS_EVERY=10000

Sampling inside the crawl ties each figure to an exact page count, which polling
the process from outside cannot. Each sample is ``{pages, rss_mb, peak_rss_mb}``
(``VmRSS`` and ``VmHWM`` from ``/proc/self/status``); one more is taken at close.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


def memory_mb() -> dict[str, float]:
    """Current and peak resident set size of this process, in MB."""
    fields: dict[str, float] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024  # kB
    except OSError:  # no procfs: the peak is all getrusage knows
        pass
    peak = fields.get("VmHWM", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"rss_mb": round(fields.get("VmRSS", peak), 1), "peak_rss_mb": round(peak, 1)}


class RssProbe:
    """Samples memory every ``BENCH_RSS_EVERY`` responses; writes ``BENCH_RSS_FILE`` at close."""

    def __init__(self, path: Path, every: int) -> None:
        self.path = path
        self.every = every
        self.pages = 0
        self.samples: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RssProbe:
        path = crawler.settings.get("BENCH_RSS_FILE")
        if not path:
            raise NotConfigured("BENCH_RSS_FILE is not set")
        probe = cls(Path(path), max(1, crawler.settings.getint("BENCH_RSS_EVERY", 10_000)))
        crawler.signals.connect(probe.response_received, signal=signals.response_received)
        crawler.signals.connect(probe.spider_closed, signal=signals.spider_closed)
        return probe

    def response_received(self) -> None:
        self.pages += 1
        if self.pages % self.every == 0:
            self.samples.append({"pages": self.pages, **memory_mb()})

    def spider_closed(self) -> None:
        final = {"pages": self.pages, **memory_mb(), "at_close": True}
        self.path.write_text(json.dumps({"samples": [*self.samples, final]}, indent=1))
