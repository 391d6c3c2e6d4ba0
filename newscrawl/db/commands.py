"""``newscrawl db migrate``, ``replay`` and ``shell``: database chores outside a crawl.

``migrate`` brings a database's schema up to date before the first crawl (a crawl
does it too, at start). ``replay`` writes what an outage left in the spool, for
when the database is back and no crawl is due soon; it takes the same write path
as a crawl (:class:`~newscrawl.db.writer.Writer`).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from collections import Counter
from pathlib import Path

from scrapy.settings import Settings

from newscrawl import results
from newscrawl.db.crawl import open_database
from newscrawl.db.errors import DatabaseError
from newscrawl.db.spool import Spool
from newscrawl.db.store import ArticleStore
from newscrawl.db.writer import RetryPolicy, Writer
from newscrawl.redact import RedactingFilter
from newscrawl.runs import replayed_later

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``db`` command's subcommands and options."""
    actions = parser.add_subparsers(dest="action", required=True)
    for name, help_text in (
        ("migrate", "apply pending schema migrations"),
        ("replay", "write spooled items (left by a database outage) into the database"),
        ("shell", "psql on the database, embedded or configured (then psql's options)"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument(
            "--database-url",
            help="PostgreSQL DSN (default: $NEWSCRAWL_DATABASE_URL; unset: the embedded server)",
        )
        action.add_argument("--data-dir", help="embedded PostgreSQL and spool base directory")
        action.add_argument("--spool-dir", help="spool base directory (default: DATA_DIR/spool)")
        if name == "replay":
            action.add_argument("--batch-size", type=int)
        if name == "shell":
            action.add_argument("-c", "--command", help="run this SQL and exit (psql -c)")
            action.add_argument("psql_args", nargs="*", help="more psql options, after --")
    parser.set_defaults(func=run, batch_size=None)  # only replay has --batch-size


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 done, 1 items remain spooled, 2 the database cannot be used."""
    settings = Settings()
    settings.setmodule("newscrawl.settings", priority="project")
    url = args.database_url or settings.get("NEWSCRAWL_DATABASE_URL") or None
    data_dir = args.data_dir or settings.get("NEWSCRAWL_DATA_DIR")
    spool_dir = args.spool_dir or settings.get("NEWSCRAWL_SPOOL_DIR") or Path(data_dir) / "spool"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s"))
    handler.addFilter(RedactingFilter(url))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    if args.action == "shell":
        command = ["-c", args.command] if args.command else []
        return results.run_shell(url, data_dir, command + args.psql_args)
    timeout = settings.getfloat("NEWSCRAWL_STORE_TIMEOUT")
    args.batch_size = args.batch_size or settings.getint("NEWSCRAWL_STORE_BATCH_SIZE")
    # A chore outside a crawl fails at once, where a crawl would wait an outage out.
    retry = dataclasses.replace(RetryPolicy.from_settings(settings), times=0)
    try:
        return asyncio.run(_run(args, url, data_dir, str(spool_dir), timeout, retry))
    except DatabaseError as exc:
        logger.error("%s", exc)
        return 2


async def _run(
    args: argparse.Namespace,
    url: str | None,
    data_dir: str,
    spool_dir: str,
    timeout: float,
    retry: RetryPolicy,
) -> int:
    async with open_database(url, data_dir, timeout=timeout, retry=retry) as (database, applied):
        if args.action == "migrate":
            logger.info(
                "Schema of %s is up to date (%d migrations applied now)",
                database.label,
                len(applied),
            )
            return 0
        spool = Spool.of(database.dsn, spool_dir)
        if not spool.pending():
            logger.info("Nothing spooled for %s in %s", database.label, spool.directory)
            return 0
        counts: Counter[str] = Counter()
        link = database.link(timeout)
        store = ArticleStore(link)
        writer = Writer(
            database,
            store,
            spool,
            retry=retry,
            timeout=timeout,
            count=lambda key, n: counts.update({key: n}),
        )
        try:
            done = await writer.replay(args.batch_size)
            await _credit_runs(store, done.by_run)
        finally:
            await link.close()
        if done.rejected:
            logger.warning(
                "%d items were rejected by the database: see the rejected_items table",
                done.rejected,
            )
        left = spool.count()
        if left:
            logger.warning("%d items remain in %s", left, spool.directory)
        return 1 if left else 0


async def _credit_runs(store: ArticleStore, by_run: dict[str, Counter[str]]) -> None:
    """Add what was replayed to the runs that spooled it: their ``crawl_runs`` rows then
    count every item they stored, whoever wrote it (their ``run_articles`` rows were
    written with the items)."""
    for run_id, credit in by_run.items():
        items = sum(credit.values())
        if await store.change_run(run_id, replayed_later(credit)):
            logger.info("Added %d replayed items to the crawl_runs row of run %s", items, run_id)
        else:
            logger.warning(
                "Run %s has no crawl_runs row to add %d replayed items to", run_id, items
            )
