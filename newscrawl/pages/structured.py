"""Field candidates from a page's machine-readable data.

Each reader looks at one kind of source (JSON-LD, meta tags, microdata,
embedded app state) and returns the raw candidates it found as a
:class:`Candidates` collection, tagged with the method that found them; it
changes nothing else. Readers never decide between sources: arbitration lives
in :mod:`newscrawl.pages.rules`, where every rule can see every candidate.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from lxml import html as lxml_html
from lxml.etree import ParserError
from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

# schema.org types that hold one article; anything ending in "Article" counts too.
ARTICLE_TYPES = frozenset(
    {"BlogPosting", "LiveBlogPosting", "Report", "SocialMediaPosting", "DiscussionForumPosting"}
)
LISTING_TYPES = frozenset(
    {
        "CollectionPage",
        "ItemList",
        "SearchResultsPage",
        "ProfilePage",
        "WebSite",
        "SiteNavigationElement",
    }
)
ORGANISATION_TYPES = frozenset(
    {"Organization", "NewsMediaOrganization", "Corporation", "NGO", "GovernmentOrganization"}
)


@dataclass(frozen=True)
class Candidate:
    value: Any
    method: str


@dataclass
class Candidates:
    """Raw candidates per field, in the order the readers found them."""

    fields: dict[str, list[Candidate]] = field(default_factory=dict)

    def add(self, name: str, value: Any, method: str) -> None:
        if value is None or value == "" or value == [] or value == {}:
            return
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return
        self.fields.setdefault(name, []).append(Candidate(value, method))

    def get(self, name: str) -> list[Candidate]:
        return self.fields.get(name, [])

    @classmethod
    def joined(cls, *parts: Candidates) -> Candidates:
        """Every reader's candidates in one collection, per field in the readers' order."""
        fields: dict[str, list[Candidate]] = {}
        for part in parts:
            for name, found in part.fields.items():
                fields.setdefault(name, []).extend(found)
        return cls(fields)

    def first(self, name: str, methods: Iterable[str]) -> Candidate | None:
        """The first candidate found by the earliest of ``methods``."""
        for method in methods:
            for candidate in self.get(name):
                if candidate.method == method:
                    return candidate
        return None


# --- JSON helpers --------------------------------------------------------------------------

_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_WRAPPERS = re.compile(
    r"^\s*(?:<!--|/\*\s*<!\[CDATA\[\s*\*/|//\s*<!\[CDATA\[)|(?:-->|/\*\s*\]\]>\s*\*/|//\s*\]\]>)\s*$"
)


# Deeper JSON than this is hostile or broken: real JSON-LD nests about ten levels, app
# state a few dozen. Parsing it whole would also risk RecursionError in every reader.
MAX_JSON_DEPTH = 128


def too_deep(data: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``data`` nests containers more than ``limit`` levels (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return False


def _bounded(data: Any) -> Any:
    if isinstance(data, (dict, list)) and too_deep(data):
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return data


def loads_lenient(text: str) -> Any:
    """Parse JSON as publishers write it: HTML comments, trailing commas, raw tabs.

    Returns ``None`` when the text is not JSON even after repair, or nests deeper
    than :data:`MAX_JSON_DEPTH` (which would otherwise raise ``RecursionError``).
    """
    text = _WRAPPERS.sub("", text.strip()).strip()
    if not text:
        return None
    try:
        return _bounded(json.loads(text, strict=False))
    except (ValueError, RecursionError):
        pass
    repaired = _TRAILING_COMMA.sub(r"\1", _CONTROL.sub(" ", text))
    try:
        return _bounded(json.loads(repaired, strict=False))
    except (ValueError, RecursionError):
        return None


def walk_dicts(data: Any, limit: int = 20000) -> Iterator[dict[str, Any]]:
    """Every dict inside ``data``, breadth-first, up to ``limit`` containers."""
    queue = deque([data])
    seen = 0
    while queue and seen < limit:
        node = queue.popleft()
        seen += 1
        if isinstance(node, dict):
            yield node
            queue.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            queue.extend(v for v in node if isinstance(v, (dict, list)))


# CMS shortcodes left in stored bodies: "[caption id=...]", "[/embed]", "[gallery ids=1,2]".
_SHORTCODE = re.compile(
    r"\[/[a-z][\w-]*\]|\[[a-z][\w-]*(?:\s+[\w-]+=[^\[\]]*)+\]"
    r"|\[(?:caption|embed|gallery|video|audio|tweet|instagram|youtube|playlist|vc_\w+|et_pb_\w+)"
    r"[^\[\]]*\]",
    re.IGNORECASE,
)


def html_paragraphs(value: str) -> list[str]:
    """Split a string that may hold HTML (escaped or not, with shortcodes) into paragraphs."""
    if "&lt;" in value and "<" not in value:
        value = html.unescape(value)  # HTML escaped once more than it should be
    if "[" in value:
        value = _SHORTCODE.sub(" ", value)
    if "<" not in value:
        return [line.strip() for line in value.split("\n") if line.strip()]
    try:
        root = lxml_html.fragment_fromstring(value, create_parent="div")
    except (ParserError, ValueError):
        return [value]
    for bad in root.xpath(".//script|.//style|.//figure|.//iframe|.//figcaption"):
        bad.drop_tree()
    blocks = root.xpath(".//p|.//h2|.//h3|.//h4|.//li|.//blockquote[not(.//p)]")
    texts = [b.text_content() for b in blocks] if blocks else [root.text_content()]
    return [" ".join(text.split()) for text in texts if text.strip()]


# --- JSON-LD -------------------------------------------------------------------------------


def node_types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type")
    types = raw if isinstance(raw, list) else [raw]
    return {str(t).rsplit("/", 1)[-1] for t in types if t}


def is_article_type(types: set[str]) -> bool:
    return any(t in ARTICLE_TYPES or t.endswith("Article") for t in types)


@dataclass
class JsonLd:
    """A page's JSON-LD: every typed node, and those that describe the page itself."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    # Top-level nodes, @graph members and their mainEntity: not teasers nested in an
    # ItemList or updates nested in a live blog.
    top: list[dict[str, Any]] = field(default_factory=list)


def parse_jsonld(scripts: Iterable[str], issues: list[str]) -> JsonLd:
    """Parse every JSON-LD block, skipping (and noting) those that are not JSON."""
    found = JsonLd()
    for text in scripts:
        data = loads_lenient(text)
        if data is None:
            logger.debug("Skipping unparseable JSON-LD block: %.80r", text)
            issues.append("invalid-json-ld")
            continue
        found.nodes.extend(node for node in walk_dicts(data, limit=2000) if "@type" in node)
        for node in _as_list(data):
            members = _as_list(node.get("@graph")) if isinstance(node, dict) else []
            for top in [node, *members]:
                if isinstance(top, dict):
                    found.top.extend(n for n in (top, top.get("mainEntity")) if _typed(n))
    index = _by_id(found.nodes)
    found.top = [_resolve(node, index) for node in found.top]
    return found


def _typed(node: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(node, dict) and ("@type" in node or "@id" in node)


def _by_id(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(node["@id"]): node for node in nodes if "@id" in node and len(node) > 2}


def _resolve(value: Any, index: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, dict) and set(value) <= {"@id", "@type"} and "@id" in value:
        return index.get(str(value["@id"]), value)
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _name(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        name = value.get("name") or value.get("headline")
        return name if isinstance(name, str) else None
    return None


def _url_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("url", "contentUrl", "@id"):
            if isinstance(url := value.get(key), str):
                return url
    return None


def _author_kind(author: Any) -> str:
    """ "person", "org" or "unknown", from a JSON-LD author's declared type."""
    types = node_types(author) if isinstance(author, dict) else set()
    if types & ORGANISATION_TYPES:
        return "org"
    return "person" if "Person" in types else "unknown"


def pick_article_node(
    nodes: list[dict[str, Any]], top: list[dict[str, Any]], page_url: str
) -> dict[str, Any] | None:
    """The article node that describes this page, if any.

    Several article nodes appear on live blogs (one per update) and on pages
    that embed teasers; prefer the page's own (top-level) nodes, then one with a
    headline and this page's URL, the most specific type, the longest body.
    """
    articles = [node for node in top if is_article_type(node_types(node))]
    articles = articles or [node for node in nodes if is_article_type(node_types(node))]
    if not articles:
        return None
    page = page_url.rstrip("/")

    def rank(node: dict[str, Any]) -> tuple[Any, ...]:
        own = {_url_of(node.get("url")), _url_of(node.get("mainEntityOfPage"))}
        types = node_types(node)
        return (
            bool(node.get("headline") or node.get("name")),
            any(isinstance(u, str) and u.rstrip("/") == page for u in own),
            "LiveBlogPosting" in types or not types <= {"BlogPosting"},
            len(str(node.get("articleBody") or "")),
        )

    return max(articles, key=rank)


def read_jsonld(jsonld: JsonLd, page_url: str) -> Candidates:
    """Candidates from the page's article node and breadcrumbs."""
    out = Candidates()
    nodes = jsonld.nodes
    index = _by_id(nodes)
    for node in nodes:
        if "BreadcrumbList" in node_types(node):
            crumbs = []
            for item in _as_list(node.get("itemListElement")):
                if not isinstance(item, dict):
                    continue
                target = _resolve(item.get("item"), index)
                name = item.get("name") or _name(target)
                url = _url_of(target)
                if name:
                    crumbs.append({"name": name, **({"url": url} if url else {})})
            out.add("breadcrumbs", crumbs, "json-ld")
            break
    article = pick_article_node(nodes, jsonld.top, page_url)
    if article is None:
        return out
    method = "json-ld"
    out.add("headline", article.get("headline") or article.get("name"), method)
    out.add("headline", article.get("alternativeHeadline"), method)  # ranked after headline
    out.add("description", article.get("description"), method)
    body = article.get("articleBody")
    if isinstance(body, str):
        out.add("articleBody", html_paragraphs(body), method)
    updates = [_resolve(u, index) for u in _as_list(article.get("liveBlogUpdate"))]
    live = [
        line
        for update in updates
        if isinstance(update, dict)
        for line in (update.get("headline"), update.get("articleBody"))
        if isinstance(line, str)
    ]
    out.add("articleBody", live, method + "-live")
    for key, name in (("datePublished", "datePublishedRaw"), ("dateModified", "dateModifiedRaw")):
        value = article.get(key)
        if isinstance(value, str):
            out.add(name, value, method)
    for raw in _as_list(article.get("author")) + _as_list(article.get("creator")):
        author = _resolve(raw, index)
        name = _name(author)
        if name:
            out.add("authors", (name, _author_kind(author)), method)
    for image in _as_list(article.get("image")):
        out.add("mainImage", _url_of(_resolve(image, index)), method)
    out.add("mainImage", article.get("thumbnailUrl"), method)
    publisher = _resolve(article.get("publisher"), index)
    if isinstance(publisher, dict) and _name(publisher):
        source = {"name": _name(publisher)}
        if _url_of(publisher.get("url")):
            source["url"] = _url_of(publisher.get("url"))
        out.add("source", source, method)
    out.add("inLanguage", article.get("inLanguage"), method)
    for key in ("url", "mainEntityOfPage"):
        url = _url_of(article.get(key))
        if url and url.startswith("http"):
            out.add("canonicalUrl", url.split("#")[0], method)
    return out


# --- meta tags -----------------------------------------------------------------------------

# Meta names by field, in order of trust within the family. Keys are lower-case.
OPENGRAPH = {
    "headline": ("og:title",),
    "description": ("og:description",),
    "datePublishedRaw": (
        "article:published_time",
        "og:article:published_time",
        "og:published_time",
    ),
    "dateModifiedRaw": ("article:modified_time", "og:article:modified_time", "og:updated_time"),
    "authors": ("article:author", "og:article:author"),
    "mainImage": ("og:image", "og:image:url", "og:image:secure_url"),
    "canonicalUrl": ("og:url",),
}
OTHER_META = {
    "headline": (
        "twitter:title",
        "parsely-title",
        "sailthru.title",
        "dc.title",
        "dcterms.title",
        "headline",
        "title",
    ),
    "description": ("description", "twitter:description", "dc.description", "dcterms.description"),
    "datePublishedRaw": (
        "parsely-pub-date",
        "sailthru.date",
        "dc.date.issued",
        "dcterms.issued",
        "dcterms.date",
        "dc.date",
        "dcterms.created",
        "datepublished",
        "date",
        "publish-date",
        "publishdate",
        "publish_date",
        "pubdate",
        "article.published",
        "article_date_original",
        "cxenseparse:recs:publishtime",
        "original-publish-date",
    ),
    "dateModifiedRaw": ("datemodified", "dcterms.modified", "last-modified", "article.updated"),
    "authors": (
        "author",
        "parsely-author",
        "sailthru.author",
        "dc.creator",
        "dcterms.creator",
        "byl",
        "article.author",
    ),
    "mainImage": ("twitter:image", "twitter:image:src", "parsely-image-url", "thumbnail"),
    "inLanguage": ("dc.language", "dcterms.language", "content-language", "language"),
}


def collect_meta(metas: Iterable[Any]) -> dict[str, list[str]]:
    """``<meta>`` elements' contents keyed by lower-cased property/name/itemprop/http-equiv."""
    meta: dict[str, list[str]] = {}
    for el in metas:
        content = el.get("content")
        if content is None or not content.strip():
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = el.get(attr)
            if key:
                meta.setdefault(key.strip().lower(), []).append(content.strip())
    return meta


def read_meta(meta: dict[str, list[str]]) -> Candidates:
    """Candidates from OpenGraph and other ``<meta>`` tags (:func:`collect_meta`)."""
    out = Candidates()
    for method, table in (("opengraph", OPENGRAPH), ("meta", OTHER_META)):
        for name, keys in table.items():
            for key in keys:
                for value in meta.get(key, ()):
                    out.add(name, (value, "unknown") if name == "authors" else value, method)
    site = meta.get("og:site_name") or meta.get("application-name")
    if site:
        out.add("source", {"name": site[0]}, "opengraph" if "og:site_name" in meta else "meta")
    locale = meta.get("og:locale")
    if locale:
        out.add("inLanguage", locale[0].replace("_", "-"), "opengraph")
    for raw in meta.get("parsely-page", ()):
        data = loads_lenient(raw)
        if not isinstance(data, dict):
            continue
        out.add("headline", data.get("title"), "meta")
        out.add("datePublishedRaw", data.get("pub_date"), "meta")
        for author in _as_list(data.get("author") or data.get("authors")):
            if isinstance(author, str):
                out.add("authors", (author, "unknown"), "meta")
        out.add("mainImage", data.get("image_url"), "meta")
    return out


# --- microdata -----------------------------------------------------------------------------

_ARTICLE_TYPE = re.compile(r"Article|BlogPosting")


def _itemprop_value(el: HtmlElement) -> str:
    """The value of one microdata property, per the HTML microdata rules."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag == "meta":
        return el.get("content", "")
    if tag == "time":
        return el.get("datetime") or el.text_content()
    if tag in ("a", "link", "area"):
        return el.get("href", "")
    if tag in ("img", "audio", "video", "source", "embed", "iframe"):
        return el.get("src", "")
    return el.text_content()


def read_microdata(scopes: list[Any]) -> Candidates | None:
    """Candidates from the page's first Article microdata scope (``itemscope`` elements
    with an Article or BlogPosting ``itemtype``); None when it has none."""
    if not scopes:
        return None
    scope = scopes[0]
    out = Candidates()

    def props(name: str) -> list[Any]:
        # Properties of this scope, not of nested scopes (authors, publishers).
        return [el for el in scope.xpath(f".//*[@itemprop='{name}']") if _owning_scope(el) is scope]

    method = "microdata"
    for el in props("headline") or props("name"):
        out.add("headline", _itemprop_value(el), method)
    for key, name in (("datePublished", "datePublishedRaw"), ("dateModified", "dateModifiedRaw")):
        for el in props(key):
            out.add(name, _itemprop_value(el), method)
    for el in props("author") + props("creator"):
        if el.get("itemscope") is not None:
            names = el.xpath(".//*[@itemprop='name']")
            value = _itemprop_value(names[0]) if names else el.text_content()
            kind = "org" if "Organization" in (el.get("itemtype") or "") else "person"
        else:
            value, kind = _itemprop_value(el), "unknown"
        out.add("authors", (" ".join(value.split()), kind), method)
    for el in props("articleBody"):
        paragraphs = [p.text_content() for p in el.xpath(".//p|.//h2|.//h3")]
        out.add("articleBody", paragraphs or [el.text_content()], method)
    for el in props("description"):
        out.add("description", _itemprop_value(el), method)
    for el in props("image"):
        src = el.xpath(".//*[@itemprop='url']") if el.get("itemscope") is not None else [el]
        if src:
            out.add("mainImage", _itemprop_value(src[0]), method)
    return out


def _owning_scope(el: Any) -> Any:
    for parent in el.iterancestors():
        if parent.get("itemscope") is not None:
            return parent
    return None


def read_loose_itemprops(itemprops: Iterable[Any], scoped: Candidates | None) -> Candidates:
    """``itemprop`` elements outside any Article scope (common on templated sites).

    A field the page's Article scope (``scoped``, :func:`read_microdata`'s) already
    gave is not read again: loose copies then belong to other items (bylines of
    related-story cards).
    """
    out = Candidates()
    fields = {"headline": "headline", "datePublished": "datePublishedRaw"}
    fields |= {"dateModified": "dateModifiedRaw", "author": "authors"}
    given = {name for name in fields.values() if scoped and scoped.first(name, ("microdata",))}
    for el in itemprops:
        name = fields.get(el.get("itemprop"))
        scope = _owning_scope(el)
        if (
            name is None
            or name in given
            or (scope is not None and _ARTICLE_TYPE.search(scope.get("itemtype") or ""))
        ):
            continue  # read with its Article scope by read_microdata
        value = " ".join(_itemprop_value(el).split())
        out.add(name, (value, "unknown") if name == "authors" else value, "microdata")
    return out


# --- embedded application state ------------------------------------------------------------

_STATE_ASSIGNMENT = re.compile(
    r"(?:window\.|self\.)?(?:__INITIAL_STATE__|__PRELOADED_STATE__|__NUXT__|__APP_STATE__"
    r"|__INITIAL_DATA__|Fusion\.globalContent)\s*=\s*"
)
_STATE_MARKERS = (
    "__INITIAL_STATE__",
    "__PRELOADED_STATE__",
    "__NUXT__",
    "__APP_STATE__",
    "__INITIAL_DATA__",
    "globalContent",
)
_JSON_PARSE = re.compile(r"JSON\.parse\(\s*")

TITLE_KEYS = ("headline", "headlines", "title", "name")
BODY_KEYS = (
    "articleBody",
    "body",
    "bodyHtml",
    "body_html",
    "content_elements",
    "content",
    "contentHtml",
    "blocks",
    "text",
    "html",
)
DATE_KEYS = (
    "datePublished",
    "first_publish_date",
    "firstPublished",
    "publishedAt",
    "published_at",
    "publishedDate",
    "publishDate",
    "publish_date",
    "pubDate",
    "display_date",
    "date",
    "createdAt",
    "created_at",
)
MODIFIED_KEYS = ("dateModified", "updatedAt", "updated_at", "last_updated_date", "modifiedDate")
AUTHOR_KEYS = ("authors", "author", "byline", "credits", "writers", "contributors")
DESCRIPTION_KEYS = ("description", "standfirst", "subheadlines", "dek", "summary", "subtitle")
# Block types that are not story text: media, ads, promos ("header" must not match "ad").
_SKIP_BLOCK = re.compile(
    r"(?:^|[_\W])(?:image|photo|video|embed|ads?|advert|related|promo|newsletter|gallery"
    r"|interstitial|raw_html)",
    re.I,
)


def state_scripts(root: Any, issues: list[str]) -> Iterator[tuple[str, Any]]:
    """``(method, data)`` for each embedded state blob in the page that parses; others
    are noted."""
    return state_blobs(root.iter("script"), issues)


def state_blobs(scripts: Iterable[Any], issues: list[str]) -> Iterator[tuple[str, Any]]:
    """``(method, data)`` for each embedded state blob in ``scripts`` that parses."""
    for script in scripts:
        text = script.text or ""
        if script.get("id") == "__NEXT_DATA__":
            data = loads_lenient(text)
            if data is not None:
                yield "next-data", data
            elif text.strip():
                issues.append("invalid-app-state")
            continue
        if len(text) < 200 or not any(marker in text for marker in _STATE_MARKERS):
            continue  # a substring test is far cheaper than the regex on big bundles
        for match in _STATE_ASSIGNMENT.finditer(text):
            data = _decode_at(text, match.end())
            if data is not None:
                yield "app-state", data
            else:
                issues.append("invalid-app-state")


def _decode_at(text: str, pos: int) -> Any:
    decoder = json.JSONDecoder(strict=False)
    parse = _JSON_PARSE.match(text, pos)
    try:
        if parse:
            inner, _ = decoder.raw_decode(text, parse.end())
            return _bounded(json.loads(inner, strict=False)) if isinstance(inner, str) else None
        return _bounded(decoder.raw_decode(text, pos)[0])
    except (ValueError, RecursionError):
        logger.debug("Embedded state at %d is not JSON", pos)
        return None


def _text_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("basic", "web", "text", "name", "value"):
            if isinstance(text := value.get(key), str):
                return text
    return None


def _first_key(node: dict[str, Any], keys: Iterable[str]) -> tuple[str, Any] | None:
    for key in keys:
        value = node.get(key)
        if value not in (None, "", [], {}):
            return key, value
    return None


def body_paragraphs(value: Any) -> list[str]:
    """Paragraphs from a CMS body: an HTML/text string or a list of typed blocks.

    A rich-text tree stored as a JSON string (``"{\"nodeType\": \"document\"...``)
    is read as the tree, not as text.
    """
    if isinstance(value, str):
        if value.lstrip().startswith(("{", "[{")):
            tree = loads_lenient(value)
            if isinstance(tree, (dict, list)):
                return body_paragraphs(tree)
        return html_paragraphs(value)
    if isinstance(value, dict):
        inner = _first_key(value, ("content", "children", "blocks", "html", "text", "value"))
        return body_paragraphs(inner[1]) if inner else []
    if not isinstance(value, list):
        return []
    paragraphs: list[str] = []
    for block in value:
        if isinstance(block, str):
            paragraphs.extend(html_paragraphs(block))
            continue
        if not isinstance(block, dict):
            continue
        kind = str(block.get("type") or block.get("_type") or block.get("kind") or "")
        kind += str(block.get("nodeType") or block.get("__typename") or "")
        if kind and _SKIP_BLOCK.search(kind.lower()):
            continue
        text = _first_key(block, ("content", "text", "html", "value", "children"))
        if text is None:
            continue
        if isinstance(text[1], str):
            paragraphs.extend(html_paragraphs(text[1]))
        else:
            # Rich-text trees (Portable Text, Contentful): one block is one paragraph.
            leaves = [
                leaf
                for node in walk_dicts(text[1], limit=500)
                for key in ("text", "value")
                if isinstance(leaf := node.get(key), str)
            ]
            if leaves:
                paragraphs.append(" ".join("".join(leaves).split()))
    return [p for p in paragraphs if p]


def _authors_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name") or value.get("displayName") or value.get("fullName")
        if isinstance(name, str):
            return [name]
        # Arc credits.by, Contentful fields, Strapi data.attributes
        wrapped = _first_key(value, ("by", "fields", "data", "attributes", "node"))
        return _authors_of(wrapped[1]) if wrapped else []
    if isinstance(value, list):
        return [name for item in value for name in _authors_of(item)]
    return []


def _article_score(node: dict[str, Any]) -> tuple[int, int]:
    title = _first_key(node, TITLE_KEYS)
    if title is None or not _text_of(title[1]):
        return (0, 0)
    body = _first_key(node, BODY_KEYS)
    date = _first_key(node, DATE_KEYS)
    body_len = len(json.dumps(body[1])) if body and not isinstance(body[1], (int, float)) else 0
    score = 1 + (2 if body_len > 200 else 0) + (1 if date else 0)
    return (score, body_len)


def read_app_state(scripts: Iterable[Any]) -> tuple[Candidates, list[str]]:
    """Candidates from the embedded object that looks most like this article, and the
    problems met (``invalid-app-state`` per blob that does not parse)."""
    out = Candidates()
    issues: list[str] = []
    best: tuple[tuple[int, int], str, dict[str, Any]] | None = None
    for method, data in state_blobs(scripts, issues):
        for node in walk_dicts(data):
            score = _article_score(node)
            if score[0] >= 3 and (best is None or score > best[0]):
                best = (score, method, node)
    if best is None:
        return out, issues
    _, method, node = best
    title = _first_key(node, TITLE_KEYS)
    out.add("headline", _text_of(title[1]) if title else None, method)
    body = _first_key(node, BODY_KEYS)
    if body:
        out.add("articleBody", body_paragraphs(body[1]), method)
    for keys, name in ((DATE_KEYS, "datePublishedRaw"), (MODIFIED_KEYS, "dateModifiedRaw")):
        found = _first_key(node, keys)
        if found and isinstance(found[1], str):
            out.add(name, found[1], method)
    found = _first_key(node, AUTHOR_KEYS)
    if found:
        for name in _authors_of(found[1]):
            out.add("authors", (name, "unknown"), method)
    found = _first_key(node, DESCRIPTION_KEYS)
    if found:
        out.add("description", _text_of(found[1]), method)
    return out, issues
