"""Extraction outside a crawl: one page, or a stream of pages from another program.

``newscrawl extract page.html --url URL``, ``newscrawl extract URL`` and
``newscrawl extract --jsonl`` (JSON lines ``{"url", "html"}`` on stdin, one
record per line on stdout, in order, flushed line by line) all run the same
page objects and loader as the spiders, so their records match a crawl's.
Every page gets a record (a listing too): ``pageType`` and ``probability``
say what it is, and the caller decides what to keep.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterable
from typing import IO, Any

from scrapy.http import HtmlResponse

from newscrawl import settings
from newscrawl.loaders import ArticleLoader
from newscrawl.pages.base import ArticlePage
from newscrawl.pages.registry import page_for

logger = logging.getLogger(__name__)

SPIDER = "extract"
BLANK = "about:blank"  # the address of a page that came without one


def extract_record(
    html: str | bytes,
    url: str | None,
    headers: dict[str, str] | None = None,
    page_class: type[ArticlePage] | None = None,
) -> dict[str, Any]:
    """The record of one page, whatever it is: ``pageType`` and ``probability`` say how
    likely it is one story. ``{"url", "error"}`` only when extraction itself fails.

    A page without a known address (``url`` None) is read as if it had none: no
    URL-based signals, and no ``url`` in the record. ``page_class``: the page object
    to read it with (default: the one registered for ``url``'s site, as the ``news``
    spider chooses).
    """
    try:
        address = url or BLANK
        if isinstance(html, str):
            response = HtmlResponse(address, body=html, encoding="utf-8", headers=headers)
        else:
            response = HtmlResponse(address, body=html, headers=headers)
        page = page_class(response) if page_class else page_for(response)
        extraction = page.read()
        item = ArticleLoader.from_extraction(extraction, response, spider=SPIDER)
        record: dict[str, Any] = {name: _plain(value) for name, value in item.items()}
        if url is None:
            record["url"] = None
            record.pop("canonicalUrl", None)
        return record
    except Exception as exc:  # one bad page must not end a stream of many
        logger.debug("Extraction failed for %s", url, exc_info=exc)
        return {"url": url, "error": f"{type(exc).__name__}: {exc}"}


def _plain(value: Any) -> Any:
    """A record value as fresh dicts and lists, as ``ItemAdapter.asdict()`` gives it but
    without asking every nested value which item type it is (a tenth of an extraction)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return value.__class__(_plain(item) for item in value)
    return value


def harness_record(html: str, url: str | None) -> dict[str, Any]:
    """One page for the extraction-quality harness (``score.py``'s ``py:`` protocol).

    The same record as ``extract_record``, with the names the harness reads;
    a page without a record raises, so the harness counts it as a failure.
    """
    record = extract_record(html, url)
    if "error" in record:
        raise RuntimeError(record["error"])
    return {
        "title": record.get("headline"),
        "authors": [author["name"] for author in record.get("authors") or ()],
        "date_published": record.get("datePublished"),
        "body": record.get("articleBody"),
    }


def fetch(url: str, timeout: float = settings.DOWNLOAD_TIMEOUT) -> tuple[bytes, dict[str, str]]:
    """GET ``url`` with newscrawl's user agent: the body and the response headers."""
    request = urllib.request.Request(url, headers={"User-Agent": settings.USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        limit = settings.DOWNLOAD_MAXSIZE
        body = response.read(limit + 1)
        if len(body) > limit:
            raise ValueError(f"page larger than {limit} bytes")
        return body, dict(response.headers.items())


def run_jsonl(lines: Iterable[str], out: IO[str]) -> int:
    """One record per input line, in order; returns how many lines failed."""
    failures = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        page = None
        try:
            page = json.loads(line)
            url, html = page["url"], page["html"]
            if not isinstance(url, str | None) or not isinstance(html, str):
                raise TypeError("url must be a string or null, html a string")
        except (ValueError, KeyError, TypeError) as exc:
            record: dict[str, Any] = {"line": number, "error": f"bad input line: {exc}"}
            if isinstance(page, dict) and isinstance(page.get("url"), str):
                record = {"url": page["url"], **record}
        else:
            record = extract_record(html, url)
        failures += "error" in record
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    return failures
