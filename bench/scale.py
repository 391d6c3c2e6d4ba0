"""Scaling out: one crawl's pages/s with 1, 2 and 4 workers sharing a Redis frontier.

    python -m bench.scale --pages 5000 [--workers 1,2,4] [--repeat 1] [--redis URL]

Every run crawls the same generated site with ``daily8`` (extraction in-process, so a
worker is one core's worth of work; feed output, the store off so PostgreSQL does
not compete for the same cores): ``local``, one process with Scrapy's in-memory
scheduler (the baseline); ``redis-N``, N worker processes of one crawl id sharing
the frontier. Every run is measured the same way, by :class:`WorkerClock` inside each
worker: a crawl's time runs from the first worker's spider open to the last page any
worker received, so the wait before a worker decides the crawl is over (the idle
timeout, the close) is reported beside it (``shutdown_s``), not in it. Per worker:
pages, when its first page came, its CPU seconds, the share of the crawl's time it
was on a CPU (``busy``; ``local`` shows what the machine gave one process), and the
time it had nothing to download or parse (``waiting_s``: what a worker starved by
the frontier shows). Targets: ``redis-2`` ≥ 1.7x ``redis-1`` (two single-core
workers), ``redis-1`` ≥ 0.9x ``local`` (the frontier's own overhead). Writes
``bench/results/scale.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet.task import LoopingCall

from bench.common import (
    PROJECT_EXTENSIONS,
    RESULTS_DIR,
    ROOT,
    markdown_table,
    ratio,
    read_json,
    scrapy_command,
    verdict,
    write_results,
)
from newscrawl.frontier.queue import Frontier
from tests.support.gensite import serve

IDLE_TIMEOUT = 1.0
CONCURRENCY = 16  # per worker, as in the other crawl benchmarks
TARGETS = {"redis-2 vs redis-1": 1.7, "redis-1 vs local": 0.9}
CLOCK = "bench.scale.WorkerClock"
WAIT_SAMPLE = 0.02  # seconds between looks at whether a worker has anything to do


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class WorkerClock:
    """A worker's timeline for this benchmark (``-s BENCH_CLOCK_FILE=path``).

    Wall-clock times (one machine, so comparable between workers), the process's CPU
    seconds at spider open, at its last page and at close, and ``waiting_s``: sampled
    time with nothing in the engine (no request downloading, no response being
    parsed) between spider open and the last page.
    """

    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.crawler = crawler
        self.path = path
        self.times: dict[str, float] = {}
        self.waiting = 0.0
        self.waiting_at_last = 0.0
        self.pages = 0
        self.sampler = LoopingCall(self._sample)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        path = crawler.settings.get("BENCH_CLOCK_FILE")
        if not path:
            raise NotConfigured("BENCH_CLOCK_FILE is not set")
        clock = cls(crawler, Path(path))
        crawler.signals.connect(clock.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(clock.response_received, signal=signals.response_received)
        crawler.signals.connect(clock.spider_closed, signal=signals.spider_closed)
        return clock

    def spider_opened(self) -> None:
        self.times |= {"opened": time.time(), "cpu_opened": cpu_s()}
        self.sampler.start(WAIT_SAMPLE, now=False)

    def _sample(self) -> None:
        engine = self.crawler.engine
        slot = engine._slot if engine is not None else None
        if slot is not None and not slot.inprogress:
            self.waiting += WAIT_SAMPLE

    def response_received(self) -> None:
        now = time.time()
        self.pages += 1
        self.times.setdefault("first", now)
        self.times |= {"last": now, "cpu_last": cpu_s()}
        self.waiting_at_last = self.waiting

    def spider_closed(self) -> None:
        if self.sampler.running:
            self.sampler.stop()
        self.times |= {"closed": time.time(), "cpu_closed": cpu_s()}
        self.path.write_text(json.dumps({**self.times, "waiting_s": self.waiting_at_last}))


def crawl(url: str, workers: int, redis_url: str | None, workdir: Path) -> dict[str, Any]:
    """One crawl of the site by ``workers`` processes (0: one process, no frontier)."""
    crawl_id = f"bench-{uuid.uuid4().hex[:10]}"
    extensions = {**json.loads(PROJECT_EXTENSIONS), CLOCK: 950}
    settings = {
        "NEWSCRAWL_STORE_ENABLED": "False",
        "NEWSCRAWL_EXTRACT_WORKERS": "0",  # extraction in-process: a worker is one core
        "CONCURRENT_REQUESTS": str(CONCURRENCY),
        "EXTENSIONS": json.dumps(extensions),
    }
    if workers:
        assert redis_url is not None
        settings |= {
            "NEWSCRAWL_FRONTIER_URL": redis_url,
            "NEWSCRAWL_FRONTIER_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
            "NEWSCRAWL_FRONTIER_HOST_DELAY": "0",
            "NEWSCRAWL_FRONTIER_HOST_CONCURRENCY": str(CONCURRENCY * workers),
        }
    processes, files, logs = [], [], []
    for i in range(max(workers, 1)):
        name = f"{crawl_id}-{i}"
        stats_file, clock_file = workdir / f"{name}.stats.json", workdir / f"{name}.clock.json"
        log = workdir / f"{name}.log"
        target = ["crawl", "daily8", "-a", f"start_urls={url}/en", "-a", "render=never"]
        target += ["-a", f"crawl_id={crawl_id}", "-O", f"{workdir / name}.jsonl:jsonlines"]
        files_settings = {
            "NEWSCRAWL_STATS_FILE": str(stats_file),
            "BENCH_CLOCK_FILE": str(clock_file),
        }
        command = scrapy_command(target, {**settings, **files_settings})
        with log.open("wb") as out:
            processes.append(subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=out))
        files.append((stats_file, clock_file))
        logs.append(log)
    try:
        for process, log in zip(processes, logs, strict=True):
            if process.wait(3600):
                raise RuntimeError(f"worker failed, log {log}")
    finally:
        if workers and redis_url:
            asyncio.run(_clear(redis_url, crawl_id))
    stats = [read_json(stats_file) for stats_file, _ in files]
    clocks = [read_json(clock_file) for _, clock_file in files]
    return summary(max(workers, 1), stats, clocks)


def summary(
    workers: int, stats: list[dict[str, Any]], clocks: list[dict[str, Any]]
) -> dict[str, Any]:
    """A run's figures from its workers' stats and clocks (see the module docstring)."""
    start = min(clock["opened"] for clock in clocks)
    last = max(clock.get("last", clock["opened"]) for clock in clocks)
    crawl_s = last - start
    pages = [int(s.get("response_received_count", 0)) for s in stats]
    cpu = [clock.get("cpu_last", clock["cpu_opened"]) - clock["cpu_opened"] for clock in clocks]
    return {
        "workers": workers,
        "pages": sum(pages),
        "items": sum(int(s.get("item_scraped_count", 0)) for s in stats),
        "crawl_s": round(crawl_s, 3),
        "shutdown_s": round(max(clock["closed"] for clock in clocks) - last, 3),
        "pages_per_s": round(sum(pages) / crawl_s, 1) if crawl_s > 0 else 0.0,
        "cpu_ms_per_page": round(1000 * sum(cpu) / max(sum(pages), 1), 2),
        "per_worker": [
            {
                "pages": n,
                "first_s": round(clock.get("first", start) - start, 2),
                "cpu_s": round(used, 2),
                "busy": round(used / crawl_s, 2) if crawl_s > 0 else 0.0,
                "waiting_s": round(clock["waiting_s"], 2),
            }
            for n, used, clock in zip(pages, cpu, clocks, strict=True)
        ],
    }


async def _clear(redis_url: str, crawl_id: str) -> None:
    client = Frontier.client(redis_url)
    await Frontier(client, crawl_id).clear()
    await client.aclose()


def run(
    pages: int, counts: list[int], repeat: int, redis_url: str, workdir: Path
) -> dict[str, Any]:
    kinds = ["local"] + [f"redis-{n}" for n in counts]
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    with serve(pages) as site:
        for _ in range(repeat):
            for kind in kinds:
                workers = 0 if kind == "local" else int(kind.split("-")[1])
                runs[kind].append(crawl(site.url, workers, redis_url, workdir))
    best = {kind: max(found, key=lambda r: r["pages_per_s"]) for kind, found in runs.items()}
    rate = {kind: best[kind]["pages_per_s"] for kind in kinds}
    ratios = {
        f"{kind} vs redis-1": ratio(rate[kind], rate["redis-1"])
        for kind in kinds
        if kind.startswith("redis-") and kind != "redis-1" and "redis-1" in rate
    }
    if "redis-1" in rate:
        ratios["redis-1 vs local"] = ratio(rate["redis-1"], rate["local"])
    return {
        "site": {"articles": pages, "server": site.server},
        "repeat": repeat,
        "runs": runs,
        "best": best,
        "ratios": ratios,
        "targets": TARGETS,
        "verdicts": {
            name: verdict(ratios[name], target)
            for name, target in TARGETS.items()
            if name in ratios
        },
    }


def table(result: dict[str, Any]) -> str:
    rows = []
    for kind, r in result["best"].items():
        rows.append(
            [
                kind,
                r["workers"],
                r["pages"],
                r["crawl_s"],
                r["pages_per_s"],
                r["cpu_ms_per_page"],
                r["shutdown_s"],
                ", ".join(str(w["pages"]) for w in r["per_worker"]),
                ", ".join(f"{w['busy']:.0%}" for w in r["per_worker"]),
                ", ".join(str(w["waiting_s"]) for w in r["per_worker"]),
                ", ".join(str(w["first_s"]) for w in r["per_worker"]),
            ]
        )
    headers = ["run", "workers", "pages", "crawl s", "pages/s", "CPU ms/page", "shutdown s"]
    headers += ["pages per worker", "busy", "waiting s", "first page s"]
    lines = markdown_table(headers, rows)
    ratios = [
        [name, value, f"≥ {TARGETS[name]} {result['verdicts'][name]}" if name in TARGETS else ""]
        for name, value in result["ratios"].items()
    ]
    return lines + "\n\n" + markdown_table(["ratio", "value", "target"], ratios)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000, help="article pages on the site")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to run")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind (best kept)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="frontier Redis")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="where scale.json goes")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="newscrawl-bench-scale-") as workdir:
        result = run(args.pages, counts, max(1, args.repeat), args.redis, Path(workdir))
    path = write_results("scale", result, args.results)
    print(table(result))
    print(f"\n{result['site']['server']} server; results in {path}")


if __name__ == "__main__":
    main()
