"""Memory per page: the peak RSS of a crawl that meets one huge page.

    python -m bench.page_memory [--elements 1000000]

Three ``scrapy crawl news`` runs, each seeded with one page: a normal article
(the baseline), a page of ``--elements`` elements (8 bytes each: 8 MB for a
million) with ``NEWSCRAWL_PAGE_MAX_ELEMENTS=0`` (no limit: parsed like any page),
and the same page with the default limit (skipped before parsing). The peak RSS
of each crawl process comes from the kernel (``os.wait4``). Writes
``bench/results/page_memory.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.common import markdown_table, read_json, run_measured, scrapy_command, write_results

PARAGRAPH = "<p>" + "The harbour reopened on Monday after a week of repairs. " * 4 + "</p>"
ARTICLE_PATH = "/news/2025/05/01/harbour-reopens.html"
HUGE_PATH = "/news/2025/05/01/huge-page.html"


def page(filler: bytes = b"") -> bytes:
    head = "<html><head><title>Harbour reopens</title></head><body><article>"
    head += "<h1>Harbour reopens</h1>" + PARAGRAPH * 4
    return head.encode() + filler + b"</article></body></html>"


def huge_page(elements: int) -> bytes:
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


def crawl(name: str, url: str, settings: dict[str, str], workdir: Path) -> dict[str, Any]:
    stats_file = workdir / f"{name}.stats.json"
    target = ["crawl", "news", "-a", f"start_urls={url}"]
    files = {
        "NEWSCRAWL_STATS_FILE": str(stats_file),
        "NEWSCRAWL_STORE_ENABLED": "False",
        "ROBOTSTXT_OBEY": "False",
    }
    measured = run_measured(
        scrapy_command(target, {**settings, **files}), log=workdir / f"{name}.log"
    )
    stats = read_json(stats_file)
    return {
        "run": name,
        "returncode": measured.returncode,
        "peak_rss_mb": measured.peak_rss_mb,
        "startup_rss_mb": round(stats.get("memusage/startup", 0) / 2**20, 1),
        "wall_s": measured.wall_s,
        "items": stats.get("item_scraped_count", 0),
        "skipped": stats.get("newscrawl/errors/too_many_elements", 0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--elements", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    huge = huge_page(args.elements)
    pages = {ARTICLE_PATH: page(), HUGE_PATH: huge}
    with serve(pages) as base, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        runs = [
            crawl("normal page", base + ARTICLE_PATH, {}, workdir),
            crawl(
                "huge page, no limit",
                base + HUGE_PATH,
                {"NEWSCRAWL_PAGE_MAX_ELEMENTS": "0"},
                workdir,
            ),
            crawl("huge page, default limit", base + HUGE_PATH, {}, workdir),
        ]
    result = {"elements": args.elements, "bytes": len(huge), "runs": runs}
    path = write_results("page_memory", result)
    print(
        markdown_table(
            ["crawl", "items", "skipped", "peak RSS MB", "wall s"],
            [[r["run"], r["items"], r["skipped"], r["peak_rss_mb"], r["wall_s"]] for r in runs],
        )
    )
    print(f"\n{len(huge) / 2**20:.1f} MB page of {args.elements:,} elements; results in {path}")
    return 0 if all(run["returncode"] == 0 for run in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
