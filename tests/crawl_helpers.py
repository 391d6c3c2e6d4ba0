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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

ROOT = Path(__file__).resolve().parent.parent

# Fast and quiet for loopback servers; everything else stays the project's default.
TEST_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "REMOTE_CONTROL_ENABLED": "False",
    "TELNETCONSOLE_ENABLED": "False",
    "LOG_LEVEL": "INFO",
}


@dataclass
class CrawlResult:
    returncode: int
    stats: dict[str, Any]
    items: list[dict[str, Any]]
    log: str

    def stat(self, key: str) -> int:
        return int(self.stats.get(key, 0))


def run_crawl(
    spider: str,
    workdir: Path,
    *,
    args: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 180,
) -> CrawlResult:
    """``scrapy crawl <spider>`` with a JSON-lines feed and a stats file in ``workdir``."""
    feed, stats_file = workdir / "items.jsonl", workdir / "stats.json"
    for path in (feed, stats_file):
        path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-O", f"{feed}:jsonlines"]
    for key, value in (args or {}).items():
        command += ["-a", f"{key}={value}"]
    merged = {**TEST_SETTINGS, "NEWSCRAWL_STATS_FILE": str(stats_file), **(settings or {})}
    for key, value in merged.items():
        command += ["-s", f"{key}={value}"]
    environment = {**os.environ, **(env or {})}
    done = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout
    )
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    items = [json.loads(line) for line in feed.read_text().splitlines()] if feed.exists() else []
    return CrawlResult(done.returncode, stats, items, done.stderr)


def query(dsn: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()
