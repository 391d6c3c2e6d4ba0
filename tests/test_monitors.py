"""Spidermon monitors: run for scheduled jobs, each result in the log, crawl_runs and report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite
from tests.support.crawl import query, run_crawl


def test_a_scheduled_run_is_monitored_and_an_adhoc_one_is_not(
    fresh_db: str, tmp_path: Path
) -> None:
    settings = {
        "NEWSCRAWL_DATABASE_URL": fresh_db,
        "NEWSCRAWL_MONITOR_MIN_ITEMS": "1000",  # a sample site of 12 cannot reach it
        "NEWSCRAWL_MONITOR_MAX_ERROR_RATE": "0.5",
    }
    with SiteServer(SampleSite(12)) as server:
        start = {"start_urls": f"{server.url}/en"}
        scheduled = run_crawl(
            "daily8", tmp_path, args={**start, "_job": "nightly.1"}, settings=settings
        )
        adhoc = run_crawl("daily8", tmp_path, args=start, settings=settings)
    assert scheduled.returncode == 0 and adhoc.returncode == 0, scheduled.log[-3000:]
    found = scheduled.stat("item_scraped_count")
    assert f"Monitor minimum items: FAILED: {found} articles found, expected 1000+" in scheduled.log
    for name in ("error rate", "field coverage", "finish reason"):
        assert f"Monitor {name}: passed" in scheduled.log
    assert "Monitor " not in adhoc.log

    runs = query(
        fresh_db, "SELECT id, job_id, monitors, monitors_failed FROM crawl_runs ORDER BY started_at"
    )
    assert [run["job_id"] for run in runs] == ["nightly.1", None]
    assert runs[0]["monitors_failed"] == 1
    assert runs[0]["monitors"]["minimum items"] == {
        "passed": False,
        "detail": f"{found} articles found, expected 1000+",
    }
    assert runs[1]["monitors"] is None and runs[1]["monitors_failed"] is None

    report = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "newscrawl.cli", "report", str(runs[0]["id"]), "-o", str(report)],
        env={"PATH": "/usr/bin:/bin", "NEWSCRAWL_DATABASE_URL": fresh_db},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    page = report.read_text()
    assert '<tr class="failed"><th>minimum items</th><td>FAILED</td>' in page
    assert '<tr class="passed"><th>finish reason</th><td>passed</td>' in page
