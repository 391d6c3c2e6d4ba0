"""A Scrapy extension for the benchmarks: the crawl's own CPU time and memory by page count.

    -s EXTENSIONS='{..., "bench.probe.Probe": 900}' -s BENCH_PROBE_FILE=probe.json
    [-s BENCH_PROBE_EVERY=10000]

Measuring inside the crawl ties each figure to an exact page count and leaves
interpreter start-up and imports (over a second of CPU) out of the crawl's CPU
time, which measuring the process from outside cannot. Writes ``{"opened": ...,
"samples": [...], "closed": ...}``: a sample when the spider opens, one every
``BENCH_PROBE_EVERY`` responses (0: none) and one when it closes, each
``{pages, cpu_s, rss_mb, peak_rss_mb}`` (``VmRSS`` and ``VmHWM`` of ``/proc/self/status``).
"""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


def sample(pages: int) -> dict[str, Any]:
    """This process's CPU seconds and current and peak resident set size in MB."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    memory: dict[str, float] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                memory[name] = int(value.split()[0]) / 1024  # kB
    except OSError:  # no procfs: the peak is all getrusage knows
        pass
    peak = memory.get("VmHWM", usage.ru_maxrss / 1024)
    return {
        "pages": pages,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "rss_mb": round(memory.get("VmRSS", peak), 1),
        "peak_rss_mb": round(peak, 1),
    }


class Probe:
    """Samples at open, every ``BENCH_PROBE_EVERY`` responses and at close; writes them at close."""

    def __init__(self, path: Path, every: int) -> None:
        self.path = path
        self.every = every
        self.pages = 0
        self.opened: dict[str, Any] | None = None
        self.samples: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Probe:
        path = crawler.settings.get("BENCH_PROBE_FILE")
        if not path:
            raise NotConfigured("BENCH_PROBE_FILE is not set")
        probe = cls(Path(path), crawler.settings.getint("BENCH_PROBE_EVERY", 0))
        crawler.signals.connect(probe.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(probe.response_received, signal=signals.response_received)
        crawler.signals.connect(probe.spider_closed, signal=signals.spider_closed)
        return probe

    def spider_opened(self) -> None:
        self.opened = sample(0)

    def response_received(self) -> None:
        self.pages += 1
        if self.every and self.pages % self.every == 0:
            self.samples.append(sample(self.pages))

    def spider_closed(self) -> None:
        result = {"opened": self.opened, "samples": self.samples, "closed": sample(self.pages)}
        self.path.write_text(json.dumps(result, indent=1))
