"""ArticleLoader: wires the pure processors to the record's fields.

Page objects hand over raw values (an :class:`~newscrawl.pages.base.Extraction`);
everything that turns page noise into clean, typed values happens here, so
every extractor gets the same normalisation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import html_text
from itemloaders.processors import Compose, Identity, MapCompose, TakeFirst
from itemloaders.utils import arg_to_iter, get_func_args
from scrapy.http import Response
from scrapy.loader import ItemLoader

from newscrawl.items import Article
from newscrawl.pages.base import Extraction
from newscrawl.processors import (
    body_hash,
    cached_canonical_url,
    collapse_doubled,
    is_boilerplate,
    normalize_paragraphs,
    normalize_text,
    parse_date,
    split_authors,
    split_byline,
    strip_icon_label,
)


def fetch_time(response: Response, now: datetime | None = None) -> datetime:
    """When the response was fetched: its ``Date`` header if sane, else ``now`` (default:
    this moment; an extraction worker is told when the crawl took the page).

    Relative times on the page ("an hour ago") are relative to this moment.
    """
    now = now or datetime.now(UTC)
    header = response.headers.get(b"Date")
    if header:
        try:
            stamp = parsedate_to_datetime(header.decode("latin-1"))
        except (TypeError, ValueError):
            return now
        if stamp.tzinfo is not None and abs((now - stamp).total_seconds()) < 86400:
            return stamp.astimezone(UTC)
    return now


def _date(value: str, loader_context: dict[str, Any]) -> str | None:
    return parse_date(
        value,
        reference=loader_context.get("reference"),
        day_first=loader_context.get("day_first", True),
    )


_ABSOLUTE_RE = re.compile(r"https?://", re.I)


def _url(value: str, loader_context: dict[str, Any]) -> str | None:
    # An absolute URL is canonical whatever page it is on: one cache entry for all (the
    # one ``url_key`` reads too: called alike).
    if _ABSOLUTE_RE.match(value):
        return cached_canonical_url(value)
    return cached_canonical_url(value, loader_context.get("base_url"))


_SURROGATES_RE = re.compile("[\ud800-\udfff]")
# Markup for real: a closing tag, a comment, a tag with attributes, or the paragraph and
# line breaks bodies are written with. "Why <script> tags break" is a headline's text.
_MARKUP_RE = re.compile(
    r"</[a-zA-Z][a-zA-Z0-9-]*\s*>|<!--.*?-->|<[a-zA-Z][a-zA-Z0-9-]*\s+[^<>]*=[^<>]*>"
    r"|<(?:p|br|hr|li)\s*/?>",
    re.S | re.I,
)
# Methods that read text nodes or the <title>: text already, whatever it looks like.
TEXT_METHODS = frozenset({"dom", "title", "doubled", "byline"})


def as_text(value: Any, method: str | None) -> Any:
    """A raw value (string, or lists and dicts of them) as text fit to store.

    Values read from structured data (JSON-LD, app state, meta attributes) may hold
    HTML: when they hold real markup (:data:`_MARKUP_RE`) it becomes its text, without
    scripts or styles, paragraphs kept as lines. Text nodes read from the DOM are text
    already; a ``<b>`` in them is what the page shows, so it stays. Lone surrogates (from
    JSON ``\\ud800`` escapes) are dropped: they cannot be encoded, so no feed or
    database could take the record.
    """
    if isinstance(value, str):
        if not value.isascii():  # ASCII (most text) holds no surrogate, and says so at once
            value = _SURROGATES_RE.sub("", value)
        if (
            "<" in value  # where all markup starts
            and (method or "").rsplit("/", 1)[-1] not in TEXT_METHODS
            and _MARKUP_RE.search(value)
        ):
            value = html_text.extract_text(value, guess_layout=True)
        return value
    if isinstance(value, list):
        return [as_text(item, method) for item in value]
    if isinstance(value, dict):
        return {key: as_text(item, method) for key, item in value.items()}
    return value


def _body(values: list[Any]) -> str:
    lines: list[str] = []
    for value in values:
        lines.extend(value if isinstance(value, (list, tuple)) else str(value).split("\n"))
    return normalize_paragraphs(line for line in lines if not is_boilerplate(str(line)))


def _source(value: Any, loader_context: dict[str, Any]) -> dict[str, str] | None:
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        return None
    name = normalize_text(str(value.get("name") or ""))
    url = _url(str(value["url"]), loader_context) if value.get("url") else None
    source = {key: val for key, val in (("name", name), ("url", url)) if val}
    return source or None


def _related(value: Any, loader_context: dict[str, Any]) -> dict[str, str] | None:
    if not isinstance(value, dict) or not value.get("url"):
        return None
    url = _url(str(value["url"]), loader_context)
    if not url:
        return None
    related: dict[str, str] = {"url": url}
    if value.get("headline"):
        related["headline"] = collapse_doubled(normalize_text(str(value["headline"])))
    raw = value.get("datePublishedRaw")
    if raw:
        related["datePublishedRaw"] = strip_icon_label(normalize_text(str(raw)))
        parsed = _date(related["datePublishedRaw"], loader_context)
        if parsed:
            related["datePublished"] = parsed
    return related


def _unique_by_url(values: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[str] = set()
    unique = []
    for value in values:
        if value["url"] not in seen:
            seen.add(value["url"])
            unique.append(value)
    return unique


def _authors(names: list[str]) -> list[dict[str, str]]:
    return [{"name": name} for name in split_authors(names)]


Step = tuple[Callable[..., Any], bool]  # a function, and whether it takes loader_context


class _Compiled:
    """One field's input or output processor, looked up and inspected once per loader.

    itemloaders looks each field's processors up and inspects every function for a
    ``loader_context`` argument again for every value it processes. Same results: the
    values flow exactly as through :class:`MapCompose`, :class:`Compose` (stopping on
    None), :class:`TakeFirst` and :class:`Identity`, the processors the loader declares.
    """

    def __init__(self, processor: Any) -> None:
        self.processor = processor
        self.steps: tuple[Step, ...] = ()
        if isinstance(processor, MapCompose | Compose):
            functions = processor.functions
            self.steps = tuple((f, "loader_context" in get_func_args(f)) for f in functions)
        elif not isinstance(processor, Identity | TakeFirst):
            raise TypeError(f"ArticleLoader cannot compile {processor!r}")
        if isinstance(processor, Compose) and not processor.stop_on_none:
            raise TypeError(f"ArticleLoader cannot compile {processor!r}")

    def __call__(self, value: Any, context: dict[str, Any]) -> Any:
        processor = self.processor
        if isinstance(processor, Identity):
            return value
        if isinstance(processor, TakeFirst):
            return processor(value)
        if isinstance(processor, MapCompose):
            values = arg_to_iter(value)
            for function, takes_context in self.steps:
                following: list[Any] = []
                for item in values:
                    out = (
                        function(item, loader_context=context) if takes_context else function(item)
                    )
                    if type(out) is str:  # most values: arg_to_iter's answer, without the call
                        following.append(out)
                    else:
                        following += arg_to_iter(out)
                values = following
            return values
        for function, takes_context in self.steps:
            if value is None:
                break
            value = function(value, loader_context=context) if takes_context else function(value)
        return value


_COMPILED: dict[tuple[type[ItemLoader], str, str], _Compiled] = {}  # a few per record field


def _compiled(loader: type[ItemLoader], name: str, kind: str) -> _Compiled:
    """``loader``'s processor of field ``name``, ``kind`` "in" or "out", compiled once."""
    compiled = _COMPILED.get((loader, name, kind))
    if compiled is None:
        default = getattr(loader, f"default_{kind}put_processor")
        compiled = _COMPILED[loader, name, kind] = _Compiled(
            getattr(loader, f"{name}_{kind}", None) or default
        )
    return compiled


class ArticleLoader(ItemLoader):
    """Normalises raw extraction values into an :class:`Article`.

    Context keys: ``base_url`` (to resolve relative links), ``reference``
    (fetch time, for relative dates), ``day_first`` (ambiguous dates).
    """

    default_item_class = Article
    default_input_processor = MapCompose(str, normalize_text)
    default_output_processor = TakeFirst()

    headline_in = MapCompose(str, normalize_text, collapse_doubled)
    articleBody_in = Identity()
    articleBody_out = Compose(_body)
    url_in = canonicalUrl_in = MapCompose(str, _url)
    datePublished_in = dateModified_in = MapCompose(str, normalize_text, _date)
    mainImage_in = MapCompose(str, _url)
    mainImage_out = Compose(TakeFirst(), lambda url: {"url": url})
    authors_in = Identity()
    authors_out = Compose(_authors)
    source_in = MapCompose(_source)
    relatedArticles_in = MapCompose(_related)
    relatedArticles_out = Compose(_unique_by_url)
    breadcrumbs_in = breadcrumbs_out = Identity()
    provenance_in = pageType_in = probability_in = Identity()

    @classmethod
    def from_extraction(
        cls,
        extraction: Extraction,
        response: Response,
        *,
        spider: str,
        day_first: bool = True,
        reference: datetime | None = None,
    ) -> Article:
        """Build the record for ``response`` from a page object's raw values.

        ``reference`` (default: the fetch time) anchors relative dates.
        """
        reference = reference or fetch_time(response)
        collected = _Collected(
            cls, {"base_url": response.url, "reference": reference, "day_first": day_first}
        )
        methods = dict(extraction.methods)
        values = {name: as_text(raw, methods.get(name)) for name, raw in extraction.values.items()}
        byline = values.pop("byline", None)
        if byline:
            # "Russia Today17-05-2025": publisher glued to the date.
            byline_method = methods.pop("byline")
            name, date_raw = split_byline(normalize_text(str(byline)))
            source = values.get("source") or {}
            if name and not source.get("name"):
                values["source"] = {**source, "name": name}
                methods.setdefault("source", byline_method)
            if date_raw and not values.get("datePublishedRaw"):
                values["datePublishedRaw"] = date_raw
                methods["datePublishedRaw"] = byline_method
        for name in ("datePublished", "dateModified"):
            if values.get(f"{name}Raw") and not values.get(name):
                values[name] = values[f"{name}Raw"]
        collected.add("url", response.url)
        collected.add("canonicalUrl", values.pop("canonicalUrl", None) or response.url)
        for name, value in values.items():
            if name in Article.fields:
                collected.add(name, value)
        collected.add("dateDownloaded", reference.isoformat(timespec="seconds"))
        collected.add("pageType", extraction.page_type)
        collected.add("probability", extraction.probability)
        # Provenance is keyed by record field: a raw date's method is the date's method.
        fields = {name.removesuffix("Raw"): method for name, method in sorted(methods.items())}
        collected.add("provenance", {"spider": spider, "fields": fields})
        item = collected.item()
        if item.get("articleBody"):
            item["bodyHash"] = body_hash(item["articleBody"])
        return item


class _Collected:
    """What :meth:`ItemLoader.add_value` then :meth:`~ItemLoader.load_item` do, without
    their per-value lookups (see :class:`_Compiled`): the record is the same."""

    def __init__(self, loader: type[ArticleLoader], context: dict[str, Any]) -> None:
        self.loader = loader
        self.context = context
        self.values: dict[str, list[Any]] = {}

    def add(self, name: str, value: Any) -> None:
        if value is None:
            return
        processed = _compiled(self.loader, name, "in")(arg_to_iter(value), self.context)
        if processed:
            self.values.setdefault(name, [])
            self.values[name] += arg_to_iter(processed)

    def item(self) -> Article:
        item = self.loader.default_item_class()
        for name, values in self.values.items():
            value = _compiled(self.loader, name, "out")(values, self.context)
            if value is not None:
                item[name] = value
        return item
