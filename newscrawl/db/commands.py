"""``newscrawl db migrate`` and ``newscrawl db replay``: database chores outside a crawl.

``migrate`` brings a database's schema up to date before the first crawl (a crawl
does it too, at start). ``replay`` writes what an outage left in the spool, for
when the database is back and no crawl is due soon.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from newscrawl.db.connection import DATABASE_URL_ENV
from newscrawl.db.session import StoreUnavailable, open_store
from newscrawl.redact import RedactingFilter, secrets_of

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``db`` command's subcommands and options."""
    actions = parser.add_subparsers(dest="action", required=True)
    for name, help_text in (
        ("migrate", "apply pending schema migrations"),
        ("replay", "write spooled items (left by a database outage) into the database"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument(
            "--database-url",
            help=f"PostgreSQL DSN (default: ${DATABASE_URL_ENV}; unset: the embedded server)",
        )
        action.add_argument("--data-dir", help="embedded PostgreSQL and spool base directory")
        action.add_argument("--spool-dir", help="spool base directory (default: DATA_DIR/spool)")
        if name == "replay":
            action.add_argument("--batch-size", type=int, default=200)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    url = args.database_url or os.environ.get(DATABASE_URL_ENV) or None
    data_dir = args.data_dir or os.environ.get("NEWSCRAWL_DATA_DIR") or None
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets_of(url)))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    try:
        return asyncio.run(_run(args.action, url, data_dir, args))
    except StoreUnavailable as exc:
        logger.error("%s", exc)
        return 2


async def _run(action: str, url: str | None, data_dir: str | None, args: argparse.Namespace) -> int:
    async with open_store(url, data_dir, spool_dir=args.spool_dir) as session:
        if action == "migrate":
            logger.info(
                "Schema of %s is up to date (%d migrations applied now)",
                session.database.label,
                len(session.applied),
            )
            return 0
        if not session.spool.pending():
            logger.info(
                "Nothing spooled for %s in %s", session.database.label, session.spool.directory
            )
            return 0
        done = await session.replay(args.batch_size)
        left = session.spool.count()
        if left:
            logger.warning("%d items remain in %s", left, session.spool.directory)
        return 1 if done.error is not None or left else 0
