"""The ``news`` spider end to end on a local publisher site (feed, news sitemap, related links)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newscrawl.demo.server import SiteServer
from newscrawl.pages.classify import looks_like_article_url
from tests.support.crawl import run_crawl
from tests.support.publisher_site import OLD_BEFORE, PublisherSite


@pytest.fixture(scope="module")
def publisher() -> PublisherSite:
    return PublisherSite()


def crawl(publisher: PublisherSite, workdir: Path, **args: str):
    with SiteServer(publisher) as server:
        result = run_crawl(
            "news",
            workdir,
            args={
                "start_urls": f"{server.url}/",
                "feeds": f"{server.url}/feed.xml",
                **args,
            },
            settings={"NEWSCRAWL_STORE_ENABLED": "False"},
        )
    assert result.returncode == 0, result.log[-3000:]
    return result, server


def test_finds_every_article_through_every_way_in(publisher: PublisherSite, tmp_path: Path) -> None:
    result, server = crawl(publisher, tmp_path)
    found = {item["url"].removeprefix(server.url) for item in result.items}
    assert found == publisher.articles()
    assert not found & set(publisher.listings)  # listing pages are followed, not emitted
    # Listings fetched as articles (their URLs look like stories) are counted and logged.
    fetched_as_articles = [p for p in publisher.listings if looks_like_article_url(server.url + p)]
    assert fetched_as_articles
    assert result.stat("newscrawl/dropped/not_an_article") == len(fetched_as_articles)
    assert all(f"{server.url}{p}" in result.log for p in fetched_as_articles)
    for item in result.items:
        expected = publisher.expected[publisher.pages[item["url"].removeprefix(server.url)]]
        assert item["headline"] == expected["headline"]
        assert item["provenance"]["spider"] == "news"
    assert result.stat("log_count/ERROR") == 0


def test_since_skips_old_feed_and_sitemap_entries_unfetched(
    publisher: PublisherSite, tmp_path: Path
) -> None:
    result, server = crawl(publisher, tmp_path, since=OLD_BEFORE.isoformat())
    found = {item["url"].removeprefix(server.url) for item in result.items}
    assert publisher.old and found == publisher.articles() - publisher.old
    assert not set(server.hits) & publisher.old
    assert result.stat("newscrawl/since/skipped") == len(publisher.old)


def test_budget_caps_article_requests_per_site(publisher: PublisherSite, tmp_path: Path) -> None:
    result, _ = crawl(publisher, tmp_path, max_pages="5")
    assert len(result.items) <= 5
    assert result.stat("newscrawl/budget/skipped") > 0
