"""One page cannot take hundreds of MB: a real crawl meets an 8 MB page of a million elements.

Parsed, that page costs the crawl over 1.5 GB (``python -m bench.page_memory``);
over ``NEWSCRAWL_PAGE_MAX_ELEMENTS`` it is skipped before anything parses it,
counted and named in one warning line, and the crawl's peak RSS (from the kernel)
stays that of a crawl of small pages.
"""

from __future__ import annotations

from pathlib import Path

from bench.page_memory import ARTICLE_PATH, HUGE_PATH, crawl, huge_page, page, serve

PEAK_RSS_MB = 250  # a crawl of one small page peaks near 110 MB here


def test_a_page_with_a_million_elements_is_skipped_before_it_is_parsed(tmp_path: Path) -> None:
    with serve({ARTICLE_PATH: page(), HUGE_PATH: huge_page(1_000_000)}) as base:
        result = crawl("limit", f"{base}{HUGE_PATH},{base}{ARTICLE_PATH}", {}, tmp_path)
    assert result["returncode"] == 0
    assert result["items"] == 1  # the small article
    assert result["skipped"] == 1
    log = (tmp_path / "limit.log").read_text()
    (line,) = [line for line in log.splitlines() if "elements (NEWSCRAWL_PAGE_MAX_ELEMENTS" in line]
    assert "WARNING" in line and HUGE_PATH in line and "1,000,0" in line
    assert result["peak_rss_mb"] < PEAK_RSS_MB
