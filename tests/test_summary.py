"""The crawl summary's field coverage, counted as items are scraped."""

from __future__ import annotations

from scrapy.utils.test import get_crawler

from newscrawl.items import Article
from newscrawl.summary import CrawlSummary, coverage


def test_coverage_counts_each_field_an_item_has_and_no_empty_one() -> None:
    crawler = get_crawler(
        settings_dict={"STATS_CLASS": "scrapy.statscollectors.MemoryStatsCollector"}
    )
    assert crawler.stats is not None
    summary = CrawlSummary(crawler)
    summary.item_scraped(Article(url="https://x.test/a", headline="A", articleBody="", authors=[]))
    summary.item_scraped(Article(url="https://x.test/b", headline="B", source={"name": "S"}))
    summary.item_scraped({"url": "https://x.test/c", "not_a_field": "x"})  # a plain dict item
    crawler.stats.set_value("item_scraped_count", 3)
    stats = crawler.stats.get_stats()
    assert {k: v for k, v in stats.items() if k.startswith("newscrawl/coverage/")} == {
        "newscrawl/coverage/url": 3,
        "newscrawl/coverage/headline": 2,
        "newscrawl/coverage/source": 1,
    }
    shares = coverage(stats)
    assert (shares["url"], shares["headline"], shares["articleBody"]) == (1.0, 2 / 3, 0.0)
