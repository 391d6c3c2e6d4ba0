"""Sitemaps are read as a stream and requested a batch at a time, as the crawl drains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from newscrawl import settings
from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite
from newscrawl.sitemaps import INDEX, URLSET, SitemapReader
from tests.support.crawl import run_crawl

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <image:image><image:loc>https://example.com/a.jpg</image:loc></image:image>
    <loc> https://example.com/one </loc>
    <news:news><news:publication_date>2025-05-17T08:00:00Z</news:publication_date></news:news>
  </url>
  <!-- a comment -->
  <url><loc>https://example.com/two</loc><lastmod>2025-05-01</lastmod></url>
  <url><lastmod>2025-05-01</lastmod></url>
</urlset>"""


def test_reader_gives_loc_lastmod_and_news_publication_date() -> None:
    sitemap = SitemapReader(NEWS_SITEMAP)
    assert sitemap.type == URLSET
    assert list(sitemap) == [
        {"loc": "https://example.com/one", "publication_date": "2025-05-17T08:00:00Z"},
        {"loc": "https://example.com/two", "lastmod": "2025-05-01"},
    ]


def test_reader_reads_an_index_and_refuses_garbage() -> None:
    index = (
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + b"".join(
            f"<sitemap><loc>https://example.com/s{i}.xml</loc></sitemap>".encode() for i in range(3)
        )
        + b"</sitemapindex>"
    )
    sitemap = SitemapReader(index)
    assert sitemap.type == INDEX
    assert [entry["loc"] for entry in sitemap] == [
        f"https://example.com/s{i}.xml" for i in range(3)
    ]
    with pytest.raises(etree.XMLSyntaxError):
        SitemapReader(b"")


def test_a_crawl_requests_sitemap_entries_a_batch_at_a_time(tmp_path: Path) -> None:
    # Four sitemaps of 300 behind an index; no listing, so the sitemaps name every story.
    site = SampleSite(n_articles=1200, sitemap_size=300)
    with SiteServer(site) as server:
        result = run_crawl(
            "daily8",
            tmp_path,
            args={"start_urls": f"{server.url}/en/private/none", "incremental": "0"},
            settings={
                "NEWSCRAWL_STORE_ENABLED": "False",
                "NEWSCRAWL_SITEMAP_BATCH": "100",
                # Index 1, its sitemaps 2, their stories 3: every sitemap as deep as the
                # first, however many sitemaps came before it.
                "DEPTH_LIMIT": "3",
                "EXTENSIONS": json.dumps(
                    {**settings.EXTENSIONS, "tests.support.scheduler_probe.SchedulerProbe": 0}
                ),
            },
            timeout=600,
        )
        sitemap_hits = {path: n for path, n in server.hits.items() if "sitemap" in path}
    assert result.returncode == 0 and result.stats["finish_reason"] == "finished", result.log
    stored = {item["url"].rsplit("/", 1)[1] for item in result.items}
    pair = {site.special.duplicate, site.special.duplicate_of}  # one story: stored once
    missing = site.reachable_ids() - {site.special.bodiless} - pair - stored
    counts = {key: n for key, n in result.stats.items() if "/errors/" in key or "dropped" in key}
    assert not missing, (sorted(missing), counts, result.log[-3000:])
    assert len(stored & pair) == 1
    # Each sitemap fetched once; the scheduler never held more than a batch or so.
    assert sitemap_hits == {"/sitemap.xml": 1, **{f"/sitemap-{k}.xml": 1 for k in range(1, 5)}}
    assert result.stat("newscrawl/sitemap/batches") >= 8
    # Related links found on the way add some; queued at once, all 1,200 would wait here.
    assert result.stat("test/scheduler_max") <= 400, result.stat("test/scheduler_max")
