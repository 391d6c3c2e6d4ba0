"""User mistakes on ``scrapy crawl``: one line naming the fix, the documented exit code.

Each case runs the real command in a subprocess, as a user would. None of them
may fetch anything: the commands point at no server, and the typo case would
otherwise crawl the daily8 spider's default seed (the real site).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.crawl import ROOT

QUIET = ["-s", "NEWSCRAWL_STORE_ENABLED=False", "-s", "TELNETCONSOLE_ENABLED=False"]


def scrapy_crawl(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", *args, *QUIET],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def error_line(stderr: str) -> str:
    """The one error line of a command's output (Scrapy's start-up INFO lines aside)."""
    assert "Traceback" not in stderr, stderr[-3000:]
    errors = [
        line for line in stderr.splitlines() if re.search(r" ERROR: |^scrapy crawl: error", line)
    ]
    assert len(errors) == 1, stderr[-3000:]
    return errors[0]


@pytest.mark.parametrize(
    ("spider", "argument", "expected"),
    [
        (
            "daily8",
            "max_pages=abc",
            "-a max_pages: expected a whole number of at least 1, not 'abc'",
        ),
        ("daily8", "render=sometimes", "-a render: expected one of auto, always, never"),
        ("news", "since=yesterday", "-a since: expected a date as YYYY-MM-DD, not 'yesterday'"),
        ("news", "start_urls=notaurl", "-a start_urls: 'notaurl' is not an http(s) URL"),
        (
            "daily8",
            "start_url=http://127.0.0.1:9/",
            "-a start_url: unknown argument; did you mean -a start_urls?",
        ),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(spider: str, argument: str, expected: str) -> None:
    done = scrapy_crawl(spider, "-a", argument)
    assert done.returncode == 2, done.stderr[-2000:]
    assert error_line(done.stderr).startswith(f"scrapy crawl: error: {expected}")
    assert "Spider opened" not in done.stderr  # stopped before the crawl began


def test_an_unwritable_feed_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = scrapy_crawl("news", "-O", "/proc/x.jsonl")
    assert done.returncode == 2, done.stderr[-2000:]
    assert error_line(done.stderr) == (
        "scrapy crawl: error: cannot write the feed /proc/x.jsonl: No such file or directory"
    )
    assert "Spider opened" not in done.stderr


def test_an_unknown_argument_warns_and_scrapyd_arguments_pass(tmp_path: Path) -> None:
    done = scrapy_crawl("news", "-a", "colour=blue", "-a", "_job=abc", "-a", "_version=1")
    assert done.returncode == 0, done.stderr[-2000:]
    warnings = [line for line in done.stderr.splitlines() if "Unknown spider argument" in line]
    assert len(warnings) == 1 and "-a colour" in warnings[0], done.stderr[-2000:]


def test_a_failing_start_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "failing_start.py").write_text(
        "from newscrawl.spiders.news import NewsSpider\n\n"
        "class FailingStart(NewsSpider):\n"
        "    name = 'failing_start'\n\n"
        "    async def start(self):\n"
        "        raise RuntimeError('seed list unavailable')\n"
        "        yield\n"
    )
    done = scrapy_crawl(
        "failing_start",
        "-s",
        "SPIDER_MODULES=newscrawl.spiders,failing_start",
        "-s",
        "LOG_LEVEL=INFO",  # the traceback is logged at DEBUG
        # A worker still starting when the crawl ends prints a BrokenPipeError traceback
        # (newscrawl.workers, reported): no workers for a crawl that fetches nothing.
        "-s",
        "NEWSCRAWL_EXTRACT_WORKERS=0",
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)},
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "RuntimeError: seed list unavailable" in error_line(done.stderr)
