"""Golden tests: saved Daily8 pages -> the expected clean records.

Each structured-data variant of the page (JSON-LD, Next.js app state,
OpenGraph only, bare DOM) must give the same clean record. To refresh the
expected JSON after an intended change: ``NEWSCRAWL_REGEN=1 pytest tests/test_daily8_page.py``.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from newscrawl.loaders import ArticleLoader
from newscrawl.pages.daily8 import Daily8ArticlePage, is_daily8_boilerplate
from newscrawl.processors import is_boilerplate

FIXTURES = Path(__file__).parent / "fixtures" / "daily8"
PAGES = json.loads((FIXTURES / "pages.json").read_text())
FETCHED = datetime(2025, 6, 24, 12, 0, tzinfo=UTC)
BOILERPLATE = ("Orange background", "Try Our AI Features", "No comments yet", "DOWNLOAD THE APP")


def record(name: str) -> dict:
    page = PAGES[name]
    response = HtmlResponse(
        page["url"],
        body=(FIXTURES / name).read_bytes(),
        headers={"Content-Type": f"text/html; charset={page['charset']}"},
    )
    item = ArticleLoader.from_extraction(
        Daily8ArticlePage(response).extract(), response, spider="daily8", reference=FETCHED
    )
    return dict(item)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_golden_record(name: str) -> None:
    got = record(name)
    path = FIXTURES / "expected" / name.replace(".html", ".json")
    if os.environ.get("NEWSCRAWL_REGEN"):
        path.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    assert got == json.loads(path.read_text())


@pytest.mark.parametrize("name", sorted(PAGES))
def test_clean_values_match_the_site(name: str) -> None:
    """The record holds what the site says the story is, and none of the page noise."""
    got, expected = record(name), PAGES[name]["expected"]
    for field in ("headline", "articleBody"):
        assert got.get(field) == expected.get(field), field
    assert got["source"]["name"] == expected["source"]["name"]
    assert got.get("datePublished") == expected.get("datePublished")
    related = [(r["url"], r["headline"], r["datePublishedRaw"]) for r in got["relatedArticles"]]
    assert related == [
        (r["url"], r["headline"], r["datePublishedRaw"]) for r in expected["relatedArticles"]
    ]
    assert not any(noise in got["articleBody"] for noise in BOILERPLATE)


def test_relative_times_resolve_against_fetch_time() -> None:
    related = record("classic.html")["relatedArticles"]
    resolved = {r["datePublishedRaw"]: r["datePublished"] for r in related}
    assert resolved["an hour ago"] == "2025-06-24T11:00:00+00:00"
    assert resolved["9 minutes ago"] == "2025-06-24T11:51:00+00:00"


def test_undated_page_says_so() -> None:
    got = record("no-date.html")
    assert "datePublished" not in got and "datePublishedRaw" not in got


def test_a_field_it_cannot_find_comes_from_the_generic_extractor() -> None:
    """A date written out in words in a ``<time>`` element is not Daily8's byline date:
    the generic extractor supplies that one field; every other field stays Daily8's."""
    page = PAGES["hashed.html"]
    expected = page["expected"]
    html = (FIXTURES / "hashed.html").read_text()
    raw = "-".join(reversed(expected["datePublished"].split("-")))
    assert raw in html
    html = html.replace(raw, f'<time datetime="{expected["datePublished"]}">in the spring</time>')
    response = HtmlResponse(page["url"], body=html, encoding="utf-8")
    extraction = Daily8ArticlePage(response).extract()
    item = ArticleLoader.from_extraction(extraction, response, spider="daily8", reference=FETCHED)
    assert item["datePublished"] == expected["datePublished"]
    assert extraction.methods["datePublishedRaw"].startswith("generic/")
    assert item["headline"] == expected["headline"]
    assert item["articleBody"] == expected["articleBody"]
    assert {m for n, m in extraction.methods.items() if n != "datePublishedRaw"} <= {
        "doubled",
        "byline",
        "dom",
    }


@pytest.mark.parametrize(
    "line",
    [
        "Orange background",
        "Try Our AI Features",
        "Explore what Daily8 AI can do for you:",
        "No comments yet...",
        "Get Started Now: Download the App",
        "app-storeplay-store.",
        "  logo ",
        "Ready to dive into a world of global content with local flavor? Download Daily8 app "
        "today from your preferred app store and start exploring.",
        "GLOBAL NEWS. DOWNLOAD DAILY8 APP TODAY FROM YOUR PREFERRED APP STORE",
    ],
)
def test_daily8_interface_text_is_its_own_boilerplate(line: str) -> None:
    """Daily8's phrases are rules of its page object, not of every site's extraction."""
    assert is_daily8_boilerplate(line)
    assert not is_boilerplate(line)
