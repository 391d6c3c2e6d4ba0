"""End to end: ``scrapy crawl daily8`` over the sample site into a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pgserver
import psycopg
import pytest

from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite
from newscrawl.processors import url_key
from tests.support.crawl import CrawlResult, crawl_daily8, query, run_crawl
from tests.support.database import temporary_database


@dataclass
class Crawled:
    site: SampleSite
    server: SiteServer
    dsn: str
    result: CrawlResult


def crawl(server: SiteServer, dsn: str, workdir: Path, **args: str) -> CrawlResult:
    return crawl_daily8(server.url, dsn, workdir, **args)


@pytest.fixture(scope="module")
def crawled(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    site = SampleSite()
    with SiteServer(site) as server, temporary_database(pg_dsn) as dsn:
        result = crawl(server, dsn, tmp_path_factory.mktemp("crawl"))
        yield Crawled(site, server, dsn, result)


def article_of(crawled: Crawled, story_id: str) -> dict:
    key = url_key(f"{crawled.server.url}/en/article/{story_id}")
    rows = query(
        crawled.dsn,
        "SELECT a.* FROM articles a JOIN article_urls u ON u.article_id = a.id"
        " WHERE u.url_key = %s",
        key,
    )
    assert len(rows) == 1, story_id
    return rows[0]


def test_every_reachable_story_is_stored_exactly_once(crawled: Crawled) -> None:
    expected = crawled.site.expected_unique_stories()
    (row,) = query(crawled.dsn, "SELECT count(*) AS n FROM articles")
    assert row["n"] == len(expected)
    ids = {article_of(crawled, story_id)["id"] for story_id in expected}
    assert len(ids) == len(expected)
    assert crawled.result.stat("newscrawl/store/inserted") == len(expected)


def test_stored_fields_are_clean(crawled: Crawled) -> None:
    for story_id in crawled.site.expected_unique_stories():
        spec, row = crawled.site.spec(story_id), article_of(crawled, story_id)
        assert row["headline"] == spec.headline
        assert row["article_body"] == spec.body
        assert row["source_name"] == spec.source_name
        if spec.variant in ("classic", "hashed"):  # the markups that link the publisher's story
            assert row["source_url"] == spec.source_url
        if spec.date_iso:
            assert row["date_published"].date().isoformat() == spec.date_iso
            assert row["date_published_precision"] == "day"
            assert row["record"]["datePublished"] == spec.date_iso
        else:
            assert row["date_published"] is None
        assert row["version"] == 1
        assert row["spider"] == "daily8"
        for noise in ("Try Our AI Features", "No comments yet", "DOWNLOAD THE APP"):
            assert noise not in row["article_body"]


def test_one_story_under_two_ids_is_one_article_with_both_urls(crawled: Crawled) -> None:
    special = crawled.site.special
    original = article_of(crawled, special.duplicate_of)
    assert article_of(crawled, special.duplicate)["id"] == original["id"]
    urls = query(crawled.dsn, "SELECT url FROM article_urls WHERE article_id = %s", original["id"])
    assert {f"{crawled.server.url}/en/article/{special.duplicate}"} <= {r["url"] for r in urls}
    assert crawled.result.stat("newscrawl/store/merged") == 1


def test_related_links_are_stored(crawled: Crawled) -> None:
    story_id = crawled.site.special.links_missing
    row = article_of(crawled, story_id)
    related = query(
        crawled.dsn,
        "SELECT url, headline, date_published FROM related_articles WHERE article_id = %s",
        row["id"],
    )
    base = f"{crawled.server.url}/en/article/"
    assert {r["url"] for r in related} == {base + i for i in crawled.site.spec(story_id).related}
    assert all(r["headline"] and r["date_published"] for r in related)
    (count,) = query(crawled.dsn, "SELECT count(*) AS n FROM related_articles")
    assert count["n"] == 3 * len(crawled.site.expected_unique_stories())


def test_bad_pages_are_counted_not_stored(crawled: Crawled) -> None:
    result = crawled.result
    assert result.stat("newscrawl/dropped/no_body") == 1
    assert result.stat("httperror/response_ignored_status_count/404") == 1
    assert result.stat("log_count/ERROR") == 0
    assert "/en/private/drafts" not in crawled.server.hits  # robots.txt obeyed


def test_feed_matches_the_stored_rows(crawled: Crawled) -> None:
    items = crawled.result.items
    rows = query(crawled.dsn, "SELECT canonical_url, headline, body_hash FROM articles")
    assert len(items) == len(rows)
    assert {(i["canonicalUrl"], i["headline"], i["bodyHash"]) for i in items} == {
        (r["canonical_url"], r["headline"], r["body_hash"]) for r in rows
    }
    latin1 = crawled.site.spec(crawled.site.special.latin1)
    assert latin1.headline in {item["headline"] for item in items}  # charset from the header


def test_recrawl_is_idempotent_and_a_changed_page_bumps_its_version(
    fresh_db: str, tmp_path: Path
) -> None:
    """A full re-crawl (``incremental=0``: fetch stored articles again) of the same site."""
    site = SampleSite()
    with SiteServer(site) as server:
        first = crawl(server, fresh_db, tmp_path)
        stored = first.stat("newscrawl/store/inserted")
        again = crawl(server, fresh_db, tmp_path, incremental="0")
        assert again.stat("newscrawl/store/inserted") == 0
        assert again.stat("newscrawl/store/updated") == 0
        assert again.stat("newscrawl/store/unchanged") == stored + 1  # + the duplicate's URL
        changed = site.ids[0]
        site.set_paragraphs(changed, ["A correction was appended to this story.", "New text."])
        third = crawl(server, fresh_db, tmp_path, incremental="0")
    assert third.stat("newscrawl/store/updated") == 1
    versions = query(fresh_db, "SELECT canonical_url, version FROM articles")
    assert len(versions) == stored
    bumped = {r["canonical_url"] for r in versions if r["version"] == 2}
    assert bumped == {f"{server.url}/en/article/{changed}"}
    assert all(r["version"] in (1, 2) for r in versions)


def test_embedded_postgres_is_the_default(tmp_path: Path) -> None:
    site = SampleSite(n_articles=16)
    data_dir = tmp_path / "data"
    with SiteServer(site) as server:
        result = run_crawl(
            "daily8",
            tmp_path,
            args={"start_urls": f"{server.url}/en"},
            settings={"NEWSCRAWL_DATA_DIR": str(data_dir)},
            env={"NEWSCRAWL_DATABASE_URL": ""},
        )
    assert result.returncode == 0, result.log[-3000:]
    assert "Using embedded PostgreSQL" in result.log
    expected = len(site.expected_unique_stories())
    assert result.stat("newscrawl/store/inserted") == expected
    server_handle = pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop")
    try:
        with psycopg.connect(server_handle.get_uri()) as conn:
            (count,) = conn.execute("SELECT count(*) FROM articles").fetchone()
    finally:
        server_handle.cleanup()
    assert count == expected
