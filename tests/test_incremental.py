"""Incremental crawling: re-runs fetch listings and sitemaps, and only articles not stored."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured

from newscrawl.db.connection import Database
from newscrawl.db.store import ArticleStore
from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import ARTICLE_RE, SampleSite
from newscrawl.middlewares.incremental import IncrementalMiddleware
from newscrawl.spiders.daily8 import Daily8Spider
from tests.support.crawl import CrawlResult, crawl_daily8, project_crawler, query
from tests.support.database import temporary_database


@dataclass
class Run:
    result: CrawlResult
    hits: Counter[str]  # paths fetched by this run only

    def articles(self) -> set[str]:
        """Ids of the article pages this run fetched."""
        return {m[1] for path in self.hits if (m := ARTICLE_RE.fullmatch(path))}

    def listings(self) -> int:
        return sum(n for path, n in self.hits.items() if path.startswith(("/en?", "/sitemap")))


def crawl(server: SiteServer, dsn: str, workdir: Path, **args: str) -> Run:
    before = Counter(server.hits)
    result = crawl_daily8(server.url, dsn, workdir, **args)
    assert result.stat("log_count/ERROR") == 0, result.log[-3000:]
    return Run(result, Counter(server.hits) - before)


def stored_ids(site: SampleSite, dsn: str, server: SiteServer) -> set[str]:
    urls = {row["url"] for row in query(dsn, "SELECT url FROM article_urls")}
    return {story_id for story_id in site.ids if f"{server.url}/en/article/{story_id}" in urls}


@dataclass
class History:
    small: SampleSite
    large: SampleSite
    first: Run  # the small site into an empty database
    again: Run  # the same site, unchanged
    grown: Run  # the site with 24 older stories added
    forced: Run  # -a incremental=0
    stored_after_first: set[str]
    dsn: str
    server: SiteServer


@pytest.fixture(scope="module")
def history(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    small, large = SampleSite(n_articles=24), SampleSite(n_articles=48)  # same first 24 ids
    workdir = tmp_path_factory.mktemp("incremental")
    with SiteServer(small) as server, temporary_database(pg_dsn) as dsn:
        first = crawl(server, dsn, workdir)
        stored_after_first = stored_ids(small, dsn, server)
        expected = len(small.expected_unique_stories()) + 1  # + the duplicate's URL
        assert len(stored_after_first) == expected, first.result.stats
        again = crawl(server, dsn, workdir)
        server.site = large
        grown = crawl(server, dsn, workdir)
        forced = crawl(server, dsn, workdir, incremental="0")
        yield History(small, large, first, again, grown, forced, stored_after_first, dsn, server)


def test_a_rerun_fetches_listings_and_sitemaps_but_no_stored_article(history: History) -> None:
    first, again = history.first, history.again
    assert first.result.stat("newscrawl/incremental/skipped") == 0
    assert first.result.stat("newscrawl/incremental/checked") > 0
    assert again.listings() == first.listings() > 0
    assert again.articles().isdisjoint(history.stored_after_first)
    # Only the page that never gave a storable article is fetched again.
    assert again.articles() == {history.small.special.bodiless}
    assert again.result.stat("newscrawl/incremental/skipped") == len(history.stored_after_first)
    assert again.result.stat("newscrawl/store/inserted") == 0
    assert again.result.stat("newscrawl/store/unchanged") == 0


def test_lookups_are_batched(history: History) -> None:
    stats = history.first.result
    assert (
        0
        < stats.stat("newscrawl/incremental/queries")
        < stats.stat("newscrawl/incremental/checked")
    )
    assert stats.stat("newscrawl/incremental/errors") == 0


def test_new_stories_are_fetched_and_their_links_to_stored_ones_skipped(history: History) -> None:
    grown, large = history.grown, history.large
    new = set(large.ids) - set(history.small.ids)
    assert grown.articles() == (new - history.stored_after_first) | {large.special.bodiless}
    assert grown.articles().isdisjoint(history.stored_after_first)
    # New stories link to stored ones: those links were checked and dropped.
    assert grown.result.stat("newscrawl/incremental/skipped") >= len(history.stored_after_first)
    expected = large.expected_unique_stories()
    assert grown.result.stat("newscrawl/store/inserted") == len(
        expected - history.stored_after_first
    )
    (row,) = query(history.dsn, "SELECT count(*) AS n FROM articles")
    assert row["n"] == len(expected)


def test_incremental_0_fetches_every_article_again(history: History) -> None:
    forced = history.forced
    assert forced.articles() == set(history.large.ids) | {history.large.special.missing}
    assert "newscrawl/incremental/checked" not in forced.result.stats
    assert "Incremental crawl off" in forced.result.log
    assert forced.result.stat("newscrawl/store/inserted") == 0


def test_a_budget_is_spent_on_new_articles_only(pg_dsn: str, tmp_path: Path) -> None:
    site = SampleSite(n_articles=32)
    with SiteServer(site) as server, temporary_database(pg_dsn) as dsn:
        first = crawl(server, dsn, tmp_path, max_pages="8")
        stored = stored_ids(site, dsn, server)
        second = crawl(server, dsn, tmp_path, max_pages="8")
    assert len(first.articles()) == 8
    assert len(second.articles()) == 8
    assert second.articles().isdisjoint(stored)
    assert second.result.stat("newscrawl/incremental/skipped") > 0


@pytest.mark.parametrize(
    "settings", [{"NEWSCRAWL_STORE_ENABLED": False}, {"NEWSCRAWL_INCREMENTAL_ENABLED": False}]
)
def test_off_without_the_store_or_by_setting(settings: dict[str, bool]) -> None:
    with pytest.raises(NotConfigured):
        IncrementalMiddleware.from_crawler(project_crawler(Daily8Spider, settings))


def test_a_failed_lookup_lets_every_request_through(
    fresh_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    crawler = project_crawler(Daily8Spider, {"NEWSCRAWL_DATABASE_URL": fresh_db})
    middleware = IncrementalMiddleware.from_crawler(crawler)
    requests = [
        Request(f"http://127.0.0.1/en/article/{n}", meta={"page_kind": "article"}) for n in range(3)
    ]

    async def lookup() -> list[Request]:
        refused = Database(dsn="postgresql://postgres@127.0.0.1:9/none", label="test")
        middleware.store = ArticleStore(refused.link(timeout=5))  # every lookup now fails
        return await middleware._new(requests)

    assert asyncio.run(lookup()) == requests
    assert crawler.stats.get_value("newscrawl/incremental/errors") == 1
    assert crawler.stats.get_value("newscrawl/incremental/skipped") is None
    assert "Incremental lookup of 3 URLs failed, fetching them: OperationalError" in caplog.text


def test_without_a_database_the_crawl_is_a_full_one(caplog: pytest.LogCaptureFixture) -> None:
    unreachable = "postgresql://postgres:hunter2@127.0.0.1:9/none?connect_timeout=2"
    settings = {"NEWSCRAWL_DATABASE_URL": unreachable, "NEWSCRAWL_STORE_RETRY_BACKOFF": 0.1}
    crawler = project_crawler(Daily8Spider, settings)
    middleware = IncrementalMiddleware.from_crawler(crawler)
    asyncio.run(middleware.spider_opened(Daily8Spider()))
    assert middleware.store is None  # process_spider_output passes everything through
    assert crawler.stats.get_value("newscrawl/incremental/errors") == 1
    assert "Incremental crawl off, no database:" in caplog.text
    assert "OperationalError" in caplog.text
    assert "hunter2" not in caplog.text
