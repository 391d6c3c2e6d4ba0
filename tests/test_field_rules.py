"""Field rules on minimal pages of our own, one failure cause per test."""

from __future__ import annotations

import json

import pytest
from scrapy.http import HtmlResponse

from newscrawl.pages.generic import GenericArticlePage
from newscrawl.pages.rules import strip_site_suffix
from newscrawl.pages.structured import body_paragraphs, html_paragraphs
from newscrawl.processors import is_boilerplate, split_authors

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
    assert strip_site_suffix(title, page(SITE).sources.site_names) == headline


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


# --- dates --------------------------------------------------------------------------------


def published(head: str = "", body: str = "", url: str = URL) -> str:
    return str(page(head, body, url).extract().values["datePublishedRaw"])


def meta(name: str, content: str) -> str:
    attr = "property" if name.startswith(("og:", "article:")) else "name"
    return f'<meta {attr}="{name}" content="{content}">'


def test_a_utc_instant_gives_way_to_the_local_day_the_page_shows() -> None:
    head = jsonld(datePublished="2023-11-09T03:28:35Z")
    body = "<p class='date'>November 8, 2023 10:28 p.m.</p>"
    assert published(head, body).startswith("November 8, 2023")


def test_a_utc_instant_gives_way_to_the_day_in_the_url() -> None:
    url = "https://ledger.example/2023/11/08/council-votes-on-roofs"
    assert published(jsonld(datePublished="2023-11-09T01:49:09Z"), url=url) == "2023-11-08"


def test_a_utc_instant_on_the_local_day_is_kept() -> None:
    url = "https://ledger.example/2023/11/08/council-votes-on-roofs"
    assert published(jsonld(datePublished="2023-11-08T14:00:00Z"), url=url) == (
        "2023-11-08T14:00:00Z"
    )


def test_a_stale_json_ld_date_loses_to_a_later_header_date() -> None:
    head = jsonld(datePublished="2020-01-10T16:50:00+00:00")
    head += meta("article:published_time", "2023-01-01T14:11:58+01:00")
    assert published(head) == "2023-01-01T14:11:58+01:00"


def test_a_header_date_earlier_than_json_ld_does_not_replace_it() -> None:
    head = jsonld(datePublished="2023-11-09T03:02:34-05:00") + meta("date", "2023-11-08")
    assert published(head) == "2023-11-09T03:02:34-05:00"


def test_a_date_far_from_the_url_date_loses_to_it() -> None:
    url = "https://ledger.example/home/2017/7/12/council-votes-on-roofs"
    assert published(jsonld(datePublished="2019-06-17T18:28:00+0200"), url=url) == "2017-07-12"


def test_a_date_in_a_definition_list_is_read() -> None:
    body = "<dl><dt>Author</dt><dd>Ann Lee</dd><dt>Published</dt><dd>5 March 2024</dd></dl>"
    assert published(body=body) == "5 March 2024"


def test_a_date_in_an_id_named_field_is_read() -> None:
    assert published(body='<span id="publish-date">5 March 2024</span>') == "5 March 2024"


def test_a_meta_date_after_the_printed_date_is_a_revision_stamp() -> None:
    body = "<p class='date'>29.04.2020, 12:01 Uhr</p>"
    assert published(meta("date", "2020-04-30"), body) == "29.04.2020 12:01"


def test_a_meta_date_before_the_printed_date_is_kept() -> None:
    body = "<p class='date'>Updated 02.05.2020</p>"
    assert published(meta("date", "2020-04-29"), body) == "2020-04-29"


@pytest.mark.parametrize(
    "masthead",
    [
        "<span class='date'>Tuesday, 8 December 2020</span>",
        "<time datetime='2020-12-08'>Tuesday, 8 December 2020</time>",
    ],
)
def test_todays_date_in_the_site_masthead_is_not_the_story_date(masthead: str) -> None:
    body = (
        f"<header><a class='logo' href='/'>The Ledger</a>{masthead}</header>"
        "<h1>Council votes on roofs</h1><p class='date'>13 October 2020</p>"
    )
    assert published(body=body) == "13 October 2020"


def test_a_page_banner_holding_the_headline_keeps_its_date() -> None:
    body = (
        "<header><h1>Council votes on roofs</h1>"
        "<time datetime='2020-10-13T09:00:00+02:00'>13 October 2020</time></header>"
    )
    assert published(body=body) == "2020-10-13T09:00:00+02:00"


# --- body ---------------------------------------------------------------------------------


def test_a_story_split_over_sibling_containers_is_read_whole() -> None:
    first = "".join(
        f"<p>First half, paragraph {i}, about roofs and the long council vote.</p>"
        for i in range(4)
    )
    second = "".join(
        f"<p>Second half, paragraph {i}, about rain and what the council decided.</p>"
        for i in range(3)
    )
    html = (
        "<html><body><nav><a href='/'>Home</a></nav><div class='wrap'>"
        "<h1>Council votes on roofs</h1>"
        f"<div class='part-one'>{first}</div><div class='ad'>Advertisement</div>"
        f"<div class='part-two'>{second}</div></div></body></html>"
    )
    response = HtmlResponse("https://ledger.example/roofs", body=html.encode(), encoding="utf-8")
    body = " ".join(GenericArticlePage(response).extract().values["articleBody"])
    assert "First half, paragraph 0" in body and "Second half, paragraph 2" in body


@pytest.mark.parametrize(
    "stored",
    [
        "&lt;p&gt;Roofs were fixed before winter.&lt;/p&gt;&lt;p&gt;The vote was close.&lt;/p&gt;",
        '[caption id="a1" width="300"]A roof[/caption]<p>Roofs were fixed before winter.</p>'
        "<p>The vote was close.</p>",
    ],
)
def test_escaped_html_and_shortcodes_in_structured_bodies(stored: str) -> None:
    assert html_paragraphs(stored)[-2:] == [
        "Roofs were fixed before winter.",
        "The vote was close.",
    ]
    assert not any("caption" in line or "<" in line for line in html_paragraphs(stored))


def test_rich_text_stored_as_a_json_string_is_read_as_text() -> None:
    tree = {
        "nodeType": "document",
        "content": [
            {"nodeType": "paragraph", "content": [{"nodeType": "text", "value": "Roofs first."}]},
            {"nodeType": "paragraph", "content": [{"nodeType": "text", "value": "Rain next."}]},
        ],
    }
    assert body_paragraphs(json.dumps(tree)) == ["Roofs first.", "Rain next."]


@pytest.mark.parametrize(
    "line",
    [
        "Related: Council fixes bridges",
        "MORE: Rain all week",
        "Lea también: El concejo arregla los puentes",
        "À lire aussi » Le conseil vote sur les toits",
        "Lesen Sie auch die folgenden Beiträge:",
        "NOTAS RELACIONADAS",
        "Schon gelesen?",
        "Ledger Newsletter",
        "Subscribe now to our e-edition for the full story.",
        "Follow The Ledger on Twitter and Instagram @ledger",
        "Teilen Sie dies mit:",
        "Sie müssen eingeloggt sein, um zu kommentieren.",
        "Titelbild: Ann Lee / Ledger",
        "*Werbung. Dieser Beitrag enthält Werbung für Dachziegel.",
        "Weitere Informationen:",
    ],
)
def test_related_lines_are_boilerplate(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "The mayor said the newsletter was wrong about the vote on roofs.",
        "Lea Müller voted against the roofs.",
        "Related parties were not asked.",
        "Kontaktlos zahlen wird beim Bäcker bald Pflicht.",
        "Photos of the roofs were shown at the council meeting on Monday evening, and the mayor"
        " said the vote would be held again after the summer break.",
    ],
)
def test_story_lines_naming_the_same_words_are_kept(line: str) -> None:
    assert not is_boilerplate(line)


def test_a_header_date_one_day_later_is_an_edition_date_not_a_correction() -> None:
    head = jsonld(datePublished="2024-04-25T19:30:04+02:00") + meta("date", "2024-04-26")
    assert published(head) == "2024-04-25T19:30:04+02:00"


def test_text_after_an_html_comment_is_read() -> None:
    body = '<p class="meta">By <b>Ann Lee</b> | <!-- span -->30 septembre 2018</p>'
    assert published(body=body) == "30 septembre 2018"


def test_a_teaser_length_structured_body_does_not_replace_the_story() -> None:
    sentences = [
        f"Sentence {i} of the story says the council voted on roofs and the rain held off."
        for i in range(30)
    ]
    teaser = " ".join(sentences[:6])
    story = "".join(f"<div class='txt'>{s} {s}</div>" for s in sentences)
    html = (
        "<html><head>"
        + jsonld(headline="Council votes on roofs", articleBody=teaser)
        + "</head><body><h1>Council votes on roofs</h1>"
        + f"<div class='story'>{story}</div></body></html>"
    )
    response = HtmlResponse("https://ledger.example/roofs", body=html.encode(), encoding="utf-8")
    extraction = GenericArticlePage(response).extract()
    assert "Sentence 29" in " ".join(extraction.values["articleBody"])
    assert extraction.methods["articleBody"] == "trafilatura"


def test_the_url_day_beats_a_utc_instant_even_when_text_shows_the_next_day() -> None:
    url = "https://ledger.example/2023/11/08/council-votes-on-roofs"
    head = jsonld(datePublished="2023-11-09T03:28:35Z")
    body = "<p class='date'>Updated November 9, 2023</p>"
    assert published(head, body, url=url) == "2023-11-08"


def test_a_table_inside_the_story_is_part_of_the_body() -> None:
    table = (
        "<table><tr><th>Roof</th><th>Cost per square metre</th></tr>"
        "<tr><td>Slate</td><td>84,50 euros</td></tr></table>"
    )
    body = " ".join(
        page(body=f"<article>{PROSE}{table}{PROSE}</article>").extract().values["articleBody"]
    )
    assert "84,50 euros" in body


# --- authors ------------------------------------------------------------------------------


def authors(head: str = "", body: str = "", url: str = URL) -> list[str]:
    return list(page(head, body, url).extract().values.get("authors") or [])


def test_names_in_sibling_elements_of_a_byline_stay_apart() -> None:
    body = (
        '<div class="article-byline"><span>Ann Marie Lee</span> <span>Bo Chan</span>'
        " <span>Cy Dorn</span></div>"
    )
    assert authors(body=body) == ["Ann Marie Lee", "Bo Chan", "Cy Dorn"]


def test_the_site_named_as_a_person_gives_way_to_the_byline() -> None:
    head = jsonld(author={"@type": "Person", "name": "Ledger"})
    assert authors(head, '<p class="byline">By Ann Lee</p>') == ["Ann Lee"]


def test_a_web_address_is_not_a_person() -> None:
    head = meta("author", "ledger.example")
    assert authors(head, '<p class="byline">By Ann Lee</p>') == ["Ann Lee"]


def test_bylines_of_related_cards_are_not_the_story_authors() -> None:
    body = (
        '<div itemscope itemtype="https://schema.org/NewsArticle">'
        '<span itemprop="author" itemscope itemtype="https://schema.org/Person">'
        '<span itemprop="name">Ann Lee</span></span></div>'
        '<ul><li itemscope><a href="/other">Other story</a>'
        '<span itemprop="author">By Bo Chan</span></li></ul>'
    )
    assert authors(body=body) == ["Ann Lee"]


@pytest.mark.parametrize("word", ["By", "Par", "Von"])
def test_a_bare_byline_word_is_not_a_name(word: str) -> None:
    assert split_authors(word) == []


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("capital von Jemima Roe 05. November 2024 15:36 Uhr", ["Jemima Roe"]),
        ("Von Anna Berg, Frankfurt", ["Anna Berg"]),
        ("By Ann Lee and Bo Chan, Washington", ["Ann Lee", "Bo Chan"]),
        ("ku Frankfurt", []),
        ("danah boyd", ["danah boyd"]),
    ],
)
def test_labels_places_and_initials_around_names_are_dropped(byline: str, names: list[str]) -> None:
    assert split_authors(byline) == names


def test_a_byline_block_read_whole_beside_its_name_element_adds_no_name() -> None:
    body = (
        '<a rel="author" href="/u/ann">About the writer <span class="author-name">'
        "Ann Lee</span> Follow</a>"
    )
    assert authors(body=body) == ["Ann Lee"]


def test_prose_above_the_article_element_stays_in_the_body() -> None:
    # Each intro paragraph in its own block: no run of prose of its own.
    intro = "".join(
        f"<div class='block'><p>Intro paragraph {i} sets out why the council met about roofs,"
        " rain, money and the long winter ahead.</p><img src='/roof.jpg' alt=''></div>"
        for i in range(3)
    )
    rest = "".join(
        f"<p>Story paragraph {i} tells the reader how the council voted on roofs"
        " and rain last night.</p>"
        for i in range(5)
    )
    html = (
        f"<html><body><div class='post'><h1>Council votes on roofs</h1>"
        f"<div class='lead'>{intro}</div><article>{rest}</article></div></body></html>"
    )
    response = HtmlResponse(URL, body=html.encode(), encoding="utf-8")
    body = " ".join(GenericArticlePage(response).extract().values["articleBody"])
    assert "Intro paragraph 0" in body and "Story paragraph 4" in body


def test_a_utc_instant_too_late_in_the_day_to_be_the_url_day_is_kept() -> None:
    url = "https://ledger.example/2020/07/08/council-votes-on-roofs"
    head = jsonld(datePublished="2020-07-09T10:04:04Z")
    assert published(head, url=url) == "2020-07-09T10:04:04Z"
