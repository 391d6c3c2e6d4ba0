"""Reaching what crawls stored: the configured or embedded database, outside a crawl.

``newscrawl export``, ``newscrawl report`` and ``newscrawl db shell`` open the same
database a crawl would (``--database-url`` / ``NEWSCRAWL_DATABASE_URL``, else the
embedded server in ``--data-dir`` / ``NEWSCRAWL_DATA_DIR``). The embedded server
is stopped after each crawl; these commands start it for their own time and
release it when done.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import psycopg
from scrapy.settings import Settings

from newscrawl import settings as defaults
from newscrawl.db.connection import Database, connect_timeout
from newscrawl.db.errors import classify, describe, hint

# The articles a crawl_runs row ``r`` wrote (inserted, updated, found unchanged or merged
# a URL into), from run_articles (migration 0009). Runs from before that migration have no
# rows there: for them, the articles of their spider last seen while they ran (last_seen
# is the download time, which records keep to the second).
RUN_ARTICLES = (
    "(a.id IN (SELECT ra.article_id FROM run_articles ra WHERE ra.run_id = r.id)"
    " OR (r.started_at < (SELECT m.applied_at FROM schema_migrations m"
    " WHERE m.name = '0009_run_articles.sql')"
    " AND a.spider = r.spider AND a.last_seen >= date_trunc('second', r.started_at)"
    " AND a.last_seen <= coalesce(r.finished_at, now())))"
)


class ResultsError(RuntimeError):
    """A one-line reason a command could not read the database."""


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="PostgreSQL DSN (default: $NEWSCRAWL_DATABASE_URL; unset: the embedded server)",
    )
    parser.add_argument(
        "--data-dir",
        help=f"embedded database base directory (default: {defaults.NEWSCRAWL_DATA_DIR})",
    )


def _settings() -> Settings:
    """The project's settings, where environment variables are read."""
    settings = Settings()
    settings.setmodule("newscrawl.settings", priority="project")
    return settings


@contextlib.contextmanager
def database(url: str | None, data_dir: str | None) -> Iterator[Database]:
    """The resolved database, the embedded server held while the block runs."""
    settings = _settings()
    url = url or settings.get("NEWSCRAWL_DATABASE_URL") or None
    data_dir = data_dir or settings["NEWSCRAWL_DATA_DIR"]
    try:
        resolved = asyncio.run(Database.resolve(url, data_dir))
    except Exception as exc:
        raise ResultsError(f"cannot open the database: {describe(exc, url)}") from None
    try:
        yield resolved
    finally:
        asyncio.run(resolved.close())


@contextlib.contextmanager
def connect(args: argparse.Namespace) -> Iterator[tuple[psycopg.Connection[Any], str]]:
    """A connection to the database ``args`` name, and the database's label."""
    with database(args.database_url, args.data_dir) as db:
        try:
            timeout = connect_timeout(_settings().getfloat("NEWSCRAWL_STORE_TIMEOUT"))
            conn = psycopg.connect(db.dsn, connect_timeout=timeout)
        except psycopg.OperationalError as exc:
            fix = f"; {hint(exc)}" if classify(exc) == "config" else ""
            raise ResultsError(f"cannot use {db.label}: {describe(exc, db.dsn)}{fix}") from None
        with conn:
            yield conn, db.label


def run_shell(url: str | None, data_dir: str | None, psql_args: list[str]) -> int:
    """``newscrawl db shell``: ``psql`` on the database, with psql's own options
    (``-c SQL``, ``-A``...); its exit code."""
    psql = shutil.which("psql")
    try:
        if psql is None:
            raise ResultsError("psql is not installed (Debian: apt-get install postgresql-client)")
        with database(url, data_dir) as db:
            return subprocess.call([psql, db.dsn, *psql_args])
    except ResultsError as exc:
        print(f"newscrawl db shell: error: {exc}", file=sys.stderr)
        return 1
