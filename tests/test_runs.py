"""Run records: every crawl leaves one ``crawl_runs`` row saying what it did."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from scrapy.exceptions import NotConfigured

from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite
from newscrawl.runs import RunRecorder
from newscrawl.spiders.daily8 import Daily8Spider
from tests.support.crawl import project_crawler, query, run_crawl


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
