"""``newscrawl frontier status|seed|clear``: look after a shared-frontier crawl.

``status`` shows what a crawl has queued, leased and seen, the workers alive and
the largest host queues (every crawl in Redis without a crawl id). ``seed``
pushes a spider's start requests into a crawl (workers started later take them,
and do not seed it again). ``clear`` deletes a crawl's keys, so its id can be
used for a fresh crawl.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from newscrawl.redact import redact
from newscrawl.vocab import STATS_FRONTIER


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``frontier`` command's subcommands and options."""
    actions = parser.add_subparsers(dest="action", required=True)
    status = actions.add_parser("status", help="queued, leased, seen, workers, host queues")
    status.add_argument("crawl_id", nargs="?", help="one crawl (default: list every crawl)")
    status.add_argument("--json", action="store_true", help="print JSON")
    seed = actions.add_parser("seed", help="push a spider's start requests into a crawl")
    seed.add_argument("spider", help="spider name, e.g. daily8")
    seed.add_argument("crawl_id")
    seed.add_argument(
        "-a",
        dest="spider_args",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="spider argument, as for scrapy crawl",
    )
    clear = actions.add_parser("clear", help="delete a crawl's queue, leases and seen set")
    clear.add_argument("crawl_id")
    for action in (status, seed, clear):
        action.add_argument("--url", help="Redis URL (default: $NEWSCRAWL_FRONTIER_URL)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from newscrawl.cli import project_settings

    settings = project_settings({"NEWSCRAWL_FRONTIER_URL": args.url} if args.url else None)
    url = settings.get("NEWSCRAWL_FRONTIER_URL")
    if not url:
        print("newscrawl frontier: set NEWSCRAWL_FRONTIER_URL or give --url", file=sys.stderr)
        return 2
    if args.action == "seed":
        return seed(args, settings)
    from redis.exceptions import RedisError

    try:
        return asyncio.run(_status(url, args) if args.action == "status" else _clear(url, args))
    except (RedisError, ValueError) as exc:
        print(f"newscrawl frontier: {redact(str(exc), url)}", file=sys.stderr)
        return 2


async def _status(url: str, args: argparse.Namespace) -> int:
    from newscrawl.frontier.queue import Frontier, crawl_ids

    redis = Frontier.client(url)
    try:
        ids = [args.crawl_id] if args.crawl_id else await crawl_ids(redis)
        reports = [await Frontier(redis, crawl_id).status() for crawl_id in ids]
    finally:
        await redis.aclose()
    if args.json:
        print(json.dumps(reports if not args.crawl_id else reports[0], indent=2))
    elif not reports:
        print("No crawls in this Redis")
    for report in reports if not args.json else []:
        print(_format(report))
    return 0


def _format(report: dict[str, Any]) -> str:
    lines = [
        f"crawl {report['crawl_id']} (seeded: {report['seeded']})",
        f"  queued {report['queued']}, leased {report['leased']}, seen {report['seen']}",
        f"  workers alive: {len(report['workers_alive'])}"
        + "".join(f"\n    {worker}" for worker in report["workers_alive"]),
    ]
    if report["hosts"]:
        lines.append("  largest host queues:")
        lines += [f"    {host:<40} {size}" for host, size in report["hosts"].items()]
    if report["stats"]:
        lines.append("  " + ", ".join(f"{key} {value}" for key, value in report["stats"].items()))
    return "\n".join(lines)


async def _clear(url: str, args: argparse.Namespace) -> int:
    from newscrawl.frontier.queue import Frontier

    redis = Frontier.client(url)
    try:
        deleted = await Frontier(redis, args.crawl_id).clear()
    finally:
        await redis.aclose()
    print(f"Cleared crawl {args.crawl_id}: {deleted} keys deleted")
    return 0


def seed(args: argparse.Namespace, settings: Any) -> int:
    """Run the spider as a seed-only worker: it pushes its start requests and stops."""
    from scrapy.crawler import CrawlerProcess

    from newscrawl.frontier.queue import check_crawl_id

    try:
        check_crawl_id(args.crawl_id)
        spider_args = dict(arg.split("=", 1) for arg in args.spider_args)
    except ValueError as exc:
        print(f"newscrawl frontier seed: {exc} (spider arguments are NAME=VALUE)", file=sys.stderr)
        return 2
    settings.setdict(
        {
            "NEWSCRAWL_FRONTIER_SEED_ONLY": True,
            # seeding stores nothing and renders nothing
            "NEWSCRAWL_STORE_ENABLED": False,
            "ROBOTSTXT_OBEY": False,
            "LOG_LEVEL": "INFO",
        },
        priority="cmdline",
    )
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(args.spider)
    process.crawl(crawler, crawl_id=args.crawl_id, render="never", **spider_args)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    pushed = stats.get(f"{STATS_FRONTIER}/pushed", 0)
    print(f"Seeded crawl {args.crawl_id}: {pushed} requests pushed")
    return 0 if stats.get("finish_reason") == "finished" else 1
