"""The ``newscrawl`` command: the demo job and operator tools.

Crawls themselves run through ``scrapy crawl``; this command holds what
Scrapy has no verb for.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from newscrawl import export, report, schedule
from newscrawl import settings as defaults
from newscrawl.db import commands as db_commands
from newscrawl.demo.site import DEFAULT_ARTICLES, DEFAULT_PORT
from newscrawl.frontier import commands as frontier_commands
from newscrawl.summary import summary_lines


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """newscrawl's settings, wherever the command is run from."""
    settings = Settings()
    settings.setmodule("newscrawl.settings", priority="project")
    settings.update(overrides or {}, priority="cmdline")
    return settings


def demo(args: argparse.Namespace) -> int:
    """Serve the bundled sample site on 127.0.0.1 and crawl it end to end."""
    from newscrawl.demo.server import SiteServer
    from newscrawl.demo.site import SampleSite
    from newscrawl.spiders.daily8 import Daily8Spider

    overrides: dict[str, Any] = {
        # Appended, never truncated: a re-run (which skips stored articles) keeps earlier lines.
        "FEEDS": {args.output: {"format": "jsonlines", "overwrite": False}},
        # Our own loopback server: no need to be gentle with it.
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOAD_DELAY": 0,
        "LOG_LEVEL": args.log_level,
        "NEWSCRAWL_SUMMARY_LOG": False,  # printed below instead
    }
    if args.data_dir:
        overrides["NEWSCRAWL_DATA_DIR"] = args.data_dir
    site = SampleSite(n_articles=args.articles)
    try:
        server = SiteServer(site, port=args.port)
    except OSError as exc:  # the port is taken: any free one will do, at the cost of new URLs
        print(f"Port {args.port} unavailable ({exc.strerror}); using a free one", flush=True)
        server = SiteServer(site)
    with server:
        print(f"Serving the sample Daily8 site at {server.url}/en", flush=True)
        process = CrawlerProcess(project_settings(overrides))
        crawler = process.create_crawler(Daily8Spider)
        process.crawl(crawler, start_urls=f"{server.url}/en")
        process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    print(f"\nnewscrawl demo finished ({stats.get('finish_reason', 'unknown')}):")
    for line in summary_lines(stats, crawler.settings, Daily8Spider.name):
        print(f"  {line}")
    return 0 if stats.get("finish_reason") == "finished" else 1


def extract(args: argparse.Namespace) -> int:
    """Print the article record of saved pages or URLs, or of a JSON-lines stream of pages.

    Exit codes: 0 every page gave a record, 1 some did not (each is one error line, or
    an ``{"url", "error"}`` record in JSON formats), 2 a usage mistake.
    """
    from newscrawl.extraction import run_jsonl

    if args.jsonl:
        run_jsonl(sys.stdin, sys.stdout)
        return 0
    if args.source and not args.source.startswith(("http://", "https://")) and not args.url:
        print("newscrawl extract: error: a saved page needs --url (its address)", file=sys.stderr)
        return 2
    sources = [args.source] if args.source else []
    if args.input_file:
        try:
            with open(args.input_file, encoding="utf-8") as listing:
                sources += [line.strip() for line in listing if line.strip()]
        except OSError as exc:
            print(f"newscrawl extract: error: {args.input_file}: {exc.strerror}", file=sys.stderr)
            return 2
    if not sources:
        print(
            "newscrawl extract: error: give a file or URL, --input-file or --jsonl", file=sys.stderr
        )
        return 2
    pages = extract_pages()
    if args.page and args.page not in pages:
        known = ", ".join(sorted(pages))
        print(f"newscrawl extract: error: --page: expected one of {known}", file=sys.stderr)
        return 2
    page_class = pages[args.page] if args.page else None
    records = [_extract_one(source, args.url, page_class) for source in sources]
    good = [record for record in records if "error" not in record]
    for record in records:  # JSON lines carry errors in the stream, with their url
        if "error" in record and args.format != "jsonl":
            print(f"newscrawl extract: error: {record['url']}: {record['error']}", file=sys.stderr)
        elif args.format == "jsonl":
            print(json.dumps(record, ensure_ascii=False))
        elif args.format != "json":
            print(as_text(record, markdown=args.format == "markdown"), end="\n\n")
    if args.format == "json" and (good or args.input_file):
        shown: Any = good[0] if len(sources) == 1 and not args.input_file else good
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    return 1 if len(good) < len(records) else 0


def extract_pages() -> dict[str, Any]:
    """``--page`` names: ``generic``, or a site (domain) with a page object of its own."""
    from newscrawl.pages.generic import GenericArticlePage
    from newscrawl.pages.registry import SITE_PAGES

    return {"generic": GenericArticlePage, **SITE_PAGES}


def _extract_one(source: str, url: str | None, page_class: Any) -> dict[str, Any]:
    """The record of one URL or saved page; ``{"url", "error"}`` with a one-line reason."""
    import urllib.error

    from newscrawl.extraction import extract_record, fetch

    if source.startswith(("http://", "https://")):
        try:
            body, headers = fetch(source)
        except urllib.error.HTTPError as exc:
            return {"url": source, "error": f"HTTP {exc.code} {exc.reason}"}
        except urllib.error.URLError as exc:
            reason = getattr(exc.reason, "strerror", None) or exc.reason
            return {"url": source, "error": f"cannot fetch: {reason}"}
        except (OSError, ValueError) as exc:
            return {"url": source, "error": f"cannot fetch: {exc}"}
        return extract_record(body, url or source, headers, page_class)
    if not url:
        return {"url": source, "error": "a saved page needs --url (its address)"}
    try:
        with open(source, "rb") as page:
            body = page.read()
    except OSError as exc:
        return {"url": url, "error": f"cannot read {source}: {exc.strerror}"}
    return extract_record(body, url, page_class=page_class)


def as_text(record: dict[str, Any], markdown: bool = False) -> str:
    """A record as plain text (headline, then body) or Markdown (with a byline)."""
    byline = " · ".join(
        part
        for part in (
            ", ".join(author.get("name", "") for author in record.get("authors") or []),
            (record.get("datePublished") or "")[:10],
            (record.get("source") or {}).get("name", ""),
        )
        if part
    )
    body = (record.get("articleBody") or "").replace("\n", "\n\n")
    if markdown:
        parts = [f"# {record.get('headline', '')}", f"*{byline}*" if byline else "", body]
        parts.append(f"<{record.get('canonicalUrl') or record.get('url')}>")
    else:
        parts = [record.get("headline", ""), byline, body]
    return "\n\n".join(part for part in parts if part)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newscrawl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser("demo", help="crawl the bundled sample site end to end")
    run_demo.add_argument("--articles", type=int, default=DEFAULT_ARTICLES, help="sample site size")
    run_demo.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="sample site port; a fixed port keeps URLs, and so re-runs, identical (0: any)",
    )
    run_demo.add_argument(
        "--output", default="articles.jsonl", help="JSON-lines feed path (appended to)"
    )
    run_demo.add_argument("--data-dir", help="embedded PostgreSQL data directory")
    run_demo.add_argument("--log-level", default=defaults.LOG_LEVEL)
    run_demo.set_defaults(func=demo)
    run_extract = commands.add_parser("extract", help="print the article record of a page")
    run_extract.add_argument("source", nargs="?", help="a saved HTML file or an http(s) URL")
    run_extract.add_argument("--url", help="the page's address (required for a saved file)")
    run_extract.add_argument(
        "--input-file", help="a file of URLs or saved pages (with --url), one per line"
    )
    run_extract.add_argument(
        "--format", choices=("json", "jsonl", "txt", "markdown"), default="json"
    )
    run_extract.add_argument(
        "--page",
        help="page object: generic, or a site's (daily8.com); default: the one of the site "
        "the URL's host or the page's own site name (og:site_name, title) says, as crawls pick",
    )
    run_extract.add_argument(
        "--jsonl",
        action="store_true",
        help='read {"url", "html"} JSON lines on stdin, write one record per line',
    )
    run_extract.set_defaults(func=extract)
    schedule.add_arguments(
        commands.add_parser("schedule", help="start scrapyd jobs on their cron schedules")
    )
    db_commands.add_arguments(
        commands.add_parser("db", help="database chores: migrate, replay, shell")
    )
    export.add_arguments(
        commands.add_parser("export", help="write stored articles as JSON lines, CSV or Parquet")
    )
    report.add_arguments(
        commands.add_parser("report", help="a crawl run as an HTML page with charts")
    )
    frontier_commands.add_arguments(
        commands.add_parser("frontier", help="shared-frontier crawls: status, seed, clear")
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
