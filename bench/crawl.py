"""Crawl throughput: newscrawl against bare Scrapy on the same generated site, in one run.

    python -m bench.crawl --pages 3000 [--repeat 3] [--server auto|nginx|python]

Three crawls of one site (every markup variant the sample site serves), with
the same settings (no throttling, 16 concurrent requests, robots.txt obeyed):
``bare``, Scrapy following links with no extraction (``bench/bare_spider.py``);
``full``, ``daily8`` with every pipeline into a fresh PostgreSQL database and
extraction in the default number of worker processes; ``inprocess``, the same
with ``NEWSCRAWL_EXTRACT_WORKERS=0``. The full runs report the articles they
stored (counted in the database). With ``--repeat`` the runs interleave and
each kind reports its median, so a burst of load from elsewhere hits all three
alike. ``CPU ms/page`` is the crawl process's own (the reactor thread);
``all CPU ms/page`` adds its extraction workers. Writes ``bench/results/crawl.json``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

import psycopg

from bench.common import (
    CRAWL_SETTINGS,
    PROJECT_EXTENSIONS,
    RESULTS_DIR,
    fresh_database,
    markdown_table,
    measure_crawl,
    ratio,
    verdict,
    write_results,
)
from tests.support.gensite import serve

BARE_SPIDER = Path(__file__).resolve().parent / "bare_spider.py"
KINDS = ("bare", "full", "inprocess")
TARGETS = {"full": 0.9, "inprocess": 0.7}  # pages/s against bare Scrapy


def crawl(kind: str, url: str, workdir: Path) -> dict[str, Any]:
    """One measured crawl of ``kind`` from ``url``."""
    start = f"start_urls={url}/en"
    if kind == "bare":
        return measure_crawl(kind, ["runspider", str(BARE_SPIDER), "-a", start], {}, workdir)
    settings = {"EXTENSIONS": PROJECT_EXTENSIONS}
    if kind == "inprocess":
        settings["NEWSCRAWL_EXTRACT_WORKERS"] = "0"
    with fresh_database() as dsn:
        settings["NEWSCRAWL_DATABASE_URL"] = dsn
        figures = measure_crawl(kind, ["crawl", "daily8", "-a", start], settings, workdir)
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT count(*) FROM articles").fetchone()
        figures["stored"] = row[0] if row else 0
    return figures


def run(pages: int, repeat: int, server: str, workdir: Path) -> dict[str, Any]:
    """Interleaved crawls; the median run of each kind by pages/s, and ratios to bare.

    ``CPU vs bare`` is bare Scrapy's CPU time per page over this run's: what the
    pages/s ratio would be if both ran alone on a core.
    """
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    with serve(pages, server=server) as site:
        for _ in range(repeat):
            for kind in KINDS:
                figures = crawl(kind, site.url, workdir)
                del figures["samples"]  # memory over time is bench.memory's subject
                runs[kind].append(figures)
    median = {kind: _median_run(found) for kind, found in runs.items()}
    bare = median["bare"]["pages_per_s"]
    ratios = {kind: ratio(median[kind]["pages_per_s"], bare) for kind in TARGETS}
    # CPU per page depends far less than pages/s on what else the machine runs.
    cpu = {k: statistics.median(r["cpu_ms_per_page"] for r in done) for k, done in runs.items()}
    cpu_ratios = {kind: ratio(cpu["bare"], cpu[kind]) for kind in TARGETS}
    return {
        "site": {"articles": pages, "server": site.server},
        "settings": CRAWL_SETTINGS,
        "repeat": repeat,
        "runs": runs,
        "median": median,
        "ratios_to_bare": ratios,
        "median_cpu_ms_per_page": cpu,
        "cpu_ratios_to_bare": cpu_ratios,
        "targets": TARGETS,
        "verdicts": {kind: verdict(ratios[kind], target) for kind, target in TARGETS.items()},
    }


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median pages/s (the lower middle one for an even count)."""
    rates = sorted(run["pages_per_s"] for run in runs)
    middle = statistics.median_low(rates)
    return next(run for run in runs if run["pages_per_s"] == middle)


def table(result: dict[str, Any]) -> str:
    rows = []
    for kind in KINDS:
        m = result["median"][kind]
        target = TARGETS.get(kind)
        rows.append(
            [
                kind,
                m["pages"],
                m["items"],
                m.get("stored", ""),
                m.get("extract_workers", ""),
                m["pages_per_s"],
                m["items_per_s"],
                result["median_cpu_ms_per_page"][kind],
                round(1000 * m["cpu_s"] / max(m["pages"], 1), 3),
                m["peak_rss_mb"],
                result["ratios_to_bare"].get(kind, 1.0),
                result["cpu_ratios_to_bare"].get(kind, 1.0),
                f"≥ {target} {result['verdicts'][kind]}" if target else "",
            ]
        )
    headers = ["run", "pages", "items", "stored", "workers", "pages/s", "items/s", "CPU ms/page"]
    headers += ["all CPU ms/page", "peak RSS MB"]
    headers += ["pages/s vs bare", "CPU vs bare", "target (pages/s)"]
    return markdown_table(headers, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=3000, help="article pages on the site")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind (median)")
    parser.add_argument("--server", choices=("auto", "nginx", "python"), default="auto")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="where crawl.json goes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="newscrawl-bench-crawl-") as workdir:
        result = run(args.pages, max(1, args.repeat), args.server, Path(workdir))
    path = write_results("crawl", result, args.results)
    print(table(result))
    print(f"\n{result['site']['server']} server; results in {path}")


if __name__ == "__main__":
    main()
