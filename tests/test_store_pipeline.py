"""ArticleStore semantics and PostgresPipeline, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row
from scrapy import Spider
from scrapy.exceptions import NotConfigured

from newscrawl.db.connection import Database
from newscrawl.db.migrate import migrate
from newscrawl.db.store import ArticleStore
from newscrawl.items import Article
from newscrawl.pipelines.postgres import PostgresPipeline
from newscrawl.processors import body_hash
from tests.support.crawl import project_crawler

T = TypeVar("T")
EVIL = "'); DROP TABLE articles;-- \\ \" %s $1 {} ё 中"


def record(n: int, body: str | None = None, **fields: Any) -> dict[str, Any]:
    """An exported item, as the loader makes it."""
    body = body if body is not None else f"Story number {n}.\nIt has two paragraphs."
    base: dict[str, Any] = {
        "url": f"https://news.example/story/{n}",
        "canonicalUrl": f"https://news.example/story/{n}",
        "headline": f"Headline {n}",
        "articleBody": body,
        "bodyHash": body_hash(body),
        "datePublished": "2025-05-17T08:30:00+02:00",
        "dateDownloaded": "2025-05-18T10:00:00+00:00",
        "authors": [{"name": "Ann Author"}],
        "source": {"name": "News", "url": "https://news.example/"},
        "provenance": {"spider": "test", "fields": {"headline": "json-ld"}},
    }
    return {**base, **fields}


def query(dsn: str, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(sql, params or None).fetchall()  # type: ignore[arg-type]


@pytest.fixture
def with_store(fresh_db: str) -> Callable[[Callable[[ArticleStore], Awaitable[T]]], T]:
    """Runs ``scenario(store)`` on a migrated fresh database."""

    def run(scenario: Callable[[ArticleStore], Awaitable[T]]) -> T:
        async def main() -> T:
            async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
                await migrate(conn)
            link = Database(dsn=fresh_db, label="test").link(timeout=5)
            try:
                return await scenario(ArticleStore(link))
            finally:
                await link.close()

        return asyncio.run(main())

    return run


def upsert(with_store: Callable[..., Any], *batches: list[dict[str, Any]]) -> list[list[str]]:
    async def scenario(store: ArticleStore) -> list[list[str]]:
        return [await store.upsert(batch) for batch in batches]

    return with_store(scenario)


# --------------------------------------------------------------------------- store


def test_insert_unchanged_update(with_store: Callable[..., Any], fresh_db: str) -> None:
    first = record(1)
    again = record(1, dateDownloaded="2025-05-19T10:00:00+00:00")
    edited = record(
        1, body="Story number 1, corrected.", headline="Corrected", dateDownloaded="2025-05-20"
    )
    assert upsert(with_store, [first], [again], [edited]) == [
        ["inserted"],
        ["unchanged"],
        ["updated"],
    ]
    (row,) = query(fresh_db, "SELECT * FROM articles")
    assert row["version"] == 2
    assert row["headline"] == "Corrected"
    assert row["article_body"] == "Story number 1, corrected."
    assert row["first_seen"] == datetime(2025, 5, 18, 10, tzinfo=UTC)
    assert row["last_seen"] == datetime(2025, 5, 20, tzinfo=UTC)
    assert row["record"] == edited
    (old,) = query(fresh_db, "SELECT * FROM article_versions")
    assert (old["version"], old["headline"]) == (1, "Headline 1")
    assert old["article_body"] == first["articleBody"]
    (link,) = query(fresh_db, "SELECT * FROM article_urls")
    assert link["url_key"] == "news.example/story/1"
    assert link["last_seen"] == row["last_seen"]


def test_unchanged_keeps_version(with_store: Callable[..., Any], fresh_db: str) -> None:
    retitled = record(1, headline="Same body, other title")
    assert upsert(with_store, [record(1)], [retitled]) == [["inserted"], ["unchanged"]]
    assert query(fresh_db, "SELECT version, headline FROM articles") == [
        {"version": 1, "headline": "Headline 1"}
    ]


def test_same_story_under_two_urls_is_one_article(
    with_store: Callable[..., Any], fresh_db: str
) -> None:
    body = "The same story, syndicated."
    aggregator = record(1, body, url="https://agg.example/n/991", canonicalUrl=None)
    publisher = record(2, body, url="https://www.paper.example/politics/story", canonicalUrl=None)
    refetch = record(
        2, body, url="http://paper.example/politics/story/", canonicalUrl=None
    )  # scheme, www and trailing slash fold into the same key

    async def scenario(store: ArticleStore) -> tuple[list[list[str]], set[str]]:
        actions = [await store.upsert([r]) for r in (aggregator, publisher, refetch)]
        known = await store.known_url_keys(
            ["agg.example/n/991", "paper.example/politics/story", "other.example/x"]
        )
        return actions, known

    actions, known = with_store(scenario)
    assert actions == [["inserted"], ["merged"], ["unchanged"]]
    assert known == {"agg.example/n/991", "paper.example/politics/story"}
    assert len(query(fresh_db, "SELECT id FROM articles")) == 1
    urls = query(fresh_db, "SELECT url_key, article_id FROM article_urls ORDER BY url_key")
    assert [u["url_key"] for u in urls] == ["agg.example/n/991", "paper.example/politics/story"]
    assert len({u["article_id"] for u in urls}) == 1


def test_aggregator_item_links_both_urls(with_store: Callable[..., Any], fresh_db: str) -> None:
    item = record(1, url="https://agg.example/n/7", canonicalUrl="https://paper.example/a/7")
    assert upsert(with_store, [item]) == [["inserted"]]
    rows = query(fresh_db, "SELECT url_key, url, kind FROM article_urls ORDER BY url_key")
    assert rows == [
        {"url_key": "agg.example/n/7", "url": "https://agg.example/n/7", "kind": "fetched"},
        {"url_key": "paper.example/a/7", "url": "https://paper.example/a/7", "kind": "canonical"},
    ]
    assert query(fresh_db, "SELECT url_key, canonical_url FROM articles") == [
        {"url_key": "paper.example/a/7", "canonical_url": "https://paper.example/a/7"}
    ]


def test_batch_applies_in_order(with_store: Callable[..., Any], fresh_db: str) -> None:
    v1 = record(1)
    copy = record(2, v1["articleBody"])
    v2 = record(1, "Story number 1, updated.")
    twice = record(3)
    assert upsert(with_store, [v1, copy, v2, twice, twice]) == [
        ["inserted", "merged", "updated", "inserted", "unchanged"]
    ]
    rows = query(fresh_db, "SELECT url_key, version FROM articles ORDER BY url_key")
    assert rows == [
        {"url_key": "news.example/story/1", "version": 2},
        {"url_key": "news.example/story/3", "version": 1},
    ]
    assert len(query(fresh_db, "SELECT * FROM article_urls")) == 3


def test_one_batch_reaching_a_stored_article_twice(
    with_store: Callable[..., Any], fresh_db: str
) -> None:
    stored = record(1, url="https://agg.example/n/1", canonicalUrl="https://paper.example/a/1")
    via_aggregator = record(1, "Second text.", url="https://agg.example/n/1", canonicalUrl=None)
    via_publisher = record(1, "Third text.", url="https://paper.example/a/1", canonicalUrl=None)
    assert upsert(with_store, [stored], [via_aggregator, via_publisher]) == [
        ["inserted"],
        ["updated", "updated"],
    ]
    assert query(fresh_db, "SELECT version, article_body FROM articles") == [
        {"version": 3, "article_body": "Third text."}
    ]
    versions = query(fresh_db, "SELECT version, article_body FROM article_versions ORDER BY 1")
    assert [v["article_body"] for v in versions] == [stored["articleBody"], "Second text."]


def test_related_links_are_replaced_on_update(
    with_store: Callable[..., Any], fresh_db: str
) -> None:
    links = [
        {"url": "https://news.example/story/8", "headline": "Eight", "datePublished": "2025-05-01"},
        {"url": "https://www.news.example/story/8"},  # same key: kept once
        {"url": "https://news.example/story/9", "datePublishedRaw": "yesterday"},
        {"headline": "no url"},
    ]
    first = record(1, relatedArticles=links)
    updated = record(1, "New text.", relatedArticles=[{"url": "https://news.example/story/10"}])
    unchanged = record(1, "New text.", relatedArticles=[{"url": "https://news.example/x"}])
    upsert(with_store, [first])
    rows = query(fresh_db, "SELECT * FROM related_articles ORDER BY url_key")
    assert [(r["url_key"], r["headline"], r["date_published_raw"]) for r in rows] == [
        ("news.example/story/8", "Eight", None),
        ("news.example/story/9", None, "yesterday"),
    ]
    assert rows[0]["date_published"] == datetime(2025, 5, 1, tzinfo=UTC)
    assert upsert(with_store, [updated], [unchanged]) == [["updated"], ["unchanged"]]
    rows = query(fresh_db, "SELECT url_key FROM related_articles")
    assert rows == [{"url_key": "news.example/story/10"}]


def test_hostile_text_is_stored_verbatim(with_store: Callable[..., Any], fresh_db: str) -> None:
    evil = record(
        1,
        EVIL,
        url=f"https://news.example/q?x={EVIL}",
        canonicalUrl=f"https://news.example/q?x={EVIL}",
        headline=EVIL,
        description=EVIL,
        datePublishedRaw=EVIL,
        inLanguage=EVIL,
        mainImage={"url": EVIL},
        authors=[{"name": EVIL}],
        breadcrumbs=[{"name": EVIL, "url": EVIL}],
        source={"name": EVIL, "url": EVIL},
        relatedArticles=[{"url": f"https://news.example/r?{EVIL}", "headline": EVIL}],
        provenance={"spider": EVIL, "fields": {EVIL: EVIL}},
    )
    assert upsert(with_store, [evil]) == [["inserted"]]
    (row,) = query(fresh_db, "SELECT * FROM articles")
    for column in (
        "headline",
        "description",
        "article_body",
        "date_published_raw",
        "in_language",
        "main_image",
        "source_name",
        "source_url",
        "spider",
    ):
        assert row[column] == EVIL, column
    assert row["url"] == evil["url"]
    assert row["record"] == evil
    assert row["authors"] == [{"name": EVIL}]
    (related,) = query(fresh_db, "SELECT headline FROM related_articles")
    assert related["headline"] == EVIL
    assert query(fresh_db, "SELECT count(*) AS n FROM articles") == [{"n": 1}]


def test_nul_characters_are_dropped(with_store: Callable[..., Any], fresh_db: str) -> None:
    item = record(1, "Body with a\x00NUL.", headline="Head\x00line")
    assert upsert(with_store, [item]) == [["inserted"]]
    (row,) = query(fresh_db, "SELECT headline, article_body FROM articles")
    assert row == {"headline": "Headline", "article_body": "Body with aNUL."}


def test_dates_and_precision(
    with_store: Callable[..., Any], fresh_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    items = [
        record(1, datePublished="2025-05-17", dateModified="2025-05-17T09:00:00-04:00"),
        record(2, datePublished="2025-05-17T08:30:00"),  # no offset: UTC
        record(3, datePublished="17 May 2025", dateModified=None),
    ]
    upsert(with_store, items)
    rows = query(
        fresh_db,
        "SELECT date_published, date_published_precision AS precision, date_modified"
        " FROM articles ORDER BY url_key",
    )
    assert [r["date_published"] for r in rows] == [
        datetime(2025, 5, 17, tzinfo=UTC),
        datetime(2025, 5, 17, 8, 30, tzinfo=UTC),
        None,
    ]
    assert [r["precision"] for r in rows] == ["day", "second", None]
    assert rows[0]["date_modified"] == datetime(2025, 5, 17, 13, tzinfo=UTC)
    assert "Not storing unparsable date '17 May 2025'" in caplog.text


def test_records_missing_required_fields_are_skipped(
    with_store: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    batch = [record(1, headline=" "), record(2), {"url": None}]
    assert upsert(with_store, batch) == [["skipped", "inserted", "skipped"]]
    assert "Not storing record 'https://news.example/story/1': missing headline" in caplog.text


def test_concurrent_writers_store_each_article_once(fresh_db: str) -> None:
    batch = [record(n) for n in range(30)]

    async def writer() -> list[str]:
        link = Database(dsn=fresh_db, label="test").link(timeout=5)
        try:
            return await ArticleStore(link).upsert(batch)
        finally:
            await link.close()

    async def main() -> list[list[str]]:
        async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
            await migrate(conn)
        return await asyncio.gather(writer(), writer(), writer())

    results = asyncio.run(main())
    for actions in zip(*results, strict=True):
        assert sorted(actions) == ["inserted", "unchanged", "unchanged"]
    assert query(fresh_db, "SELECT count(*) AS n FROM articles") == [{"n": 30}]


def test_counts(with_store: Callable[..., Any]) -> None:
    async def scenario(store: ArticleStore) -> dict[str, int]:
        await store.upsert(
            [record(1, relatedArticles=[{"url": "https://news.example/story/2"}]), record(2)]
        )
        await store.upsert([record(2, "Changed.")])
        return await store.counts()

    assert with_store(scenario) == {"articles": 2, "urls": 2, "related": 1, "versions": 1}


# --------------------------------------------------------------------------- pipeline


class NewsSpider(Spider):
    name = "news"


def make_pipeline(**settings: Any) -> PostgresPipeline:
    crawler = project_crawler(NewsSpider, settings)
    return PostgresPipeline.from_crawler(crawler)


def item(n: int) -> Article:
    fields = record(n)
    del fields["provenance"]
    return Article(**fields)


def test_pipeline_writes_in_batches(fresh_db: str) -> None:
    pipeline = make_pipeline(
        NEWSCRAWL_DATABASE_URL=fresh_db,
        NEWSCRAWL_STORE_BATCH_SIZE=2,
        NEWSCRAWL_STORE_FLUSH_INTERVAL=0,
    )
    items = [item(n) for n in range(5)]

    async def crawl() -> list[int]:
        await pipeline.open_spider()
        stored = []
        for one in items:
            assert await pipeline.process_item(one) is one
            stored.append(len(query(fresh_db, "SELECT id FROM articles")))
        await pipeline.close_spider()
        return stored

    assert asyncio.run(crawl()) == [0, 2, 2, 4, 4]
    stats = pipeline.stats.get_stats()
    assert stats["newscrawl/store/inserted"] == 5
    assert stats["newscrawl/store/batches"] == 3
    assert "newscrawl/store/errors" not in stats
    assert len(query(fresh_db, "SELECT id FROM articles")) == 5
    (row,) = query(fresh_db, "SELECT spider, record FROM articles WHERE url_key LIKE '%/0'")
    assert row["spider"] == "news"
    assert row["record"]["provenance"] == {"spider": "news"}
    assert "provenance" not in items[0]  # the item itself is passed on unchanged


def test_items_arriving_during_a_write_fill_whole_batches(fresh_db: str) -> None:
    # Items keep coming while a batch is written (the crawl does not stop for the store):
    # they fill the next batch instead of each writing what it found (batches of one).
    pipeline = make_pipeline(
        NEWSCRAWL_DATABASE_URL=fresh_db,
        NEWSCRAWL_STORE_BATCH_SIZE=5,
        NEWSCRAWL_STORE_FLUSH_INTERVAL=0,
    )

    async def crawl() -> None:
        await pipeline.open_spider()
        await asyncio.gather(*(pipeline.process_item(item(n)) for n in range(20)))
        await pipeline.close_spider()

    asyncio.run(crawl())
    assert pipeline.stats.get_value("newscrawl/store/inserted") == 20
    assert pipeline.stats.get_value("newscrawl/store/batches") == 4


def test_pipeline_flushes_a_partial_batch_after_the_interval(fresh_db: str) -> None:
    pipeline = make_pipeline(NEWSCRAWL_DATABASE_URL=fresh_db, NEWSCRAWL_STORE_FLUSH_INTERVAL=0.05)

    async def crawl() -> int:
        await pipeline.open_spider()
        await pipeline.process_item(item(1))
        await asyncio.sleep(0.5)
        landed = len(query(fresh_db, "SELECT id FROM articles"))
        await pipeline.close_spider()
        return landed

    assert asyncio.run(crawl()) == 1
    assert pipeline.stats.get_value("newscrawl/store/inserted") == 1


def test_pipeline_can_be_disabled() -> None:
    with pytest.raises(NotConfigured):
        make_pipeline(NEWSCRAWL_STORE_ENABLED=False)


def test_pipeline_survives_write_errors(
    fresh_db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dsn = make_conninfo(fresh_db, password="hunter2")  # trust auth ignores it
    pipeline = make_pipeline(
        NEWSCRAWL_DATABASE_URL=dsn,
        NEWSCRAWL_STORE_BATCH_SIZE=2,
        NEWSCRAWL_STORE_FLUSH_INTERVAL=0,
        NEWSCRAWL_SPOOL_DIR=str(tmp_path),
    )

    async def crawl() -> None:
        await pipeline.open_spider()
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute("DROP TABLE article_urls")
        for n in range(3):
            await pipeline.process_item(item(n))
        await pipeline.close_spider()

    asyncio.run(crawl())
    assert pipeline.stats.get_value("newscrawl/store/errors") == 3
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert errors[0].startswith("Could not store 2 items in PostgreSQL ")
    assert errors[0].endswith('UndefinedTable: relation "article_urls" does not exist')
    assert "password=***" in errors[0]
    assert "hunter2" not in caplog.text


def test_pipeline_on_the_embedded_server(tmp_path: Path) -> None:
    # An empty setting forces the embedded server, whatever the environment says.
    pipeline = make_pipeline(
        NEWSCRAWL_DATABASE_URL="",
        NEWSCRAWL_DATA_DIR=str(tmp_path),
        NEWSCRAWL_STORE_FLUSH_INTERVAL=0,
    )

    async def crawl() -> str:
        await pipeline.open_spider()
        database = pipeline.shared.database
        assert database is not None and database.server is not None
        dsn = database.dsn
        await pipeline.process_item(item(1))
        await pipeline.close_spider()
        return dsn

    dsn = asyncio.run(crawl())
    assert pipeline.stats.get_value("newscrawl/store/inserted") == 1
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()  # stopped
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=2)
