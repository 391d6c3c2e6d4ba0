"""One database per crawl, shared by every component that needs it.

The store pipeline, the incremental middleware and the run recorder all talk to
the same PostgreSQL. Resolving it in each would start (or join) the embedded
server, run the migrations and open a pool once per component; here the first
user does that work and the last one to leave closes the pool and releases the
server. Components may leave in any order: the run recorder writes after the
pipelines have closed.
"""

from __future__ import annotations

import asyncio
import os

import psycopg
from psycopg_pool import AsyncConnectionPool
from scrapy.crawler import Crawler

from newscrawl.db.connection import DATABASE_URL_ENV, DEFAULT_DATA_DIR, Database
from newscrawl.db.migrate import migrate
from newscrawl.db.session import describe

_ATTRIBUTE = "_newscrawl_database"


class CrawlerDatabase:
    """The crawl's database: resolved, migrated and pooled on first :meth:`acquire`.

    Settings: ``NEWSCRAWL_DATABASE_URL`` (None: the embedded server in
    ``NEWSCRAWL_DATA_DIR``). Every :meth:`acquire` must be paired with a :meth:`release`.
    """

    def __init__(self, url: str | None, data_dir: str) -> None:
        self.url = url
        self.data_dir = data_dir
        self.database: Database | None = None
        self.pool: AsyncConnectionPool | None = None
        self._users = 0
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlerDatabase:
        """The instance shared by ``crawler``'s components (created on first call)."""
        shared = getattr(crawler, _ATTRIBUTE, None)
        if shared is None:
            settings = crawler.settings
            shared = cls(
                settings.get("NEWSCRAWL_DATABASE_URL") or None,
                settings.get("NEWSCRAWL_DATA_DIR") or DEFAULT_DATA_DIR,
            )
            setattr(crawler, _ATTRIBUTE, shared)
        return shared

    async def acquire(self) -> AsyncConnectionPool:
        """The open pool of a migrated database; the first caller resolves and migrates it."""
        async with self._lock:
            if self.pool is None:
                database = await Database.resolve(self.url, self.data_dir)
                try:
                    async with await psycopg.AsyncConnection.connect(
                        database.dsn, autocommit=True
                    ) as conn:
                        await migrate(conn)
                    self.pool = await database.open_pool()
                except BaseException:
                    await database.close()
                    raise
                self.database = database
            self._users += 1
            return self.pool

    @property
    def label(self) -> str:
        """The database's name for log lines (password masked)."""
        return self.database.label if self.database else "PostgreSQL (not connected)"

    def describe(self, exc: BaseException) -> str:
        """One log line for ``exc``, without the database password."""
        dsn = self.database.dsn if self.database else self.url or os.environ.get(DATABASE_URL_ENV)
        return describe(exc, dsn)

    async def release(self) -> None:
        """Leave; the last user closes the pool and releases the embedded server."""
        async with self._lock:
            self._users -= 1
            if self._users > 0:
                return
            pool, database = self.pool, self.database
            self.pool = self.database = None
            if pool is not None:
                await pool.close()
            if database is not None:
                await database.close()
