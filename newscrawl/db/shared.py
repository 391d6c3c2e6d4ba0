"""One database per crawl, shared by every component that needs it.

The store pipeline, the incremental middleware and the run recorder all talk to
the same PostgreSQL. Opening it in each would start (or join) the embedded
server, run the migrations and open a pool once per component; here the first
user opens the store (:func:`~newscrawl.db.session.open_store`) and the last one
to leave closes it. Components may leave in any order: the run recorder writes
after the pipelines have closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from newscrawl.db.connection import DATABASE_URL_ENV, DEFAULT_DATA_DIR
from newscrawl.db.session import RetryPolicy, StoreSession, describe, open_store

_ATTRIBUTE = "_newscrawl_database"


class CrawlerDatabase:
    """The crawl's store: resolved, migrated and pooled on first :meth:`acquire`.

    Settings: ``NEWSCRAWL_DATABASE_URL`` (None: the embedded server in
    ``NEWSCRAWL_DATA_DIR``), ``NEWSCRAWL_SPOOL_DIR``, ``NEWSCRAWL_STORE_TIMEOUT`` and
    ``NEWSCRAWL_STORE_RETRY_*``. Every :meth:`acquire` must be paired with a :meth:`release`.
    """

    def __init__(self, settings: BaseSettings) -> None:
        self.url: str | None = settings.get("NEWSCRAWL_DATABASE_URL") or None
        self.data_dir: str = settings.get("NEWSCRAWL_DATA_DIR") or DEFAULT_DATA_DIR
        self.spool_dir: str | None = settings.get("NEWSCRAWL_SPOOL_DIR") or None
        self.timeout = settings.getfloat("NEWSCRAWL_STORE_TIMEOUT", 30.0)
        self.retry = RetryPolicy(
            times=max(0, settings.getint("NEWSCRAWL_STORE_RETRY_TIMES", 5)),
            backoff=settings.getfloat("NEWSCRAWL_STORE_RETRY_BACKOFF", 1.0),
            backoff_max=settings.getfloat("NEWSCRAWL_STORE_RETRY_BACKOFF_MAX", 30.0),
        )
        self.session: StoreSession | None = None
        self._resources = contextlib.AsyncExitStack()
        self._users = 0
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlerDatabase:
        """The instance shared by ``crawler``'s components (created on first call)."""
        shared = getattr(crawler, _ATTRIBUTE, None)
        if shared is None:
            shared = cls(crawler.settings)
            setattr(crawler, _ATTRIBUTE, shared)
        return shared

    async def acquire(self) -> StoreSession:
        """The open store; the first caller opens it (raises ``StoreUnavailable`` if it can't)."""
        async with self._lock:
            if self.session is None:
                store = open_store(
                    self.url,
                    self.data_dir,
                    spool_dir=self.spool_dir,
                    timeout=self.timeout,
                    retry=self.retry,
                )
                self.session = await self._resources.enter_async_context(store)
            self._users += 1
            return self.session

    @property
    def label(self) -> str:
        """The database's name for log lines (password masked)."""
        return self.session.database.label if self.session else "PostgreSQL (not connected)"

    def describe(self, exc: BaseException) -> str:
        """One log line for ``exc``, without the database password."""
        if self.session is not None:
            return describe(exc, self.session.database.dsn)
        return describe(exc, self.url or os.environ.get(DATABASE_URL_ENV))

    async def release(self) -> None:
        """Leave; the last user closes the store and releases the embedded server."""
        async with self._lock:
            self._users -= 1
            if self._users > 0:
                return
            self.session = None
            await self._resources.aclose()
