"""Memory: the crawl's RSS after 10,000 and after 100,000 pages of one long crawl.

    python -m bench.memory [--pages 100000] [--first 10000] [--site-pages N] [--jobdir]

One ``daily8`` crawl with the full pipeline (a fresh PostgreSQL database) of a
generated site of ``--pages`` stories, stopped after ``--pages`` responses. The
crawl samples its own RSS when the spider opens and every ``--first`` pages
(``bench/probe.py``); the growth from the first milestone to the last is what a
long crawl costs, and the peak over the whole crawl is checked against a
target. The sitemaps name every story, but are read a batch at a time as the
crawl drains (``newscrawl.sitemaps``), so the request queue stays small; what
grows with the URLs a crawl has seen are request fingerprints and seen-article
and dedupe keys. With ``--jobdir`` the crawl keeps its request queue on disk
(Scrapy's ``JOBDIR``). The figures are the crawl process's own: its extraction
workers are processes of their own.
Writes ``bench/results/memory.json`` (``memory-jobdir.json``).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    PROJECT_EXTENSIONS,
    RESULTS_DIR,
    fresh_database,
    markdown_table,
    measure_crawl,
    verdict,
    write_results,
)
from tests.support.gensite import serve

TARGET_GROWTH_MB = 100.0
TARGET_PEAK_MB = 250.0  # the crawl process's peak RSS over the whole crawl


def run(
    pages: int, first: int, server: str, workdir: Path, jobdir: bool, site_pages: int = 0
) -> dict[str, Any]:
    """Crawl ``pages`` pages of a site of ``site_pages`` stories (default ``pages``), sampling
    every ``first``; the growth from first to last sample."""
    with serve(site_pages or pages, server=server) as site, fresh_database() as dsn:
        settings = {
            "NEWSCRAWL_DATABASE_URL": dsn,
            "EXTENSIONS": PROJECT_EXTENSIONS,
            "BENCH_PROBE_EVERY": str(first),
            "CLOSESPIDER_PAGECOUNT": str(pages),
        }
        if jobdir:
            settings["JOBDIR"] = str(workdir / "jobdir")
        target = ["crawl", "daily8", "-a", f"start_urls={site.url}/en"]
        crawl = measure_crawl("memory", target, settings, workdir, "closespider_pagecount")
    samples = crawl.pop("samples")
    opened, milestones = samples[0], [s for s in samples if s["pages"] in (first, pages)]
    if len(milestones) != 2:
        raise RuntimeError(f"crawl did not reach {first} and {pages} pages: {samples[-1]}")
    start, end = milestones
    growth = round(end["peak_rss_mb"] - start["peak_rss_mb"], 1)
    return {
        "site": {"articles": site_pages or pages, "server": site.server},
        "pages": pages,
        "first": first,
        "jobdir": jobdir,
        "crawl": crawl,
        "samples": samples,
        "growth_mb": growth,
        "target_growth_mb": TARGET_GROWTH_MB,
        "verdict": verdict(growth, TARGET_GROWTH_MB, at_most=True),
        "peak_rss_mb": end["peak_rss_mb"],
        "target_peak_mb": TARGET_PEAK_MB,
        "peak_verdict": verdict(end["peak_rss_mb"], TARGET_PEAK_MB, at_most=True),
        # Every story's URL is known (from the sitemaps) long before the first milestone.
        "bytes_per_url": round((end["peak_rss_mb"] - opened["rss_mb"]) * 2**20 / pages),
    }


def table(result: dict[str, Any]) -> str:
    rows: list[list[Any]] = [
        [f"{s['pages']:,}" if s["pages"] else "0 (spider open)", s["rss_mb"], s["peak_rss_mb"], ""]
        for s in result["samples"]
        if s["pages"] in (0, result["first"], result["pages"])
    ]
    growth = f"growth {result['first']:,} → {result['pages']:,}"
    target = f"≤ {TARGET_GROWTH_MB:g} MB {result['verdict']}"
    rows.append([growth, "", result["growth_mb"], target])
    peak = f"≤ {TARGET_PEAK_MB:g} MB {result['peak_verdict']}"
    rows.append(["peak over the crawl", "", result["peak_rss_mb"], peak])
    return markdown_table(["pages fetched", "RSS MB", "peak RSS MB", "target"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100_000, help="pages to crawl")
    parser.add_argument("--first", type=int, default=10_000, help="first milestone")
    parser.add_argument("--jobdir", action="store_true", help="keep the request queue on disk")
    parser.add_argument(
        "--site-pages", type=int, default=0, help="stories on the site (default: --pages)"
    )
    parser.add_argument("--server", choices=("auto", "nginx", "python"), default="auto")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="where memory.json goes")
    args = parser.parse_args(argv)
    if not 0 < args.first < args.pages or args.pages % args.first:
        parser.error("--first must divide --pages and be smaller")
    # Kept when the crawl falls short: its log and probe samples say why.
    workdir = Path(tempfile.mkdtemp(prefix="newscrawl-bench-memory-"))
    try:
        result = run(args.pages, args.first, args.server, workdir, args.jobdir, args.site_pages)
    except RuntimeError as error:
        raise SystemExit(f"bench.memory: {error}; the crawl's files are in {workdir}") from None
    shutil.rmtree(workdir)
    path = write_results("memory", result, args.results, "-jobdir" if args.jobdir else "")
    print(table(result))
    crawl = result["crawl"]
    print(
        f"\n{crawl['pages']:,} pages at {crawl['pages_per_s']} pages/s, "
        f"{result['bytes_per_url']:,} bytes per URL known; results in {path}"
    )


if __name__ == "__main__":
    main()
