"""Sources as pure readers and the field-rule table, on minimal pages of our own."""

from __future__ import annotations

import json

from scrapy.http import HtmlResponse

from newscrawl.pages import classify
from newscrawl.pages.dom import PageIndex, read_url
from newscrawl.pages.generic import apply_rules
from newscrawl.pages.rules import RULES, body, by_trust, published
from newscrawl.pages.sources import Sources, read_sources

URL = "https://ledger.example/news/council-votes-on-roofs"
PROSE = "".join(
    f"<p>Paragraph {i} of the story tells the reader about roofs, rain and the council vote.</p>"
    for i in range(4)
)


def sources(
    head: str = "", body_html: str = f"<article>{PROSE}</article>", url: str = URL
) -> Sources:
    html = f"<html><head>{head}</head><body>{body_html}</body></html>"
    return read_sources(HtmlResponse(url, body=html.encode(), encoding="utf-8"))


def jsonld(**node: object) -> str:
    data = json.dumps({"@type": "NewsArticle", **node})
    return f'<script type="application/ld+json">{data}</script>'


def test_readers_give_values_and_change_nothing() -> None:
    """Reading a page twice gives the same candidates and the same problems, once each."""
    broken = '<script type="application/ld+json">{"@type": </script>'
    head = broken + jsonld(headline="Roofs repaired") + '<meta property="og:title" content="Roofs">'
    response = HtmlResponse(
        URL, body=f"<html><head>{head}</head><body></body></html>".encode(), encoding="utf-8"
    )
    first, second = read_sources(response), read_sources(response)
    assert first.candidates == second.candidates
    assert first.issues == second.issues == ("invalid-json-ld",)
    methods = [c.method for c in first.candidates.get("headline")]
    assert methods == ["json-ld", "opengraph"]  # readers in order, ties broken by it


INDEXED = """<html lang="en"><head><title>Roofs</title><link rel="canonical" href="/roofs">
<meta name="date" content="2024-03-05"><script type="application/ld+json">{}</script></head>
<body><!-- a comment --><nav aria-label="Breadcrumb"><a href="/">Home</a></nav>
<div itemscope itemtype="https://schema.org/NewsArticle"><h1 itemprop="headline">Roofs</h1>
<span class="byline"><a rel="author" href="/ann">Ann Lee</a></span></div>
<span itemprop="author">Bo Chan</span><a href="/y"><h2>Teaser</h2><h3>Two</h3></a>
<h3><a href="/z">Teaser two</a></h3><h4>Plain</h4><dl><dt>Published</dt><dd>5 March</dd></dl>
<time datetime="2024-03-05">5 March</time><p id="story">Text</p><p class="x">More</p>
</body></html>"""


def test_one_walk_finds_what_each_xpath_found() -> None:
    root = HtmlResponse(URL, body=INDEXED.encode(), encoding="utf-8").selector.root
    index = PageIndex(root)
    for tag in ("time", "title", "link", "meta", "script", "p", "h1", "h2", "h3", "h4", "dt"):
        assert index.tags[tag] == root.xpath(f"//{tag}"), tag
    assert index.author_links == root.xpath("//a[@rel='author']")
    assert index.itemprops == root.xpath("//*[@itemprop]")
    assert index.article_scopes == root.xpath(
        "//*[@itemscope][contains(@itemtype, 'Article') or contains(@itemtype, 'BlogPosting')]"
    )
    assert index.breadcrumb_labels == root.xpath("//*[@aria-label='Breadcrumb']")
    assert [el.get("class") for el, _ in index.classed] == ["byline"]
    headings = [h for tag in ("h2", "h3", "h4") for h in index.tags[tag]]
    linked = root.xpath("//h2[.//a] | //h3[.//a] | //h4[.//a] | //a[h2 or h3 or h4]")
    assert classify.linked_headings(headings) == len(linked) == 2


def test_the_url_reader_finds_the_date_in_the_path() -> None:
    assert [c.value for c in read_url("/2024/3/5/roofs").get("datePublishedRaw")] == ["2024-03-05"]
    assert read_url("/news/roofs").get("datePublishedRaw") == []


def test_every_rule_answers_with_its_provenance() -> None:
    head = jsonld(
        headline="Council votes on roofs",
        datePublished="2024-03-05T10:00:00+01:00",
        author={"@type": "Person", "name": "Ann Lee"},
        description="What the council decided.",
    )
    out = apply_rules(sources(head))
    assert out.methods == {
        "headline": "json-ld",
        "description": "json-ld",
        "datePublishedRaw": "json-ld",
        "authors": "json-ld",
        "articleBody": "trafilatura",
    }
    assert out.values["authors"] == ["Ann Lee"]
    fields = [name for name, _ in RULES]
    assert fields.index("headline") < fields.index("articleBody")  # the body rule reads it


def test_a_trust_order_is_the_whole_rule() -> None:
    head = '<meta property="og:description" content="From OpenGraph">' + jsonld(
        description="From JSON-LD"
    )
    rule = by_trust("description", ("json-ld", "opengraph"))
    assert list(rule(sources(head), {})) == [
        ("From JSON-LD", "json-ld"),
        ("From OpenGraph", "opengraph"),
    ]


def test_the_costly_date_source_is_the_last_alternative() -> None:
    """A structured date answers first; htmldate only stands behind a page with no date."""
    dated = published(sources(jsonld(datePublished="2024-03-05")), {})
    assert next(dated) == ("2024-03-05", "json-ld")
    undated = list(published(sources(), {}))
    assert undated[-1][1] == "htmldate"


def test_a_whole_structured_body_on_a_page_without_prose_skips_trafilatura() -> None:
    story = " ".join(f"Sentence {i} about the council's vote on roofs and rain." for i in range(40))
    page = sources(jsonld(headline="Roofs", articleBody=story), body_html="<div>Menu</div>")
    lines, method = next(body(page, {"headline": "Roofs"}))
    assert method == "json-ld"
    assert lines == [story]
