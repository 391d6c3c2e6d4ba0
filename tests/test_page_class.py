"""Never refuse a page: every page is classified with a probability, and hostile
JSON in a page's data costs that source only, never the page."""

from __future__ import annotations

import json

import pytest
from scrapy.http import HtmlResponse

from newscrawl.extraction import extract_record
from newscrawl.pages.classify import PageSignals, classify, probability
from newscrawl.pages.generic import GenericArticlePage
from newscrawl.pages.structured import MAX_JSON_DEPTH, loads_lenient, too_deep

URL = "https://news.example/2024/03/05/a-story-about-roofs"
PROSE = "".join(
    f"<p>Paragraph {i} of the story tells the reader about roofs, rain and the council vote.</p>"
    for i in range(4)
)


def page(head: str = "", body: str = "", url: str = URL) -> GenericArticlePage:
    html = f"<html><head>{head}</head><body>{body}</body></html>"
    return GenericArticlePage(HtmlResponse(url, body=html.encode(), encoding="utf-8"))


def signals(**kwargs: object) -> PageSignals:
    defaults: dict[str, object] = {
        "url": URL,
        "types": set(),
        "og_type": None,
        "prose_run": 0,
        "linked_headings": 0,
        "structured_body": False,
    }
    return PageSignals(**{**defaults, **kwargs})  # type: ignore[arg-type]


def test_probability_is_monotonic_and_centred_on_the_threshold() -> None:
    values = [probability(points) for points in range(-6, 10)]
    assert values == sorted(values)
    assert probability(1) < 0.5 < probability(2)


@pytest.mark.parametrize(
    ("kwargs", "page_type"),
    [
        ({"types": {"NewsArticle"}, "prose_run": 4}, "article"),
        ({"types": {"LiveBlogPosting"}, "structured_body": True}, "liveBlog"),
        ({"types": {"CollectionPage"}, "url": "https://news.example/"}, "listing"),
        ({"linked_headings": 12, "url": "https://news.example/world"}, "listing"),
        ({"url": "https://news.example/about-us"}, "other"),
    ],
)
def test_page_types(kwargs: dict[str, object], page_type: str) -> None:
    assert classify(signals(**kwargs)).page_type == page_type


def test_a_listing_still_gets_a_record_with_its_type() -> None:
    teasers = "".join(f'<h2><a href="/2024/03/0{i}/s">Story {i}</a></h2>' for i in range(1, 7))
    record = extract_record(f"<html><body>{teasers}</body></html>", "https://news.example/")
    assert record["pageType"] == "listing" and record["probability"] < 0.5
    assert record["url"] == "https://news.example/" and "error" not in record


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 200_000])
def test_deep_json_is_refused_without_raising(depth: int) -> None:
    assert loads_lenient(_nested(depth)) is None
    assert loads_lenient("[" * depth + "]" * depth) is None


def test_json_within_the_depth_limit_parses() -> None:
    data = loads_lenient(_nested(MAX_JSON_DEPTH - 1))
    assert data is not None and not too_deep(data)


def test_deep_json_ld_and_app_state_cost_only_their_source() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    good = json.dumps({"@type": "NewsArticle", "headline": "Roofs repaired before winter"})
    state = '{"article": ' + _nested(3_000) + ', "pad": "' + "x" * 300 + '"}'
    head = (
        f'<script type="application/ld+json">{deep}</script>'
        f'<script type="application/ld+json">{good}</script>'
        f'<script id="__NEXT_DATA__">{{"props": {deep}}}</script>'
        f"<script>window.__INITIAL_STATE__ = {state};</script>"
    )
    extraction = page(head, f"<h1>Roofs repaired before winter</h1><article>{PROSE}</article>")
    result = extraction.extract()
    assert result.values["headline"] == "Roofs repaired before winter"
    assert result.methods["headline"] == "json-ld"  # the good block still counts
    assert "Paragraph 3" in " ".join(result.values["articleBody"])
    assert sorted(result.issues) == ["invalid-app-state", "invalid-app-state", "invalid-json-ld"]
    assert result.page_type == "article"


@pytest.mark.parametrize(
    ("html_class", "body_class"),
    [("", "single comments-open has-sidebar"), ("page-commentary widget-area", "")],
)
def test_layout_flags_on_html_and_body_do_not_hide_the_story(
    html_class: str, body_class: str
) -> None:
    html = (
        f'<html class="{html_class}"><body class="{body_class}"><div class="wrap">'
        '<h1>Council votes to fix roofs</h1><p class="byline">By Ann Lee</p>'
        '<time class="date">5 March 2024</time>'
        f"<article>{PROSE}</article>"
        '<div class="related"><h1>Another story</h1><p class="byline">By Bo Chan</p></div>'
        "</div></body></html>"
    )
    response = HtmlResponse("https://news.example/roofs", body=html.encode(), encoding="utf-8")
    values = GenericArticlePage(response).extract().values
    assert values["headline"] == "Council votes to fix roofs"
    assert values["authors"] == ["Ann Lee"]
    assert values["datePublishedRaw"] == "5 March 2024"
