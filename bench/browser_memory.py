"""Browser memory: a crawl that renders nothing, and a long rendered crawl.

``--idle``: a ``render=auto`` crawl of the sample site's server-rendered pages
(none needs the browser) with newscrawl's download handler, which starts
Playwright on the first page that asks for it, against scrapy-playwright's own
handler configured as its documentation says (it starts Playwright's Node driver
at crawl open, one per scheme). Reports the peak RSS of the crawl's whole
process tree (crawl, Node drivers, Chromium) sampled every 0.1 s, and the
browser processes seen. Writes ``bench/results/browser_idle.json``.

    python -m bench.browser_memory --idle [--pages 100]

Otherwise: recycled browser contexts against one context. Crawls the sample
site with ``-a render=always`` (every article and listing page through
Chromium) twice in the same command, with contexts recycled every
``NEWSCRAWL_BROWSER_CONTEXT_PAGES`` pages and with one context for the whole
crawl, and samples the proportional set size (PSS: shared pages counted once
across Chromium's processes) of the browser processes while they run.

    python -m bench.browser_memory [--pages 300] [--context-pages 100]

Writes ``bench/results/browser_memory.json`` and prints a markdown table. The
verdict is the growth from the first to the last quarter of each crawl, not a
bare figure: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

from newscrawl.browser import resolve_executable
from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "browser_memory.json"
IDLE_RESULTS = RESULTS.with_name("browser_idle.json")
PLAYWRIGHT_HANDLERS = json.dumps(
    dict.fromkeys(("http", "https"), "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler")
)
BROWSER_PROCESSES = ("node", "chromium", "chrome")
SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "REMOTE_CONTROL_ENABLED": "False",
    "TELNETCONSOLE_ENABLED": "False",
    "NEWSCRAWL_STORE_ENABLED": "False",
    "LOG_LEVEL": "INFO",
}
SAMPLE_EVERY = 0.5  # seconds


def browser_pss_mb(root: psutil.Process) -> float:
    """PSS of the Chromium processes under ``root`` (the crawl), in MiB."""
    total = 0
    for process in root.children(recursive=True):
        try:
            if "chrom" in process.name():
                total += process.memory_full_info().pss
        except psutil.Error:  # exited between listing and reading
            continue
    return total / 2**20


def crawl(url: str, pages: int, context_pages: int, workdir: Path) -> dict[str, Any]:
    """One rendered crawl; its stats and the browser's memory over time."""
    stats_file = workdir / f"stats-{context_pages}.json"
    command = [sys.executable, "-m", "scrapy", "crawl", "daily8"]
    command += ["-a", f"start_urls={url}/en", "-a", "render=always", "-a", f"max_pages={pages}"]
    settings = {
        **SETTINGS,
        "NEWSCRAWL_BROWSER_CONTEXT_PAGES": str(context_pages),
        "NEWSCRAWL_STATS_FILE": str(stats_file),
    }
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    with subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL) as process:
        root = psutil.Process(process.pid)
        while process.poll() is None:
            if (pss := browser_pss_mb(root)) > 0:
                samples.append((round(time.monotonic() - started, 2), round(pss, 1)))
            time.sleep(SAMPLE_EVERY)
    stats = json.loads(stats_file.read_text())
    quarter = max(1, len(samples) // 4)
    first = statistics.median(pss for _, pss in samples[:quarter])
    last = statistics.median(pss for _, pss in samples[-quarter:])
    return {
        "contexts": f"{context_pages} pages each" if context_pages else "one for the crawl",
        "returncode": process.returncode,
        "wall_s": round(time.monotonic() - started, 1),
        "rendered": stats.get("newscrawl/browser/rendered", 0),
        "contexts_recycled": stats.get("newscrawl/browser/contexts_recycled", 0),
        "pss_first_quarter_mb": round(first, 1),
        "pss_last_quarter_mb": round(last, 1),
        "pss_peak_mb": max(pss for _, pss in samples),
        "growth_mb": round(last - first, 1),
        "samples": samples,
    }


def tree_rss_mb(root: psutil.Process) -> tuple[float, Counter[str]]:
    """RSS of ``root`` and every process under it, in MiB, and the browser processes there."""
    total, browsers = 0, Counter[str]()
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
            name = Path(process.exe()).name
        except psutil.Error:
            continue
        if name.startswith(BROWSER_PROCESSES):
            browsers[name] += 1
    return total / 2**20, browsers


def idle_crawl(url: str, pages: int, handler: str, workdir: Path) -> dict[str, Any]:
    """A ``render=auto`` crawl of pages that need no browser; its tree's peak RSS."""
    stats_file = workdir / f"stats-idle-{handler}.json"
    command = [sys.executable, "-m", "scrapy", "crawl", "daily8"]
    command += ["-a", f"start_urls={url}/en", "-a", "render=auto", "-a", f"max_pages={pages}"]
    settings = {**SETTINGS, "NEWSCRAWL_STATS_FILE": str(stats_file)}
    if handler == "scrapy-playwright":
        settings["DOWNLOAD_HANDLERS"] = PLAYWRIGHT_HANDLERS
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    peak, browsers = 0.0, Counter[str]()
    started = time.monotonic()
    with subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL) as process:
        root = psutil.Process(process.pid)
        while process.poll() is None:
            with contextlib.suppress(psutil.Error):
                rss, seen = tree_rss_mb(root)
                peak, browsers = max(peak, rss), browsers | seen  # most at once, by name
            time.sleep(0.1)
    stats = json.loads(stats_file.read_text())
    return {
        "handler": handler,
        "returncode": process.returncode,
        "wall_s": round(time.monotonic() - started, 1),
        "items": stats.get("item_scraped_count", 0),
        "rendered": stats.get("newscrawl/browser/rendered", 0),
        "browser_processes": dict(sorted(browsers.items())),
        "peak_tree_rss_mb": round(peak, 1),
    }


def idle(pages: int, output: Path) -> int:
    site = SampleSite(n_articles=pages + 20)
    with SiteServer(site) as server, tempfile.TemporaryDirectory() as tmp:
        runs = [
            idle_crawl(server.url, pages, handler, Path(tmp))
            for handler in ("scrapy-playwright", "newscrawl")
        ]
    baseline, ours = runs
    results = {
        "pages": pages,
        "runs": runs,
        "rss_ratio": round(ours["peak_tree_rss_mb"] / baseline["peak_tree_rss_mb"], 2),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=1) + "\n")
    print("| handler | items | rendered | browser processes | peak RSS (tree) | wall |")
    print("|---|---|---|---|---|---|")
    for run in runs:
        print(
            f"| {run['handler']} | {run['items']} | {run['rendered']} "
            f"| {', '.join(f'{n} × {k}' for k, n in run['browser_processes'].items()) or 'none'} "
            f"| {run['peak_tree_rss_mb']} MiB | {run['wall_s']} s |"
        )
    print(f"\nnewscrawl / scrapy-playwright peak RSS: {results['rss_ratio']}x")
    return 0 if all(run["returncode"] == 0 for run in runs) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300, help="article pages to render")
    parser.add_argument("--context-pages", type=int, default=100, help="pages per context")
    parser.add_argument("--output", type=Path, help="where to write the JSON")
    parser.add_argument("--idle", action="store_true", help="a crawl that renders nothing")
    args = parser.parse_args(argv)
    executable = resolve_executable(None)
    if executable is None:
        print("No Chromium: apt-get install chromium (or set NEWSCRAWL_BROWSER)", file=sys.stderr)
        return 1
    if args.idle:
        return idle(args.pages, args.output or IDLE_RESULTS)
    site = SampleSite(n_articles=args.pages + 20)
    runs = []
    with SiteServer(site) as server, tempfile.TemporaryDirectory() as tmp:
        for context_pages in (args.context_pages, 0):
            runs.append(crawl(server.url, args.pages, context_pages, Path(tmp)))
    results = {"browser": executable, "pages": args.pages, "runs": runs}
    output = args.output or RESULTS
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=1) + "\n")
    print("| contexts | rendered | recycled | PSS first ¼ | PSS last ¼ | growth | peak | wall |")
    print("|---|---|---|---|---|---|---|---|")
    for run in runs:
        print(
            f"| {run['contexts']} | {run['rendered']} | {run['contexts_recycled']} "
            f"| {run['pss_first_quarter_mb']} MiB | {run['pss_last_quarter_mb']} MiB "
            f"| {run['growth_mb']:+} MiB | {run['pss_peak_mb']} MiB | {run['wall_s']} s |"
        )
    return 0 if all(run["returncode"] == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
