"""Daily8: an aggregator that republishes publishers' stories, with related cards.

Daily8 is a Next.js-style app: its class names are generated and change between
deploys, and a redesign may swap any tag. So this page object reads nothing by
class name or tag choice; it reads signals that survive a redesign, in order of
trust, per field:

- structured data: JSON-LD (``@graph`` included; the publisher from
  ``sourceOrganization``, else ``isPartOf``), OpenGraph/``article:`` meta, and
  embedded app state under any key path (the object holding the page's headline);
- the ``<title>`` minus the site suffix, and the doubled headline (the same text in
  two nearby elements, or an element and an image's ``alt``);
- the byline as text: ``<Publisher><DD-MM-YYYY>`` in one element or in adjacent
  ones, whatever the tags;
- related cards: links to other article URLs outside the story text, with the
  headline and relative time found near them;
- the body: the longest run of prose blocks (paragraphs, or text in ``div``\\s) in
  document order, cards and links to other stories breaking a run.

Where none of these finds a field, the generic extractor's value for that field
is taken. Daily8's own UI phrases (promo, app banner) live here, not in the
generic boilerplate list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from newscrawl.pages.base import ArticlePage, Extraction
from newscrawl.pages.generic import GenericArticlePage
from newscrawl.pages.structured import (
    is_article_type,
    loads_lenient,
    node_types,
    parse_jsonld,
    state_scripts,
    walk_dicts,
)
from newscrawl.processors import (
    TITLE_SEPARATORS,
    is_boilerplate,
    name_key,
    normalize_text,
    split_byline,
    url_key,
)

ARTICLE_PATH_RE = re.compile(r"/[a-z]{2}/article/[0-9a-f]{32}/?$")
SITE_NAMES = ("Daily8",)
"""Names the site goes by in titles (``og:site_name`` adds to them)."""

# Daily8's own interface text: never story text. One alternation, as processors.BOILERPLATE_RE.
BOILERPLATE = re.compile(
    "|".join(
        f"(?:{pattern})"
        for pattern in (
            r"logo",
            r"orange background",
            r"try our ai features",
            r"explore what .{1,60} can do for you",
            r"no comments(?: yet)?(?:\.\.\.|…)?",
            r"get started now\W+download the app",
            r"(?:app-?store|play-?store)(?:\W*(?:app-?store|play-?store))*",
        )
    ),
    re.IGNORECASE,
)
# Apart: it can end any line, so its regex walks the whole line (ten times the cost of the
# others on a paragraph); tried only on lines holding "download".
_APP_PROMO = re.compile(
    r"(?:.*\W)?download \S+ app today from your preferred app store.*", re.IGNORECASE
)

# Fields whose absence sends the page to the generic extractor (it costs a trafilatura run).
CORE_FIELDS = ("headline", "articleBody", "datePublishedRaw")

_NOT_TEXT = frozenset({"script", "style", "noscript", "template", "head", "title", "svg"})
# Tags that stay inside a line of text; any other tag holding text starts a block.
_INLINE = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "dfn", "em", "i", "img",
        "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u",
        "var", "wbr", "font",
    }
)  # fmt: skip
_NUMERIC_DATE = re.compile(r"(?:\d{1,2}[-./]\d{1,2}[-./](?:19|20)\d{2}|(?:19|20)\d{2}-\d{2}-\d{2})")
_BYLINE_DATE = re.compile(rf"(?P<date>{_NUMERIC_DATE.pattern})$")
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
_SOURCE_KEY = re.compile(r"source|publisher|outlet|provider|origin|partner|agency", re.I)
_MODIFIED_KEY = re.compile(r"updat|modif|edit", re.I)
_PROSE_CHARS = 80  # a block this long outside links reads as prose
_MAX_GAP = 2  # short blocks (subheads, one-liners) allowed between prose blocks
_MAX_NAME_CHARS = 60
_MAX_NAME_WORDS = 6
_MIN_HEADLINE = 10
_MAX_HEADLINE = 300
_MIN_STATE_BODY = 200


def is_article_url(url: str) -> bool:
    """Whether ``url`` has the shape of a Daily8 article (``/<lang>/article/<32 hex>``)."""
    return bool(ARTICLE_PATH_RE.search(url.split("?", 1)[0].split("#", 1)[0]))


def is_daily8_boilerplate(line: str) -> bool:
    text = normalize_text(line).strip(" .:!…·•|")
    return bool(text) and (
        BOILERPLATE.fullmatch(text) is not None
        or ("download" in text.lower() and _APP_PROMO.fullmatch(text) is not None)
    )


@dataclass
class Block:
    """A run of text the reader sees as one line or paragraph."""

    element: Any
    text: str
    link: str | None = None  # URL of another article this block is (mostly) a link to
    prose: bool = False


@dataclass
class Card:
    """A related card: a link to another article and the text around it."""

    url: str
    root: Any
    link_texts: list[str] = field(default_factory=list)


class Daily8ArticlePage(ArticlePage):
    """Extracts a Daily8 article page: one story plus its related cards."""

    def is_article(self) -> bool:
        """Every page on an article URL is one: a page that shows no story there is a
        broken article (dropped and counted as such), never a listing."""
        return is_article_url(self.response.url)

    # --- parsing (each done once, lazily) ------------------------------------------------

    @cached_property
    def root(self) -> Any:
        return self.response.selector.root

    @cached_property
    def own_key(self) -> str:
        return url_key(self.response.url)

    def _article_link(self, element: Any) -> str | None:
        """The absolute URL of another Daily8 article that ``element`` links to."""
        href = element.get("href") if element.tag == "a" else None
        if not href:
            return None
        if href not in self._links:
            url = self.response.urljoin(href.strip())
            other = is_article_url(url) and url_key(url) != self.own_key
            self._links[href] = url if other else None
        return self._links[href]

    @cached_property
    def _links(self) -> dict[str, str | None]:
        """href -> the other article's URL (None: not one), each resolved once."""
        return {}

    @cached_property
    def blocks(self) -> list[Block]:
        """The page's visible text in document order, as blocks."""
        out: list[Block] = []
        body = self.root.find("body")
        self._collect(body if body is not None else self.root, None, out)
        for block in out:
            block.prose = block.link is None and _reads_as_prose(block.text)
        return out

    def _collect(self, element: Any, link: str | None, out: list[Block]) -> None:
        """Split ``element`` into blocks: an element whose children are all inline is one."""
        tag = element.tag
        if not isinstance(tag, str) or tag in _NOT_TEXT:
            return
        if tag == "a":
            link = self._article_link(element) or link
        # Only an element holding a block-level one can have a block child: most are leaves.
        holds = element in self._holds_blocks
        flags = [self._is_block(child) for child in element] if holds else []
        if not any(flags):
            text = self._text(element)
            if text:
                out.append(Block(element, text, link or self._inner_link(element, text)))
            return
        own = _line(element.text)
        if own:
            out.append(Block(element, own, link))
        for child, is_block in zip(element, flags, strict=True):
            if is_block:
                self._collect(child, link, out)
            elif isinstance(child.tag, str) and child.tag not in _NOT_TEXT:
                text = self._text(child)
                if text:
                    out.append(Block(child, text, self._article_link(child) or link))
            tail = _line(child.tail)
            if tail:
                out.append(Block(element, tail, link))

    def _is_block(self, element: Any) -> bool:
        """A block-level element, or an inline one wrapping blocks (a card inside a link)."""
        tag = element.tag
        if not isinstance(tag, str) or tag in _NOT_TEXT:
            return False
        return tag not in _INLINE or element in self._holds_blocks

    @cached_property
    def _elements(self) -> list[Any]:
        """Every node of the page in document order, held so that lxml keeps one Python
        proxy per element for the page's life instead of building one (a Python call in
        ``lxml.html``'s class lookup) each time an element is reached again."""
        return list(self.root.iter())

    @cached_property
    def _holds_blocks(self) -> set[Any]:
        """Elements with a block-level element somewhere below them."""
        holders: set[Any] = set()
        for el in self._elements:
            tag = el.tag
            if isinstance(tag, str) and tag not in _INLINE and tag not in _NOT_TEXT:
                for ancestor in el.iterancestors():
                    if ancestor in holders:
                        break
                    holders.add(ancestor)
        return holders

    @cached_property
    def _near_hidden(self) -> set[Any]:
        """Scripts, styles, noscripts and templates, what they hold and what holds them:
        the elements whose visible text needs the XPath that leaves theirs out."""
        zone: set[Any] = set()
        for hidden in self.root.iter(_HIDDEN):
            zone.add(hidden)
            zone.update(hidden.iterancestors())
            zone.update(hidden.iterdescendants())
        return zone

    def _text(self, element: Any) -> str:
        """``element``'s visible text as one line. Away from hidden elements, libxml2's text
        serialisation gives the same text as the XPath at an eighth of the cost."""
        if element in self._near_hidden:
            return _visible_text(element)
        return normalize_text(etree.tostring(element, method="text", encoding=str, with_tail=False))

    def _inner_link(self, element: Any, text: str) -> str | None:
        """The article a block links to when the link is most of its text (a card's
        title), not a link inside a sentence."""
        for a in element.iter("a"):
            url = self._article_link(a)
            if url and 2 * len(self._text(a)) >= len(text):
                return url
        return None

    @cached_property
    def body_run(self) -> list[Block]:
        """The story text: the run of prose blocks holding the most text.

        A block linking to another article (a card) breaks a run, so card
        summaries never join the story and never form a long run themselves.
        """
        runs: list[list[Block]] = []
        current: list[Block] = []
        gap = 0
        cards = self.card_elements
        for block in self.blocks:
            if block.link is not None or block.element in cards:
                current, gap = self._close(runs, current), 0
                continue
            if block.prose:
                current.append(block)
                gap = 0
            elif current:
                gap += 1
                if gap > _MAX_GAP:
                    current, gap = self._close(runs, current), 0
                else:
                    current.append(block)
        self._close(runs, current)
        if not runs:
            return []
        best = max(runs, key=lambda run: sum(len(b.text) for b in run if b.prose))
        while best and not best[-1].prose:
            best.pop()
        # A run is a slice of the blocks; grow it by the short paragraphs beside it.
        first = last = self.blocks.index(best[0])
        last += len(best) - 1
        while (
            first > 0
            and self._beside(self.blocks[first - 1], self.blocks[first])
            and not _reads_as_name(self.blocks[first - 1].text)  # an undated byline
        ):
            first -= 1
        while last + 1 < len(self.blocks) and self._beside(
            self.blocks[last + 1], self.blocks[last]
        ):
            last += 1
        return self.blocks[first : last + 1]

    def _beside(self, block: Block, neighbour: Block) -> bool:
        """A short paragraph of the story itself (a one-line lead, a cut-off last one): the
        same tag in the same parent as the story's paragraph next to it (or one wrapper
        up), and no heading, date or interface text."""
        return (
            block.link is None
            and block.element.tag == neighbour.element.tag
            and block.element.getparent()
            in (neighbour.element.getparent(), neighbour.element.getparent().getparent())
            and block.element not in self.card_elements
            and name_key(block.text) not in self._headline_keys
            and not _NUMERIC_DATE.search(block.text)
            and not is_daily8_boilerplate(block.text)
            and not is_boilerplate(block.text)
        )

    @staticmethod
    def _close(runs: list[list[Block]], run: list[Block]) -> list[Block]:
        if any(block.prose for block in run):
            runs.append(run)
        return []

    @cached_property
    def dom_body(self) -> list[str]:
        """The story's paragraphs, without Daily8's interface text."""
        return [b.text for b in self.body_run if not is_daily8_boilerplate(b.text)]

    @cached_property
    def story_elements(self) -> set[Any]:
        return {block.element for block in self.body_run}

    @cached_property
    def cards(self) -> list[Card]:
        """Related cards: each link to another article that is not inside a sentence,
        grown to the largest element around it that links to no other article and
        holds at most one prose block (a card's summary; a story holds more)."""
        prose = {block.element for block in self.blocks if block.prose}
        in_prose: dict[Any, int] = {}
        for element in prose:
            for el in (element, *element.iterancestors()):
                in_prose[el] = in_prose.get(el, 0) + 1
        cards: dict[str, Card] = {}
        for a in self.root.iter("a"):
            url = self._article_link(a)
            if url is None or any(el in prose for el in a.iterancestors()):
                continue  # a link inside a sentence of the story
            card = cards.get(url)
            if card is None:
                card = cards[url] = Card(url, self._card_root(a, url, in_prose))
            if a in self._holds_blocks:  # a link around the whole card: its first line
                lines = (b.text for b in self.blocks if b.link == url)
                card.link_texts.append(next((t for t in lines if len(t) >= _MIN_HEADLINE), ""))
            else:
                card.link_texts.append(
                    self._text(a) or normalize_text(" ".join(a.xpath(".//img/@alt")))
                )
        return list(cards.values())

    def _card_root(self, link: Any, url: str, in_prose: dict[Any, int]) -> Any:
        root = link
        for parent in link.iterancestors():
            if parent.tag in ("body", "html") or in_prose.get(parent, 0) > 1:
                break
            targets = {self._article_link(a) for a in parent.iter("a")} - {None}
            if targets - {url}:
                break
            root = parent
        return root

    @cached_property
    def card_elements(self) -> set[Any]:
        return {el for card in self.cards for el in card.root.iter()}

    def _outside_cards(self, block: Block) -> bool:
        return block.element not in self.card_elements and block.link is None

    @cached_property
    def _own_host(self) -> str | None:
        return urlsplit(self.response.url).hostname

    def _site_link(self, element: Any) -> bool:
        """Whether ``element`` sits in a link to a page of this site (navigation)."""
        link = next(
            (
                el
                for el in (element, *element.iterancestors("a"))
                if el.tag == "a" and el.get("href")
            ),
            None,
        )
        if link is None:
            return False
        href = link.get("href").strip()
        if href not in self._site_hrefs:
            self._site_hrefs[href] = (
                urlsplit(self.response.urljoin(href)).hostname == self._own_host
            )
        return self._site_hrefs[href]

    @cached_property
    def _site_hrefs(self) -> dict[str, bool]:
        """href -> whether it links to this site, each resolved once."""
        return {}

    # --- structured data -------------------------------------------------------------------

    @cached_property
    def jsonld_article(self) -> tuple[dict[str, Any], dict[str, dict[str, Any]]] | None:
        """The page's article node and an ``@id`` index to resolve its references."""
        jsonld = parse_jsonld([str(text) for text in _JSONLD_TEXT(self.root)], issues=[])
        index = {str(n["@id"]): n for n in jsonld.nodes if "@id" in n and len(n) > 2}
        for node in jsonld.top + jsonld.nodes:
            if is_article_type(node_types(node)):
                return node, index
        return None

    @cached_property
    def meta(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for el in self.root.iter("meta"):
            name = (el.get("property") or el.get("name") or "").strip().lower()
            content = el.get("content")
            if name and content and name not in found:
                found[name] = content
        return found

    @cached_property
    def site_names(self) -> set[str]:
        names = {*SITE_NAMES, self.meta.get("og:site_name", "")}
        host = (urlsplit(self.response.url).hostname or "").removeprefix("www.")
        names.add(host.split(".")[0])
        return {name_key(name) for name in names if name}

    def strip_site(self, title: str) -> str:
        """``Headline | Daily8`` -> ``Headline``: parts naming the site go."""
        parts = TITLE_SEPARATORS.split(normalize_text(title))
        kept = [part for part in parts if name_key(part) not in self.site_names]
        return " - ".join(kept) if kept and len(kept) < len(parts) else normalize_text(title)

    @cached_property
    def page_title(self) -> str | None:
        title = self.root.findtext(".//title")
        text = self.strip_site(title) if title else ""
        return text if text and name_key(text) not in self.site_names else None

    @cached_property
    def doubled_headlines(self) -> list[str]:
        """Texts shown twice outside the cards (heading + image alt, two headings)."""
        seen: dict[str, list[Any]] = {}
        for block in self.blocks:
            if self._outside_cards(block) and not block.prose:
                seen.setdefault(block.text, []).append(block.element)
        for img in self.root.iter("img"):
            alt = normalize_text(img.get("alt"))
            if alt and img not in self.card_elements:
                seen.setdefault(alt, []).append(img)
        return [
            text
            for text, elements in seen.items()
            if len(elements) >= 2 and _MIN_HEADLINE <= len(text) <= _MAX_HEADLINE and " " in text
        ]

    def _titles(self) -> list[str]:
        """What the page says its headline is, for matching state objects and doubles."""
        titles = [self.meta.get("og:title"), self.meta.get("twitter:title"), self.page_title]
        node = self.jsonld_article
        if node is not None:
            titles.insert(0, _str(node[0].get("headline")))
        return [self.strip_site(t) for t in titles if t]

    @cached_property
    def app_state(self) -> tuple[str, dict[str, Any], str] | None:
        """``(method, object, headline)``: the embedded object holding the page's headline.

        Keys differ between apps and deploys, so the object is found by value: it
        holds a string equal to the headline the page shows (title, og:title, the
        doubled heading), whatever its key and wherever it sits.
        """
        wanted = {name_key(t) for t in self._titles() + self.doubled_headlines}
        wanted.discard("")
        if not wanted:
            return None
        for method, data in self._state_blobs():
            for node in walk_dicts(data):
                for value in node.values():
                    if isinstance(value, str) and name_key(value) in wanted:
                        return method, node, value
        return None

    def _state_blobs(self) -> Iterator[tuple[str, Any]]:
        yield from state_scripts(self.root, issues=[])
        for script in self.root.iter("script"):
            kind = (script.get("type") or "").lower()
            if kind == "application/json" and script.get("id") != "__NEXT_DATA__":
                data = loads_lenient(script.text or "")
                if data is not None:
                    yield "app-state", data

    # --- extraction ------------------------------------------------------------------------

    def extract(self) -> Extraction:
        out = Extraction()
        self._jsonld(out)
        self._app_state(out)
        self._meta(out)
        self._dom(out)
        self._app_state_source(out)
        if any(name not in out.values for name in CORE_FIELDS):
            self._generic(out)
        return out

    def _generic(self, out: Extraction) -> None:
        """Per field, what the generic extractor finds where this page object found nothing.

        Not a body read from the DOM when the page shows no prose: on a video-only
        page that would be a card's summary or the footer.
        """
        found = GenericArticlePage(self.response).extract()
        for name, value in found.values.items():
            method = found.methods[name]
            if name in ("relatedArticles", "authors"):
                continue  # the cards are read here; Daily8's byline names a publisher
            if name == "articleBody" and not self.dom_body and method in ("trafilatura", "dom"):
                continue  # no prose on the page: whatever text it found is not a story
            out.offer(name, value, f"generic/{method}")

    def _jsonld(self, out: Extraction) -> None:
        if self.jsonld_article is None:
            return
        node, index = self.jsonld_article
        method = "json-ld"
        out.offer("headline", _str(node.get("headline")), method)
        out.offer("datePublishedRaw", _str(node.get("datePublished")), method)
        out.offer("dateModifiedRaw", _str(node.get("dateModified")), method)
        body = node.get("articleBody")
        out.offer("articleBody", body if isinstance(body, (str, list)) else None, method)
        out.offer("inLanguage", _str(node.get("inLanguage")), method)
        out.offer("canonicalUrl", _url(node.get("url"), index), method)
        image = node.get("image")
        out.offer(
            "mainImage",
            _url(image[0] if isinstance(image, list) and image else image, index),
            method,
        )
        for key in ("sourceOrganization", "isPartOf", "publisher"):
            source = _resolve(node.get(key), index)
            name = _str(source.get("name")) if isinstance(source, dict) else None
            if name and name_key(name) not in self.site_names:
                url = _url(source.get("url"), index) or _str(node.get("isBasedOn"))
                out.offer("source", {"name": name, "url": url}, method)
                break

    def _app_state(self, out: Extraction) -> None:
        found = self.app_state
        if found is None:
            return
        method, node, headline = found
        out.offer("headline", headline, method)
        body: list[str] = []
        for key, value in node.items():
            if _SOURCE_KEY.search(key):
                continue
            if isinstance(value, str) and _NUMERIC_DATE.fullmatch(value.strip()):
                name = "dateModifiedRaw" if _MODIFIED_KEY.search(key) else "datePublishedRaw"
                out.offer(name, value, method)
            else:
                texts = _texts_of(value)
                if sum(map(len, texts)) > sum(map(len, body)) and not _links_stories(value):
                    body = texts
        if sum(map(len, body)) >= _MIN_STATE_BODY:
            out.offer("articleBody", body, method)

    def _app_state_source(self, out: Extraction) -> None:
        """The publisher under a source-like key of the app's story object: keys are
        guesses, so the byline on the page outranks them."""
        if self.app_state is None:
            return
        method, node, _ = self.app_state
        for key, value in node.items():
            if _SOURCE_KEY.search(key):
                name = value if isinstance(value, str) else _first_text(value)
                url = _first_url(value) if isinstance(value, dict) else None
                if out.offer("source", {"name": name, "url": url} if name else None, method):
                    return

    def _meta(self, out: Extraction) -> None:
        meta = self.meta
        headline = meta.get("og:title") or meta.get("twitter:title")
        out.offer("headline", self.strip_site(headline) if headline else None, "opengraph")
        out.offer("datePublishedRaw", meta.get("article:published_time"), "opengraph")
        out.offer("dateModifiedRaw", meta.get("article:modified_time"), "opengraph")
        canonical = self.root.xpath("//link[@rel='canonical']/@href")
        out.offer("canonicalUrl", canonical[0] if canonical else None, "meta")
        out.offer("canonicalUrl", meta.get("og:url"), "opengraph")
        out.offer("mainImage", meta.get("og:image"), "opengraph")
        out.offer("description", meta.get("description") or meta.get("og:description"), "meta")

    def _dom(self, out: Extraction) -> None:
        headline = self._dom_headline()
        if headline:
            out.offer("headline", *headline)
        byline = self._byline()
        if byline:
            name, url, date = byline
            if name:
                out.offer("source", {"name": name, "url": url}, "byline")
            out.offer("datePublishedRaw", date, "byline")
        out.offer("articleBody", self.dom_body, "dom")
        out.offer("inLanguage", self.root.get("lang"), "dom")
        out.offer("mainImage", self._headline_image(), "dom")
        out.offer("relatedArticles", [self._card_record(card) for card in self.cards], "dom")

    def _dom_headline(self) -> tuple[str, str] | None:
        """The ``h1``; the doubled heading (the one the title names, if several); the
        title; the first sentence-length line above the story."""
        h1 = [
            b.text
            for b in self.blocks
            if b.element.tag == "h1"
            and self._outside_cards(b)
            and name_key(b.text) not in self.site_names
        ]
        if h1:
            return h1[0], "dom"
        doubled = self.doubled_headlines
        titles = {name_key(t) for t in self._titles()}
        for text in doubled:
            if name_key(text) in titles:
                return text, "doubled"
        if doubled:
            return doubled[0], "doubled"
        if self.page_title:
            return self.page_title, "title"
        for block in self.header_blocks:
            text = block.text
            if (
                len(text.split()) >= 3
                and _MIN_HEADLINE <= len(text) <= _MAX_HEADLINE
                and not _NUMERIC_DATE.search(text)
                and not is_daily8_boilerplate(text)
                and not is_boilerplate(text)
            ):
                return text, "dom"
        return None

    @cached_property
    def header_blocks(self) -> list[Block]:
        """Blocks above the story text, outside cards and navigation."""
        blocks = []
        for block in self.blocks:
            if self.body_run and block is self.body_run[0]:
                break
            if self._outside_cards(block) and not self._site_link(block.element):
                blocks.append(block)
        return blocks

    @cached_property
    def _headline_keys(self) -> set[str]:
        return {name_key(t) for t in self._titles() + self.doubled_headlines}

    def _byline(self) -> tuple[str | None, str | None, str | None] | None:
        """``(publisher, publisher URL, date text)`` from the story's byline.

        The byline is where a date (DD-MM-YYYY, as Daily8 writes it) ends a line,
        or follows a short name-like text in the previous element: "Russia
        Today17-05-2025", ``<span>Valley Courier</span><span>12-08-2025</span>``.
        Without a name next to the date (or without a date), the publisher is the
        name-like line before the story: one linking off the site, else the first.
        """
        story_start = self.body_run[0] if self.body_run else None
        previous: Block | None = None
        before_story: list[Block] = []
        in_header = True
        name = url = date = None
        for block in self.blocks:
            if block is story_start:
                in_header, previous = False, None
            if (
                not self._outside_cards(block)
                or block.element in self.story_elements
                or self._site_link(block.element)
            ):
                previous = None
                continue
            if (
                date is None
                and len(block.text) <= _MAX_NAME_CHARS + 12
                and _BYLINE_DATE.search(block.text)
            ):
                name, date = split_byline(block.text)
                if name is not None:
                    url = self._offsite_link(block.element)
                elif previous is not None and self._name_like(previous.text):
                    name, url = previous.text, self._offsite_link(previous.element)
                previous = None
                continue
            previous = block
            if in_header:
                before_story.append(block)
        if name is None:
            names = [(b.text, self._offsite_link(b.element)) for b in before_story]
            names = [(text, link) for text, link in names if self._name_like(text)]
            linked = [(text, link) for text, link in names if link]
            if linked or names:
                name, url = (linked or names)[0]
        return (name, url, date) if name or date else None

    def _name_like(self, text: str) -> bool:
        return (
            len(text) <= _MAX_NAME_CHARS
            and len(text.split()) <= _MAX_NAME_WORDS
            and any(c.isalpha() for c in text)
            and name_key(text) not in self._headline_keys
            and name_key(text) not in self.site_names
            and not is_daily8_boilerplate(text)
            and not is_boilerplate(text)
            and not _NUMERIC_DATE.search(text)
        )

    def _offsite_link(self, element: Any) -> str | None:
        """The publisher's URL when its name links off the site."""
        own = self._own_host
        for el in (*element.iter("a"), *element.iterancestors("a")):
            if el.get("href"):
                url = self.response.urljoin(el.get("href").strip())
                if urlsplit(url).hostname not in (own, None):
                    return url
        return None

    def _headline_image(self) -> str | None:
        for img in self.root.iter("img"):
            if img.get("src") and name_key(img.get("alt") or "") in self._headline_keys - {""}:
                return self.response.urljoin(img.get("src"))
        return None

    def _card_record(self, card: Card) -> dict[str, str | None]:
        """A card's URL, headline (the first line of its link, else the longest short line
        of the card) and time."""
        headline = next((t for t in card.link_texts if t), None)
        when = None
        for el in card.root.iter():
            if not isinstance(el.tag, str) or el.tag in _NOT_TEXT:
                continue
            for text in (_line(el.text), _line(el.tail) if el is not card.root else ""):
                short = 0 < len(text) <= _MAX_NAME_CHARS  # a time, not the summary
                name, date = split_byline(text) if short else (None, None)
                if date and not name:
                    when = text
                    break
            if when is not None:
                break
        if headline is None:
            lines = [normalize_text(t) for t in card.root.itertext()]
            lines = [t for t in lines if _MIN_HEADLINE <= len(t) <= _MAX_HEADLINE]
            headline = max(lines, key=len, default=None)
        return {"url": card.url, "headline": headline, "datePublishedRaw": when}


_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’»)\]]*$")
_LONG_PROSE = 250


def _reads_as_prose(text: str) -> bool:
    """A paragraph of a story: long, and ending as a sentence does (headlines do not)."""
    return len(text) >= _LONG_PROSE or (
        len(text) >= _PROSE_CHARS and _SENTENCE_END.search(text) is not None
    )


_NAME_PARTICLES = frozenset({"of", "the", "and", "&", "de", "da", "di", "du", "la", "le", "von"})


def _reads_as_name(text: str) -> bool:
    """A publisher's name: a few words, each capitalised but for particles."""
    words = text.split()
    return 0 < len(words) <= _MAX_NAME_WORDS and all(
        word[:1].isupper() or word[:1].isdigit() or word.lower() in _NAME_PARTICLES
        for word in words
    )


_HIDDEN = ("script", "style", "noscript", "template")
_JSONLD_TEXT = etree.XPath('//script[@type="application/ld+json"]/text()')
_VISIBLE_TEXT = etree.XPath(
    ".//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template)]"
)


def _line(text: str | None) -> str:
    """A text node as one line: ``normalize_text``, skipped for the whitespace between tags
    (most of a page's text nodes)."""
    return "" if text is None or text.isspace() else normalize_text(text)


def _visible_text(element: Any) -> str:
    return normalize_text("".join(_VISIBLE_TEXT(element)))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _resolve(value: Any, index: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict) and "@id" in value and len(value) <= 2:
        return index.get(str(value["@id"]), value)
    return value


def _url(value: Any, index: dict[str, dict[str, Any]]) -> str | None:
    value = _resolve(value, index)
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    return _str(value)


def _first_text(value: Any) -> str | None:
    """A name held in an object under any key: its first short string that is no URL."""
    for node in walk_dicts(value, limit=50):
        for item in node.values():
            if (
                isinstance(item, str)
                and 0 < len(item) <= _MAX_NAME_CHARS
                and "://" not in item
                and (" " in item or item[:1].isupper())  # a name, not a slug or an id
            ):
                return item
    return None


def _first_url(value: dict[str, Any]) -> str | None:
    for node in walk_dicts(value, limit=50):
        for item in node.values():
            if isinstance(item, str) and item.startswith(("http://", "https://")):
                return item
    return None


def _texts_of(value: Any) -> list[str]:
    """Paragraph texts of a body held as a string, a list of strings or of text blocks."""
    if isinstance(value, str):
        return [line for line in value.split("\n") if line.strip()]
    if isinstance(value, dict):
        return max((_texts_of(item) for item in value.values()), key=_chars, default=[])
    if not isinstance(value, list):
        return []
    texts: list[str] = []
    for item in value:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict):
            strings = [v for v in item.values() if isinstance(v, str)]
            if strings:
                texts.append(max(strings, key=len))
    return texts


def _chars(texts: list[str]) -> int:
    return sum(map(len, texts))


def _links_stories(value: Any) -> bool:
    """Whether a list holds other stories (ids or article URLs): related, not body."""
    for node in walk_dicts(value, limit=200):
        for item in node.values():
            if isinstance(item, str) and (_HEX_ID.match(item) or is_article_url(item)):
                return True
    return False
