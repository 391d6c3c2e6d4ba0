"""The write path against a real PostgreSQL: what each kind of failure leads to.

A poison record (one PostgreSQL refuses for its own content) is isolated and
dead-lettered while its batch is stored; a refused connection is an outage found
in milliseconds; refused credentials fail at once; no DSN leaks its password.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import logging
import secrets
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from scrapy import Spider
from scrapy.exceptions import DropItem

from newscrawl.db.connection import Database
from newscrawl.db.crawl import open_database
from newscrawl.db.errors import DatabaseMisconfigured, DatabaseUnavailable, classify
from newscrawl.db.spool import Spool
from newscrawl.db.store import ArticleStore
from newscrawl.db.writer import RetryPolicy, Writer
from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import Resource, SampleSite
from newscrawl.pipelines.validate import ValidatePipeline
from newscrawl.processors import body_hash, url_key
from tests.support.crawl import project_crawler, query, run_crawl


def record(n: int, **fields: Any) -> dict[str, Any]:
    body = f"Story number {n}.\nIt has two paragraphs."
    return {
        "url": f"https://news.example/story/{n}",
        "headline": f"Headline {n}",
        "articleBody": body,
        "bodyHash": body_hash(body),
        **fields,
    }


def poison(n: int) -> dict[str, Any]:
    """A record whose 3 KB canonical URL (random, so incompressible) exceeds what a
    PostgreSQL index row can hold: SQLSTATE 54000, one record's fault."""
    return record(n, canonicalUrl=f"https://news.example/{secrets.token_hex(1500)}")


ROOT = Path(__file__).resolve().parent.parent
# A batch's way down: each module calls only the next one (and leaf helpers: db/errors,
# processors), never one before it; db/crawl only wires them together at the start.
WRITE_PATH = [
    "newscrawl.pipelines.postgres",
    "newscrawl.db.writer",
    "newscrawl.db.store",
    "newscrawl.db.connection",
]


def runtime_imports(module: str) -> set[str]:
    """The newscrawl modules ``module`` imports (``if TYPE_CHECKING:`` imports aside)."""
    tree = ast.parse((ROOT / f"{module.replace('.', '/')}.py").read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name.startswith("newscrawl.")}


def test_a_batch_visits_each_module_of_the_write_path_once() -> None:
    for position, module in enumerate(WRITE_PATH):
        imports = runtime_imports(module)
        assert not imports & set(WRITE_PATH[:position]), f"{module} calls back up the path"
        assert not imports & set(WRITE_PATH[position + 2 :]), f"{module} skips a layer"
        if module != "newscrawl.db.writer":
            assert "newscrawl.db.spool" not in imports, f"{module}: only the writer spools"
    assert "newscrawl.db.store" in runtime_imports("newscrawl.db.writer")
    assert "newscrawl.db.connection" not in runtime_imports("newscrawl.db.writer")


NO_RETRY = RetryPolicy(times=0, backoff=1.0, backoff_max=30.0)


def writer_for(dsn: str, spool_dir: Path, counts: Counter[str], **retry: Any) -> Writer:
    database = Database(dsn=dsn, label="test")
    return Writer(
        database,
        ArticleStore(database.link(timeout=5)),
        Spool.of(dsn, spool_dir),
        retry=dataclasses.replace(NO_RETRY, **retry),
        timeout=5,
        count=lambda key, n: counts.update({key: n}),
    )


async def migrated(dsn: str) -> None:
    async with open_database(dsn, "unused", timeout=5, retry=NO_RETRY):
        pass


def test_a_poison_record_is_dead_lettered_and_its_batch_stored(
    fresh_db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    counts: Counter[str] = Counter()
    batch = [record(n) for n in range(20)]
    batch.insert(7, poison(99))
    batch.insert(13, record(98, relatedArticles=[{"url": poison(97)["canonicalUrl"]}]))

    async def scenario() -> None:
        await migrated(fresh_db)
        writer = writer_for(fresh_db, tmp_path, counts)
        await writer.write(batch)

    asyncio.run(scenario())
    assert counts["inserted"] == 20 and counts["rejected"] == 2
    assert not counts["spooled"] and not counts["errors"]
    assert query(fresh_db, "SELECT count(*) AS n FROM articles")[0]["n"] == 20
    rows = query(fresh_db, "SELECT url, item, sqlstate, error FROM rejected_items ORDER BY url")
    assert [row["url"] for row in rows] == [
        "https://news.example/story/98",
        "https://news.example/story/99",
    ]
    assert {row["sqlstate"] for row in rows} == {"54000"}
    assert "index row" in rows[0]["error"]
    assert '"canonicalUrl"' in rows[1]["item"]
    assert "The database rejected item https://news.example/story/99" in caplog.text


def test_replay_dead_letters_poison_and_goes_on(fresh_db: str, tmp_path: Path) -> None:
    counts: Counter[str] = Counter()
    spool = Spool.of(fresh_db, tmp_path)
    first = spool.append([record(1), poison(2), record(3)])
    spool.close()
    second = spool.append([record(4)])
    spool.close()

    async def scenario() -> int:
        await migrated(fresh_db)
        done = await writer_for(fresh_db, tmp_path, counts).replay(batch_size=10)
        return done.records

    assert asyncio.run(scenario()) == 3
    assert not first.exists() and not second.exists()
    assert counts["replayed/inserted"] == 3 and counts["rejected"] == 1
    assert query(fresh_db, "SELECT url FROM rejected_items") == [
        {"url": "https://news.example/story/2"}
    ]


def test_a_file_that_fails_is_kept_and_the_next_one_replayed(fresh_db: str, tmp_path: Path) -> None:
    counts: Counter[str] = Counter()
    spool = Spool.of(fresh_db, tmp_path)
    first = spool.append([record(1)])
    spool.close()
    second = spool.append([record(2)])
    spool.close()

    async def scenario() -> list[Path]:
        await migrated(fresh_db)
        with psycopg.connect(fresh_db, autocommit=True) as conn:  # every write now fails
            conn.execute("ALTER TABLE article_urls RENAME TO moved")
        writer = writer_for(fresh_db, tmp_path, counts)
        kept = (await writer.replay(batch_size=200)).kept
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute("ALTER TABLE moved RENAME TO article_urls")
        await writer.replay(batch_size=200)
        return kept

    assert sorted(asyncio.run(scenario())) == sorted([first, second])  # neither stopped the other
    assert not first.exists() and not second.exists()
    assert counts["replayed"] == 2


def test_a_refused_connection_is_an_outage_found_at_once(tmp_path: Path) -> None:
    refused = "postgresql://postgres@127.0.0.1:9/none"
    counts: Counter[str] = Counter()
    writer = writer_for(refused, tmp_path, counts, times=0, backoff_max=60)

    async def scenario() -> float:
        started = time.monotonic()
        await writer.write([record(1)])  # fails: the breaker opens
        await writer.write([record(2)])  # straight to the spool
        assert writer.in_outage
        assert not (
            await writer.replay(batch_size=200)
        ).records  # an outage is not waited out twice
        return time.monotonic() - started

    took = asyncio.run(scenario())
    assert took < writer.timeout  # a pool would have waited out its timeout
    assert counts["errors"] == 1 and counts["spooled"] == 2
    assert writer.spool.count() == 2


@pytest.mark.parametrize(
    ("change", "fix"),
    [
        ({"dbname": "no_such_db"}, "createdb"),
        ({"user": "no_such_role"}, "create the role"),
    ],
)
def test_a_refusing_server_fails_at_once_with_a_hint(
    pg_dsn: str, change: dict[str, str], fix: str, caplog: pytest.LogCaptureFixture
) -> None:
    dsn = make_conninfo(pg_dsn, **change)

    async def scenario() -> None:
        async with open_database(dsn, "unused", timeout=5, retry=RetryPolicy(5, 10, 30)):
            pass

    started = time.monotonic()
    with pytest.raises(DatabaseMisconfigured, match=fix):
        asyncio.run(scenario())
    assert time.monotonic() - started < 5  # five retries would take a minute
    assert "retrying" not in caplog.text


def test_an_unreachable_server_is_retried(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        retry = RetryPolicy(times=2, backoff=0.01, backoff_max=0.01)
        unreachable = "postgresql://postgres@127.0.0.1:9/x"
        async with open_database(unreachable, "unused", timeout=5, retry=retry):
            pass

    with pytest.raises(DatabaseUnavailable, match="Cannot open PostgreSQL"):
        asyncio.run(scenario())
    assert caplog.text.count("retrying in") == 2


# --------------------------------------------------------------------------- secrets

PASSWORD = "Pa55@wOrd"
MALFORMED = [
    "host=127.0.0.1 port=9 password='Pa55 wOrd",  # unterminated quote
    "postgresql://u:Pa55@wOrd@127.0.0.1:9/x",  # unencoded "@"
    "postgresql://postgres:Pa55wOrd@[::1",  # unterminated IPv6 host
    "postgresql://u@127.0.0.1:9/x?password=Pa55wOrd&sslmode=bogus",
    "host=127.0.0.1 port=9 password = Pa55wOrd sslmode=bogus",
    "postgres://u:Pa55%40wOrd@127.0.0.1:9/x?connect_timeout=x",
]


@pytest.mark.parametrize("dsn", MALFORMED)
def test_no_dsn_leaks_its_password(dsn: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        retry = RetryPolicy(times=1, backoff=0.01, backoff_max=0.01)
        async with open_database(dsn, "unused", timeout=5, retry=retry):
            pass

    with pytest.raises((DatabaseMisconfigured, DatabaseUnavailable)) as failure:
        asyncio.run(scenario())
    shown = f"{failure.value}\n{caplog.text}"
    assert "***" in shown
    for part in ("Pa55", "wOrd", "Pa55%40wOrd"):
        assert part not in shown, shown


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (psycopg.errors.ProgramLimitExceeded(), "record"),  # an OperationalError subclass
        (psycopg.errors.InvalidTimeZoneDisplacementValue(), "record"),
        (psycopg.errors.UniqueViolation(), "record"),
        (psycopg.errors.AdminShutdown(), "outage"),
        (psycopg.errors.DeadlockDetected(), "outage"),
        (psycopg.errors.InvalidPassword(), "config"),
        (psycopg.errors.InvalidCatalogName(), "config"),
        (psycopg.errors.UndefinedTable(), "batch"),
        (psycopg.OperationalError("connection refused"), "outage"),
        (psycopg.OperationalError('FATAL: role "x" does not exist'), "config"),
        (TimeoutError(), "outage"),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogate"), "record"),
    ],
)
def test_errors_are_classified_by_sqlstate(exc: Exception, kind: str) -> None:
    assert classify(exc) == kind


# --------------------------------------------------------------------------- a real crawl


class PoisonSite(SampleSite):
    """The sample site with three awkward articles: one whose canonical URL is 3 KB of
    random characters (past PostgreSQL's index row size), one whose canonical URL is
    longer than the URL limit, one published at a UTC offset of +23:00."""

    def __init__(self, n_articles: int) -> None:
        super().__init__(n_articles=n_articles, markups=("classic",))  # it has a canonical URL
        special = self.special
        awkward = {special.duplicate_of, special.duplicate, special.latin1, *special.unlisted}
        # JSON-LD pages: their canonical URL and date are the ones replaced below.
        dated = [
            story_id
            for story_id in sorted(self.expected_unique_stories() - awkward)
            if self.spec(story_id).variant == "classic" and self.spec(story_id).date_iso
        ]
        self.poison_id, self.long_id, self.offset_id = dated[:3]
        self.paths = {
            self.poison_id: f"/en/story/{secrets.token_hex(1500)}",
            self.long_id: f"/en/story/{secrets.token_hex(3000)}",
        }

    def render(self, path_with_query: str, host: str = "127.0.0.1") -> Resource | None:
        resource = super().render(path_with_query, host)
        story_id = path_with_query.rsplit("/", 1)[-1]
        if resource is None or story_id not in (self.poison_id, self.long_id, self.offset_id):
            return resource
        body = resource.body
        if story_id in self.paths:
            url = f'"http://{host}/en/article/{story_id}"'.encode()
            body = body.replace(url, f'"http://{host}{self.paths[story_id]}"'.encode())
        else:
            date = str(self.spec(story_id).date_iso)
            body = body.replace(date.encode(), f"{date[:10]}T10:00:00+23:00".encode())
        headers = {**resource.headers, "Content-Length": str(len(body))}
        return Resource(resource.status, headers, body)


def test_one_poison_article_among_150_in_a_real_crawl(fresh_db: str, tmp_path: Path) -> None:
    site = PoisonSite(n_articles=154)
    with SiteServer(site) as server:
        # The URL limit (default 2083) raised past the 3 KB URL: it reaches PostgreSQL.
        result = run_crawl(
            "daily8",
            tmp_path,
            args={"start_urls": f"{server.url}/en"},
            settings={"NEWSCRAWL_DATABASE_URL": fresh_db, "NEWSCRAWL_MAX_URL_LENGTH": "4000"},
        )
    assert result.returncode == 0, result.log[-3000:]
    good = site.expected_unique_stories() - {site.poison_id}
    assert len(good) >= 150
    keys = [url_key(f"{server.url}/en/article/{story_id}") for story_id in good]
    rows = query(
        fresh_db, "SELECT url_key, article_id FROM article_urls WHERE url_key = ANY(%s)", keys
    )
    assert {row["url_key"] for row in rows} == set(keys)
    assert len({row["article_id"] for row in rows}) == len(good)
    assert query(fresh_db, "SELECT count(*) AS n FROM articles")[0]["n"] == len(good)
    (rejected,) = query(fresh_db, "SELECT * FROM rejected_items")
    assert rejected["url"] == f"{server.url}/en/article/{site.poison_id}"
    assert rejected["sqlstate"] == "54000" and site.paths[site.poison_id] in rejected["item"]
    (run,) = query(fresh_db, "SELECT * FROM crawl_runs")
    assert rejected["run_id"] == run["id"]
    assert result.stat("newscrawl/store/rejected") == run["items_rejected"] == 1
    assert run["items_stored"] == len(good) and run["finish_reason"] == "finished"
    assert not result.stat("newscrawl/store/spooled")
    assert f"The database rejected item {rejected['url']}" in result.log
    # What the limits caught was stored, without the offending value, and counted.
    assert result.stat("newscrawl/fields/long_canonicalUrl") == 1
    assert result.stat("newscrawl/fields/unusable_datePublished") >= 1
    for story_id in (site.long_id, site.offset_id):
        (row,) = query(
            fresh_db,
            "SELECT a.* FROM articles a JOIN article_urls u ON u.article_id = a.id"
            " WHERE u.url_key = %s",
            url_key(f"{server.url}/en/article/{story_id}"),
        )
        if story_id == site.long_id:
            assert row["canonical_url"] == row["url"]  # the long canonical URL was dropped
        else:
            assert row["date_published"] is None and "+23:00" in row["date_published_raw"]

    replay = subprocess.run(
        [sys.executable, "-m", "newscrawl.cli", "db", "replay", "--database-url", fresh_db],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replay.returncode == 0, replay.stderr


# --------------------------------------------------------------------------- limits


def test_limits_before_the_database_are_applied_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crawler = project_crawler(
        Spider, {"NEWSCRAWL_FIELD_LIMITS": {"headline": 20, "articleBody": 50}}
    )
    pipeline = ValidatePipeline.from_crawler(crawler)
    long_url = f"https://news.example/{'x' * 2100}"
    item = record(
        1,
        headline="A headline far longer than twenty characters",
        articleBody="word " * 100,
        canonicalUrl=long_url,
        relatedArticles=[{"url": long_url}, {"url": "https://news.example/story/2"}],
        datePublished="2025-05-17T08:30:00+23:00",
        dateModified="2025-05-17T08:30:00+15:00",
    )
    kept = asyncio.run(pipeline.process_item(item))
    assert kept["headline"] == "A headline far longe" and len(kept["articleBody"]) == 50
    assert kept["canonicalUrl"] is None  # the store falls back to the fetched URL
    assert kept["relatedArticles"] == [{"url": "https://news.example/story/2"}]
    assert kept["datePublished"] is None
    assert kept["datePublishedRaw"] == "2025-05-17T08:30:00+23:00"
    assert kept["dateModified"] == "2025-05-17T08:30:00+15:00"  # within PostgreSQL's range
    stats = crawler.stats.get_stats()
    for key in (
        "truncated_headline",
        "truncated_articleBody",
        "long_canonicalUrl",
        "long_relatedArticles",
        "unusable_datePublished",
    ):
        assert stats[f"newscrawl/fields/{key}"] == 1, key
    assert f"in {item['url']} (truncated_headline)" in caplog.text

    with pytest.raises(DropItem, match="long_url"):
        asyncio.run(pipeline.process_item(record(2, url=long_url)))
    assert crawler.stats.get_value("newscrawl/dropped/long_url") == 1


def test_a_crawl_with_a_wrong_database_stops_at_once_in_one_line(
    pg_dsn: str, tmp_path: Path
) -> None:
    dsn = make_conninfo(pg_dsn, dbname="no_such_db", password="Pa55wOrd")
    result = run_crawl(
        "daily8",
        tmp_path,
        args={"start_urls": "http://127.0.0.1:9/en"},  # never fetched
        settings={"NEWSCRAWL_DATABASE_URL": dsn},
    )
    assert result.returncode == 2
    assert result.stats["finish_reason"] == "database_misconfigured"
    errors = [line for line in result.log.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "createdb" in errors[0], errors
    assert "Traceback" not in result.log and "Pa55wOrd" not in result.log
    assert "retrying" not in result.log
