"""One crawl over several worker processes sharing a Redis frontier (newscrawl.frontier).

Real parts only: ``scrapy crawl`` processes, the Redis at 127.0.0.1:6379 (each test
its own crawl ids, deleted afterwards; a test that restarts Redis starts its own
server), PostgreSQL, and loopback sites that count every fetch.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite
from newscrawl.frontier.queue import Frontier
from tests.support.crawl import ROOT, CrawlResult, RunningCrawl, query, start_crawl
from tests.support.database import temporary_database

SHARED_REDIS = "redis://127.0.0.1:6379/0"
ARTICLES = 40
# Tight timings so the tests are quick: workers stop 2 s after the frontier empties,
# a killed worker's leases come back after 10 s (a shorter lease can expire while a
# worker busy starting up on a loaded CI machine misses its renewals), items are
# flushed every 0.5 s.
FAST = {
    "NEWSCRAWL_FRONTIER_IDLE_TIMEOUT": "2",
    "NEWSCRAWL_FRONTIER_LEASE_TIME": "10",
    "NEWSCRAWL_FRONTIER_RETRY_INTERVAL": "0.5",
    "NEWSCRAWL_STORE_FLUSH_INTERVAL": "0.5",
}


@pytest.fixture
def crawl_ids() -> Iterator[Callable[[], str]]:
    """Fresh crawl ids; their keys in the shared Redis are deleted afterwards."""
    made: list[str] = []

    def make() -> str:
        made.append(f"test-{uuid.uuid4().hex[:12]}")
        return made[-1]

    yield make

    async def clear() -> None:
        client = Frontier.client(SHARED_REDIS)
        for crawl_id in made:
            await Frontier(client, crawl_id).clear()
        await client.aclose()

    asyncio.run(clear())


def start_workers(
    n: int,
    tmp_path: Path,
    server: SiteServer,
    dsn: str,
    crawl_id: str,
    *,
    redis_url: str = SHARED_REDIS,
    settings: dict[str, str] | None = None,
    **args: str,
) -> list[RunningCrawl]:
    workers = []
    for i in range(n):
        workdir = tmp_path / f"{crawl_id}-{i}"
        workdir.mkdir()
        workers.append(
            start_crawl(
                "daily8",
                workdir,
                args={
                    "start_urls": f"{server.url}/en",
                    "crawl_id": crawl_id,
                    "render": "never",
                    **args,
                },
                settings={
                    "NEWSCRAWL_DATABASE_URL": dsn,
                    "NEWSCRAWL_FRONTIER_URL": redis_url,
                    **FAST,
                    **(settings or {}),
                },
            )
        )
    return workers


def finished(workers: list[RunningCrawl], timeout: float = 150) -> list[CrawlResult]:
    results = [worker.wait(timeout) for worker in workers]
    for result in results:
        assert result.returncode == 0, result.log[-3000:]
        assert result.stats.get("finish_reason") == "finished", result.log[-3000:]
        assert "Traceback" not in result.log, result.log[-3000:]
    return results


def fetched_twice(server: SiteServer) -> dict[str, int]:
    """Paths fetched more than once (robots.txt aside: every worker reads it)."""
    return {path: n for path, n in server.hits.items() if n > 1 and path != "/robots.txt"}


def stored(dsn: str) -> tuple[int, int]:
    """Articles stored, and distinct URLs among them."""
    row = query(dsn, "SELECT count(*) AS n, count(DISTINCT url) AS urls FROM articles")[0]
    return row["n"], row["urls"]


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_workers_share_one_crawl_and_crawls_stay_apart(
    tmp_path: Path, fresh_db: str, pg_dsn: str, crawl_ids: Callable[[], str]
) -> None:
    """Three workers crawl a site once between them, each URL fetched and each article
    stored once; meanwhile two workers of another crawl id, on another site, keep to
    their own frontier and spend one page budget between them."""
    site = SampleSite(n_articles=ARTICLES)
    whole, budgeted = crawl_ids(), crawl_ids()
    with (
        temporary_database(pg_dsn) as other_db,
        SiteServer(site, delay=0.01) as server,
        SiteServer(SampleSite(n_articles=ARTICLES), delay=0.01) as other_server,
    ):
        workers = start_workers(3, tmp_path, server, fresh_db, whole)
        others = start_workers(2, tmp_path, other_server, other_db, budgeted, max_pages="10")
        results = finished(workers)
        other_results = finished(others)
        other_runs = query(other_db, "SELECT crawl_id FROM crawl_runs")

    assert fetched_twice(server) == {}
    assert stored(fresh_db) == (len(site.expected_unique_stories()),) * 2
    # each article was written once (a worker that starts late may find the crawl done)
    assert sum(result.stat("newscrawl/store/inserted") for result in results) == stored(fresh_db)[0]
    assert sum(result.stat("newscrawl/store/updated") for result in results) == 0
    runs = query(fresh_db, "SELECT crawl_id, pages FROM crawl_runs")
    assert [run["crawl_id"] for run in runs] == [whole] * 3
    assert sum(run["pages"] for run in runs) == sum(
        result.stat("response_received_count") for result in results
    )

    article_hits = [path for path in other_server.hits if "/article/" in path]
    assert len(article_hits) == 10, sorted(other_server.hits)
    assert fetched_twice(other_server) == {}
    assert sum(result.stat("newscrawl/frontier/pushed") for result in other_results) > 0
    assert {run["crawl_id"] for run in other_runs} == {budgeted}


def test_a_killed_worker_loses_nothing(
    tmp_path: Path, fresh_db: str, crawl_ids: Callable[[], str]
) -> None:
    """SIGKILL one of three workers mid-crawl: its leased requests (and the items it had
    not stored yet) come back when its leases expire, and the crawl stores every article."""
    site = SampleSite(n_articles=ARTICLES)
    with SiteServer(site, delay=0.15) as server:
        workers = start_workers(
            3, tmp_path, server, fresh_db, crawl_ids(), settings={"CONCURRENT_REQUESTS": "2"}
        )
        wait_for(lambda: sum(server.hits.values()) >= 20)
        victim = workers.pop(0)
        victim.process.kill()
        victim.process.wait()
        results = finished(workers)
    assert stored(fresh_db) == (len(site.expected_unique_stories()),) * 2
    assert sum(result.stat("newscrawl/frontier/acked") for result in results) > 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(port: int, directory: Path) -> subprocess.Popen[bytes]:
    """Our own redis-server (append-only file, fsync every write) on ``port``."""
    process = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)

    def up() -> bool:
        try:
            return bool(client.ping())
        except redis.exceptions.RedisError:
            return False

    wait_for(up, 20)
    return process


def test_workers_pause_through_a_redis_restart(
    tmp_path: Path, fresh_db: str, crawl_ids: Callable[[], str]
) -> None:
    """Redis stops mid-crawl and comes back from its append-only file: the workers log
    one line each, wait, and finish the crawl, fetching each URL once."""
    site = SampleSite(n_articles=ARTICLES)
    port = free_port()
    directory = tmp_path / "redis"
    directory.mkdir()
    own_redis = start_redis(port, directory)
    try:
        with SiteServer(site, delay=0.15) as server:
            workers = start_workers(
                2,
                tmp_path,
                server,
                fresh_db,
                crawl_ids(),
                redis_url=f"redis://127.0.0.1:{port}/0",
                settings={"CONCURRENT_REQUESTS": "2", "NEWSCRAWL_FRONTIER_LEASE_TIME": "20"},
            )
            wait_for(lambda: sum(server.hits.values()) >= 20)
            own_redis.send_signal(signal.SIGTERM)
            own_redis.wait(20)
            time.sleep(2)
            own_redis = start_redis(port, directory)
            results = finished(workers)
    finally:
        own_redis.terminate()
        own_redis.wait(20)
    outages = [
        line for result in results for line in result.log.splitlines() if "unreachable" in line
    ]
    assert 1 <= len(outages) <= 2, outages  # one line per worker that noticed
    assert all(result.stat("newscrawl/frontier/outages") <= 1 for result in results)
    assert fetched_twice(server) == {}
    assert stored(fresh_db) == (len(site.expected_unique_stories()),) * 2


def test_operator_commands_seed_status_and_clear(
    tmp_path: Path, crawl_ids: Callable[[], str]
) -> None:
    """``frontier seed`` pushes the start requests once; ``status`` shows them queued and no
    worker alive; ``clear`` deletes the crawl."""
    crawl_id = crawl_ids()
    site = SampleSite(n_articles=ARTICLES)
    env = {**os.environ, "NEWSCRAWL_FRONTIER_URL": SHARED_REDIS}

    def newscrawl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "newscrawl.cli", "frontier", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    with SiteServer(site) as server:
        seeded = newscrawl("seed", "daily8", crawl_id, "-a", f"start_urls={server.url}/en")
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    assert f"Seeded crawl {crawl_id}: 2 requests pushed" in seeded.stdout
    assert sum(server.hits.values()) == 0  # seeding fetches nothing
    status = newscrawl("status", crawl_id)
    assert status.returncode == 0, status.stderr
    assert "seeded: done" in status.stdout
    assert "queued 2, leased 0, seen 2" in status.stdout
    assert "workers alive: 0" in status.stdout
    assert "127.0.0.1" in status.stdout
    cleared = newscrawl("clear", crawl_id)
    assert cleared.returncode == 0 and "keys deleted" in cleared.stdout
    assert "queued 0, leased 0, seen 0" in newscrawl("status", crawl_id).stdout
    unset = subprocess.run(
        [sys.executable, "-m", "newscrawl.cli", "frontier", "status"],
        cwd=ROOT,
        env={k: v for k, v in env.items() if k != "NEWSCRAWL_FRONTIER_URL"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert unset.returncode == 2 and "NEWSCRAWL_FRONTIER_URL" in unset.stderr


def test_redirect_targets_and_sitemap_batches_go_through_the_shared_frontier(
    tmp_path: Path, fresh_db: str, crawl_ids: Callable[[], str]
) -> None:
    """``/`` redirects to ``/en``, also a seed: the redirect's target meets the crawl's
    dupefilter, so ``/en`` is fetched once. A sitemap read 5 entries at a time is fed by
    the worker that read it (its "next batch" requests never enter Redis), so everything
    pushed passed the shared dupefilter."""
    site = SampleSite(n_articles=ARTICLES)
    crawl_id = crawl_ids()
    with SiteServer(site, delay=0.01) as server:
        workers = start_workers(
            2,
            tmp_path,
            server,
            fresh_db,
            crawl_id,
            settings={"NEWSCRAWL_SITEMAP_BATCH": "5"},
            start_urls=f"{server.url}/,{server.url}/en",
        )
        results = finished(workers)
    status = asyncio.run(frontier_status(crawl_id))
    assert server.hits["/"] == 1 and server.hits["/en"] == 1
    assert fetched_twice(server) == {}
    assert sum(result.stat("newscrawl/sitemap/batches") for result in results) >= 2
    assert status["stats"]["pushed"] == status["seen"]
    assert stored(fresh_db) == (len(site.expected_unique_stories()),) * 2


async def frontier_status(crawl_id: str) -> dict[str, Any]:
    client = Frontier.client(SHARED_REDIS)
    try:
        return await Frontier(client, crawl_id).status()
    finally:
        await client.aclose()


def test_robots_txt_is_fetched_once_per_crawl(
    tmp_path: Path, fresh_db: str, crawl_ids: Callable[[], str]
) -> None:
    """A worker that joins a running crawl takes the host's robots.txt from Redis: the
    site sees it fetched twice in all (the first worker's robots middleware, and the
    seed that reads its sitemaps), not once more per worker, and the rules still hold."""
    site = SampleSite(n_articles=3 * ARTICLES)  # long enough for the second to join
    crawl_id = crawl_ids()
    slow = {"CONCURRENT_REQUESTS": "2"}
    with SiteServer(site, delay=0.1) as server:
        first = start_workers(1, tmp_path, server, fresh_db, crawl_id, settings=slow)
        wait_for(lambda: sum(server.hits.values()) >= 3)  # its robots.txt is read
        (tmp_path / "second").mkdir()
        second = start_workers(1, tmp_path / "second", server, fresh_db, crawl_id, settings=slow)
        results = finished(first + second)
    assert server.hits["/robots.txt"] == 2
    assert results[1].stat("newscrawl/frontier/robots_shared") == 1
    assert results[1].stat("response_received_count") > 0
    assert "/en/private/drafts" not in server.hits  # disallowed by the shared rules
    assert stored(fresh_db) == (len(site.expected_unique_stories()),) * 2
