"""Scaling out: one crawl's pages/s with 1, 2 and 4 workers sharing a Redis frontier.

    python -m bench.scale --pages 3000 [--workers 1,2,4] [--repeat 1] [--redis URL]

Every run crawls the same generated site with ``daily8`` (extraction in-process, so a
worker is one core's worth of work; feed output, the store off so PostgreSQL does
not compete for the same cores): ``local``, one process with Scrapy's in-memory
scheduler (the baseline); ``redis-N``, N worker processes of one crawl id sharing
the frontier. A crawl's rate is all its workers' pages over the time from the first
worker's spider open to the last one's close, less the idle timeout a worker waits
before it stops. Targets: ``redis-2`` ≥ 1.7x ``redis-1`` (two single-core workers),
``redis-1`` ≥ 0.9x ``local`` (the frontier's own overhead). Writes
``bench/results/scale.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import (
    RESULTS_DIR,
    ROOT,
    markdown_table,
    ratio,
    read_json,
    scrapy_command,
    verdict,
    write_results,
)
from bench.gensite import serve
from newscrawl.frontier.queue import Frontier

IDLE_TIMEOUT = 1.0
CONCURRENCY = 16  # per worker, as in the other crawl benchmarks
TARGETS = {"redis-2 vs redis-1": 1.7, "redis-1 vs local": 0.9}


def crawl(url: str, workers: int, redis_url: str | None, workdir: Path) -> dict[str, Any]:
    """One crawl of the site by ``workers`` processes (0: one process, no frontier)."""
    crawl_id = f"bench-{uuid.uuid4().hex[:10]}"
    settings = {
        "NEWSCRAWL_STORE_ENABLED": "False",
        "NEWSCRAWL_EXTRACT_WORKERS": "0",  # extraction in-process: a worker is one core
        "CONCURRENT_REQUESTS": str(CONCURRENCY),
    }
    if workers:
        assert redis_url is not None
        settings |= {
            "NEWSCRAWL_FRONTIER_URL": redis_url,
            "NEWSCRAWL_FRONTIER_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
            "NEWSCRAWL_FRONTIER_HOST_DELAY": "0",
            "NEWSCRAWL_FRONTIER_HOST_CONCURRENCY": str(CONCURRENCY * workers),
        }
    processes, stats_files, logs = [], [], []
    for i in range(max(workers, 1)):
        stats_file, log = workdir / f"{crawl_id}-{i}.stats.json", workdir / f"{crawl_id}-{i}.log"
        target = ["crawl", "daily8", "-a", f"start_urls={url}/en", "-a", "render=never"]
        target += ["-a", f"crawl_id={crawl_id}", "-O", f"{workdir / crawl_id}-{i}.jsonl:jsonlines"]
        command = scrapy_command(target, {**settings, "NEWSCRAWL_STATS_FILE": str(stats_file)})
        with log.open("wb") as out:
            processes.append(subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=out))
        stats_files.append(stats_file)
        logs.append(log)
    try:
        for process, log in zip(processes, logs, strict=True):
            if process.wait(3600):
                raise RuntimeError(f"worker failed, log {log}")
    finally:
        if workers and redis_url:
            asyncio.run(_clear(redis_url, crawl_id))
    stats = [read_json(path) for path in stats_files]
    start = min(datetime.fromisoformat(s["start_time"]) for s in stats)
    finish = max(datetime.fromisoformat(s["finish_time"]) for s in stats)
    elapsed = (finish - start).total_seconds() - (IDLE_TIMEOUT if workers else 0)
    pages = sum(int(s.get("response_received_count", 0)) for s in stats)
    return {
        "workers": max(workers, 1),
        "pages": pages,
        "items": sum(int(s.get("item_scraped_count", 0)) for s in stats),
        "pages_per_worker": [int(s.get("response_received_count", 0)) for s in stats],
        "elapsed_s": round(elapsed, 3),
        "pages_per_s": round(pages / elapsed, 1),
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
    rows = [
        [
            kind,
            r["workers"],
            r["pages"],
            r["elapsed_s"],
            r["pages_per_s"],
            str(r["pages_per_worker"]),
        ]
        for kind, r in result["best"].items()
    ]
    lines = markdown_table(["run", "workers", "pages", "s", "pages/s", "pages per worker"], rows)
    ratios = [
        [name, value, f"≥ {TARGETS[name]} {result['verdicts'][name]}" if name in TARGETS else ""]
        for name, value in result["ratios"].items()
    ]
    return lines + "\n\n" + markdown_table(["ratio", "value", "target"], ratios)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=3000, help="article pages on the site")
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
