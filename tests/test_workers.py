"""Extraction in worker processes: the same records as in-process, and a dead or hung
worker costs one page (counted), never the crawl."""

from __future__ import annotations

import asyncio
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite
from newscrawl.loaders import fetch_time
from newscrawl.pages.daily8 import Daily8ArticlePage
from newscrawl.pages.generic import GenericArticlePage
from newscrawl.workers import (
    Extracted,
    ExtractionFailed,
    ExtractionPool,
    Extractor,
    Page,
    WorkerLost,
    extract_response,
)
from tests.support.crashing_spider import CrashingPage
from tests.support.crawl import run_crawl

HOST = "www.daily8.com"


def sample_pages() -> list[HtmlResponse]:
    """Every page of the sample site (listings and all stories), as the crawl receives them."""
    site = SampleSite()
    fetched = formatdate(usegmt=True)  # recent, so that relative dates count from it
    paths = [f"/en?page={n}" for n in range(1, site.listing_pages() + 1)] + site.article_paths()
    pages = []
    for path in paths:
        resource = site.render(path, HOST)
        assert resource is not None
        if resource.status == 200:
            headers = {**resource.headers, "Date": fetched}
            pages.append(HtmlResponse(f"https://{HOST}{path}", body=resource.body, headers=headers))
    return pages


def test_workers_give_the_records_made_in_process() -> None:
    responses = sample_pages()
    assert len(responses) > 50
    # Each page object, and reading by classification with the page's links (news).
    kinds: tuple[dict[str, Any], ...] = (
        {"page_cls": Daily8ArticlePage},
        {"page_cls": GenericArticlePage},
        {"page_cls": None, "min_probability": 0.5, "links": True},
    )
    expected = [
        extract_response(r, spider="daily8", fetched=fetch_time(r), **kind)
        for r in responses
        for kind in kinds
    ]
    pages = [Page.from_response(r, spider="daily8", **kind) for r in responses for kind in kinds]

    async def in_workers() -> list[Any]:
        pool = ExtractionPool(2, timeout=30)
        pool.start()
        try:
            return await asyncio.gather(*(pool.extract(page) for page in pages))
        finally:
            await pool.close()

    made = [extracted for extracted, _ in asyncio.run(in_workers())]
    # Both page objects read most stories (the generic one fewer of the div-paragraph markups).
    assert sum(page.item is not None for page in expected) > len(responses)
    assert sum(bool(page.links) for page in expected) == len(responses)
    assert [_comparable(page) for page in made] == [_comparable(page) for page in expected]
    latin1 = next(r for r in responses if r.encoding != "utf-8")  # sent with its encoding
    assert Page.from_response(latin1, Daily8ArticlePage, "daily8").response().text == latin1.text


def _comparable(page: Extracted) -> tuple[Any, ...]:
    return (dict(page.item) if page.item else None, *page[1:])


def test_a_dead_or_hung_worker_costs_one_page_and_is_replaced(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    responses = [r for r in sample_pages() if "/article/" in r.url][:12]
    crash, hang, bug = responses[1].url, responses[4].url, responses[7].url
    monkeypatch.setenv("CRASH_ON", crash[-20:])
    monkeypatch.setenv("HANG_ON", hang[-20:])
    monkeypatch.setenv("RAISE_ON", bug[-20:])
    stats = MemoryStatsCollector(get_crawler())
    extractor = Extractor(workers=1, timeout=5, log_level=20)

    async def crawl() -> list[Any]:
        extractor.open(stats)
        try:
            return await asyncio.gather(
                *(extractor.extract_item(r, CrashingPage, "daily8") for r in responses),
                return_exceptions=True,
            )
        finally:
            await extractor.close()

    outcome = dict(zip((r.url for r in responses), asyncio.run(crawl()), strict=True))
    failed = {url for url, made in outcome.items() if isinstance(made, ExtractionFailed)}
    assert failed == {crash, hang, bug}
    assert all(made and made["url"] == url for url, made in outcome.items() if url not in failed)
    assert stats.get_value("newscrawl/errors/extract_crash") == 1
    assert stats.get_value("newscrawl/errors/extract_timeout") == 1
    assert stats.get_value("newscrawl/errors/extract_error") == 1
    assert stats.get_value("newscrawl/extract/worker_restarts") == 2
    for url in failed:  # one line each
        assert sum(f"Extraction failed on {url}" in r.getMessage() for r in caplog.records) == 1
    assert "KeyError" in next(r.getMessage() for r in caplog.records if bug in r.getMessage())


def test_worker_lost_names_its_kind() -> None:
    assert WorkerLost("timeout", "no record after 2 s").kind == "timeout"


def test_a_crawl_survives_a_dead_and_a_hung_worker(tmp_path: Path) -> None:
    site = SampleSite()
    server = SiteServer(site).start()
    try:
        stories = [path for path in site.article_paths() if path.rsplit("/", 1)[1] in site.ids]
        crash, hang = stories[20], stories[30]
        result = run_crawl(
            "daily8_crashing",
            tmp_path,
            args={"start_urls": f"{server.url}/en", "incremental": "0"},
            settings={
                "NEWSCRAWL_STORE_ENABLED": "False",
                "NEWSCRAWL_EXTRACT_WORKERS": "1",
                "NEWSCRAWL_EXTRACT_TIMEOUT": "10",
                "SPIDER_MODULES": "tests.support.crashing_spider",
            },
            env={"CRASH_ON": crash, "HANG_ON": hang},
        )
    finally:
        server.stop()
    assert result.returncode == 0 and result.stats["finish_reason"] == "finished", result.log
    assert result.stat("newscrawl/errors/extract_crash") == 1
    assert result.stat("newscrawl/errors/extract_timeout") == 1
    assert result.stat("spider_exceptions/count") == 0
    urls = {item["url"] for item in result.items}
    assert not any(url.endswith((crash, hang)) for url in urls)
    assert len(urls) >= len(site.reachable_ids()) - 6  # everything else, bad pages aside
    for path, kind in ((crash, "extract_crash"), (hang, "extract_timeout")):
        assert f"{path} ({kind})" in result.log
