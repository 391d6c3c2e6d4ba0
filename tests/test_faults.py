"""Faults injected into real crawls: the database lost mid-crawl, a crawl killed.

Each crawl is a real ``scrapy crawl daily8`` over the sample site (served slowly
so that the fault lands mid-crawl) into a real PostgreSQL; each test ends the
same way: every story of the site is stored exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pgserver
import psycopg
import pytest
from pgserver._commands import pg_ctl
from scrapy import Spider
from scrapy.utils.test import get_crawler

from newscrawl.db.spool import Spool, database_folder
from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite
from newscrawl.jobdir import MARKER, JobdirGuard, JobdirInUse
from newscrawl.pipelines.postgres import PostgresPipeline
from newscrawl.processors import url_key
from tests.support.crawl import (
    ROOT,
    CrawlResult,
    RunningCrawl,
    project_crawler,
    query,
    start_crawl,
)

# Small batches and quick retries: a fault hits many writes and the tests stay fast.
FAULT_SETTINGS = {
    "CONCURRENT_REQUESTS": "4",
    "NEWSCRAWL_STORE_BATCH_SIZE": "3",
    "NEWSCRAWL_STORE_FLUSH_INTERVAL": "0.2",
    "NEWSCRAWL_STORE_RETRY_TIMES": "5",
    "NEWSCRAWL_STORE_RETRY_BACKOFF": "0.1",
    "NEWSCRAWL_STORE_RETRY_BACKOFF_MAX": "0.5",
    "NEWSCRAWL_STORE_TIMEOUT": "2",
}
SITE_SIZE = 36
DELAY = 0.25  # seconds per response: with 4 at a time, a crawl takes a few seconds


@dataclass
class Throwaway:
    """A PostgreSQL server of the test's own, which it may stop and start (same DSN)."""

    server: pgserver.PostgresServer
    dsn: str

    def stop(self) -> None:
        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()


@pytest.fixture
def throwaway_pg() -> Iterator[Throwaway]:
    # Not under pytest's tmp_path: pytest keeps its root private (0700) and the server
    # runs as another user, which must reach its data directory.
    folder = Path(tempfile.mkdtemp(prefix="newscrawl-pg-"))
    server = pgserver.get_server(folder / "pgdata", cleanup_mode="stop")
    try:
        yield Throwaway(server, server.get_uri())
    finally:
        server.ensure_postgres_running()  # cleanup stops a running server
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def wait_until(condition: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stored_count(dsn: str) -> int:
    """Articles stored so far (0 before the crawl created the schema or while it is down)."""
    try:
        return query(dsn, "SELECT count(*) AS n FROM articles")[0]["n"]
    except psycopg.Error:
        return 0


def assert_every_story_stored_once(dsn: str, site: SampleSite, server: SiteServer) -> None:
    expected = site.expected_unique_stories()
    keys = [url_key(f"{server.url}/en/article/{story_id}") for story_id in expected]
    rows = query(dsn, "SELECT url_key, article_id FROM article_urls WHERE url_key = ANY(%s)", keys)
    assert {row["url_key"] for row in rows} == set(keys)
    assert len({row["article_id"] for row in rows}) == len(expected)
    assert stored_count(dsn) == len(expected)


def start(server: SiteServer, dsn: str, workdir: Path, **settings: str) -> RunningCrawl:
    """A daily8 crawl of ``server`` into ``dsn``, spooling to ``workdir / "spool"``."""
    workdir.mkdir(exist_ok=True)
    return start_crawl(
        "daily8",
        workdir,
        args={"start_urls": f"{server.url}/en"},
        settings={
            **FAULT_SETTINGS,
            "NEWSCRAWL_DATABASE_URL": dsn,
            "NEWSCRAWL_SPOOL_DIR": str(workdir / "spool"),
            **settings,
        },
    )


def running(crawl: RunningCrawl) -> bool:
    return crawl.process.poll() is None


def finished(crawl: RunningCrawl) -> CrawlResult:
    result = crawl.wait(timeout=120)
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["finish_reason"] == "finished"
    return result


def spooled_files(workdir: Path) -> list[Path]:
    return sorted((workdir / "spool").glob("*/*.jsonl"))


def test_terminated_connections_are_retried(fresh_db: str, tmp_path: Path) -> None:
    site = SampleSite(n_articles=SITE_SIZE)
    with SiteServer(site, delay=DELAY) as server:
        crawl = start(server, fresh_db, tmp_path)
        killed = 0
        for rows in (3, 9, 15):  # kill every connection of the crawl, three times over
            wait_until(lambda n=rows: stored_count(fresh_db) >= n or not running(crawl))
            if not running(crawl):
                break
            killed += len(
                query(
                    fresh_db,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
            )
        result = finished(crawl)
    assert killed, "the crawl held no connection to kill"
    assert_every_story_stored_once(fresh_db, site, server)
    assert result.stat("newscrawl/store/retries") >= 1
    assert "Database unavailable (" in result.log
    assert result.stat("newscrawl/store/spooled") == 0
    assert "Could not store" not in result.log  # every batch made it on a retry


def test_database_restart_mid_crawl(throwaway_pg: Throwaway, tmp_path: Path) -> None:
    site = SampleSite(n_articles=SITE_SIZE)
    dsn = throwaway_pg.dsn
    with SiteServer(site, delay=DELAY) as server:
        crawl = start(server, dsn, tmp_path, NEWSCRAWL_STORE_RETRY_TIMES="1")
        wait_until(lambda: stored_count(dsn) >= 3, what="first rows")
        server.delay = 4 * DELAY  # the site slows down too: pages are left for after
        throwaway_pg.stop()
        wait_until(lambda: bool(spooled_files(tmp_path)), what="a spooled batch")
        throwaway_pg.start()
        server.delay = DELAY
        result = finished(crawl)
    assert_every_story_stored_once(dsn, site, server)
    spooled = result.stat("newscrawl/store/spooled")
    assert spooled >= 1
    assert "Spooled " in result.log and "The database is back" in result.log
    assert result.stat("newscrawl/store/replayed") == spooled  # at close
    assert not spooled_files(tmp_path)


def test_items_spooled_while_the_database_is_down_are_replayed_by_the_command(
    throwaway_pg: Throwaway, tmp_path: Path
) -> None:
    site = SampleSite(n_articles=SITE_SIZE)
    dsn = throwaway_pg.dsn
    with SiteServer(site, delay=DELAY) as server:
        crawl = start(server, dsn, tmp_path, NEWSCRAWL_STORE_RETRY_TIMES="1")
        wait_until(lambda: stored_count(dsn) >= 3, what="first rows")
        throwaway_pg.stop()
        started = time.monotonic()
        result = crawl.wait(timeout=120)  # the crawl does not stall for want of its database
        assert time.monotonic() - started < 60
        # ... but its exit status says the work is not done
        assert result.returncode == 1 and result.stats["finish_reason"] == "finished"
        lines = [line for path in spooled_files(tmp_path) for line in path.read_text().splitlines()]
        runs = [line for line in lines if line.startswith('{"_crawl_run"')]
        left = len(lines) - len(runs)
        assert len(runs) == 1  # the run's row waits for the database too
        assert left == result.stat("newscrawl/store/spooled") > 0
        assert left == result.stat("newscrawl/store/left_spooled")
        hint = f"`newscrawl db replay --spool-dir {tmp_path / 'spool'}`"
        assert f"{left} items remain spooled in" in result.log and hint in result.log

        throwaway_pg.start()
        command = [sys.executable, "-m", "newscrawl.cli", "db", "replay"]
        command += ["--database-url", dsn, "--spool-dir", str(tmp_path / "spool")]
        replay = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert replay.returncode == 0, replay.stderr
        assert f"Replayed {left} spooled items" in replay.stderr
        assert_every_story_stored_once(dsn, site, server)
        (run,) = query(dsn, "SELECT finish_reason, items_spooled, items_replayed FROM crawl_runs")
        # The replay's work is the run's: nothing left spooled, the replayed items counted.
        assert run == {"finish_reason": "store_outage", "items_spooled": 0, "items_replayed": left}
        assert not spooled_files(tmp_path)

        again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0 and "Nothing spooled" in again.stderr


def record(n: int) -> dict[str, str]:
    return {
        "url": f"https://news.example/story/{n}",
        "headline": f"Headline {n}",
        "articleBody": f"Story number {n}.\nIt has two paragraphs.",
    }


def open_and_close_pipeline(dsn: str, spool_dir: Path) -> dict[str, int]:
    """A crawl's store pipeline that stores nothing itself: its start replays the spool."""
    crawler = project_crawler(
        Spider, {"NEWSCRAWL_DATABASE_URL": dsn, "NEWSCRAWL_SPOOL_DIR": str(spool_dir)}
    )
    pipeline = PostgresPipeline.from_crawler(crawler)

    async def run() -> None:
        await pipeline.open_spider()
        await pipeline.close_spider()

    asyncio.run(run())
    return crawler.stats.get_stats()


def test_a_spool_left_behind_is_replayed_at_the_next_start_idempotently(
    fresh_db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / database_folder(fresh_db)
    folder.mkdir()
    lines = [json.dumps(record(n)) for n in range(5)]
    # A killed crawl's spool: five records, one of them twice, and a torn last line.
    dead = folder / "20250101T000000-1-dead.jsonl"
    dead.write_text("\n".join([*lines, lines[0], '{"url": "https://news.ex']))
    stats = open_and_close_pipeline(fresh_db, tmp_path)
    assert stats["newscrawl/store/replayed"] == 6
    assert stats["newscrawl/store/replayed/inserted"] == 5
    assert stats["newscrawl/store/replayed/unchanged"] == 1
    assert f"Skipping unreadable line 7 of spool file {dead}" in caplog.text
    assert not dead.exists()
    assert stored_count(fresh_db) == 5

    dead.write_text("\n".join(lines))  # the same records again: nothing changes
    stats = open_and_close_pipeline(fresh_db, tmp_path)
    assert stats["newscrawl/store/replayed/unchanged"] == 5
    assert stored_count(fresh_db) == 5
    assert not list(folder.iterdir())


def test_a_file_still_being_written_is_not_replayed(fresh_db: str, tmp_path: Path) -> None:
    writer = Spool(tmp_path / database_folder(fresh_db))
    path = writer.append([record(1)])
    try:
        stats = open_and_close_pipeline(fresh_db, tmp_path)
        assert "newscrawl/store/replayed" not in stats and path.exists()
    finally:
        writer.close()
    assert open_and_close_pipeline(fresh_db, tmp_path)["newscrawl/store/replayed"] == 1
    assert not path.exists()


# --------------------------------------------------------------------------- crash and resume


def test_a_killed_crawl_resumes_from_its_jobdir(fresh_db: str, tmp_path: Path) -> None:
    # Big enough that Scrapy has written request fingerprints to the JOBDIR when it is
    # killed: a plain resume then finds its seeds "already seen" and its queue lost.
    site = SampleSite(n_articles=400)
    jobdir = tmp_path / "job"
    with SiteServer(site) as server:
        crawl = start(server, fresh_db, tmp_path / "killed", JOBDIR=str(jobdir))
        wait_until(
            lambda: stored_count(fresh_db) >= 20 and (jobdir / "requests.seen").stat().st_size > 0,
            what="stored rows and saved fingerprints",
        )
        crawl.process.kill()
        assert crawl.wait().returncode == -signal.SIGKILL
        killed_at = stored_count(fresh_db)
        assert killed_at < len(site.expected_unique_stories())
        resumed = finished(start(server, fresh_db, tmp_path / "resumed", JOBDIR=str(jobdir)))
    assert "did not shut down cleanly" in resumed.log
    assert resumed.stat("newscrawl/jobdir/unclean") == 1
    # As an uninterrupted crawl stores (test_crawl_daily8): each story once, none missing.
    assert_every_story_stored_once(fresh_db, site, server)
    expected = len(site.expected_unique_stories())
    assert resumed.stat("newscrawl/store/inserted") == expected - killed_at
    assert not (jobdir / MARKER).exists()


def test_a_crawl_stopped_cleanly_resumes_where_it_stopped(fresh_db: str, tmp_path: Path) -> None:
    site = SampleSite(n_articles=SITE_SIZE)
    jobdir = tmp_path / "job"
    with SiteServer(site, delay=DELAY) as server:
        crawl = start(server, fresh_db, tmp_path / "first", JOBDIR=str(jobdir))
        wait_until(lambda: stored_count(fresh_db) >= 6, what="stored rows")
        crawl.process.send_signal(signal.SIGTERM)  # as a scheduler or Ctrl-C does
        first = crawl.wait(timeout=60)
        assert first.returncode == 0 and first.stats["finish_reason"] == "shutdown"
        assert not (jobdir / MARKER).exists()
        resumed = finished(start(server, fresh_db, tmp_path / "second", JOBDIR=str(jobdir)))
    assert "Resuming crawl (" in resumed.log and "did not shut down cleanly" not in resumed.log
    assert_every_story_stored_once(fresh_db, site, server)
    stored_first = first.stat("newscrawl/store/inserted") + first.stat("newscrawl/store/merged")
    assert stored_first + resumed.stat("newscrawl/store/inserted") == len(
        site.expected_unique_stories()
    )


def test_a_resumed_crawl_keeps_its_page_budget(fresh_db: str, tmp_path: Path) -> None:
    site = SampleSite(n_articles=SITE_SIZE)
    jobdir, budget = tmp_path / "job", 20
    with SiteServer(site, delay=DELAY) as server:
        args = {"start_urls": f"{server.url}/en", "max_pages": str(budget)}
        settings = {**FAULT_SETTINGS, "NEWSCRAWL_DATABASE_URL": fresh_db, "JOBDIR": str(jobdir)}
        (tmp_path / "first").mkdir()
        crawl = start_crawl("daily8", tmp_path / "first", args=args, settings=settings)
        wait_until(lambda: stored_count(fresh_db) >= 6, what="stored rows")
        crawl.process.send_signal(signal.SIGTERM)
        assert crawl.wait(timeout=60).stats["finish_reason"] == "shutdown"
        (tmp_path / "second").mkdir()
        finished(start_crawl("daily8", tmp_path / "second", args=args, settings=settings))
    fetched = sum(n for path, n in server.hits.items() if "/article/" in path)
    assert fetched == budget


def test_two_crawls_cannot_share_a_jobdir(tmp_path: Path) -> None:
    first = JobdirGuard(get_crawler(Spider), str(tmp_path))
    first.claim()
    with pytest.raises(JobdirInUse, match=f"in use by another crawl \\(pid {os.getpid()}\\)"):
        JobdirGuard(get_crawler(Spider), str(tmp_path)).claim()
    first.release()
    JobdirGuard(get_crawler(Spider), str(tmp_path)).claim()  # free again


def test_ctrl_c_during_an_outage_stops_at_once_and_the_run_is_recorded_by_the_replay(
    throwaway_pg: Throwaway, tmp_path: Path
) -> None:
    site = SampleSite(n_articles=SITE_SIZE)
    dsn = throwaway_pg.dsn
    with SiteServer(site, delay=DELAY) as server:
        # Patient retries: waited out, one batch would hold the crawl for over a minute.
        crawl = start(
            server,
            dsn,
            tmp_path,
            NEWSCRAWL_STORE_RETRY_BACKOFF="5",
            NEWSCRAWL_STORE_RETRY_BACKOFF_MAX="30",
        )
        wait_until(lambda: stored_count(dsn) >= 3, what="first rows")
        throwaway_pg.stop()
        wait_until(lambda: "Database unavailable (" in crawl.log_file.read_text(), what="a retry")
        crawl.process.send_signal(signal.SIGINT)  # Ctrl-C
        started = time.monotonic()
        result = crawl.wait(timeout=60)
        took = time.monotonic() - started
    assert took < 15, result.log[-3000:]
    assert result.returncode == 1 and result.stats["finish_reason"] == "shutdown"
    left = result.stat("newscrawl/store/left_spooled")
    assert left > 0 and "Run record spooled to" in result.log

    throwaway_pg.start()
    command = [sys.executable, "-m", "newscrawl.cli", "db", "replay"]
    command += ["--database-url", dsn, "--spool-dir", str(tmp_path / "spool")]
    replay = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert replay.returncode == 0, replay.stderr
    (run,) = query(dsn, "SELECT * FROM crawl_runs")
    assert run["finish_reason"] == "store_outage" and run["finished_at"] is not None
    assert run["items_replayed"] == left and run["stats"]["finish_reason"] == "shutdown"
    assert run["items_spooled"] == 0
    assert not spooled_files(tmp_path)
