"""The README's main job: ``newscrawl demo`` end to end on embedded defaults, run twice,
and its results read back (``newscrawl export``, ``newscrawl db shell``)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest


@dataclass
class Demo:
    workdir: Path
    feed: Path
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]

    def newscrawl(self, command: str, *args: str) -> subprocess.CompletedProcess[bytes]:
        """``newscrawl <command words> --data-dir data <args>``."""
        return subprocess.run(
            [sys.executable, "-m", "newscrawl.cli", *command.split(), "--data-dir", "data", *args],
            capture_output=True,
            timeout=120,
            cwd=self.workdir,
            env=ENV | {"HOME": str(self.workdir)},
        )


ENV = {"PATH": "/usr/bin:/bin"}


def run_demo(workdir: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "newscrawl.cli",
            "demo",
            "--articles",
            "16",
            "--port",
            str(port),
            "--data-dir",
            "data",
            "--log-level",
            "WARNING",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=workdir,
        env=ENV | {"HOME": str(workdir)},
    )


def summary(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The demo's closing summary: label -> value."""
    lines = done.stdout.split("newscrawl demo finished", 1)[1].splitlines()[1:]
    return dict(re.match(r"\s+(\S.*?)\s{2,}(.*)", line).groups() for line in lines)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    workdir = tmp_path_factory.mktemp("demo")
    with socket.socket() as taken:  # a busy port: the demo moves to a free one
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        first = run_demo(workdir, busy)
    assert first.returncode == 0, first.stderr[-3000:]
    assert f"Port {busy} unavailable" in first.stdout
    port = int(re.search(r"127\.0\.0\.1:(\d+)/en", first.stdout).group(1))  # type: ignore[union-attr]
    feed = workdir / "articles.jsonl"
    first_lines = feed.read_text()
    second = run_demo(workdir, port)  # same URLs: every article is already stored
    assert second.returncode == 0, second.stderr[-3000:]
    assert feed.read_text() == first_lines  # appended to, not truncated
    return Demo(workdir, feed, first, second)


def test_demo_crawls_the_sample_site_into_the_embedded_database_and_a_feed(demo: Demo) -> None:
    figures = summary(demo.first)
    items = [json.loads(line) for line in demo.feed.read_text().splitlines()]
    assert figures["items exported"] == str(len(items)) == "14"
    assert figures["articles stored"] == "14 (14 new, 0 updated)"
    assert figures["items dropped"] == "1 (no_body 1)"  # the video-only story
    assert figures["listings without article links"] == "0"
    assert figures["errors"] == "1 (http_404 1)"  # the sample site's one dead link
    assert "headline" in figures["field coverage"].split(";")[0]  # every item has one
    assert figures["data"] == "feed articles.jsonl; embedded database in data"
    assert re.fullmatch(
        r"newscrawl export --data-dir data --run (\S+) -o run-\1\.jsonl", figures["next"]
    )
    assert (demo.workdir / "data" / "pgdata").is_dir()


def test_a_rerun_says_why_its_feed_got_nothing_and_how_to_read_the_data(demo: Demo) -> None:
    figures = summary(demo.second)
    assert figures["items exported"] == "0"
    assert figures["skipped as already stored"] == "15"  # the 14 stored, and their duplicate
    assert "-a incremental=0" in demo.second.stderr
    assert figures["next"] == "newscrawl export --data-dir data --spider daily8 -o daily8.jsonl"


def test_export_reads_the_stored_articles_in_every_format(demo: Demo) -> None:
    feed = {item["url"]: item for item in map(json.loads, demo.feed.read_text().splitlines())}
    jsonl = demo.newscrawl("export", "--spider", "daily8")
    assert jsonl.returncode == 0, jsonl.stderr
    exported = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert {item["url"]: item for item in exported} == feed

    run = summary(demo.first)["next"].split("--run ")[1].split()[0]
    csv_file = demo.workdir / "run.csv"
    done = demo.newscrawl("export", "--run", run, "--format", "csv", "-o", str(csv_file))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert len(rows) == len(feed)
    for row in rows:  # nested fields as JSON, as the crawl wrote them
        assert json.loads(row["source"]) == feed[row["url"]]["source"]
        assert json.loads(row["relatedArticles"]) == feed[row["url"]]["relatedArticles"]

    source = next(iter(feed.values()))["source"]["name"]
    parquet = demo.workdir / "one.parquet"
    done = demo.newscrawl("export", "--source", source, "--format", "parquet", "-o", str(parquet))
    assert done.returncode == 0, done.stderr
    table = pq.read_table(parquet).to_pylist()
    assert table and {row["url"] for row in table} == {
        url for url, item in feed.items() if item["source"]["name"] == source
    }
    assert demo.newscrawl("export", "--since", "2999-01-01").stdout == b""


def test_db_shell_opens_psql_on_the_embedded_database(demo: Demo) -> None:
    done = demo.newscrawl("db shell", "-c", "SELECT count(*) FROM articles", "--", "-At")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == "14"


def test_report_renders_its_charts_in_chromium(demo: Demo) -> None:
    from playwright.sync_api import sync_playwright

    from newscrawl.report import CHARTS

    run = summary(demo.first)["next"].split("--run ")[1].split()[0]
    report = demo.workdir / "report.html"
    done = demo.newscrawl("report", run, "-o", str(report))
    assert done.returncode == 0, done.stderr
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            fetched: list[str] = []
            page.on("request", lambda request: fetched.append(request.url))
            page.goto(report.as_uri())
            assert fetched == [report.as_uri()]  # self-contained: nothing else loaded
            assert page.locator("h1").inner_text() == "Crawl report: daily8"
            for name in CHARTS:
                chart = page.locator(f"figure#{name} svg")
                box = chart.bounding_box()
                assert box and box["width"] > 300 and box["height"] > 100, name
                assert chart.locator("path").count() > 5, name  # axes, ticks, bars, lines
            errors = page.locator("figure#errors svg").inner_html()
            assert "http_404" in errors
        finally:
            browser.close()
