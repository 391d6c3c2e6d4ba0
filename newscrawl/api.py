"""The Python API: ``newscrawl.extract(html, url=...)`` and ``newscrawl.crawl(...)``.

``extract`` runs the crawl's page objects and item loader in the calling process
(no Scrapy engine, no network). ``crawl`` runs a real ``scrapy crawl`` in a child
process and yields its records as they are exported: Twisted's reactor cannot be
restarted within one process, so a subprocess is the only way to offer crawls that
can be run many times, from any thread, next to any event loop.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

import orjson


class ExtractionError(ValueError):
    """The page could not be read."""


class CrawlError(RuntimeError):
    """``scrapy crawl`` could not run; the message is its error line."""


def extract(
    html: str | bytes,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    page: str | None = None,
) -> dict[str, Any]:
    """The article record of one page, as a crawl would store it.

    ``page``: ``"generic"`` or a site with a page object of its own (``"daily8.com"``);
    default: the one a crawl picks (``newscrawl.pages.registry``: by ``url``'s host, else
    by the site name the page gives itself). Every page gives a record:
    ``pageType`` and ``probability`` say how likely it is one story. Raises
    :class:`ExtractionError` when the page cannot be read.
    """
    from newscrawl.extraction import extract_record
    from newscrawl.pages.base import ArticlePage
    from newscrawl.pages.generic import GenericArticlePage
    from newscrawl.pages.registry import SITE_PAGES

    pages: dict[str, type[ArticlePage]] = {"generic": GenericArticlePage, **SITE_PAGES}
    if page is not None and page not in pages:
        raise ValueError(f"page must be one of {', '.join(sorted(pages))}, not {page!r}")
    record = extract_record(html, url, headers, pages[page] if page else None)
    if "error" in record:
        raise ExtractionError(f"{url}: {record['error']}")
    return record


def crawl(
    start_urls: str | Iterable[str],
    *,
    spider: str = "news",
    max_pages: int | None = None,
    store: bool = False,
    settings: dict[str, Any] | None = None,
    **arguments: str,
) -> Iterator[dict[str, Any]]:
    """Crawl from ``start_urls`` with ``spider`` and yield each article record as it comes.

    ``store``: also write to the database (the configured or the embedded one); off
    by default, and then every article is fetched (nothing to compare with).
    ``arguments``: more spider arguments (``feeds=``, ``since=``...); ``settings``:
    Scrapy settings (``{"DEPTH_LIMIT": 2}``). A bad argument raises :class:`CrawlError`
    before anything is fetched. Stopping the iteration early stops the crawl.
    """
    urls = [start_urls] if isinstance(start_urls, str) else list(start_urls)
    args = {"start_urls": ",".join(urls), **arguments}
    if max_pages is not None:
        args["max_pages"] = str(max_pages)
    merged = {"LOG_LEVEL": "WARNING", "NEWSCRAWL_STORE_ENABLED": store, **(settings or {})}
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-o", "-:jsonlines"]
    for name, value in args.items():
        command += ["-a", f"{name}={value}"]
    for name, value in merged.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "newscrawl.settings", "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, env=env)
        assert process.stdout is not None
        try:
            for line in process.stdout:
                yield orjson.loads(line)
            process.wait()
        finally:
            if process.poll() is None:  # the caller stopped early
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=30)
                process.kill()
                process.wait()
        if process.returncode not in (0, -15):
            log.seek(0)
            raise CrawlError(_error_line(log.read().decode(errors="replace"), process.returncode))


def _error_line(log: str, returncode: int) -> str:
    lines = [line for line in log.splitlines() if "error" in line.lower()]
    return lines[-1] if lines else f"scrapy crawl exited with {returncode}"
