"""Seeds are classified, and a page requested as an article never vanishes in silence.

Crawls run as users run them (``scrapy crawl``, ``scrapy parse``) against the sample
site on 127.0.0.1; the callbacks' drop accounting is also checked on single pages.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite
from newscrawl.spiders.base import ARTICLE, LISTING
from newscrawl.spiders.daily8 import Daily8Spider
from newscrawl.spiders.news import NewsSpider
from tests.support.crawl import ROOT, TEST_SETTINGS, run_crawl

SITE = SampleSite(n_articles=16)
BASE = "http://127.0.0.1:8008"


def spider_for(cls: type, **kwargs: str) -> Daily8Spider:
    crawler = get_crawler(cls, {"REMOTE_CONTROL_ENABLED": False})
    crawler.stats.open_spider()
    return cls.from_crawler(crawler, render="never", **kwargs)


def response(path: str, *, html: str | None = None, kind: str = ARTICLE) -> HtmlResponse:
    body = html.encode() if html is not None else SITE.render(path).body
    request = Request(BASE + path, meta={"page_kind": kind})
    return HtmlResponse(BASE + path, body=body, encoding="utf-8", request=request)


def test_seeds_are_classified_by_url_shape() -> None:
    article, listing = f"{BASE}{SITE.spec(SITE.ids[0]).path}", f"{BASE}/en"
    daily8 = spider_for(Daily8Spider, start_urls=f"{article},{listing}")
    first = daily8.seed_request(article + "?utm_source=x")
    assert first is not None and first.meta["page_kind"] == ARTICLE
    assert daily8.seed_request(article) is None  # the same article twice
    assert daily8.seed_request(listing).meta["page_kind"] == LISTING
    news = spider_for(NewsSpider, start_urls="https://example.com/")
    story = "https://example.com/2025/05/17/kremlin-weighs-in-on-nato"
    assert news.seed_request(story).meta["page_kind"] == ARTICLE
    assert news.seed_request("https://example.com/").meta["page_kind"] == LISTING


def test_pages_requested_as_articles_give_an_item_or_a_counted_logged_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spider = spider_for(Daily8Spider, start_urls=f"{BASE}/en")
    stats = spider.crawler.stats
    story = SITE.spec(SITE.ids[0])
    caplog.set_level(logging.WARNING)

    def run(resp: HtmlResponse) -> list:
        # Extraction is awaited (in process: no pool opened).
        return asyncio.run(spider.parse_article(resp))

    out = run(response(story.path))
    assert [o["headline"] for o in out if not isinstance(o, Request)] == [story.headline]
    related = {BASE + SITE.spec(story_id).path for story_id in story.related}
    assert {o.url for o in out if isinstance(o, Request)} == related
    bodiless = SITE.spec(SITE.special.bodiless).path
    out = run(response(bodiless))
    assert not [o for o in out if not isinstance(o, Request)]
    assert out, "a dropped page's related cards are still followed"
    assert stats.get_value("newscrawl/dropped/no_body") == 1
    empty = "<html><head><title></title></head><body><p>Loading</p></body></html>"
    assert run(response(story.path, html=empty)) == []
    assert stats.get_value("newscrawl/dropped/no_headline") == 1
    # An article request that ended on a listing (a redirect, say) is read as one.
    redirected = response("/en", kind=ARTICLE)
    out = run(redirected)
    assert out and all(isinstance(o, Request) for o in out)
    assert stats.get_value("newscrawl/dropped/not_an_article") == 1
    assert stats.get_value("newscrawl/listing/empty") is None
    list(spider.parse_listing(response("/en", html=empty, kind=LISTING)))
    assert stats.get_value("newscrawl/listing/empty") == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for reason, path in (
        ("no_body", bodiless),
        ("no_headline", story.path),
        ("not_an_article", "/en"),
    ):
        assert sum(reason in w and w.endswith(BASE + path) for w in warnings) == 1, reason
    assert any("Listing without article links" in w for w in warnings)


def test_an_article_seed_gives_its_record_and_follows_its_related_cards(tmp_path: Path) -> None:
    story = SITE.spec(SITE.ids[2])
    with SiteServer(SITE) as server:
        seed = f"{server.url}{story.path}"
        result = run_crawl(
            "daily8",
            tmp_path,
            args={"start_urls": seed},
            settings={"NEWSCRAWL_STORE_ENABLED": "False", "ROBOTSTXT_OBEY": "False"},
        )
        hits = dict(server.hits)
    assert result.returncode == 0, result.log[-3000:]
    (record,) = [item for item in result.items if item["url"] == seed]
    assert record["headline"] == story.headline and record["articleBody"] == story.body
    assert record["source"]["name"] == story.source_name
    for related in story.related:
        assert hits.get(SITE.spec(related).path) == 1
    assert "/en" not in hits  # the seed was not read as a listing
    assert result.stat("log_count/ERROR") == 0


def test_scrapy_parse_reads_an_article_url(tmp_path: Path) -> None:
    story = SITE.spec(SITE.ids[0])
    with SiteServer(SITE) as server:
        url = f"{server.url}{story.path}"
        command = [sys.executable, "-m", "scrapy", "parse", "--spider", "daily8"]
        command += ["-c", "parse_article", "-a", f"start_urls={url}", url]
        settings = {**TEST_SETTINGS, "NEWSCRAWL_STORE_ENABLED": "False"}
        for key, value in settings.items():
            command += ["-s", f"{key}={value}"]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    items, requests = done.stdout.split("# Requests", 1)
    assert story.headline in items
    for related in story.related:
        assert SITE.spec(related).path in requests
