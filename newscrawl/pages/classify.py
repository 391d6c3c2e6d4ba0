"""Article-vs-listing classification.

Spiders follow every page but emit items only for articles, so a listing
mistaken for an article pollutes the feed and an article mistaken for a
listing is lost. No single signal is reliable (sites put ``og:type=article``
on section fronts, and many articles have no structured data), so each signal
adds or removes points and the sum decides.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from newscrawl.pages.structured import LISTING_TYPES, is_article_type
from newscrawl.vocab import ARTICLE, LISTING, LIVE_BLOG, OTHER

logger = logging.getLogger(__name__)

_DATE_PATH = re.compile(r"/(19|20)\d{2}/(0?[1-9]|1[0-2])(/|$)|/(19|20)\d{2}-\d{2}-\d{2}")
_ID_PATH = re.compile(r"\d{4,}")
_LISTING_PATH = re.compile(
    r"/(tag|tags|topic|topics|category|categories|section|sections|author|authors|archive|archives"
    r"|search|page|people|staff|series|hub)(/|$)",
    re.I,
)
# A paragraph with this much text outside links reads as prose, not a teaser line.
_PROSE_CHARS = 80
THRESHOLD = 2


@dataclass
class PageSignals:
    url: str
    types: set[str]  # schema.org types from JSON-LD and microdata
    og_type: str | None
    prose_run: int  # most prose paragraphs sharing one container
    linked_headings: int  # h2-h4 headings that are links: teaser lists
    structured_body: bool  # structured data holds this page's article body


def prose_runs(paragraphs: Iterable[Any]) -> Counter[Any]:
    """Prose paragraphs (the page's ``<p>`` elements) per container element.

    Articles put their paragraphs side by side in one body element; listings
    put one summary into each teaser, so their paragraphs never cluster.
    """
    runs: Counter[Any] = Counter()
    for p in paragraphs:
        text = len(p.text_content().strip())
        if text < _PROSE_CHARS:
            continue
        links = sum(len(a.text_content()) for a in p.iter("a"))
        if text - links < _PROSE_CHARS:
            continue
        parent = p.getparent()
        # One-paragraph wrappers (<div class="para"><p>…</p></div>) count at the next level.
        if parent is not None and len(parent) == 1 and parent.getparent() is not None:
            parent = parent.getparent()
        runs[parent] += 1
    return runs


def linked_headings(headings: Iterable[Any]) -> int:
    """Headings (the page's ``<h2>``-``<h4>``) that hold a link or are one: teaser lists."""
    holding = 0
    links: set[Any] = set()
    for heading in headings:
        if next(heading.iter("a"), None) is not None:
            holding += 1
        parent = heading.getparent()
        if parent is not None and parent.tag == "a":
            links.add(parent)
    return holding + len(links)


def url_score(url: str) -> tuple[int, str] | None:
    """Points from the URL's shape alone: roots and sections are listings, slugs articles."""
    path = urlsplit(url).path
    slug = path.rstrip("/").rsplit("/", 1)[-1]
    if path in ("", "/") or re.fullmatch(r"/(index|default|home)\.\w+", path):
        return -3, "site root"
    if _LISTING_PATH.search(path):
        return -2, "listing path"
    if _DATE_PATH.search(path) or _ID_PATH.search(slug) or slug.count("-") >= 3:
        return 1, "article-like path"
    return None


def looks_like_article_url(url: str) -> bool:
    """Whether a link is likely an article, before fetching it (for priorities and budgets)."""
    points = url_score(url)
    return points is not None and points[0] > 0


def score(signals: PageSignals) -> tuple[int, list[str]]:
    """Points for "article", with the reasons (for debug logs)."""
    points: list[tuple[int, str]] = []
    if is_article_type(signals.types):
        points.append((3, "article type"))
    elif signals.types & LISTING_TYPES:
        points.append((-3, "listing type"))
    if signals.og_type == "article":
        points.append((1, "og:type article"))
    elif signals.og_type in ("website", "profile", "object"):
        points.append((-1, f"og:type {signals.og_type}"))
    if url_points := url_score(signals.url):
        points.append(url_points)
    if signals.prose_run >= 3:
        points.append((3, "prose run"))
    elif signals.prose_run == 2:
        points.append((1, "short prose run"))
    elif not signals.structured_body:  # a script-rendered story has its prose in the data
        points.append((-2, "no prose run"))
    if signals.linked_headings >= 4 and signals.prose_run < 3:  # articles have rails too
        points.append((-1, "teaser headings"))
    if signals.structured_body:
        points.append((3, "structured body"))
    return sum(p for p, _ in points), [reason for _, reason in points]


@dataclass(frozen=True)
class PageClass:
    """What a page is and how sure we are: a record is made either way."""

    page_type: str  # vocab.ARTICLE, LIVE_BLOG, LISTING or OTHER (the record's pageType)
    probability: float  # that the page is one story (an article or a live blog)
    reasons: tuple[str, ...] = ()


def probability(points: int) -> float:
    """Points as a probability: 0.5 halfway between the threshold and one point below it."""
    return round(1 / (1 + math.exp(-(points - THRESHOLD + 0.5))), 3)


def classify(signals: PageSignals) -> PageClass:
    total, reasons = score(signals)
    logger.debug("Classified %s: %d points (%s)", signals.url, total, ", ".join(reasons))
    chance = probability(total)
    if total >= THRESHOLD:
        kind = LIVE_BLOG if "LiveBlogPosting" in signals.types else ARTICLE
    elif signals.types & LISTING_TYPES or signals.linked_headings >= 4:
        kind = LISTING
    else:
        url_points = url_score(signals.url)
        kind = LISTING if url_points is not None and url_points[0] < 0 else OTHER
    return PageClass(kind, chance, tuple(reasons))


def is_article(signals: PageSignals) -> bool:
    return classify(signals).page_type in (ARTICLE, LIVE_BLOG)
