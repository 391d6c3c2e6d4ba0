"""A page object for any news site: structured data first, explicit arbitration.

Every source (JSON-LD, OpenGraph and other meta tags, microdata, embedded app
state, the DOM, trafilatura, htmldate) contributes candidates; one rule per
field then decides, so the choice is predictable and testable instead of
"whichever reader ran first". The chosen method per field is recorded.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from copy import deepcopy
from datetime import date
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import htmldate
import trafilatura
from dateparser.data.languages_info import language_order
from lxml import html as lxml_html
from lxml.etree import SubElement
from scrapy.http import TextResponse

from newscrawl.pages import classify
from newscrawl.pages.base import ArticlePage, Extraction
from newscrawl.pages.structured import (
    ORGANISATION_TYPES,
    Candidate,
    Candidates,
    JsonLd,
    collect_meta,
    node_types,
    parse_jsonld,
    read_app_state,
    read_jsonld,
    read_loose_itemprops,
    read_meta,
    read_microdata,
)
from newscrawl.processors import (
    NAME_PARTICLES,
    TITLE_SEPARATORS,
    is_boilerplate,
    is_date_only,
    normalize_text,
    parse_date,
    split_authors,
)
from newscrawl.vocab import ARTICLE, LIVE_BLOG, OTHER

logger = logging.getLogger(__name__)
# trafilatura warns ("discarding data") on every short page; that is not news to a crawl log.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

SITE_TYPES = ORGANISATION_TYPES | {"WebSite"}

# Trust order per field; methods not listed rank last, in the order found.
DATE_ORDER = ("json-ld", "opengraph", "microdata", "meta", "dom", "next-data", "app-state", "url")
AUTHOR_ORDER = ("json-ld", "microdata", "opengraph", "meta", "next-data", "app-state", "dom")
HEADLINE_ORDER = ("json-ld", "microdata", "opengraph", "next-data", "app-state", "meta", "dom")
DESCRIPTION_ORDER = ("json-ld", "opengraph", "meta", "microdata", "next-data", "app-state")
IMAGE_ORDER = ("json-ld", "opengraph", "meta", "microdata")
LANGUAGE_ORDER = ("json-ld", "dom", "opengraph", "meta")
BODY_ORDER = ("json-ld", "json-ld-live", "microdata", "next-data", "app-state")

# Class-attribute words for DOM lookups, found anywhere in the lower-cased class and id
# ("article-byline" is a byline); _CLASS_NAMES must be a whole class name ("fn").
_CLASS_WORDS = {
    # containers whose text is never the story's own metadata or body
    "not-story": ("comment", "related", "sidebar", "teaser", "widget", "bio", "newsletter"),
    "byline-name": ("author-name", "username"),
    "byline": ("byline", "author", "autor", "credit", "writer"),
    "date": ("date", "time", "publish", "posted", "submitted", "meta", "byline", "info", "datum"),
    "dek": ("dek", "standfirst", "subhead", "summary", "kicker", "label"),
    "headline": ("headline", "title"),
    "related": ("related", "more-from"),
    "breadcrumb": ("breadcrumb",),
}
_CLASS_NAMES = {"byline-name": ("fn",)}


def _class_pattern(words: tuple[str, ...], names: tuple[str, ...] = ()) -> re.Pattern[str]:
    alternatives = [
        # the name, not within another word: a literal first, which the engine scans fastest
        *(rf"{re.escape(name)}(?!\S)(?<!\S{re.escape(name)})" for name in names),
        *map(re.escape, words),
    ]
    return re.compile("|".join(alternatives))


_CLASS = {
    kind: _class_pattern(words, _CLASS_NAMES.get(kind, ())) for kind, words in _CLASS_WORDS.items()
}
# One search per element decides whether it is indexed at all.
_ANY_CLASS = _class_pattern(
    tuple(sorted({w for words in _CLASS_WORDS.values() for w in words})),
    tuple(n for names in _CLASS_NAMES.values() for n in names),
)
_NOT_STORY_TAGS = frozenset({"aside", "nav"})
_NOT_TEXT_TAGS = frozenset({"meta", "script", "style", "link"})
_HEADINGS = frozenset({"h1", "h2"})
_SECTIONING = frozenset({"article", "aside", "main", "nav", "section"})
_BYLINE_LABEL = re.compile(r"^[^\W\d_]+\s?:\s*")
_BY_WORDS = ("By ", "by ", "Von ", "Par ", "Por ")

# A date written out in page text, with an optional time: "18.11.2023 um 14:30",
# "12 March 2024, 16:45", "Feb. 11, 2024 at 10:30 a.m.", "26 février 2024 à 10h12".
_TEXT_DATE = re.compile(
    r"(?P<date>\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d{2}|(?:19|20)\d{2}-\d{2}-\d{2}"
    r"|\d{1,2}\.?\s+[^\W\d_]{3,}\.?\s+(?:19|20)\d{2}|[^\W\d_]{3,}\.?\s+\d{1,2},?\s+(?:19|20)\d{2})"
    r"(?:[,\s]*(?:at|um|à|a las|alle|om|kl\.?|-)?\s*"
    r"(?P<time>\d{1,2}[:.h]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*(?-i:[A-Z]{3,4})\b)?))?",
    re.IGNORECASE,
)
_URL_DATE = re.compile(r"/((?:19|20)\d{2})/(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01])(?:/|$)")
_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|\b[A-Z]{3,4})$")
_MODIFIED = re.compile(r"updat|modif")
_DATE_LABEL = re.compile(
    r"date|publi|posted|datum|veröffentlicht|erschienen|fecha|data|pubblicat", re.IGNORECASE
)
_UTC = re.compile(r"(?:Z|[+-]00:?00|\bGMT|\bUTC)$", re.IGNORECASE)
_STRUCTURED_DATES = frozenset({"json-ld", "microdata", "next-data", "app-state"})
_HEADER_DATES = frozenset({"opengraph", "meta"})
_ISO_HOUR_END = 13
_MAX_ZONE_HOURS = 10
_URL_DATE_SLACK = 2  # days a page's date may differ from its URL's (time zones, late edits)
_CLOCK = re.compile(r"\d{1,2}[:.h]\d{2}")
_HOUR_H = re.compile(r"(?<=\d)h(?=\d)")  # French "10h12"
DATEPARSER_LANGUAGES = frozenset(language_order)
_ORG_WORDS = re.compile(
    r"\b(?:news|times|post|press|media|agency|daily|journal|herald|tribune|gazette|network"
    r"|magazine|wire|newsroom|staff|desk|editorial|team|reuters|associated)\b",
    re.IGNORECASE,
)
_TRUNCATED = ("…", "...")
_DOMAIN = re.compile(r"(?:[\w-]+\.)+[a-z]{2,}", re.IGNORECASE)
# trafilatura's text holding less of a structured body than this is a teaser or a miss.
_TEASER_SHARE = 0.5
_MIN_STRUCTURED_BODY = 400
_WHOLE_STORY = 1500  # characters of a structured body that stands without the DOM's text
_MAX_META_TEXT = 160
_MAX_BYLINE_CHARS = 80
_MAX_LEAF_CHARS = 50
_MAX_RELATED = 20
_COVERAGE = 0.95
_MAX_UNDECODABLE = 0.05  # share of U+FFFD in the decoded body
_WHOLE_DATE = 0.6
_FOCUS_MIN_RUN = 3  # prose paragraphs that make a container the story's
_PROSE_OUTSIDE = 3  # prose paragraphs outside <article>/<main> that make it too small
_ENOUGH_TEXT = 500  # characters of main text below which trafilatura's fallbacks run
_MAX_NAME_WORDS = 5
_WORD = re.compile(r"\w+")
# Lines that close a story but are not part of it (wire copyright notices).
_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright\b)|\ball rights reserved\b", re.IGNORECASE)


def _key(text: str) -> str:
    """Comparison key: case, spacing and punctuation folded."""
    return "".join(filter(str.isalnum, normalize_text(text).casefold()))


def _could_be_finer(raw: str, precision: int) -> bool:
    """Whether a raw date might carry a time (or an offset) that ``precision`` lacks."""
    if precision == 0:
        return _CLOCK.search(raw) is not None
    return precision == 1 and _HAS_OFFSET.search(raw) is not None


def _banner(el: Any) -> Any:
    """The page banner holding ``el``: a ``<header>`` outside any article, aside, main,
    nav or section (HTML's banner landmark), or a ``role="banner"`` element; else None."""
    header = None
    for node in el.iterancestors():
        if node.get("role") == "banner":
            return node
        if node.tag in _SECTIONING:
            return None
        if node.tag == "header":
            header = node
    return header


def _is_dateline(line: str) -> bool:
    """A line that is nothing but a date, as printed above a story's first paragraph."""
    match = _TEXT_DATE.search(line) if len(line) <= _MAX_META_TEXT else None
    return match is not None and len(match[0]) >= _WHOLE_DATE * len(line)


def _reads_as_names(byline: str) -> bool:
    """Whether every name in a byline is capitalised words ("Anna van Berg")."""
    names = split_authors(byline)
    return bool(names) and all(
        len(name.split()) <= _MAX_NAME_WORDS
        and all(word[0].isupper() or word in NAME_PARTICLES for word in name.split())
        for name in names
    )


def _byline_text(el: Any) -> str:
    """A byline block's text; names in sibling elements with nothing between them
    (``<span>Ann Lee</span> <span>Bo Chan</span>``) are kept apart."""
    leaves = [leaf for leaf in el.iter() if leaf is not el and len(leaf) == 0 and _text(leaf)]
    names = _texts(leaves)
    if (
        len(names) >= 2
        and all(len(name.split()) >= 2 and _reads_as_names(name) for name in names)
        and _key("".join(names)) == _key(_text(el))
    ):
        return "; ".join(names)
    return _text(el)


def _without_wrappers(names: list[str]) -> list[str]:
    """Names minus those that hold another one in more words: a byline block read
    whole beside its name element ("Written by Ann Lee Follow" beside "Ann Lee")."""
    padded = [f" {name} " for name in names]
    return [
        name
        for name, outer in zip(names, padded, strict=True)
        if not any(inner in outer and inner != outer for inner in padded)
    ]


def _covers(lines: list[str], other: list[str], share: float) -> bool:
    """Whether ``lines`` hold at least ``share`` of the words of ``other``."""
    words = Counter(_WORD.findall(" ".join(lines).casefold()))
    wanted = Counter(_WORD.findall(" ".join(other).casefold()))
    total = sum(wanted.values())
    return total > 0 and sum((wanted & words).values()) >= share * total


# Elements that start a new line of text; any other tag ends inside the line, so its
# text joins its neighbours without a space ("<b>Roofs</b>, rain" reads "Roofs, rain").
_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    ]
)


def _text(el: Any) -> str:
    """``el``'s text as one line; comments are skipped but not the text after them."""
    parts: list[str] = []
    stack: list[tuple[Any, bool]] = [(el, False)]
    while stack:
        node, closing = stack.pop()
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _BLOCK_TAGS:
            parts.append(" ")
        if closing:
            if node is not el:
                parts.append(node.tail or "")
            continue
        stack.append((node, True))
        if tag and tag not in _NOT_TEXT_TAGS:
            parts.append(node.text or "")
            stack.extend((child, False) for child in reversed(node))
    return normalize_text("".join(parts))


def _texts(elements: list[Any]) -> list[str]:
    return [_text(el) for el in elements]


_PAGE_WIDE = frozenset({"html", "body"})


class StoryFilter:
    """Whether an element is outside comments, related links, sidebars and navigation.

    Classes on ``<html>`` and ``<body>`` are page-wide layout flags ("sidebar-left",
    "comments-open", "page-commentary"), never a container of someone else's text,
    so they are not read. Answers are memoised per element: the filter asks about
    every ancestor, and a page asks about thousands of elements sharing them.
    """

    def __init__(self) -> None:
        self._memo: dict[Any, bool] = {}

    def __call__(self, el: Any) -> bool:
        memo = self._memo
        chain = []
        node = el
        while node is not None and node not in memo and node.tag not in _PAGE_WIDE:
            chain.append(node)
            node = node.getparent()
        inside = memo.get(node, True) if node is not None else True
        for member in reversed(chain):
            inside = inside and not (
                member.tag in _NOT_STORY_TAGS
                or _CLASS["not-story"].search((member.get("class") or "").lower())
            )
            memo[member] = inside
        return inside


def _common_ancestor(a: Any, b: Any) -> Any:
    above_a = {id(el) for el in (a, *a.iterancestors())}
    return next(el for el in (b, *b.iterancestors()) if id(el) in above_a)


def _outermost(elements: list[Any]) -> list[Any]:
    """Drop elements nested in another of ``elements`` ("byline" around "author")."""
    chosen = set(elements)
    return [el for el in elements if not any(a in chosen for a in el.iterancestors())]


class ClassIndex:
    """A page's elements by class and id attributes, from one scan.

    ``contains(@class, …)`` XPath predicates cost about a millisecond each on a
    page-sized DOM; one scan plus compiled regexes costs a fraction of that.
    Ids count as classes: ``<span id="publish-date">`` names a field as surely.
    """

    def __init__(self, root: Any, in_story: StoryFilter) -> None:
        # Most class names match no kind: one combined search keeps only those that do.
        self._classed = [
            (el, names)
            for el in root.xpath("//*[@class or @id]")
            if _ANY_CLASS.search(names := f"{el.get('class') or ''} {el.get('id') or ''}".lower())
        ]
        self._in_story = in_story

    def find(
        self, kind: str, *, tags: frozenset[str] | None = None, story: bool = True
    ) -> list[Any]:
        pattern = _CLASS[kind]
        return [
            el
            for el, cls in self._classed
            if pattern.search(cls)
            and (tags is None or el.tag in tags)
            and (not story or self._in_story(el))
        ]


class GenericArticlePage(ArticlePage):
    """Extracts an article from any news page without site-specific rules."""

    def __init__(self, response: TextResponse) -> None:
        super().__init__(response)
        self.has_microdata = False
        self.issues: list[str] = []  # problems seen ("invalid-json-ld"), for the caller's stats
        self.in_story = StoryFilter()

    # --- parsing (each done once, lazily) ------------------------------------------------

    @cached_property
    def root(self) -> Any:
        return self.response.selector.root

    @cached_property
    def classes(self) -> ClassIndex:
        return ClassIndex(self.root, self.in_story)

    @cached_property
    def meta(self) -> dict[str, list[str]]:
        return collect_meta(self.root)

    @cached_property
    def jsonld(self) -> JsonLd:
        scripts = [
            el.text or ""
            for el in self.root.iter("script")
            if (el.get("type") or "").strip().lower() == "application/ld+json"
        ]
        return parse_jsonld(scripts, self.issues)

    @cached_property
    def candidates(self) -> Candidates:
        found = Candidates()
        read_jsonld(self.jsonld, self.response.url, found)
        read_meta(self.meta, found)
        self.has_microdata = read_microdata(self.root, found)
        read_loose_itemprops(self.root, found)
        read_app_state(self.root, found, self.issues)
        self._read_dom(found)
        return found

    def _read_dom(self, found: Candidates) -> None:
        root = self.root
        for text in self._dom_headlines:
            found.add("headline", text, "dom")
        title = root.findtext(".//title")
        if title:
            found.add("headline", title, "title")
        for el in filter(self.in_story, root.xpath("//time[@datetime or @pubdate]")):
            if self._in_masthead(el):
                continue
            marker = " ".join(filter(None, (el.get("class"), el.get("itemprop")))).lower()
            modified = _MODIFIED.search(marker) and "published" not in marker
            field = "dateModifiedRaw" if modified else "datePublishedRaw"
            found.add(field, el.get("datetime") or _text(el), "dom")
        dated = [el for el in self._date_elements if not self._in_masthead(el)]
        for text in self._date_texts(dated):
            found.add("datePublishedRaw", text, "dom")
        match = _URL_DATE.search(urlsplit(self.response.url).path)
        if match:
            year, month, day = match.groups()
            found.add("datePublishedRaw", f"{year}-{int(month):02d}-{int(day):02d}", "url")
        for text in self._bylines:
            found.add("authors", (text, "unknown"), "dom")
        canonical = root.xpath("//link[@rel='canonical']/@href")
        if canonical:
            found.add("canonicalUrl", self.response.urljoin(canonical[0].strip()), "dom")
        found.add("inLanguage", root.get("lang"), "dom")
        trails = self.classes.find("breadcrumb", story=False)
        trails += root.xpath("//*[@aria-label='breadcrumb' or @aria-label='Breadcrumb']")
        crumbs = [{"name": name, "url": url} for name, url in self._links(trails)]
        found.add("breadcrumbs", crumbs, "dom")
        rails = self.classes.find("related", story=False)
        related = [{"url": url, "headline": name} for name, url in self._links(rails)]
        found.add("relatedArticles", related[:_MAX_RELATED], "dom")

    def _links(self, containers: list[Any]) -> list[tuple[str, str]]:
        """(text, absolute URL) of the links inside the outermost of ``containers``."""
        links = []
        for container in _outermost(containers):
            for a in container.iter("a"):
                name, href = _text(a), a.get("href")
                if name and href:
                    links.append((name, self.response.urljoin(href.strip())))
        return links

    @cached_property
    def _bylines(self) -> list[str]:
        """Byline texts: marked-up names, else byline-classed blocks, else "By …" lines.

        An unmarked "By …" line counts only if what follows reads as names, so
        "By Monday evening, the fire was out." stays story text.
        """
        names = [a for a in self.root.xpath("//a[@rel='author']") if self.in_story(a)]
        names += self.classes.find("byline-name")
        marked = _texts(names) or self._byline_blocks
        texts = marked or [text for text in self._by_lines() if _reads_as_names(text)]
        # "Words: Ann Lee", "Autor: Jan Kos": a one-word label before the names.
        return [_BYLINE_LABEL.sub("", text) for text in texts if len(text) <= _MAX_META_TEXT]

    @cached_property
    def _byline_blocks(self) -> list[str]:
        return [_byline_text(el) for el in _outermost(self.classes.find("byline"))]

    def _by_lines(self) -> list[str]:
        """Short story elements that start with "By" (unmarked bylines)."""
        found = []
        for el in self.root.iter("p", "div", "span", "address"):
            if (el.text or "").lstrip().startswith(_BY_WORDS) and not el.xpath(".//p|.//div"):
                text = _text(el)
                if len(text) < _MAX_BYLINE_CHARS and self.in_story(el):
                    found.append(text)
        return found

    @cached_property
    def _dom_headlines(self) -> list[str]:
        """``<h1>`` texts, then title-classed headings, minus the site name in a logo."""
        sites = {_key(name) for name in self.site_names}
        headings = [h for h in self.root.iter("h1") if self.in_story(h)]
        headings += self.classes.find("headline", tags=_HEADINGS)
        texts = _texts(headings)
        return [t for t in dict.fromkeys(texts) if t and _key(t) not in sites]

    @cached_property
    def _date_elements(self) -> list[Any]:
        """Elements classed as dates or metadata, and ``<time>`` elements."""
        elements = [el for el in self.classes.find("date") if el.tag not in _NOT_TEXT_TAGS]
        elements += [el for el in self.root.iter("time") if self.in_story(el)]
        # <dl><dt>Published</dt><dd>5 March 2024</dd></dl>
        for term in self.root.iter("dt"):
            value = term.getnext()
            if _DATE_LABEL.search(_text(term)) and value is not None and value.tag == "dd":
                elements.append(value)
        return list(dict.fromkeys(elements))

    def _in_masthead(self, el: Any) -> bool:
        """Whether ``el`` is in the site's masthead: a page banner without the story's
        ``<h1>``. A date there is today's or the edition's, not the story's; a banner
        holding the headline is the story's own header (a blog theme's title block)."""
        banner = _banner(el)
        if banner is None:
            return False
        headlines = set(self._dom_headlines)
        return not any(_text(h) in headlines for h in banner.iter("h1"))

    def _date_texts(self, elements: list[Any], *, whole: bool = False) -> list[str]:
        """Dates written in short elements ("Published 14 February 2024").

        With ``whole``, the date must be most of the element's text, so that
        unmarked elements only count when they are nothing but a date.
        """
        found = []
        for text in _texts(elements):
            match = _TEXT_DATE.search(text) if 0 < len(text) <= 100 else None
            if match is None or (whole and len(match[0]) < _WHOLE_DATE * len(text)):
                continue
            time = match["time"]
            found.append(f"{match['date']} {_HOUR_H.sub(':', time)}" if time else match["date"])
        return found

    def _short_leaves(self) -> list[Any]:
        """Short childless story elements: where unmarked dates hide."""
        return [
            el
            for el in self.root.iter("p", "span", "div", "small", "em", "li")
            if len(el) == 0
            and 0 < len((el.text or "").strip()) < _MAX_LEAF_CHARS
            and self.in_story(el)
        ]

    @cached_property
    def prose_runs(self) -> Counter[Any]:
        return classify.prose_runs(self.root)

    @cached_property
    def story_tree(self) -> Any:
        """The smallest document that holds the whole story, for trafilatura.

        trafilatura's cost grows with the page (menus, teaser rails), not with
        the story; handing it the ``<article>``/``<main>`` (or ``articleBody``)
        around the runs of prose keeps it fast. Without such an element, the
        whole page: a bare ``<div>`` around the densest run cut stories short
        (trafilatura set body recall .875, against .918 with the whole page).
        """
        top = self.prose_runs.most_common(1)
        if not top or top[0][1] < _FOCUS_MIN_RUN:
            return self.root
        container = top[0][0]
        # A story split over sibling containers (a "read more" break, an ad between
        # halves): the scope is the smallest element around every run of prose.
        for other, count in self.prose_runs.items():
            if count >= 2 and other is not container:
                container = _common_ancestor(container, other)
        scope = next(
            (
                el
                for el in (container, *container.iterancestors())
                if el.tag in ("article", "main") or el.get("itemprop") == "articleBody"
            ),
            None,
        )
        if scope is None or scope.tag in ("html", "body"):
            return self.root
        # Prose outside the scope (an intro above <article>, a second half after it):
        # the scope does not hold the whole story.
        outside = sum(
            count
            for other, count in self.prose_runs.items()
            if other is not scope and scope not in other.iterancestors()
        )
        if outside >= _PROSE_OUTSIDE:
            return self.root
        document = lxml_html.Element("html")
        SubElement(document, "body").append(deepcopy(scope))
        return document

    @cached_property
    def site_names(self) -> list[str]:
        """Names this site goes by: for stripping title suffixes and spotting org authors."""
        names = self.meta.get("og:site_name", []) + self.meta.get("application-name", [])
        for node in self.jsonld.nodes:
            if node_types(node) & SITE_TYPES and isinstance(node.get("name"), str):
                names.append(node["name"])
        host = urlsplit(self.response.url).hostname or ""
        names.append(host.removeprefix("www.").split(".")[0])
        return [name for name in names if name]

    # --- classification --------------------------------------------------------------------

    def is_article(self) -> bool:
        return self.page_class.page_type in (ARTICLE, LIVE_BLOG)

    @cached_property
    def page_class(self) -> classify.PageClass:
        """What the page is, and the probability that it is one story."""
        if self.undecodable:
            return classify.PageClass(OTHER, 0.0, ("undecodable",))
        found = self.candidates
        types: set[str] = set()
        for node in self.jsonld.top:  # not teasers listed in an ItemList
            types |= node_types(node)
        if self.has_microdata:
            types.add("Article")
        structured_body = any(
            len(" ".join(c.value)) >= _MIN_STRUCTURED_BODY and self._is_own(c.method)
            for c in found.get("articleBody")
            if c.method in BODY_ORDER
        )
        og_type = next(iter(self.meta.get("og:type", ())), None)
        signals = classify.PageSignals(
            url=self.response.url,
            types=types,
            og_type=og_type.lower() if og_type else None,
            prose_run=max(self.prose_runs.values(), default=0),
            linked_headings=classify.linked_headings(self.root),
            structured_body=structured_body,
        )
        return classify.classify(signals)

    @cached_property
    def _page_titles(self) -> set[str]:
        """Comparison keys of the headline the page shows (title, og:title, headings)."""
        return {
            _key(self.strip_site_suffix(c.value))
            for c in self.candidates.get("headline")
            if c.method in ("title", "opengraph", "dom")
        }

    def _is_own(self, method: str) -> bool:
        """Whether a structured body is this page's story, not a teaser in the app state.

        JSON-LD and microdata bodies come from the page's own article node; an
        app-state object must carry the headline the page shows.
        """
        if method not in ("next-data", "app-state"):
            return True
        headline = self.candidates.first("headline", (method,))
        return headline is not None and _key(headline.value) in self._page_titles

    # --- extraction ------------------------------------------------------------------------

    @cached_property
    def undecodable(self) -> bool:
        """Whether the body is not text in its declared encoding (binary, wrong charset)."""
        text = self.response.text
        if text and text.count("\ufffd") > _MAX_UNDECODABLE * len(text):
            logger.debug("Not extracting %s: body does not decode as text", self.response.url)
            self.issues.append("undecodable-body")
            return True
        return False

    def extract(self) -> Extraction:
        kind = self.page_class
        out = Extraction(page_type=kind.page_type, probability=kind.probability)
        out.issues = self.issues
        if self.undecodable:
            return out
        found = self.candidates
        headline = self._headline(found)
        if headline:
            out.offer("headline", *headline)
        for name, order in (("description", DESCRIPTION_ORDER), ("mainImage", IMAGE_ORDER)):
            self._offer_ranked(out, found, name, order)
        published = self._published(found.get("datePublishedRaw"))
        if published:
            out.offer("datePublishedRaw", *published)
        modified = self._date(found.get("dateModifiedRaw"))
        if modified:
            out.offer("dateModifiedRaw", *modified)
        if "datePublishedRaw" not in out.values:
            leaves = self._date_texts(self._short_leaves(), whole=True)
            loose = [Candidate(text, "dom") for text in leaves]
            found_date = self._date(loose[:1])
            if found_date:
                out.offer("datePublishedRaw", *found_date)
            else:
                out.offer("datePublishedRaw", self._htmldate(), "htmldate")
        authors = self._authors(found)
        if authors:
            out.offer("authors", *authors)
        body = self._body(found, headline[0] if headline else None)
        if body:
            out.offer("articleBody", *body)
        self._offer_ranked(out, found, "canonicalUrl", ("dom", "opengraph", "json-ld"))
        self._offer_ranked(out, found, "inLanguage", LANGUAGE_ORDER)
        self._offer_ranked(out, found, "breadcrumbs", ("json-ld", "dom"))
        self._offer_ranked(out, found, "relatedArticles", ("dom",))
        source = self._source(found)
        if source:
            out.offer("source", *source)
        return out

    @staticmethod
    def _ranked(candidates: list[Candidate], order: tuple[str, ...]) -> list[Candidate]:
        rank = {method: i for i, method in enumerate(order)}
        return sorted(candidates, key=lambda c: rank.get(c.method, len(order)))

    def _offer_ranked(
        self, out: Extraction, found: Candidates, name: str, order: tuple[str, ...]
    ) -> None:
        for candidate in self._ranked(found.get(name), order):
            if out.offer(name, candidate.value, candidate.method):
                return

    # headline ------------------------------------------------------------------------------

    def strip_site_suffix(self, title: str) -> str:
        """Drop " | Site Name" / "Site - " parts that name the site, at either end.

        What stays is cut from the title as written, so separators inside the
        headline ("Vote — and after") keep their own form.
        """
        title = normalize_text(title)
        separators = list(TITLE_SEPARATORS.finditer(title))
        if not separators:
            return title
        bounds = [0, *(i for m in separators for i in (m.start(), m.end())), len(title)]
        parts = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
        sites = {_key(name) for name in self.site_names}
        sites |= {key.removeprefix("the") for key in sites}

        def is_site(part: tuple[int, int]) -> bool:
            key = _key(title[part[0] : part[1]])
            return key in sites or key.removeprefix("the") in sites

        first, last = 0, len(parts) - 1
        while first <= last and is_site(parts[first]):
            first += 1
        while last >= first and is_site(parts[last]):
            last -= 1
        if first > last:
            return title
        if (first, last) == (0, len(parts) - 1) and " | " in title:
            last -= 1  # "Headline | Section" with an unknown site name
        return title[parts[first][0] : parts[last][1]]

    def _headline(self, found: Candidates) -> tuple[str, str] | None:
        """The structured headline unless the page's own heading shows it is off.

        A heading that a structured title starts with (site suffix, section
        prefix) or that extends a truncated one is the real headline.
        """
        dom = [c.value for c in found.get("headline") if c.method == "dom"]
        sites = {_key(name) for name in self.site_names}
        ranked = self._ranked(
            [
                c
                for c in found.get("headline")
                if c.method not in ("dom", "title") and _key(str(c.value)) not in sites
            ],
            HEADLINE_ORDER,
        )
        ranked += [c for c in found.get("headline") if c.method == "title"]
        for heading in dom:
            key = _key(heading)
            for candidate in ranked:
                value = normalize_text(candidate.value)
                stripped = _key(self.strip_site_suffix(value))
                if _key(value) == key or stripped == key:
                    # Confirmed by structured data: credit it (<title> is just DOM).
                    return heading, "dom" if candidate.method == "title" else candidate.method
                truncated = value.endswith(_TRUNCATED) and key.startswith(
                    _key(value.rstrip("".join(_TRUNCATED)))
                )
                if truncated or (len(key) > 15 and key in _key(value)):
                    return heading, "dom"
        # No heading confirms a candidate: structured data beats the page's first
        # heading, which beats <title> (often a generic site title).
        for candidate in ranked:
            if candidate.method != "title" and not (dom and candidate.value.endswith(_TRUNCATED)):
                return self.strip_site_suffix(candidate.value), candidate.method
        if dom:
            return dom[0], "dom"
        titles = [c for c in ranked if c.method == "title"]
        return (self.strip_site_suffix(titles[0].value), "title") if titles else None

    # dates ---------------------------------------------------------------------------------

    @cached_property
    def languages(self) -> list[str] | None:
        """Locales for dateparser: the page's language (and English), so it skips detection."""
        found = self.candidates
        for candidate in self._ranked(found.get("inLanguage"), LANGUAGE_ORDER):
            code = str(candidate.value).replace("_", "-").split("-")[0].lower()
            if code in DATEPARSER_LANGUAGES:
                return list(dict.fromkeys((code, "en")))
        return None

    def _date(self, candidates: list[Candidate]) -> tuple[str, str] | None:
        """The most trusted parseable date, swapped for a more precise one of the same day.

        Only candidates that could be more precise are parsed after the first
        hit: parsing free text with dateparser is the slowest step of a page.
        """
        ranked = self._ranked(candidates, DATE_ORDER)
        best: tuple[Candidate, str, int] | None = None
        for candidate in ranked:
            raw = normalize_text(str(candidate.value))
            if best is not None and not _could_be_finer(raw, best[2]):
                continue
            iso = parse_date(raw, languages=self.languages)
            if iso is None:
                continue
            precision = 0 if is_date_only(iso) else 2 if _HAS_OFFSET.search(raw) else 1
            if best is None or (iso[:10] == best[1][:10] and precision > best[2]):
                best = (candidate, iso, precision)
        if best is None:
            return None
        return normalize_text(str(best[0].value)), best[0].method

    def _published(self, candidates: list[Candidate]) -> tuple[str, str] | None:
        """The publication date: :meth:`_date`'s pick, corrected where sources disagree.

        - A structured date (JSON-LD, microdata, app state) two or more days before
          a header date (OpenGraph, meta) is a template's stale one: the header wins
          (one day apart is more often an edition date or a live blog's update).
        - A plain meta date (``<meta name="date">``, Dublin Core) after the first date
          the page prints is a revision or build stamp: the printed day is the story's.
          (OpenGraph and structured data name the publication date explicitly.)
        - A date more than two days from the one in the URL loses to the URL's.
        - A UTC instant one day off the URL's date, or off every date the page gives
          in local time (meta, text), was converted from it: the local day is shown.
        """
        chosen = self._date(candidates)
        if chosen is None:
            return None
        days: dict[str, date | None] = {}

        def day(value: Any) -> date | None:
            raw = normalize_text(str(value))
            if raw not in days:
                iso = parse_date(raw, languages=self.languages)
                days[raw] = date.fromisoformat(iso[:10]) if iso else None
            return days[raw]

        ranked = self._ranked(candidates, DATE_ORDER)
        picked = day(chosen[0])
        if picked is None:
            return chosen
        in_url = next((c for c in ranked if c.method == "url"), None)
        url_day = day(in_url.value) if in_url else None
        if chosen[1] in _STRUCTURED_DATES and url_day != picked:
            for c in ranked:
                if c.method in _HEADER_DATES and (d := day(c.value)) and (d - picked).days >= 2:
                    chosen, picked = (normalize_text(str(c.value)), c.method), d
                    break
        if chosen[1] == "meta":
            printed = next((c for c in ranked if c.method == "dom" and day(c.value)), None)
            if printed and (d := day(printed.value)) and d < picked:
                chosen, picked = (normalize_text(str(printed.value)), "dom"), d
        if in_url and url_day and abs((url_day - picked).days) > _URL_DATE_SLACK:
            return str(in_url.value), "url"
        if _UTC.search(chosen[0]) and _CLOCK.search(chosen[0]):
            if in_url and url_day and self._crosses_midnight(chosen[0], (url_day - picked).days):
                return str(in_url.value), "url"  # the URL's day is the page's own
            local = [
                (raw, c.method, day(raw))
                for c in ranked
                if not _UTC.search(raw := normalize_text(str(c.value)))
            ]
            if not any(d == picked for _, _, d in local):
                for raw, method, d in local:
                    if d and self._crosses_midnight(chosen[0], (d - picked).days):
                        return raw, method
        return chosen

    def _crosses_midnight(self, raw: str, days: int) -> bool:
        """Whether a UTC instant ``days`` (±1) from a local day can be that day's local
        time: 10:04Z is 06:04 in New York, never the evening before. Zones reach 10
        hours from UTC either way (Hawaii, eastern Australia) in the development pages."""
        iso = parse_date(raw, languages=self.languages)
        if iso is None or len(iso) < _ISO_HOUR_END:
            return False
        hour = int(iso[11:13])
        return (days == -1 and hour < _MAX_ZONE_HOURS) or (
            days == 1 and hour >= 24 - _MAX_ZONE_HOURS
        )

    def _htmldate(self) -> str | None:
        try:
            return htmldate.find_date(
                self.root, url=self.response.url, extensive_search=True, original_date=True
            )
        except (ValueError, TypeError) as exc:
            logger.debug("htmldate failed on %s: %s", self.response.url, exc)
            return None

    # authors -------------------------------------------------------------------------------

    def _is_org(self, name: str, kind: str) -> bool:
        """Whether an author is an organisation: the host's name (even when typed a
        Person), a web address ("mdr.de"), typed so, or named like the site or a
        publication."""
        key = _key(name)
        if key == self._host_name or _DOMAIN.fullmatch(name):
            return True
        if kind != "unknown":
            return kind == "org"
        sites = {_key(site) for site in self.site_names}
        return key in sites or key.removeprefix("the") in sites or bool(_ORG_WORDS.search(name))

    @cached_property
    def _host_name(self) -> str:
        """The site's name as its host spells it ("krautreporter" for krautreporter.de)."""
        host = urlsplit(self.response.url).hostname or ""
        return _key(host.removeprefix("www.").split(".")[0])

    def _authors(self, found: Candidates) -> tuple[list[str], str] | None:
        """People from the most trusted source that names any; organisations only if none does."""
        by_method: dict[str, list[tuple[str, bool]]] = {}
        for candidate in self._ranked(found.get("authors"), AUTHOR_ORDER):
            raw, kind = candidate.value
            if re.match(r"https?://", raw):
                continue  # article:author is often a profile URL
            names = by_method.setdefault(candidate.method, [])
            names.extend((name, self._is_org(name, kind)) for name in split_authors(raw))
        for method, names in by_method.items():
            people = list(dict.fromkeys(name for name, is_org in names if not is_org))
            if people:
                return _without_wrappers(people), method
        for method, names in by_method.items():
            if names:
                return list(dict.fromkeys(name for name, _ in names)), method
        return None

    # body ----------------------------------------------------------------------------------

    @cached_property
    def _meta_texts(self) -> set[str]:
        """Texts of headline, byline, date and dek elements: never the body's first lines."""
        texts = self._bylines + self._byline_blocks + _texts(self.classes.find("dek", story=False))
        texts += _texts(self._date_elements) + _texts(list(self.root.iter("h1")))
        return {_key(text) for text in texts if len(text) <= _MAX_META_TEXT}

    def _trafilatura(self, *, fallbacks: bool) -> list[str]:
        """Main text by trafilatura: fast mode, and the full cascade only when that finds little.

        The full cascade (readability and jusText comparison, recall retry)
        costs several times more on page-sized DOMs and matters only when the
        main extractor comes up short and no structured body can stand in.
        """
        text = ""
        for fast in (True, False) if fallbacks else (True,):
            document = trafilatura.bare_extraction(
                self.story_tree,
                url=self.response.url,
                fast=fast,
                include_comments=False,
                include_tables=True,
            )
            text = getattr(document, "text", None) or ""
            if len(text) >= _ENOUGH_TEXT:
                break
        return text.split("\n")

    def _clean_body(self, lines: list[str], headline: str | None) -> list[str]:
        lines = [normalize_text(line) for line in lines]
        lines = [
            line
            for line in lines
            if any(ch.isalnum() for ch in line)
            and not is_boilerplate(line)
            and not _COPYRIGHT.search(line)
        ]
        skip = set(self._meta_texts)
        if headline:
            skip.add(_key(headline))
        start = 0
        while start < len(lines) and (_key(lines[start]) in skip or _is_dateline(lines[start])):
            start += 1
        return lines[start:]

    def _body(self, found: Candidates, headline: str | None) -> tuple[list[str], str] | None:
        """trafilatura's text, unless the page's structured body shows it is partial or wrong.

        A structured body wins when trafilatura's text holds under half of its
        words (a paywall teaser, or trafilatura picked a menu on a script-rendered
        page), or when it holds all of trafilatura's words in more paragraphs.
        """
        structured = [
            (self._clean_body(list(c.value), headline), c.method)
            for c in self._ranked(found.get("articleBody"), BODY_ORDER)
            if self._is_own(c.method)
        ]
        structured = [(lines, method) for lines, method in structured if lines]
        full = [
            (lines, m) for lines, m in structured if sum(map(len, lines)) >= _MIN_STRUCTURED_BODY
        ]
        whole = [(lines, m) for lines, m in full if sum(map(len, lines)) >= _WHOLE_STORY]
        if whole and max(self.prose_runs.values(), default=0) < _FOCUS_MIN_RUN:
            # No prose in the DOM (script-rendered, paywalled, live blog): the story is
            # in the data, and trafilatura would only find menus or a teaser. A short
            # structured body (a teaser or summary) is weighed against trafilatura's text.
            return whole[0]
        text = self._clean_body(self._trafilatura(fallbacks=not full), headline)
        for lines, method in full:
            if not _covers(text, lines, _TEASER_SHARE):
                return lines, method
            if len(lines) > len(text) and _covers(lines, text, _COVERAGE):
                return lines, method
        if text:
            return text, "trafilatura"
        if structured:
            return structured[0]
        if not self.prose_runs:
            return None
        container = self.prose_runs.most_common(1)[0][0]
        paragraphs = _texts(container.xpath("./p|./*/p"))
        body = self._clean_body(paragraphs, headline)
        return (body, "dom") if body else None

    # source --------------------------------------------------------------------------------

    def _source(self, found: Candidates) -> tuple[dict[str, str], str] | None:
        for candidate in self._ranked(found.get("source"), ("json-ld", "opengraph", "meta")):
            source = dict(candidate.value)
            if "url" not in source:
                parts = urlsplit(self.response.url)
                source["url"] = f"{parts.scheme}://{parts.netloc}/"
            return source, candidate.method
        return None
