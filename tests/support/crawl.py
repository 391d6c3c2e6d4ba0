"""Run real ``scrapy crawl`` processes against servers on 127.0.0.1.

Crawls run in a subprocess, exactly as users run them (``scrapy crawl``,
``-a``, ``-s``, ``-O``), and report their final stats through
``NEWSCRAWL_STATS_FILE``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.utils.test import get_crawler

ROOT = Path(__file__).resolve().parents[2]

# Fast for loopback servers; everything else (the INFO log level too) stays the project's default.
TEST_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "REMOTE_CONTROL_ENABLED": "False",
    "TELNETCONSOLE_ENABLED": "False",
}


@dataclass
class CrawlResult:
    returncode: int
    stats: dict[str, Any]
    items: list[dict[str, Any]]
    log: str
    children: set[str] = field(default_factory=set)  # process names, where a test watched

    def stat(self, key: str) -> int:
        return int(self.stats.get(key, 0))


@dataclass
class RunningCrawl:
    """A ``scrapy crawl`` process started by :func:`start_crawl`; its log goes to a file."""

    process: subprocess.Popen[bytes]
    feed: Path
    stats_file: Path
    log_file: Path

    def wait(self, timeout: float = 180) -> CrawlResult:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        feed, stats_file = self.feed, self.stats_file
        stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
        lines = feed.read_text().splitlines() if feed.exists() else []
        items = [json.loads(line) for line in lines]
        log = self.log_file.read_text(errors="replace")
        return CrawlResult(self.process.returncode, stats, items, log)


def start_crawl(
    spider: str,
    workdir: Path,
    *,
    args: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> RunningCrawl:
    """Start ``scrapy crawl <spider>``; its feed, stats and log are files in ``workdir``."""
    feed, stats_file, log_file = (workdir / name for name in ("items.jsonl", "stats.json", "log"))
    for path in (feed, stats_file):
        path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-O", f"{feed}:jsonlines"]
    for key, value in (args or {}).items():
        command += ["-a", f"{key}={value}"]
    merged = {**TEST_SETTINGS, "NEWSCRAWL_STATS_FILE": str(stats_file), **(settings or {})}
    for key, value in merged.items():
        command += ["-s", f"{key}={value}"]
    environment = {**os.environ, **(env or {})}
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=log
        )
    return RunningCrawl(process, feed, stats_file, log_file)


def run_crawl(
    spider: str,
    workdir: Path,
    *,
    args: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 180,
) -> CrawlResult:
    """``scrapy crawl <spider>`` run to its end (see :func:`start_crawl`)."""
    return start_crawl(spider, workdir, args=args, settings=settings, env=env).wait(timeout)


def crawl_daily8(server_url: str, dsn: str, workdir: Path, **args: str) -> CrawlResult:
    """``scrapy crawl daily8`` of a sample site at ``server_url`` into ``dsn``, finished cleanly."""
    result = run_crawl(
        "daily8",
        workdir,
        args={"start_urls": f"{server_url}/en", **args},
        settings={"NEWSCRAWL_DATABASE_URL": dsn},
    )
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats.get("finish_reason") == "finished", result.log[-3000:]
    return result


def query(dsn: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def project_crawler(spidercls: type[Spider], settings: dict[str, Any] | None = None) -> Crawler:
    """A crawler with the project's settings (``newscrawl.settings``) and ``settings`` over them,
    as ``scrapy crawl`` builds it (Scrapy's ``get_crawler`` leaves the project's out)."""
    merged = BaseSettings()  # not Settings: Scrapy's defaults would undo get_crawler's reactor
    merged.setmodule("newscrawl.settings", priority="project")
    merged.update(settings or {}, priority="cmdline")
    return get_crawler(spidercls, merged.copy_to_dict())
