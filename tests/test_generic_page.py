"""The generic article page object: golden pages plus targeted arbitration rules.

The golden set (``tests/fixtures/generic``) imitates real publishers' markup
(WordPress, Arc, Next.js, AMP, SPA state, bare HTML) with synthetic stories;
``expected.json`` holds the hand-written truth. Bodies are compared by token
F1 because exact text depends on trafilatura's line breaking.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse

from newscrawl.loaders import ArticleLoader
from newscrawl.pages.generic import GenericArticlePage
from newscrawl.pages.structured import body_paragraphs, loads_lenient
from tests.support.scoring import same_day, same_time, token_prf

FIXTURES = Path(__file__).parent / "fixtures" / "generic"
EXPECTED: dict[str, dict[str, Any]] = json.loads((FIXTURES / "expected.json").read_text())
URL = "https://news.example/2024/03/05/some-story-about-things"


def page_for(html: str | bytes, url: str = URL) -> GenericArticlePage:
    body = html.encode("utf-8") if isinstance(html, str) else html
    return GenericArticlePage(HtmlResponse(url, body=body, encoding="utf-8"))


def record(page: GenericArticlePage) -> dict[str, Any]:
    item = ArticleLoader.from_extraction(page.extract(), page.response, spider="generic")
    return dict(item)


def test_fixture_set_is_varied_enough() -> None:
    articles = [name for name, label in EXPECTED.items() if label["is_article"]]
    assert len(articles) >= 30
    assert len(EXPECTED) - len(articles) >= 3
    assert all((FIXTURES / name).is_file() for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_page(name: str) -> None:
    label = EXPECTED[name]
    page = page_for((FIXTURES / name).read_bytes(), label["url"])
    assert page.is_article() is label["is_article"]
    if not label["is_article"]:
        return
    item = record(page)
    assert item.get("headline") == label["headline"]
    assert {a["name"] for a in item.get("authors", [])} == set(label["authors"])
    assert same_day(item.get("datePublished"), label["datePublished"]), item.get("datePublished")
    if len(label["datePublished"]) > 10:
        assert same_time(item.get("datePublished"), label["datePublished"])
    _, _, f1 = token_prf(item.get("articleBody"), label["articleBody"])
    assert f1 >= 0.9, item.get("articleBody")
    # Every value says where it came from.
    assert set(item["provenance"]["fields"]) >= {"headline", "articleBody", "datePublished"}


# --- arbitration ---------------------------------------------------------------------------


def html_page(head: str = "", body: str = "", lang: str = "en") -> str:
    paragraphs = "".join(
        f"<p>Paragraph {i} of the story holds enough words to read as prose and not as a "
        f"teaser line, so the extractor keeps it in the article body text.</p>"
        for i in range(5)
    )
    return (
        f'<html lang="{lang}"><head>{head}</head><body>{body}'
        f'<div class="story">{paragraphs}</div></body></html>'
    )


def ld(data: Any) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_jsonld_headline_with_site_suffix_loses_to_the_heading() -> None:
    head = (
        '<meta property="og:site_name" content="Example Post">'
        '<meta property="og:title" content="Dam opens - Example Post">'
        + ld({"@type": "NewsArticle", "headline": "Dam opens | Example Post"})
    )
    extraction = page_for(html_page(head, "<h1>Dam opens</h1>")).extract()
    assert extraction.values["headline"] == "Dam opens"
    assert extraction.methods["headline"] == "json-ld"


def test_title_suffix_is_stripped_without_a_heading() -> None:
    head = (
        "<title>Dam opens on time | Example Post</title>"
        '<meta property="og:site_name" content="Example Post">'
    )
    assert page_for(html_page(head)).extract().values["headline"] == "Dam opens on time"


def test_generic_title_loses_to_the_heading() -> None:
    head = "<title>News, Sport and Weather | Example Post</title>"
    extraction = page_for(html_page(head, "<h1>Dam opens on time</h1>")).extract()
    assert extraction.values["headline"] == "Dam opens on time"
    assert extraction.methods["headline"] == "dom"


def test_date_with_time_preferred_over_date_only_of_the_same_day() -> None:
    head = '<meta property="article:published_time" content="2024-03-05T09:15:00+01:00">' + ld(
        {"@type": "NewsArticle", "headline": "H", "datePublished": "2024-03-05"}
    )
    extraction = page_for(html_page(head)).extract()
    assert extraction.values["datePublishedRaw"] == "2024-03-05T09:15:00+01:00"
    assert extraction.methods["datePublishedRaw"] == "opengraph"


def test_date_of_another_day_does_not_override_the_trusted_one() -> None:
    head = '<meta property="article:published_time" content="2024-03-07T09:15:00+01:00">' + ld(
        {"@type": "NewsArticle", "headline": "H", "datePublished": "2024-03-05"}
    )
    extraction = page_for(html_page(head)).extract()
    assert extraction.values["datePublishedRaw"] == "2024-03-05"
    assert extraction.methods["datePublishedRaw"] == "json-ld"


def test_no_time_is_invented_for_a_date_only_page() -> None:
    name = "date_in_url_only.html"
    item = record(page_for((FIXTURES / name).read_bytes(), EXPECTED[name]["url"]))
    assert item["datePublished"] == "2023-11-08"
    assert item["provenance"]["fields"]["datePublished"] == "url"


def test_person_preferred_over_organisation_author() -> None:
    head = '<meta name="author" content="Mara Quist">' + ld(
        {"@type": "NewsArticle", "author": {"@type": "Organization", "name": "Example Post"}}
    )
    extraction = page_for(html_page(head)).extract()
    assert extraction.values["authors"] == ["Mara Quist"]
    assert extraction.methods["authors"] == "meta"


def test_organisation_kept_when_no_person_is_named() -> None:
    head = ld({"@type": "NewsArticle", "author": {"@type": "Organization", "name": "Example Post"}})
    assert page_for(html_page(head)).extract().values["authors"] == ["Example Post"]


def test_profile_url_is_not_an_author() -> None:
    head = '<meta property="article:author" content="https://social.example/mara">'
    byline = '<p class="byline">By <a rel="author" href="/mara">Mara Quist</a></p>'
    extraction = page_for(html_page(head, byline)).extract()
    assert extraction.values["authors"] == ["Mara Quist"]
    assert extraction.methods["authors"] == "dom"


def test_invalid_jsonld_is_repaired_or_skipped(caplog: pytest.LogCaptureFixture) -> None:
    repairable = (
        '<script type="application/ld+json"><!--\n{"@type": "NewsArticle",'
        ' "headline": "Kept\theadline", "author": {"name": "Ann Lee",},}\n--></script>'
    )
    broken = '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>'
    with caplog.at_level(logging.DEBUG, logger="newscrawl.pages.structured"):
        page = page_for(html_page(repairable + broken))
        extraction = page.extract()
    assert extraction.values["headline"] == "Kept headline"
    assert extraction.values["authors"] == ["Ann Lee"]
    assert extraction.issues == ["invalid-json-ld"]
    assert "unparseable JSON-LD" in caplog.text


@pytest.mark.parametrize(
    "body",
    [b"", b"<html></html>", b"\x00\x01\x02", random.Random(7).randbytes(4096), b"<head><script>{{"],
)
def test_empty_or_garbage_html_gives_an_empty_extraction(body: bytes) -> None:
    page = page_for(body, "https://news.example/story")
    assert page.extract().values == {}
    assert page.is_article() is False


def test_teaser_page_takes_the_full_structured_body() -> None:
    name = "paywall_teaser_jsonld_body.html"
    page = page_for((FIXTURES / name).read_bytes(), EXPECTED[name]["url"])
    extraction = page.extract()
    assert extraction.methods["articleBody"] == "json-ld"
    assert not any("Subscribe" in line for line in extraction.values["articleBody"])


def test_boilerplate_inside_the_article_container_is_dropped() -> None:
    name = "wp_two_authors.html"
    body = record(page_for((FIXTURES / name).read_bytes(), EXPECTED[name]["url"]))["articleBody"]
    for junk in ("Read more", "Advertisement", "newsletter", "Tags:"):
        assert junk not in body


def test_every_value_has_a_method() -> None:
    for name, label in EXPECTED.items():
        extraction = page_for((FIXTURES / name).read_bytes(), label["url"]).extract()
        assert set(extraction.values) == set(extraction.methods), name


# --- structured-data helpers ---------------------------------------------------------------


def test_lenient_json() -> None:
    assert loads_lenient('<!-- {"a": [1, 2,],} -->') == {"a": [1, 2]}
    assert loads_lenient('{"a": "tab\there"}') == {"a": "tab\there"}
    assert loads_lenient("{nope") is None


def test_cms_blocks_keep_text_and_headings_but_not_media_or_promos() -> None:
    blocks = [
        {"type": "text", "content": "<p>First <a href='/x'>para</a>.</p>"},
        {"type": "header", "content": "A heading"},
        {"type": "image", "url": "/i.jpg", "caption": "A caption"},
        {"type": "ad_slot", "content": "Advertisement"},
        {"type": "related_links", "content": "Read this too"},
        {"_type": "block", "children": [{"text": "Portable "}, {"text": "text."}]},
    ]
    assert body_paragraphs(blocks) == ["First para.", "A heading", "Portable text."]


def test_sentence_starting_with_by_is_not_a_byline() -> None:
    body = "<h1>Fire out</h1><p>By Monday evening, the fire was out.</p>"
    assert "authors" not in page_for(html_page("", body)).extract().values


def test_unmarked_byline_and_date_lines_are_metadata_not_body() -> None:
    body = '<h1>Fire out</h1><div class="story"><p>By Ann Lee</p><p>May 2, 2024</p></div>'
    extraction = page_for(html_page("", body), "https://news.example/story").extract()
    assert extraction.values["authors"] == ["Ann Lee"]
    assert extraction.values["datePublishedRaw"] == "May 2, 2024"
    assert extraction.values["articleBody"][0].startswith("Paragraph 0")


@pytest.mark.parametrize(("state_title", "expected"), [("Other story", False), ("Roofs", True)])
def test_app_state_body_counts_only_for_the_page_own_story(
    state_title: str, expected: bool
) -> None:
    state = {
        "props": {
            "pageProps": {
                "story": {
                    "title": state_title,
                    "publishedAt": "2024-09-12T10:00:00+02:00",
                    "body": [{"type": "paragraph", "text": "Words of the story. " * 40}],
                }
            }
        }
    }
    html = (
        '<html><head><title>Roofs | Urban Ledger</title><meta property="og:type" content="article">'
        f'</head><body><div id="__next"></div><script id="__NEXT_DATA__" type="application/json">'
        f"{json.dumps(state)}</script></body></html>"
    )
    assert page_for(html, "https://urbanledger.example/stories/roofs").is_article() is expected


def test_itemprops_outside_an_article_scope_are_read() -> None:
    body = (
        '<div itemscope itemtype="https://schema.org/WebPage">'
        '<h1 itemprop="headline">Dam opens</h1>'
        '<span itemprop="author">Ann Lee</span>'
        '<time itemprop="datePublished" datetime="2024-03-05T10:00:00+01:00">5 March</time></div>'
    )
    extraction = page_for(html_page("", body)).extract()
    assert extraction.values["authors"] == ["Ann Lee"]
    assert extraction.methods["authors"] == "microdata"
    assert extraction.values["datePublishedRaw"] == "2024-03-05T10:00:00+01:00"
    assert extraction.methods["datePublishedRaw"] == "microdata"
