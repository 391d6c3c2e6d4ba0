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
from newscrawl.db import commands as db_commands
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
    """Print the article record of a saved page, a URL, or a JSON-lines stream of pages."""
    from newscrawl.extract import extract_record, fetch, run_jsonl

    if args.jsonl:
        run_jsonl(sys.stdin, sys.stdout)
        return 0
    if not args.source:
        print("newscrawl extract: give a file or URL, or --jsonl", file=sys.stderr)
        return 2
    if args.source.startswith(("http://", "https://")):
        body, headers = fetch(args.source)
        record = extract_record(body, args.url or args.source, headers)
    elif args.url:
        with open(args.source, "rb") as page:
            record = extract_record(page.read(), args.url)
    else:
        print("newscrawl extract: a saved page needs --url (its address)", file=sys.stderr)
        return 2
    print(json.dumps(record, ensure_ascii=False, indent=2))
    return 1 if "error" in record else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newscrawl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser("demo", help="crawl the bundled sample site end to end")
    run_demo.add_argument("--articles", type=int, default=48, help="sample site size")
    run_demo.add_argument(
        "--port",
        type=int,
        default=8008,
        help="sample site port; a fixed port keeps URLs, and so re-runs, identical (0: any)",
    )
    run_demo.add_argument(
        "--output", default="articles.jsonl", help="JSON-lines feed path (appended to)"
    )
    run_demo.add_argument("--data-dir", help="embedded PostgreSQL data directory")
    run_demo.add_argument("--log-level", default="INFO")
    run_demo.set_defaults(func=demo)
    run_extract = commands.add_parser("extract", help="print the article record of a page")
    run_extract.add_argument("source", nargs="?", help="a saved HTML file or an http(s) URL")
    run_extract.add_argument("--url", help="the page's address (required for a saved file)")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
