"""The Daily8 page object on markup it was not written against.

A mutation test: every markup of the sample site is rewritten as a redesign
would rewrite it (every class renamed to a random hash, headings swapped for
``div``/``span``, blocks wrapped in extra ``div``\\s, the header's blocks
reordered); the record must stay field for field what the story says. Plus
hand-written pages in the shapes the issue reported lost.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html
from playwright.sync_api import sync_playwright
from scrapy.http import HtmlResponse

from newscrawl.browser import resolve_executable
from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import MARKUPS, SERVER_MARKUPS, SampleSite, StorySpec
from newscrawl.loaders import ArticleLoader
from newscrawl.pages.daily8 import Daily8ArticlePage
from newscrawl.processors import url_key
from tests.support.crawl import crawl_daily8, query
from tests.support.database import temporary_database

BASE = "http://127.0.0.1:8008"
SITE = SampleSite()
FIXTURES = Path(__file__).parent / "fixtures" / "daily8" / "independent"
_BLOCKS = ("p", "div", "section", "article", "figure", "header", "aside", "ul", "a")


def record(url: str, body: bytes | str) -> dict[str, Any]:
    response = HtmlResponse(url, body=body, encoding="utf-8")
    return dict(
        ArticleLoader.from_extraction(
            Daily8ArticlePage(response).extract(), response, spider="daily8"
        )
    )


def fields(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "headline": item.get("headline"),
        "source": (item.get("source") or {}).get("name"),
        "datePublished": item.get("datePublished"),
        "articleBody": item.get("articleBody"),
        "related": [r["url"] for r in item.get("relatedArticles", [])],
    }


def truth(spec: StorySpec) -> dict[str, Any]:
    return {
        "headline": spec.headline,
        "source": spec.source_name,
        "datePublished": spec.date_iso,
        "articleBody": spec.body,
        "related": [f"{BASE}{SITE.card_spec(r).path}" for r in spec.related],
    }


def mutate(page: bytes, rng: random.Random) -> str:
    """The page as another front-end build would write it; text, links and order of
    the story text unchanged."""
    root = lxml_html.fromstring(page.decode("utf-8"))
    body = root.find("body")
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("class") is not None:
            el.set(
                "class", "".join(rng.choice("abcdefghjkmnpqrstuvwxyz0123456789") for _ in range(8))
            )
    for el in body.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        el.tag = rng.choice(("div", "span"))
    for el in list(body.iter(*_BLOCKS)):
        if rng.random() < 0.4 and el.getparent() is not None:
            wrapper = lxml_html.Element("div", {"class": "w" + str(rng.randrange(10**6))})
            el.addprevious(wrapper)
            wrapper.append(el)  # moves el, with its tail
    _reorder_header(root, rng)
    return lxml_html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")


def _reorder_header(root: Any, rng: random.Random) -> None:
    """Shuffle the blocks before the story text in the first container that has some."""
    node = next(  # the story's first paragraph
        el for el in root.find("body").iter() if len(el) == 0 and ". " in (el.text or "")
    )
    while (parent := node.getparent()) is not None:
        children = [child for child in parent if isinstance(child.tag, str)]
        header = children[: children.index(node)]
        if len(header) >= 2:
            rng.shuffle(header)
            for child in header:
                node.addprevious(child)
            return
        node = parent


def stories_per_markup() -> list[StorySpec]:
    special = SITE.special
    awkward = {special.bodiless, special.duplicate, special.latin1}
    chosen = []
    for markup in SERVER_MARKUPS:
        specs = [s for s in SITE.stories.values() if s.variant == markup and s.id not in awkward]
        chosen += specs[:2]
    chosen.append(SITE.spec(special.undated))
    return chosen


@pytest.mark.parametrize("spec", stories_per_markup(), ids=lambda s: f"{s.variant}-{s.id[:6]}")
def test_record_survives_a_redesign(spec: StorySpec) -> None:
    page = SITE.render(spec.path).body
    url = f"{BASE}{spec.path}"
    original = fields(record(url, page))
    assert original == truth(spec)
    for seed in range(3):
        mutated = mutate(page, random.Random(f"{spec.id}:{seed}"))
        assert "<h1" not in mutated and "<h2" not in mutated
        assert fields(record(url, mutated)) == original, (seed, mutated)


INDEPENDENT = json.loads((FIXTURES / "pages.json").read_text()) if FIXTURES.exists() else {}


@pytest.mark.parametrize("name", sorted(INDEPENDENT))
def test_independent_pages(name: str) -> None:
    """Pages written by hand in the shapes the issue found lost (not by the generator)."""
    page = INDEPENDENT[name]
    got = record(page["url"], (FIXTURES / name).read_bytes())
    for key, value in page["expected"].items():
        if key == "source":
            assert (got.get("source") or {}).get("name") == value
        elif key == "related":
            assert [r["url"] for r in got.get("relatedArticles", [])] == value
        else:
            assert got.get(key) == value, key


def test_a_crawl_stores_every_story_of_every_markup_once(pg_dsn: str, tmp_path: Path) -> None:
    """The client-rendered markup included: its pages go through the browser."""
    site = SampleSite(n_articles=14, markups=MARKUPS)
    with SiteServer(site) as server, temporary_database(pg_dsn) as dsn:
        result = crawl_daily8(server.url, dsn, tmp_path)
        expected = site.expected_unique_stories()
        rows = query(
            dsn,
            "SELECT a.headline, a.article_body, a.source_name, u.url_key FROM articles a"
            " JOIN article_urls u ON u.article_id = a.id",
        )
    stored = {row["url_key"]: row for row in rows}
    assert len({row["headline"] for row in rows}) == len(expected)
    for story_id in expected:
        spec = site.spec(story_id)
        row = stored[url_key(f"{server.url}{spec.path}")]
        got = (row["headline"], row["article_body"], row["source_name"])
        assert got == (spec.headline, spec.body, spec.source_name), spec.variant
    assert {site.spec(i).variant for i in expected} == set(MARKUPS)
    clients = sum(site.spec(i).variant == "client" for i in expected)
    assert result.stat("newscrawl/browser/rendered") >= clients >= 1, result.stats
    assert result.stat("newscrawl/dropped/no_body") == 1  # the video-only story
    assert result.stat("log_count/ERROR") == 0


def test_client_rendered_record_survives_a_redesign(tmp_path: Path) -> None:
    """The client-rendered markup, as the browser builds it, mutated like the others."""
    site = SampleSite(n_articles=14, markups=MARKUPS)
    spec = next(s for s in site.stories.values() if s.variant == "client")
    with SiteServer(site) as server, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=resolve_executable(None))
        try:
            tab = chromium.new_page()
            tab.goto(f"{server.url}{spec.path}")
            tab.wait_for_selector("a[href*='/article/']")
            rendered = tab.content().encode()
        finally:
            chromium.close()
        base = server.url
    url = f"{base}{spec.path}"
    original = fields(record(url, rendered))
    assert original == {
        **truth(spec),
        "related": [f"{base}{site.card_spec(r).path}" for r in spec.related],
    }
    for seed in range(3):
        mutated = mutate(rendered, random.Random(f"{spec.id}:{seed}"))
        assert fields(record(url, mutated)) == original, seed
