"""Run records: every crawl leaves one ``crawl_runs`` row saying what it did."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import NotConfigured

from newscrawl.db.connection import Database
from newscrawl.db.crawl import open_database
from newscrawl.db.spool import Spool
from newscrawl.db.store import ArticleStore
from newscrawl.db.writer import RetryPolicy
from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite
from newscrawl.processors import body_hash
from newscrawl.runs import RunRecorder
from newscrawl.spiders.daily8 import Daily8Spider
from tests.support.crawl import ROOT, project_crawler, query, run_crawl


def test_a_crawl_records_its_run(fresh_db: str, tmp_path: Path) -> None:
    site = SampleSite(n_articles=12)
    with SiteServer(site) as server:
        result = run_crawl(
            "daily8",
            tmp_path,
            # scrapyd starts jobs with -a _job=<id> (and _version with a pinned version)
            args={"start_urls": f"{server.url}/en", "_job": "hourly.20250517T1200Z"},
            settings={"NEWSCRAWL_DATABASE_URL": fresh_db},
        )
    assert result.returncode == 0, result.log[-3000:]
    (row,) = query(fresh_db, "SELECT * FROM crawl_runs")
    assert row["spider"] == "daily8"
    assert row["job_id"] == "hourly.20250517T1200Z"
    assert row["finish_reason"] == "finished"
    assert row["started_at"] < row["finished_at"]
    assert row["pages"] == result.stat("response_received_count") > 0
    assert row["items_stored"] == len(site.expected_unique_stories())
    assert row["duplicates"] == result.stat("newscrawl/duplicates/content") == 1
    assert row["errors"] == 0
    assert row["stats"]["newscrawl/store/inserted"] == row["items_stored"]
    assert "Run recorded in crawl_runs (finished)" in result.log


def test_a_failed_write_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    unreachable = "postgresql://postgres@127.0.0.1:9/none?connect_timeout=2"
    settings = {"NEWSCRAWL_DATABASE_URL": unreachable, "NEWSCRAWL_STORE_RETRY_BACKOFF": 0.01}
    crawler = project_crawler(Daily8Spider, settings)
    recorder = RunRecorder.from_crawler(crawler)

    async def run() -> None:
        await recorder.spider_opened(Daily8Spider())
        await recorder.spider_closed("finished")  # no second attempt (nor retry cycle) at close

    with caplog.at_level(logging.WARNING):
        asyncio.run(run())
    assert crawler.stats.get_value("newscrawl/runs/errors") == 1
    assert caplog.text.count("Could not record the run in crawl_runs") == 1
    assert caplog.text.count("retrying in") == 5  # the retries of the one attempt to open


def test_off_without_the_store() -> None:
    with pytest.raises(NotConfigured):
        RunRecorder.from_crawler(project_crawler(Daily8Spider, {"NEWSCRAWL_STORE_ENABLED": False}))


def article(n: int, body: str = "") -> dict[str, Any]:
    body = body or f"Story number {n}.\nIt has two paragraphs."
    url = f"https://news.example/story/{n}"
    return {
        "url": url,
        "headline": f"Headline {n}",
        "articleBody": body,
        "bodyHash": body_hash(body),
        "provenance": {"spider": "news", "fields": {}},
    }


def newscrawl(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "newscrawl.cli", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def exported(dsn: str, run: uuid.UUID) -> list[str]:
    done = newscrawl("export", "--database-url", dsn, "--run", str(run))
    assert done.returncode == 0, done.stderr
    return sorted(json.loads(line)["url"] for line in done.stdout.splitlines())


def run_row(run: uuid.UUID, stats: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": run, "spider": "news", "job_id": None, "crawl_id": None,
        "started_at": now - timedelta(minutes=1), "finished_at": now,
        "finish_reason": "store_outage", "pages": 9, "items_stored": 1, "items_replayed": 0,
        "items_rejected": 0, "items_spooled": 2, "duplicates": 0, "errors": 0, "stats": stats,
    }  # fmt: skip


def test_export_run_is_exactly_what_the_run_wrote_even_beside_another_run(fresh_db: str) -> None:
    """Two runs of one spider at the same time (two sites, say): each run's export holds
    its own articles, those it inserted, updated or found unchanged, not the other's."""
    first, second = uuid.uuid4(), uuid.uuid4()

    async def crawl_both() -> None:
        async with open_database(
            fresh_db, "unused", timeout=5, retry=RetryPolicy(times=0, backoff=1.0, backoff_max=30.0)
        ):
            pass
        link = Database(dsn=fresh_db, label="test").link(timeout=5)
        store = ArticleStore(link)
        try:
            for run in (first, second):
                await store.record_run(run_row(run, {}))
            await store.write([article(1), article(2)], first)
            await store.write([article(3)], second)
            await store.write([article(2), article(1, "Story number 1, corrected.")], second)
            await store.write([article(4)], None)  # no run: stored, in no run's export
        finally:
            await link.close()

    asyncio.run(crawl_both())
    assert exported(fresh_db, first) == [
        "https://news.example/story/1",
        "https://news.example/story/2",
    ]
    assert exported(fresh_db, second) == [f"https://news.example/story/{n}" for n in (1, 2, 3)]
    actions = query(
        fresh_db, "SELECT action FROM run_articles WHERE run_id = %s ORDER BY article_id", second
    )
    assert [row["action"] for row in actions] == ["updated", "unchanged", "inserted"]


def test_a_standalone_replay_adds_what_it_stored_to_the_run_that_spooled_it(
    fresh_db: str, tmp_path: Path
) -> None:
    """A run stored one article and spooled two (the database went away); ``newscrawl db
    replay`` later stores them: the run's row counts all three, its export holds them."""
    run = uuid.uuid4()
    stats = {"newscrawl/store/inserted": 1, "newscrawl/store/spooled": 2,
             "newscrawl/store/left_spooled": 2, "response_received_count": 9}  # fmt: skip

    async def crawl_then_outage() -> None:
        async with open_database(
            fresh_db, "unused", timeout=5, retry=RetryPolicy(times=0, backoff=1.0, backoff_max=30.0)
        ):
            pass
        link = Database(dsn=fresh_db, label="test").link(timeout=5)
        try:
            await ArticleStore(link).write([article(1)], run)
            await ArticleStore(link).record_run(run_row(run, stats))
        finally:
            await link.close()
        spool = Spool.of(fresh_db, tmp_path / "spool", run)
        spool.append([article(2), article(3)])
        spool.close()

    asyncio.run(crawl_then_outage())
    replay = newscrawl(
        "db", "replay", "--database-url", fresh_db, "--spool-dir", str(tmp_path / "spool")
    )
    assert replay.returncode == 0, replay.stderr
    assert f"Added 2 replayed items to the crawl_runs row of run {run}" in replay.stderr
    (row,) = query(fresh_db, "SELECT * FROM crawl_runs")
    assert (row["items_stored"], row["items_replayed"], row["items_spooled"]) == (3, 2, 0)
    assert row["pages"] == 9 and row["finish_reason"] == "store_outage"
    assert row["stats"]["newscrawl/store/replayed/inserted"] == 2
    assert row["stats"]["newscrawl/store/left_spooled"] == 0
    assert exported(fresh_db, run) == [f"https://news.example/story/{n}" for n in (1, 2, 3)]
