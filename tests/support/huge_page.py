"""A page of a million elements beside a small article, served on 127.0.0.1, and a
measured ``scrapy crawl news`` of them: the page-limit test and ``bench/page_memory.py``.

Parsed, such a page costs a crawl over a gigabyte; the peak RSS of the crawl process
(from the kernel, :mod:`tests.support.measure`) shows whether it was parsed.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from newscrawl.vocab import STATS_ERRORS
from tests.support.crawl import TEST_SETTINGS
from tests.support.measure import run_measured

PARAGRAPH = "<p>" + "The harbour reopened on Monday after a week of repairs. " * 4 + "</p>"
ARTICLE_PATH = "/news/2025/05/01/harbour-reopens.html"
HUGE_PATH = "/news/2025/05/01/huge-page.html"


def page(filler: bytes = b"") -> bytes:
    head = "<html><head><title>Harbour reopens</title></head><body><article>"
    head += "<h1>Harbour reopens</h1>" + PARAGRAPH * 4
    return head.encode() + filler + b"</article></body></html>"


def huge_page(elements: int) -> bytes:
    """The article with ``elements`` more elements (8 bytes each: 8 MB for a million)."""
    return page(b"<b>x</b>" * elements)


@contextmanager
def serve(pages: dict[str, bytes]) -> Iterator[str]:
    """Serve ``pages`` (path -> HTML) on a free loopback port; the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def crawl(name: str, urls: str, settings: dict[str, str], workdir: Path) -> dict[str, Any]:
    """``scrapy crawl news`` of ``urls`` (comma-separated) without the store; what it cost
    (log in ``workdir/<name>.log``) and what it got."""
    stats_file = workdir / f"{name}.stats.json"
    command = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"start_urls={urls}"]
    merged = {
        **TEST_SETTINGS,
        **settings,
        "NEWSCRAWL_STATS_FILE": str(stats_file),
        "NEWSCRAWL_STORE_ENABLED": "False",
        "ROBOTSTXT_OBEY": "False",
    }
    for key, value in merged.items():
        command += ["-s", f"{key}={value}"]
    measured = run_measured(command, log=workdir / f"{name}.log")
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    return {
        "run": name,
        "returncode": measured.returncode,
        "peak_rss_mb": measured.peak_rss_mb,
        "startup_rss_mb": round(stats.get("memusage/startup", 0) / 2**20, 1),
        "wall_s": measured.wall_s,
        "items": stats.get("item_scraped_count", 0),
        "skipped": stats.get(f"{STATS_ERRORS}/too_many_elements", 0),
    }
