"""Every source of one page, read once: the cheap readers up front, the costly ones on demand.

:func:`read_sources` runs one reader per cheap source (JSON-LD, OpenGraph and other
meta tags, microdata, embedded app state, the DOM, the URL) and keeps what they give
as values: one :class:`~newscrawl.pages.structured.Candidates` collection, the parsed
JSON-LD and meta tags that classification also reads, and the problems met on the way.
The costly sources, trafilatura's main text and htmldate's date, are functions the
field rules call only when the cheap ones leave their field open (see
:mod:`newscrawl.pages.rules`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit

import htmldate
import trafilatura
from scrapy.http import TextResponse

from newscrawl.pages.dom import Dom, key, read_dom, read_url
from newscrawl.pages.structured import (
    ORGANISATION_TYPES,
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

logger = logging.getLogger(__name__)
# trafilatura warns ("discarding data") on every short page; that is not news to a crawl log.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

SITE_TYPES = ORGANISATION_TYPES | {"WebSite"}
_ENOUGH_TEXT = 500  # characters of main text below which trafilatura's fallbacks run


@dataclass(frozen=True)
class Sources:
    """What the cheap sources found on one page."""

    url: str
    dom: Dom
    meta: dict[str, list[str]]
    jsonld: JsonLd
    candidates: Candidates
    has_microdata: bool  # an Article microdata scope (a classification signal)
    site_names: list[str]  # for stripping title suffixes and spotting organisation authors
    issues: tuple[str, ...]  # sources that failed ("invalid-json-ld"), for the caller's stats

    @cached_property
    def site_keys(self) -> frozenset[str]:
        return frozenset(key(name) for name in self.site_names)

    @cached_property
    def host_key(self) -> str:
        return key(host_name(self.url))


def host_name(url: str) -> str:
    """The site's name as its host spells it ("krautreporter" for www.krautreporter.de)."""
    return (urlsplit(url).hostname or "").removeprefix("www.").split(".")[0]


def site_names(meta: dict[str, list[str]], jsonld: JsonLd, url: str) -> list[str]:
    """Names this site goes by: ``og:site_name``, the JSON-LD site or publisher, the host."""
    names = meta.get("og:site_name", []) + meta.get("application-name", [])
    for node in jsonld.nodes:
        if node_types(node) & SITE_TYPES and isinstance(node.get("name"), str):
            names.append(node["name"])
    names.append(host_name(url))
    return [name for name in names if name]


def read_sources(response: TextResponse) -> Sources:
    """Run every cheap reader on ``response``, in the order that breaks ties between
    candidates of one method (the first found ranks first)."""
    url = response.url
    dom = Dom(response)
    index = dom.index
    issues: list[str] = []
    scripts = index.tags["script"]
    jsonld = parse_jsonld(
        (
            el.text or ""
            for el in scripts
            if (el.get("type") or "").strip().lower() == "application/ld+json"
        ),
        issues,
    )
    meta = collect_meta(index.tags["meta"])
    names = site_names(meta, jsonld, url)
    microdata = read_microdata(index.article_scopes)
    app_state, state_issues = read_app_state(scripts)
    candidates = Candidates.joined(
        read_jsonld(jsonld, url),
        read_meta(meta),
        microdata or Candidates(),
        read_loose_itemprops(index.itemprops, microdata),
        app_state,
        read_dom(dom, {key(name) for name in names}),
        read_url(urlsplit(url).path),
    )
    return Sources(
        url=url,
        dom=dom,
        meta=meta,
        jsonld=jsonld,
        candidates=candidates,
        has_microdata=microdata is not None,
        site_names=names,
        issues=(*issues, *state_issues),
    )


def main_text(sources: Sources, *, fallbacks: bool) -> list[str]:
    """Main text by trafilatura: fast mode, and the full cascade only when that finds little.

    The full cascade (readability and jusText comparison, recall retry)
    costs several times more on page-sized DOMs and matters only when the
    main extractor comes up short and no structured body can stand in.
    """
    text = ""
    for fast in (True, False) if fallbacks else (True,):
        document = trafilatura.bare_extraction(
            sources.dom.story_tree,
            url=sources.url,
            fast=fast,
            include_comments=False,
            include_tables=True,
        )
        text = getattr(document, "text", None) or ""
        if len(text) >= _ENOUGH_TEXT:
            break
    return text.split("\n")


def htmldate_date(sources: Sources) -> str | None:
    """htmldate's publication date for the whole page (its extensive search)."""
    try:
        return htmldate.find_date(
            sources.dom.root, url=sources.url, extensive_search=True, original_date=True
        )
    except (ValueError, TypeError) as exc:
        logger.debug("htmldate failed on %s: %s", sources.url, exc)
        return None
