"""One rule per field: which candidate of which source a record takes.

:data:`RULES` is the table, in the order the fields are decided (the body rule reads
the headline chosen before it). A rule gives ``(value, method)`` alternatives, best
first; the first non-empty one is the field's value and its method the provenance
(``Extraction.methods``). Rules are generators, so an alternative that costs a
source of its own (htmldate for the date, trafilatura for the body) is only computed
when nothing before it was taken. Where a rule is just a trust order over sources,
the order is the table entry itself (``*_ORDER``; methods not listed rank last, in the
order found).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from dateparser.data.languages_info import language_order

from newscrawl.pages.dom import (
    FOCUS_MIN_RUN,
    MAX_META_TEXT,
    TEXT_DATE,
    WHOLE_DATE,
    date_texts,
    key,
    texts,
)
from newscrawl.pages.sources import Sources, htmldate_date, main_text
from newscrawl.pages.structured import Candidate
from newscrawl.processors import (
    TITLE_SEPARATORS,
    is_boilerplate,
    is_date_only,
    normalize_text,
    parse_date,
    split_authors,
)

# Trust order per field; methods not listed rank last, in the order found.
DATE_ORDER = ("json-ld", "opengraph", "microdata", "meta", "dom", "next-data", "app-state", "url")
AUTHOR_ORDER = ("json-ld", "microdata", "opengraph", "meta", "next-data", "app-state", "dom")
HEADLINE_ORDER = ("json-ld", "microdata", "opengraph", "next-data", "app-state", "meta", "dom")
DESCRIPTION_ORDER = ("json-ld", "opengraph", "meta", "microdata", "next-data", "app-state")
IMAGE_ORDER = ("json-ld", "opengraph", "meta", "microdata")
LANGUAGE_ORDER = ("json-ld", "dom", "opengraph", "meta")
BODY_ORDER = ("json-ld", "json-ld-live", "microdata", "next-data", "app-state")
CANONICAL_ORDER = ("dom", "opengraph", "json-ld")
BREADCRUMB_ORDER = ("json-ld", "dom")
RELATED_ORDER = ("dom",)
SOURCE_ORDER = ("json-ld", "opengraph", "meta")

_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|\b[A-Z]{3,4})$")
_UTC = re.compile(r"(?:Z|[+-]00:?00|\bGMT|\bUTC)$", re.IGNORECASE)
_STRUCTURED_DATES = frozenset({"json-ld", "microdata", "next-data", "app-state"})
_HEADER_DATES = frozenset({"opengraph", "meta"})
_ISO_HOUR_END = 13
_MAX_ZONE_HOURS = 10
_URL_DATE_SLACK = 2  # days a page's date may differ from its URL's (time zones, late edits)
_CLOCK = re.compile(r"\d{1,2}[:.h]\d{2}")
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
MIN_STRUCTURED_BODY = 400
_WHOLE_STORY = 1500  # characters of a structured body that stands without the DOM's text
_COVERAGE = 0.95
_WORD = re.compile(r"\w+")
# Lines that close a story but are not part of it (wire copyright notices).
_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright\b)|\ball rights reserved\b", re.IGNORECASE)

Answer = Iterator[tuple[Any, str]]
Rule = Callable[[Sources, Mapping[str, Any]], Answer]


def ranked(candidates: list[Candidate], order: tuple[str, ...]) -> list[Candidate]:
    rank = {method: i for i, method in enumerate(order)}
    return sorted(candidates, key=lambda c: rank.get(c.method, len(order)))


def by_trust(name: str, order: tuple[str, ...]) -> Rule:
    """The rule of a field that needs no judgement: its candidates in ``order``."""

    def rule(sources: Sources, chosen: Mapping[str, Any]) -> Answer:
        for candidate in ranked(sources.candidates.get(name), order):
            yield candidate.value, candidate.method

    return rule


# headline --------------------------------------------------------------------------------


def strip_site_suffix(title: str, site_names: list[str]) -> str:
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
    sites = {key(name) for name in site_names}
    sites |= {site.removeprefix("the") for site in sites}

    def is_site(part: tuple[int, int]) -> bool:
        part_key = key(title[part[0] : part[1]])
        return part_key in sites or part_key.removeprefix("the") in sites

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


def headline(sources: Sources, chosen: Mapping[str, Any]) -> Answer:
    """The structured headline unless the page's own heading shows it is off.

    A heading that a structured title starts with (site suffix, section
    prefix) or that extends a truncated one is the real headline.
    """
    found = sources.candidates.get("headline")
    names = sources.site_names
    dom = [c.value for c in found if c.method == "dom"]
    sites = sources.site_keys
    trusted = ranked(
        [c for c in found if c.method not in ("dom", "title") and key(str(c.value)) not in sites],
        HEADLINE_ORDER,
    )
    trusted += [c for c in found if c.method == "title"]
    for heading in dom:
        heading_key = key(heading)
        for candidate in trusted:
            value = normalize_text(candidate.value)
            stripped = key(strip_site_suffix(value, names))
            if key(value) == heading_key or stripped == heading_key:
                # Confirmed by structured data: credit it (<title> is just DOM).
                yield heading, "dom" if candidate.method == "title" else candidate.method
                return
            truncated = value.endswith(_TRUNCATED) and heading_key.startswith(
                key(value.rstrip("".join(_TRUNCATED)))
            )
            if truncated or (len(heading_key) > 15 and heading_key in key(value)):
                yield heading, "dom"
                return
    # No heading confirms a candidate: structured data beats the page's first
    # heading, which beats <title> (often a generic site title).
    for candidate in trusted:
        if candidate.method != "title" and not (dom and candidate.value.endswith(_TRUNCATED)):
            yield strip_site_suffix(candidate.value, names), candidate.method
            return
    if dom:
        yield dom[0], "dom"
        return
    titles = [c for c in trusted if c.method == "title"]
    if titles:
        yield strip_site_suffix(titles[0].value, names), "title"


# dates -----------------------------------------------------------------------------------


def languages(sources: Sources) -> list[str] | None:
    """Locales for dateparser: the page's language (and English), so it skips detection."""
    for candidate in ranked(sources.candidates.get("inLanguage"), LANGUAGE_ORDER):
        code = str(candidate.value).replace("_", "-").split("-")[0].lower()
        if code in DATEPARSER_LANGUAGES:
            return list(dict.fromkeys((code, "en")))
    return None


def _could_be_finer(raw: str, precision: int) -> bool:
    """Whether a raw date might carry a time (or an offset) that ``precision`` lacks."""
    if precision == 0:
        return _CLOCK.search(raw) is not None
    return precision == 1 and _HAS_OFFSET.search(raw) is not None


def best_date(candidates: list[Candidate], langs: list[str] | None) -> tuple[str, str] | None:
    """The most trusted parseable date, swapped for a more precise one of the same day.

    Only candidates that could be more precise are parsed after the first
    hit: parsing free text with dateparser is the slowest step of a page.
    """
    best: tuple[Candidate, str, int] | None = None
    for candidate in ranked(candidates, DATE_ORDER):
        raw = normalize_text(str(candidate.value))
        if best is not None and not _could_be_finer(raw, best[2]):
            continue
        iso = parse_date(raw, languages=langs)
        if iso is None:
            continue
        precision = 0 if is_date_only(iso) else 2 if _HAS_OFFSET.search(raw) else 1
        if best is None or (iso[:10] == best[1][:10] and precision > best[2]):
            best = (candidate, iso, precision)
    if best is None:
        return None
    return normalize_text(str(best[0].value)), best[0].method


def _crosses_midnight(raw: str, days: int, langs: list[str] | None) -> bool:
    """Whether a UTC instant ``days`` (±1) from a local day can be that day's local
    time: 10:04Z is 06:04 in New York, never the evening before. Zones reach 10
    hours from UTC either way (Hawaii, eastern Australia) in the development pages."""
    iso = parse_date(raw, languages=langs)
    if iso is None or len(iso) < _ISO_HOUR_END:
        return False
    hour = int(iso[11:13])
    return (days == -1 and hour < _MAX_ZONE_HOURS) or (days == 1 and hour >= 24 - _MAX_ZONE_HOURS)


def _corrected(candidates: list[Candidate], langs: list[str] | None) -> tuple[str, str] | None:
    """:func:`best_date`'s pick, corrected where sources disagree.

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
    chosen = best_date(candidates, langs)
    if chosen is None:
        return None
    days: dict[str, date | None] = {}

    def day(value: Any) -> date | None:
        raw = normalize_text(str(value))
        if raw not in days:
            iso = parse_date(raw, languages=langs)
            days[raw] = date.fromisoformat(iso[:10]) if iso else None
        return days[raw]

    trusted = ranked(candidates, DATE_ORDER)
    picked = day(chosen[0])
    if picked is None:
        return chosen
    in_url = next((c for c in trusted if c.method == "url"), None)
    url_day = day(in_url.value) if in_url else None
    if chosen[1] in _STRUCTURED_DATES and url_day != picked:
        for c in trusted:
            if c.method in _HEADER_DATES and (d := day(c.value)) and (d - picked).days >= 2:
                chosen, picked = (normalize_text(str(c.value)), c.method), d
                break
    if chosen[1] == "meta":
        printed = next((c for c in trusted if c.method == "dom" and day(c.value)), None)
        if printed and (d := day(printed.value)) and d < picked:
            chosen, picked = (normalize_text(str(printed.value)), "dom"), d
    if in_url and url_day and abs((url_day - picked).days) > _URL_DATE_SLACK:
        return str(in_url.value), "url"
    if _UTC.search(chosen[0]) and _CLOCK.search(chosen[0]):
        if in_url and url_day and _crosses_midnight(chosen[0], (url_day - picked).days, langs):
            return str(in_url.value), "url"  # the URL's day is the page's own
        local = [
            (raw, c.method, day(raw))
            for c in trusted
            if not _UTC.search(raw := normalize_text(str(c.value)))
        ]
        if not any(d == picked for _, _, d in local):
            for raw, method, d in local:
                if d and _crosses_midnight(chosen[0], (d - picked).days, langs):
                    return raw, method
    return chosen


def published(sources: Sources, chosen: Mapping[str, Any]) -> Answer:
    """The corrected publication date; else a short story element that is nothing but a
    date; else htmldate's (a costly source of its own)."""
    langs = languages(sources)
    found = _corrected(sources.candidates.get("datePublishedRaw"), langs)
    if found:
        yield found
    dom = sources.dom
    leaves = date_texts(dom.short_leaves(), whole=True)
    loose = best_date([Candidate(line, "dom") for line in leaves[:1]], langs)
    if loose:
        yield loose
    else:
        yield htmldate_date(sources), "htmldate"


def modified(sources: Sources, chosen: Mapping[str, Any]) -> Answer:
    found = best_date(sources.candidates.get("dateModifiedRaw"), languages(sources))
    if found:
        yield found


# authors ---------------------------------------------------------------------------------


def _is_org(name: str, kind: str, sources: Sources) -> bool:
    """Whether an author is an organisation: the host's name (even when typed a
    Person), a web address ("mdr.de"), typed so, or named like the site or a
    publication."""
    name_key = key(name)
    if name_key == sources.host_key or _DOMAIN.fullmatch(name):
        return True
    if kind != "unknown":
        return kind == "org"
    sites = sources.site_keys
    return (
        name_key in sites or name_key.removeprefix("the") in sites or bool(_ORG_WORDS.search(name))
    )


def _without_wrappers(names: list[str]) -> list[str]:
    """Names minus those that hold another one in more words: a byline block read
    whole beside its name element ("Written by Ann Lee Follow" beside "Ann Lee")."""
    padded = [f" {name} " for name in names]
    return [
        name
        for name, outer in zip(names, padded, strict=True)
        if not any(inner in outer and inner != outer for inner in padded)
    ]


def authors(sources: Sources, chosen: Mapping[str, Any]) -> Answer:
    """People from the most trusted source that names any; organisations only if none does."""
    by_method: dict[str, list[tuple[str, bool]]] = {}
    for candidate in ranked(sources.candidates.get("authors"), AUTHOR_ORDER):
        raw, kind = candidate.value
        if re.match(r"https?://", raw):
            continue  # article:author is often a profile URL
        names = by_method.setdefault(candidate.method, [])
        names.extend((name, _is_org(name, kind, sources)) for name in split_authors(raw))
    for method, names in by_method.items():
        people = list(dict.fromkeys(name for name, is_org in names if not is_org))
        if people:
            yield _without_wrappers(people), method
            return
    for method, names in by_method.items():
        if names:
            yield list(dict.fromkeys(name for name, _ in names)), method
            return


# body ------------------------------------------------------------------------------------


def is_own(sources: Sources, method: str) -> bool:
    """Whether a structured body is this page's story, not a teaser in the app state.

    JSON-LD and microdata bodies come from the page's own article node; an
    app-state object must carry the headline the page shows (title, og:title,
    headings).
    """
    if method not in ("next-data", "app-state"):
        return True
    found = sources.candidates
    state_headline = found.first("headline", (method,))
    if state_headline is None:
        return False
    shown = {
        key(strip_site_suffix(c.value, sources.site_names))
        for c in found.get("headline")
        if c.method in ("title", "opengraph", "dom")
    }
    return key(state_headline.value) in shown


def _is_dateline(line: str) -> bool:
    """A line that is nothing but a date, as printed above a story's first paragraph."""
    match = TEXT_DATE.search(line) if len(line) <= MAX_META_TEXT else None
    return match is not None and len(match[0]) >= WHOLE_DATE * len(line)


def _covers(lines: list[str], other: list[str], share: float) -> bool:
    """Whether ``lines`` hold at least ``share`` of the words of ``other``."""
    words = Counter(_WORD.findall(" ".join(lines).casefold()))
    wanted = Counter(_WORD.findall(" ".join(other).casefold()))
    total = sum(wanted.values())
    return total > 0 and sum((wanted & words).values()) >= share * total


def _clean_body(sources: Sources, lines: list[str], title: str | None) -> list[str]:
    """Lines minus boilerplate and copyright notices, and minus the headline, byline,
    date and dek lines a story's text starts with."""
    lines = [normalize_text(line) for line in lines]
    lines = [
        line
        for line in lines
        if any(ch.isalnum() for ch in line)
        and not is_boilerplate(line)
        and not _COPYRIGHT.search(line)
    ]
    skip = set(sources.dom.meta_texts)
    if title:
        skip.add(key(title))
    start = 0
    while start < len(lines) and (key(lines[start]) in skip or _is_dateline(lines[start])):
        start += 1
    return lines[start:]


def body(sources: Sources, chosen: Mapping[str, Any]) -> Answer:
    """trafilatura's text, unless the page's structured body shows it is partial or wrong.

    A structured body wins when trafilatura's text holds under half of its
    words (a paywall teaser, or trafilatura picked a menu on a script-rendered
    page), or when it holds all of trafilatura's words in more paragraphs.
    """
    title = chosen.get("headline")
    dom = sources.dom
    structured = [
        (_clean_body(sources, list(c.value), title), c.method)
        for c in ranked(sources.candidates.get("articleBody"), BODY_ORDER)
        if is_own(sources, c.method)
    ]
    structured = [(lines, method) for lines, method in structured if lines]
    full = [(lines, m) for lines, m in structured if sum(map(len, lines)) >= MIN_STRUCTURED_BODY]
    whole = [(lines, m) for lines, m in full if sum(map(len, lines)) >= _WHOLE_STORY]
    if whole and max(dom.prose_runs.values(), default=0) < FOCUS_MIN_RUN:
        # No prose in the DOM (script-rendered, paywalled, live blog): the story is
        # in the data, and trafilatura would only find menus or a teaser. A short
        # structured body (a teaser or summary) is weighed against trafilatura's text.
        yield whole[0]
        return
    text = _clean_body(sources, main_text(sources, fallbacks=not full), title)
    for lines, method in full:
        if not _covers(text, lines, _TEASER_SHARE):
            yield lines, method
            return
        if len(lines) > len(text) and _covers(lines, text, _COVERAGE):
            yield lines, method
            return
    if text:
        yield text, "trafilatura"
        return
    if structured:
        yield structured[0]
        return
    if not dom.prose_runs:
        return
    container = dom.prose_runs.most_common(1)[0][0]
    paragraphs = _clean_body(sources, texts(container.xpath("./p|./*/p")), title)
    if paragraphs:
        yield paragraphs, "dom"


# source ----------------------------------------------------------------------------------


def source(sources: Sources, chosen: Mapping[str, Any]) -> Answer:
    for candidate in ranked(sources.candidates.get("source"), SOURCE_ORDER):
        publisher = dict(candidate.value)
        if "url" not in publisher:
            parts = urlsplit(sources.url)
            publisher["url"] = f"{parts.scheme}://{parts.netloc}/"
        yield publisher, candidate.method
        return


RULES: tuple[tuple[str, Rule], ...] = (
    ("headline", headline),
    ("description", by_trust("description", DESCRIPTION_ORDER)),
    ("mainImage", by_trust("mainImage", IMAGE_ORDER)),
    ("datePublishedRaw", published),
    ("dateModifiedRaw", modified),
    ("authors", authors),
    ("articleBody", body),
    ("canonicalUrl", by_trust("canonicalUrl", CANONICAL_ORDER)),
    ("inLanguage", by_trust("inLanguage", LANGUAGE_ORDER)),
    ("breadcrumbs", by_trust("breadcrumbs", BREADCRUMB_ORDER)),
    ("relatedArticles", by_trust("relatedArticles", RELATED_ORDER)),
    ("source", source),
)
"""Field -> its rule, in the order fields are decided."""
