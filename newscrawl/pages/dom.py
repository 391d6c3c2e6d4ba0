"""The DOM source: what a page's visible markup says, and the views the field rules share.

:func:`read_dom` gives candidates (headings, ``<title>``, bylines, dates, canonical link,
language, breadcrumbs, related links) like every other reader. :class:`Dom` holds the
parsed tree and the views over it that cost a scan (the class/id index, bylines, date
elements, prose runs, the story's subtree); each is computed once on first use and
depends on the tree alone, so asking twice is free and asking never changes anything.
"""

from __future__ import annotations

import re
from collections import Counter
from copy import deepcopy
from functools import cached_property
from typing import Any

from lxml import etree
from lxml import html as lxml_html
from lxml.etree import SubElement
from scrapy.http import TextResponse

from newscrawl.pages import classify
from newscrawl.pages.structured import Candidates
from newscrawl.processors import NAME_PARTICLES, normalize_text, split_authors

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
NOT_TEXT_TAGS = frozenset({"meta", "script", "style", "link"})
_HEADINGS = frozenset({"h1", "h2"})
_SECTIONING = frozenset({"article", "aside", "main", "nav", "section"})
_PAGE_WIDE = frozenset({"html", "body"})
_BYLINE_LABEL = re.compile(r"^[^\W\d_]+\s?:\s*")
_BY_WORDS = ("By ", "by ", "Von ", "Par ", "Por ")

# A date written out in page text, with an optional time: "18.11.2023 um 14:30",
# "12 March 2024, 16:45", "Feb. 11, 2024 at 10:30 a.m.", "26 février 2024 à 10h12".
TEXT_DATE = re.compile(
    r"(?P<date>\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d{2}|(?:19|20)\d{2}-\d{2}-\d{2}"
    r"|\d{1,2}\.?\s+[^\W\d_]{3,}\.?\s+(?:19|20)\d{2}|[^\W\d_]{3,}\.?\s+\d{1,2},?\s+(?:19|20)\d{2})"
    r"(?:[,\s]*(?:at|um|à|a las|alle|om|kl\.?|-)?\s*"
    r"(?P<time>\d{1,2}[:.h]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*(?-i:[A-Z]{3,4})\b)?))?",
    re.IGNORECASE,
)
_URL_DATE = re.compile(r"/((?:19|20)\d{2})/(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01])(?:/|$)")
_MODIFIED = re.compile(r"updat|modif")
_DATE_LABEL = re.compile(
    r"date|publi|posted|datum|veröffentlicht|erschienen|fecha|data|pubblicat", re.IGNORECASE
)
_HOUR_H = re.compile(r"(?<=\d)h(?=\d)")  # French "10h12"
MAX_META_TEXT = 160
_MAX_BYLINE_CHARS = 80
_MAX_LEAF_CHARS = 50
_MAX_RELATED = 20
WHOLE_DATE = 0.6  # share of an element's text a date must fill to be "nothing but a date"
FOCUS_MIN_RUN = 3  # prose paragraphs that make a container the story's
_PROSE_OUTSIDE = 3  # prose paragraphs outside <article>/<main> that make it too small
_MAX_NAME_WORDS = 5

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


def key(text: str) -> str:
    """Comparison key: case, spacing and punctuation folded."""
    return "".join(filter(str.isalnum, normalize_text(text).casefold()))


def text(el: Any) -> str:
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
        if tag and tag not in NOT_TEXT_TAGS:
            parts.append(node.text or "")
            stack.extend((child, False) for child in reversed(node))
    return normalize_text("".join(parts))


def texts(elements: list[Any]) -> list[str]:
    return [text(el) for el in elements]


def reads_as_names(byline: str) -> bool:
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
    leaves = [leaf for leaf in el.iter() if leaf is not el and len(leaf) == 0 and text(leaf)]
    names = texts(leaves)
    if (
        len(names) >= 2
        and all(len(name.split()) >= 2 and reads_as_names(name) for name in names)
        and key("".join(names)) == key(text(el))
    ):
        return "; ".join(names)
    return text(el)


def date_texts(elements: list[Any], *, whole: bool = False) -> list[str]:
    """Dates written in short elements ("Published 14 February 2024").

    With ``whole``, the date must be most of the element's text, so that
    unmarked elements only count when they are nothing but a date.
    """
    found = []
    for line in texts(elements):
        match = TEXT_DATE.search(line) if 0 < len(line) <= 100 else None
        if match is None or (whole and len(match[0]) < WHOLE_DATE * len(line)):
            continue
        time = match["time"]
        found.append(f"{match['date']} {_HOUR_H.sub(':', time)}" if time else match["date"])
    return found


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


def in_masthead(el: Any, headlines: set[str]) -> bool:
    """Whether ``el`` is in the site's masthead: a page banner without the story's
    ``<h1>`` (one of ``headlines``). A date there is today's or the edition's, not the
    story's; a banner holding the headline is the story's own header (a blog theme's
    title block)."""
    banner = _banner(el)
    if banner is None:
        return False
    return not any(text(h) in headlines for h in banner.iter("h1"))


def _common_ancestor(a: Any, b: Any) -> Any:
    above_a = {id(el) for el in (a, *a.iterancestors())}
    return next(el for el in (b, *b.iterancestors()) if id(el) in above_a)


def _outermost(elements: list[Any]) -> list[Any]:
    """Drop elements nested in another of ``elements`` ("byline" around "author")."""
    chosen = set(elements)
    return [el for el in elements if not any(a in chosen for a in el.iterancestors())]


_INDEXED_TAGS = ("time", "title", "link", "meta", "script", "p", "h1", "h2", "h3", "h4", "dt")
_LINKED_HEADINGS = ("h2", "h3", "h4")
_BREADCRUMB_LABELS = frozenset({"breadcrumb", "Breadcrumb"})
_ARTICLE_ITEMTYPES = ("Article", "BlogPosting")


class PageIndex:
    """The elements every reader looks for, from one walk over the tree.

    Each ``//tag`` XPath or ``iter(tag)`` is a walk over the whole page (a fifth to
    half a millisecond on a news page) and the readers needed about fifteen; one walk
    that sorts the elements as it meets them costs about two of those. Lists are in
    document order, as the XPaths gave them.
    """

    def __init__(self, root: Any) -> None:
        self.tags: dict[str, list[Any]] = {tag: [] for tag in _INDEXED_TAGS}
        # Elements whose class or id names a kind (_CLASS_WORDS), with the lower-cased
        # "class id" string: most class names match no kind, one search drops them.
        self.classed: list[tuple[Any, str]] = []
        self.author_links: list[Any] = []  # <a rel="author">
        self.breadcrumb_labels: list[Any] = []  # aria-label="breadcrumb"
        self.itemprops: list[Any] = []
        self.article_scopes: list[Any] = []  # itemscope with an Article or BlogPosting itemtype
        tags, classed, search = self.tags, self.classed, _ANY_CLASS.search
        for el in root.iter(etree.Element):  # elements, not comments
            tag = el.tag
            if tag in tags:
                tags[tag].append(el)
            elif tag == "a" and el.get("rel") == "author":
                self.author_links.append(el)
            cls, ident = el.get("class"), el.get("id")
            if (cls is not None or ident is not None) and search(
                names := f"{cls or ''} {ident or ''}".lower()
            ):
                classed.append((el, names))
            if el.get("itemprop") is not None:
                self.itemprops.append(el)
            if el.get("itemscope") is not None and any(
                kind in (el.get("itemtype") or "") for kind in _ARTICLE_ITEMTYPES
            ):
                self.article_scopes.append(el)
            if el.get("aria-label") in _BREADCRUMB_LABELS:
                self.breadcrumb_labels.append(el)


class ClassIndex:
    """A page's elements by class and id attributes (:attr:`PageIndex.classed`).

    ``contains(@class, …)`` XPath predicates cost about a millisecond each on a
    page-sized DOM; one scan plus compiled regexes costs a fraction of that.
    Ids count as classes: ``<span id="publish-date">`` names a field as surely.
    """

    def __init__(self, classed: list[tuple[Any, str]], in_story: StoryFilter) -> None:
        self._classed = classed
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


class Dom:
    """One page's parsed tree and the views over it that the reader and the rules share."""

    def __init__(self, response: TextResponse) -> None:
        self.root = response.selector.root
        self.urljoin = response.urljoin  # honours <base href>
        self.in_story = StoryFilter()

    @cached_property
    def index(self) -> PageIndex:
        return PageIndex(self.root)

    @cached_property
    def classes(self) -> ClassIndex:
        return ClassIndex(self.index.classed, self.in_story)

    def headlines(self, site_keys: set[str]) -> list[str]:
        """``<h1>`` texts, then title-classed headings, minus the site name in a logo."""
        headings = [h for h in self.index.tags["h1"] if self.in_story(h)]
        headings += self.classes.find("headline", tags=_HEADINGS)
        found = texts(headings)
        return [t for t in dict.fromkeys(found) if t and key(t) not in site_keys]

    @cached_property
    def bylines(self) -> list[str]:
        """Byline texts: marked-up names, else byline-classed blocks, else "By …" lines.

        An unmarked "By …" line counts only if what follows reads as names, so
        "By Monday evening, the fire was out." stays story text.
        """
        names = [a for a in self.index.author_links if self.in_story(a)]
        names += self.classes.find("byline-name")
        marked = texts(names) or self.byline_blocks
        found = marked or [line for line in self._by_lines() if reads_as_names(line)]
        # "Words: Ann Lee", "Autor: Jan Kos": a one-word label before the names.
        return [_BYLINE_LABEL.sub("", line) for line in found if len(line) <= MAX_META_TEXT]

    @cached_property
    def byline_blocks(self) -> list[str]:
        return [_byline_text(el) for el in _outermost(self.classes.find("byline"))]

    def _by_lines(self) -> list[str]:
        """Short story elements that start with "By" (unmarked bylines)."""
        found = []
        for el in self.root.iter("p", "div", "span", "address"):
            if (el.text or "").lstrip().startswith(_BY_WORDS) and not el.xpath(".//p|.//div"):
                line = text(el)
                if len(line) < _MAX_BYLINE_CHARS and self.in_story(el):
                    found.append(line)
        return found

    @cached_property
    def date_elements(self) -> list[Any]:
        """Elements classed as dates or metadata, and ``<time>`` elements."""
        elements = [el for el in self.classes.find("date") if el.tag not in NOT_TEXT_TAGS]
        elements += [el for el in self.index.tags["time"] if self.in_story(el)]
        # <dl><dt>Published</dt><dd>5 March 2024</dd></dl>
        for term in self.index.tags["dt"]:
            value = term.getnext()
            if _DATE_LABEL.search(text(term)) and value is not None and value.tag == "dd":
                elements.append(value)
        return list(dict.fromkeys(elements))

    def short_leaves(self) -> list[Any]:
        """Short childless story elements: where unmarked dates hide."""
        return [
            el
            for el in self.root.iter("p", "span", "div", "small", "em", "li")
            if len(el) == 0
            and 0 < len((el.text or "").strip()) < _MAX_LEAF_CHARS
            and self.in_story(el)
        ]

    @cached_property
    def meta_texts(self) -> set[str]:
        """Texts of headline, byline, date and dek elements: never the body's first lines."""
        found = self.bylines + self.byline_blocks + texts(self.classes.find("dek", story=False))
        found += texts(self.date_elements) + texts(self.index.tags["h1"])
        return {key(line) for line in found if len(line) <= MAX_META_TEXT}

    def links(self, containers: list[Any]) -> list[tuple[str, str]]:
        """(text, absolute URL) of the links inside the outermost of ``containers``."""
        found = []
        for container in _outermost(containers):
            for a in container.iter("a"):
                name, href = text(a), a.get("href")
                if name and href:
                    found.append((name, self.urljoin(href.strip())))
        return found

    @cached_property
    def prose_runs(self) -> Counter[Any]:
        return classify.prose_runs(self.index.tags["p"])

    @cached_property
    def linked_headings(self) -> int:
        """How many ``<h2>``-``<h4>`` headings are links (or hold one): teaser lists."""
        return classify.linked_headings(h for tag in _LINKED_HEADINGS for h in self.index.tags[tag])

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
        if not top or top[0][1] < FOCUS_MIN_RUN:
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


def read_dom(dom: Dom, site_keys: set[str]) -> Candidates:
    """Candidates from the visible page: headings and ``<title>``, ``<time>`` and dated
    elements, bylines, the canonical link, ``lang``, breadcrumb and related-link rails."""
    found = Candidates()
    index = dom.index
    headlines = dom.headlines(site_keys)
    for line in headlines:
        found.add("headline", line, "dom")
    titles = index.tags["title"]
    if titles and titles[0].text:
        found.add("headline", titles[0].text, "title")
    shown = set(headlines)
    dated = [
        el
        for el in index.tags["time"]
        if el.get("datetime") is not None or el.get("pubdate") is not None
    ]
    for el in filter(dom.in_story, dated):
        if in_masthead(el, shown):
            continue
        marker = " ".join(filter(None, (el.get("class"), el.get("itemprop")))).lower()
        modified = _MODIFIED.search(marker) and "published" not in marker
        field = "dateModifiedRaw" if modified else "datePublishedRaw"
        found.add(field, el.get("datetime") or text(el), "dom")
    for line in date_texts([el for el in dom.date_elements if not in_masthead(el, shown)]):
        found.add("datePublishedRaw", line, "dom")
    for line in dom.bylines:
        found.add("authors", (line, "unknown"), "dom")
    canonical = [
        href
        for link in index.tags["link"]
        if link.get("rel") == "canonical" and (href := link.get("href")) is not None
    ]
    if canonical:
        found.add("canonicalUrl", dom.urljoin(canonical[0].strip()), "dom")
    found.add("inLanguage", dom.root.get("lang"), "dom")
    trails = dom.classes.find("breadcrumb", story=False) + index.breadcrumb_labels
    crumbs = [{"name": name, "url": url} for name, url in dom.links(trails)]
    found.add("breadcrumbs", crumbs, "dom")
    rails = dom.classes.find("related", story=False)
    related = [{"url": url, "headline": name} for name, url in dom.links(rails)]
    found.add("relatedArticles", related[:_MAX_RELATED], "dom")
    return found


def read_url(path: str) -> Candidates:
    """The date in a URL's path (``/2024/03/05/``)."""
    found = Candidates()
    match = _URL_DATE.search(path)
    if match:
        year, month, day = match.groups()
        found.add("datePublishedRaw", f"{year}-{int(month):02d}-{int(day):02d}", "url")
    return found
