"""Shared benchmark plumbing: measured subprocesses, scratch databases, results and tables.

The machines these run on are shared and noisy, so a benchmark never reports a
bare figure as its verdict: it runs its baseline in the same command and
reports the ratio. Every process under test is a child of the benchmark, so its
CPU time and peak RSS come from the kernel (``os.wait4``), not from sampling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shlex
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from newscrawl import settings as project_settings
from tests.support.database import postgres_dsn, temporary_database
from tests.support.measure import run_measured

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PROBE = "bench.probe.Probe"
# A daily8 crawl's extensions: the project's, and the probe (bare_spider.py lists its own).
PROJECT_EXTENSIONS = json.dumps({**project_settings.EXTENSIONS, PROBE: 900})

# The same fast settings for every crawl a benchmark compares: loopback servers need no
# politeness, and only the spider and its pipelines may differ between runs.
CRAWL_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "ROBOTSTXT_OBEY": "True",
    "REMOTE_CONTROL_ENABLED": "False",
    "TELNETCONSOLE_ENABLED": "False",
    "LOG_LEVEL": "INFO",
}


def scrapy_command(target: Sequence[str], settings: dict[str, str]) -> list[str]:
    """``python -m scrapy <target...>`` with :data:`CRAWL_SETTINGS` and ``settings`` as ``-s``."""
    command = [sys.executable, "-m", "scrapy", *target]
    for key, value in {**CRAWL_SETTINGS, **settings}.items():
        command += ["-s", f"{key}={value}"]
    return command


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file a child wrote, or ``{}`` when it wrote none (it crashed: see its log)."""
    return json.loads(path.read_text()) if path.exists() else {}


def measure_crawl(
    name: str,
    target: Sequence[str],
    settings: dict[str, str],
    workdir: Path,
    finish_reason: str = "finished",
) -> dict[str, Any]:
    """Run one crawl (``scrapy <target>``) and return its figures.

    A crawl that fails or closes for any reason but ``finish_reason`` raises. The
    crawl needs :data:`PROBE` among its extensions (see :data:`PROJECT_EXTENSIONS`).
    Rates and ``crawl_cpu_s`` cover the crawl itself, spider open to close (the final
    database write included), not interpreter start-up; ``cpu_s`` and ``peak_rss_mb``
    are the whole process's. ``samples``: the probe's, at spider open (0 pages) and every
    ``BENCH_PROBE_EVERY`` pages.
    """
    stats_file, probe_file = workdir / f"{name}.stats.json", workdir / f"{name}.probe.json"
    log = workdir / f"{name}.log"
    for path in (stats_file, probe_file):
        path.unlink(missing_ok=True)
    files = {"NEWSCRAWL_STATS_FILE": str(stats_file), "BENCH_PROBE_FILE": str(probe_file)}
    measured = run_measured(scrapy_command(target, {**settings, **files}), log=log)
    stats, probe = read_json(stats_file), read_json(probe_file)
    if measured.returncode or stats.get("finish_reason") != finish_reason or not probe:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"crawl {name} failed ({measured.returncode}), log {log}:\n{tail}")
    # Sitemap batches are asked for with data: requests, which never leave the process.
    batches = int(stats.get("newscrawl/sitemap/batches", 0))
    pages = int(stats.get("response_received_count", 0)) - batches
    items = int(stats.get("item_scraped_count", 0))
    elapsed = float(stats["elapsed_time_seconds"])
    crawl_cpu = probe["closed"]["cpu_s"] - probe["opened"]["cpu_s"]
    return {
        "pages": pages,
        "items": items,
        "errors": int(stats.get("log_count/ERROR", 0)),
        "extract_workers": stats.get("newscrawl/extract/workers"),
        "elapsed_s": round(elapsed, 3),
        "pages_per_s": round(pages / elapsed, 1),
        "items_per_s": round(items / elapsed, 1),
        "crawl_cpu_s": round(crawl_cpu, 3),
        "cpu_ms_per_page": round(1000 * crawl_cpu / max(pages, 1), 3),
        **asdict(measured),
        "samples": [probe["opened"], *probe["samples"]],
    }


@contextlib.contextmanager
def fresh_database(server_dsn: str | None = None) -> Iterator[str]:
    """DSN of a new, empty database, dropped on exit.

    On ``server_dsn`` (default ``$NEWSCRAWL_TEST_DATABASE_URL``, else the local test
    server); when that server is unreachable, on an embedded server in a scratch
    directory, so the benchmarks run from a clean clone with nothing installed.
    """
    server_dsn = server_dsn or postgres_dsn()
    with contextlib.ExitStack() as stack:
        try:
            psycopg.connect(server_dsn, connect_timeout=5).close()
        except psycopg.OperationalError:
            server_dsn = stack.enter_context(_embedded_server())
        yield stack.enter_context(temporary_database(server_dsn, prefix="nc_bench"))


@contextlib.contextmanager
def _embedded_server() -> Iterator[str]:
    from newscrawl.db.connection import Database

    with tempfile.TemporaryDirectory(prefix="newscrawl-bench-pg-") as data_dir:
        database = asyncio.run(Database.resolve(None, data_dir))
        try:
            yield database.dsn
        finally:
            asyncio.run(database.close())


def machine() -> dict[str, Any]:
    """Context for a result: the figures are only comparable on the same kind of machine."""
    import scrapy

    return {
        "cpus": os.cpu_count(),
        "loadavg_at_finish": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "scrapy": scrapy.__version__,
        "platform": platform.platform(),
    }


def write_results(
    name: str, data: dict[str, Any], results_dir: Path = RESULTS_DIR, variant: str = ""
) -> Path:
    """Write ``<results_dir>/<name><variant>.json`` with the command line and when it ran."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}{variant}.json"
    document = {
        "benchmark": name,
        "command": f"python -m bench.{name} {shlex.join(sys.argv[1:])}".strip(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **data,
    }
    path.write_text(json.dumps(document, indent=1) + "\n")
    return path


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table; floats get two decimals."""

    def cell(value: Any) -> str:
        return f"{value:,.2f}" if isinstance(value, float) else str(value)

    lines = [headers, ["---"] * len(headers), *rows]
    return "\n".join("| " + " | ".join(cell(value) for value in line) + " |" for line in lines)


def ratio(value: float, baseline: float) -> float:
    """``value / baseline``, 0 when the baseline did nothing (a broken run, not a win)."""
    return round(value / baseline, 3) if baseline else 0.0


def verdict(value: float, target: float, *, at_most: bool = False) -> str:
    """``"pass"``/``"MISS"`` for a ratio or a size against its target."""
    met = value <= target if at_most else value >= target
    return "pass" if met else "MISS"
