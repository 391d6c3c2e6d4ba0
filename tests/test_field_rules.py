"""Field rules on minimal pages of our own, one failure cause per test."""

from __future__ import annotations

import json

import pytest
from scrapy.http import HtmlResponse

from newscrawl.pages.generic import GenericArticlePage

URL = "https://ledger.example/news/council-votes-on-roofs"
PROSE = "".join(
    f"<p>Paragraph {i} of the story tells the reader about roofs, rain and the council vote.</p>"
    for i in range(4)
)
SITE = '<meta property="og:site_name" content="The Ledger">'


def page(head: str = "", body: str = "", url: str = URL) -> GenericArticlePage:
    html = f"<html><head>{head}</head><body>{body}<article>{PROSE}</article></body></html>"
    return GenericArticlePage(HtmlResponse(url, body=html.encode(), encoding="utf-8"))


def jsonld(**node: object) -> str:
    data = json.dumps({"@type": "NewsArticle", **node})
    return f'<script type="application/ld+json">{data}</script>'


# --- headlines ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "headline"),
    [
        ("Roofs — and what comes after | The Ledger", "Roofs — and what comes after"),
        ("The Ledger - Roofs: a council divided", "Roofs: a council divided"),
        ("Roofs – rain – council | Ledger", "Roofs – rain – council"),
        ("Roofs and rain | Local | The Ledger", "Roofs and rain | Local"),
    ],
)
def test_site_suffix_is_cut_and_the_rest_kept_as_written(title: str, headline: str) -> None:
    assert page(SITE).strip_site_suffix(title) == headline


def test_a_structured_headline_naming_the_site_is_not_the_headline() -> None:
    head = (
        SITE + jsonld(headline="The Ledger") + "<title>Council votes on roofs | The Ledger</title>"
    )
    assert page(head).extract().values["headline"] == "Council votes on roofs"


def test_inline_tags_add_no_space_before_punctuation() -> None:
    body = "<h1><a href='/x'>Roofs</a>, rain and the <em>council</em>'s vote<br>today</h1>"
    assert (
        page(body=body).extract().values["headline"] == "Roofs, rain and the council's vote today"
    )
