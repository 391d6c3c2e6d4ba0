"""The bundled sample site, served for real on 127.0.0.1 and fetched with urllib.

The saved pages under ``tests/fixtures/daily8/`` are checked against the
generator here; regenerate them with
``NEWSCRAWL_UPDATE_FIXTURES=1 pytest tests/test_sample_site.py -k fixtures``.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urljoin

import pytest
from parsel import Selector

from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import ARTICLE_RE, MARKUPS, SERVER_MARKUPS, SampleSite, StorySpec

FIXTURES = Path(__file__).parent / "fixtures" / "daily8"
FIXTURE_HOST = "127.0.0.1:8008"
SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object) -> None:
        return None


# No proxies from the environment: every request stays on 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def fetch(url: str, method: str = "GET") -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with _OPENER.open(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def page(url: str) -> Selector:
    status, headers, body = fetch(url)
    assert status == 200, url
    return Selector(text=body.decode(headers.get_content_charset()))


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SampleSite, SiteServer]]:
    site = SampleSite()
    with SiteServer(site) as server:
        yield site, server


def article_links(sel: Selector) -> list[str]:
    return [href for href in sel.css("a::attr(href)").getall() if ARTICLE_RE.search(href)]


def page_text(sel: Selector) -> str:
    return " ".join(" ".join(sel.xpath("//body//text()[not(ancestor::script)]").getall()).split())


def test_home_and_listing_pages_paginate_over_listed_stories(served):
    site, server = served
    status, headers, _ = fetch(f"{server.url}/")
    assert (status, headers["Location"]) == (301, f"{server.url}/en")

    url, seen, pages = f"{server.url}/en", [], 0
    while url:
        sel = page(url)
        pages += 1
        cards = sel.css("section.latest div.related-card")
        assert 0 < len(cards) <= site.listing_page_size
        seen += [
            ARTICLE_RE.fullmatch(href)[1]
            for href in cards.css("a.related-link::attr(href)").getall()
        ]
        next_href = sel.css('link[rel="next"]::attr(href)').get()
        assert next_href == sel.css("a.next::attr(href)").get()
        assert sel.css("a.next::text").get() in (None, "More")
        url = next_href and urljoin(url, next_href)
    assert pages == site.listing_pages() == 5
    assert seen == site.listed_ids()
    assert not set(seen) & set(site.special.unlisted)
    assert fetch(f"{server.url}/en?page=1")[2] == fetch(f"{server.url}/en")[2]
    assert fetch(f"{server.url}/en?page={pages + 1}")[0] == 404
    assert fetch(f"{server.url}/en?page=two")[0] == 404


def test_robots_and_sitemap_use_absolute_urls_of_the_request_host(served):
    site, server = served
    status, headers, body = fetch(f"{server.url}/robots.txt")
    assert status == 200 and headers.get_content_type() == "text/plain"
    robots = body.decode()
    assert "User-agent: *\nDisallow: /en/private/\n" in robots
    assert f"Sitemap: {server.url}/sitemap.xml" in robots.splitlines()

    status, headers, body = fetch(f"{server.url}/sitemap.xml")
    assert status == 200 and headers.get_content_type() == "application/xml"
    urls = ET.fromstring(body).findall("sm:url", SITEMAP_NS)
    locs = [u.findtext("sm:loc", namespaces=SITEMAP_NS) for u in urls]
    assert locs == [f"{server.url}{path}" for path in site.article_paths()]
    lastmods = {u.findtext("sm:lastmod", namespaces=SITEMAP_NS) for u in urls}
    assert None in lastmods  # the undated story has no lastmod
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", d) for d in lastmods - {None})
    assert {f"{server.url}/en/article/{i}" for i in site.special.unlisted} <= set(locs)
    # robots.txt really protects something a careless crawler could reach
    assert fetch(f"{server.url}/en/private/drafts")[0] == 200
    assert "/en/private/drafts" in page(f"{server.url}/en").css("a::attr(href)").getall()


def test_sitemap_index_splits_large_sites():
    site = SampleSite(48, sitemap_size=20)
    index = ET.fromstring(site.render("/sitemap.xml", "h:1").body)
    chunks = [loc.text for loc in index.findall("sm:sitemap/sm:loc", SITEMAP_NS)]
    assert chunks == [f"http://h:1/sitemap-{k}.xml" for k in (1, 2, 3)]
    locs = [
        loc.text
        for k in (1, 2, 3)
        for loc in ET.fromstring(site.render(f"/sitemap-{k}.xml", "h:1").body).iter(
            "{http://www.sitemaps.org/schemas/sitemap/0.9}loc"
        )
    ]
    assert locs == [f"http://h:1{path}" for path in site.article_paths()]
    assert site.render("/sitemap-4.xml") is None
    assert SampleSite().render("/sitemap-1.xml") is None  # small sites have one urlset


def test_crawl_over_links_reaches_what_reachable_ids_says(served):
    """A breadth-first walk over listings and related cards, over real HTTP."""
    site, server = served
    listing, article_urls, statuses = f"{server.url}/en", set(), {}
    while listing:
        sel = page(listing)
        article_urls |= {urljoin(listing, h) for h in article_links(sel)}
        listing = sel.css("a.next::attr(href)").get() and urljoin(
            listing, sel.css("a.next::attr(href)").get()
        )
    todo = set(article_urls)
    while todo:
        url = todo.pop()
        status, headers, body = fetch(url)
        statuses[url] = status
        if status == 200:
            sel = Selector(text=body.decode(headers.get_content_charset()))
            links = {urljoin(url, h) for h in article_links(sel)}
            todo |= links - statuses.keys()
    found = {ARTICLE_RE.search(u)[1] for u, status in statuses.items() if status == 200}
    assert found == site.reachable_ids(use_sitemap=False) == set(site.ids)
    assert [u for u, status in statuses.items() if status == 404] == [
        f"{server.url}/en/article/{site.special.missing}"
    ]


def test_related_cards_form_a_graph_with_cycles_and_one_dead_link(served):
    site, server = served
    related = {story_id: site.stories[story_id].related for story_id in site.ids}
    assert all(len(links) == 3 and story_id not in links for story_id, links in related.items())
    assert any(a in related.get(b, ()) for a, links in related.items() for b in links)
    dead = [(a, b) for a, links in related.items() for b in links if b not in site.stories]
    assert dead == [(site.special.links_missing, site.special.missing)]

    sel = page(f"{server.url}/en/article/{site.special.links_missing}")
    hrefs = article_links(sel)
    assert f"/en/article/{site.special.missing}" in hrefs
    status, headers, body = fetch(f"{server.url}/en/article/{site.special.missing}")
    assert status == 404 and headers.get_content_type() == "text/html" and b"404" in body
    assert "Date" in headers and int(headers["Content-Length"]) == len(body)


def test_duplicate_pair_serves_the_same_story_under_two_ids(served):
    site, server = served
    original, copy = site.special.duplicate_of, site.special.duplicate
    assert site.stories[copy].duplicate_of == original and original != copy
    spec = site.stories[original]
    for story_id in (original, copy):
        text = page_text(page(f"{server.url}/en/article/{story_id}"))
        for shown in (spec.headline, spec.source_name, spec.date_raw, *spec.paragraphs):
            assert shown in text
    assert site.expected_unique_stories() == set(site.ids) - {copy, site.special.bodiless}
    assert len(site.expected_unique_stories()) == site.n_articles - 2


def test_latin1_page_is_served_in_iso_8859_1_without_meta_charset(served):
    site, server = served
    spec = site.stories[site.special.latin1]
    status, headers, body = fetch(f"{server.url}{spec.path}")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=iso-8859-1"
    assert int(headers["Content-Length"]) == len(body)
    assert "Zürich".encode("iso-8859-1") in body and "Zürich".encode() not in body
    text = body.decode("iso-8859-1")
    assert "<meta charset" not in text.lower()
    for word in ("Zürich", "café", "Gênes"):
        assert word in spec.headline + spec.body and word in text
    sel = Selector(text=text)
    assert sel.css("h1.article-title::text").get() == spec.headline


def test_classic_article_markup(served):
    site, server = served
    spec = next(s for s in site.stories.values() if s.variant == "classic" and s.date_raw)
    url = f"{server.url}{spec.path}"
    sel = page(url)
    assert sel.css("title::text").get() == f"{spec.headline} | Daily8"
    assert sel.css(".article-title::text").getall() == [spec.headline] * 2
    byline = sel.css("div.article-byline").xpath("string()").get()
    assert byline == f"{spec.source_name}{spec.date_raw}"
    assert sel.css("a.article-source::attr(href)").get() == spec.source_url
    assert re.fullmatch(r"https://[a-z0-9-]+\.example/news/[a-z0-9-]+", spec.source_url)
    assert sel.css("div.article-content p::text").getall() == spec.paragraphs
    times = [t.xpath("string()").get() for t in sel.css("span.related-time")]
    assert times == [f"time{site.relative_time(r)}" for r in spec.related]
    assert sel.css('link[rel="canonical"]::attr(href)').get() == url
    data = json.loads(sel.css('script[type="application/ld+json"]::text').get())
    assert (data["articleBody"], data["datePublished"]) == (spec.body, spec.date_iso)
    assert data["sourceOrganization"]["name"] == spec.source_name


def test_every_markup_shows_the_whole_story(served):
    """Each server-rendered markup holds the story's text and links, however it writes them."""
    site, server = served
    for markup in SERVER_MARKUPS:
        spec = next(s for s in site.stories.values() if s.variant == markup and s.date_raw)
        sel = page(f"{server.url}{spec.path}")
        text = page_text(sel)
        for shown in (spec.headline, *spec.paragraphs, spec.source_name, spec.date_raw):
            assert shown in text, (markup, shown)
        links = set(sel.css("a::attr(href)").getall())
        assert {site.spec(r).path for r in spec.related} <= links, markup
        assert bool(sel.css("h1")) is (markup in ("classic", "semantic")), markup
    served_markups = {s.variant for s in site.stories.values()}
    assert served_markups == set(SERVER_MARKUPS)
    everything = SampleSite(n_articles=14, markups=MARKUPS)
    assert {s.variant for s in everything.stories.values()} == set(MARKUPS)
    client = next(s for s in everything.stories.values() if s.variant == "client")
    shell = everything.render(client.path).body.decode()
    assert client.headline not in shell and "fetch(" in shell  # built by its script


def test_undated_story_and_ambiguous_dates(served):
    site, server = served
    spec = site.stories[site.special.undated]
    assert (spec.date_raw, spec.date_iso) == (None, None)
    text = page_text(page(f"{server.url}{spec.path}"))
    assert spec.source_name in text and not re.search(r"\d{2}-\d{2}-\d{4}", text)
    dated = [s for s in site.stories.values() if s.date_raw]
    assert all(s.date_raw == "-".join(reversed(s.date_iso.split("-"))) for s in dated)  # day first
    assert "03-04-2025" in {s.date_raw for s in dated}  # 3 April, not 4 March


def test_every_response_has_date_type_and_length_and_head_has_no_body(served):
    site, server = served
    for path in ("/", "/en", "/robots.txt", "/sitemap.xml", site.article_paths()[0], "/nope"):
        status, headers, body = fetch(f"{server.url}{path}")
        assert parsedate_to_datetime(headers["Date"]).tzinfo is not None
        assert headers["Content-Type"] and int(headers["Content-Length"]) == len(body)
        head_status, head_headers, head_body = fetch(f"{server.url}{path}", "HEAD")
        assert (head_status, head_body) == (status, b"")
        assert head_headers["Content-Length"] == headers["Content-Length"]


def test_hits_count_each_path_with_its_query(served):
    site, server = served
    server.hits.clear()
    fetch(f"{server.url}/en?page=2")
    fetch(f"{server.url}/en?page=2")
    fetch(f"{server.url}/robots.txt", "HEAD")
    fetch(f"{server.url}/en/article/{site.special.missing}")
    assert server.hits == {
        "/en?page=2": 2,
        "/robots.txt": 1,
        f"/en/article/{site.special.missing}": 1,
    }


def test_set_paragraphs_changes_the_served_page_only_for_that_id():
    site = SampleSite()
    story_id = site.ids[0]
    with SiteServer(site) as server:
        before = fetch(f"{server.url}/en/article/{story_id}")[2]
        site.set_paragraphs(story_id, ["A wholly new first paragraph.", "And a second one."])
        after = page(f"{server.url}/en/article/{story_id}")
    assert after.css("div.article-content p::text").getall() == [
        "A wholly new first paragraph.",
        "And a second one.",
    ]
    assert b"wholly new" not in before
    assert site.stories[story_id].body == "A wholly new first paragraph.\nAnd a second one."
    assert site.stories[site.ids[1]] == SampleSite().stories[site.ids[1]]
    with pytest.raises(KeyError):
        site.set_paragraphs(site.special.missing, ["x"])
    with pytest.raises(ValueError):
        site.set_paragraphs(story_id, [])


def test_generation_is_deterministic_per_seed():
    first, second, other = SampleSite(seed=8), SampleSite(seed=8), SampleSite(seed=9)
    assert dict(first.stories) == dict(second.stories)
    for path in ("/en", "/en?page=3", "/sitemap.xml", *first.article_paths()[:8]):
        assert first.render(path).body == second.render(path).body
    assert not set(first.ids) & set(other.ids)
    assert first.stories[first.ids[0]].headline != other.stories[other.ids[0]].headline


def test_story_text_is_synthetic_varied_and_unique():
    site = SampleSite(3000)
    specs = list(site.stories.values())
    assert all(
        re.fullmatch(r"[0-9a-f]{32}", s.id) and s.path == f"/en/article/{s.id}" for s in specs
    )
    assert len({s.headline for s in specs}) == len(specs) - 1  # only the duplicate pair repeats
    assert all(4 <= len(s.paragraphs) <= 9 and len(s.body) > 200 for s in specs)
    assert {s.variant for s in specs} == set(SERVER_MARKUPS)
    assert len({s.source_name for s in specs}) >= 6
    assert len({site.relative_time(s.id) for s in specs}) == 7
    assert [s.charset for s in specs].count("iso-8859-1") == 1


def test_large_sites_are_built_lazily():
    site = SampleSite(100_000)
    last = site.ids[-1]
    article = site.render(f"/en/article/{last}")
    assert article.status == 200 and site.stories[last].headline.encode() in article.body
    assert site.render("/sitemap-2.xml").body.count(b"<url>") == 50_000
    assert site._spec_at.cache_info().currsize < 10  # only what was rendered was built


def test_unknown_paths_are_none_and_bad_sizes_rejected():
    site = SampleSite()
    for path in ("/en/article/" + "0" * 32, "/en/", "/img/x.jpg", "/en/article/XYZ"):
        assert site.render(path) is None
    with pytest.raises(ValueError):
        SampleSite(5)


# -- saved pages for the page-object golden tests ---------------------------


def _fixture_ids(site: SampleSite) -> dict[str, str]:
    special = site.special
    awkward = {special.duplicate_of, special.duplicate, special.undated, special.latin1}
    awkward |= {special.links_missing, *special.unlisted}
    chosen = {
        f"{variant}.html": next(
            s.id for s in site.stories.values() if s.variant == variant and s.id not in awkward
        )
        for variant in SERVER_MARKUPS
    }
    return {**chosen, "latin1.html": special.latin1, "no-date.html": special.undated}


def _expected(site: SampleSite, spec: StorySpec) -> dict:
    base = f"http://{FIXTURE_HOST}"
    url = f"{base}{spec.path}"
    related = [site.card_spec(r) for r in spec.related]
    return {  # what every markup shows; the rest (canonical URL, image) varies by markup
        "url": url,
        "headline": spec.headline,
        "articleBody": spec.body,
        "datePublished": spec.date_iso,
        "source": {"name": spec.source_name},
        "relatedArticles": [
            {
                "url": f"{base}{r.path}",
                "headline": r.headline,
                "datePublishedRaw": site.relative_time(r.id),
            }
            for r in related
        ],
    }


def test_saved_fixtures_match_the_generator():
    site = SampleSite()
    pages, manifest = {}, {}
    for name, story_id in _fixture_ids(site).items():
        spec = site.stories[story_id]
        pages[name] = site.render(spec.path, FIXTURE_HOST).body
        manifest[name] = {
            "url": f"http://{FIXTURE_HOST}{spec.path}",
            "charset": spec.charset,
            "variant": spec.variant,
            "expected": _expected(site, spec),
        }
    manifest_text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("NEWSCRAWL_UPDATE_FIXTURES"):
        FIXTURES.mkdir(parents=True, exist_ok=True)
        for name, body in pages.items():
            (FIXTURES / name).write_bytes(body)
        (FIXTURES / "pages.json").write_text(manifest_text, encoding="utf-8")
    for name, body in pages.items():
        assert (FIXTURES / name).read_bytes() == body, name
    assert (FIXTURES / "pages.json").read_text(encoding="utf-8") == manifest_text
    assert manifest["latin1.html"]["charset"] == "iso-8859-1"
    assert manifest["no-date.html"]["expected"]["datePublished"] is None


def test_bodiless_page_has_no_text_but_its_card_does() -> None:
    site = SampleSite()
    story = site.special.bodiless
    page = site.render(f"/en/article/{story}")
    assert page is not None and not any(
        p.encode() in page.body for p in site.spec(story).paragraphs
    )
    assert site.spec(story).paragraphs  # cards elsewhere still summarise it
