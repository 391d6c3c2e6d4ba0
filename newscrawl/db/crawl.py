"""Opening the database, and sharing it among a crawl's components.

:func:`open_database` is how anything gets a database: resolve it (a DSN or the
embedded server), bring its schema up to date, and fail in one clear line when
it cannot be used: at once when the server refuses us (credentials, unknown role
or database, malformed DSN), after the retry policy when it is out of reach.

The store pipeline, the incremental middleware and the run recorder all talk to
the same PostgreSQL: :class:`CrawlDatabase` opens it for the first of them and
closes it after the last (the run recorder writes after the pipelines closed).
A failure to open is remembered, so no second retry cycle runs at close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from newscrawl.db.connection import Database, Link
from newscrawl.db.errors import (
    DatabaseError,
    DatabaseMisconfigured,
    DatabaseUnavailable,
    classify,
    describe,
    hint,
)
from newscrawl.db.migrate import migrate
from newscrawl.db.spool import Spool
from newscrawl.db.store import ArticleStore
from newscrawl.db.writer import Count, RetryPolicy, Writer
from newscrawl.redact import RedactingFilter, redact

logger = logging.getLogger(__name__)

_ATTRIBUTE = "_newscrawl_database"


@contextlib.asynccontextmanager
async def open_database(
    url: str | None,
    data_dir: str | os.PathLike[str],
    *,
    timeout: float,
    retry: RetryPolicy,
) -> AsyncIterator[tuple[Database, list[str]]]:
    """The database of ``url`` (None: the embedded server) with its schema up to date, and
    the migrations applied now.

    Raises :class:`DatabaseMisconfigured` or :class:`DatabaseUnavailable`, with a message
    safe to log (no password).
    """
    try:
        database = await Database.resolve(url, data_dir)
    except Exception as exc:  # the embedded server would not start
        raise DatabaseUnavailable(
            f"Cannot start the embedded PostgreSQL: {describe(exc)}"
        ) from None
    try:

        async def connect_and_migrate() -> list[str]:
            async with await database.connect(timeout) as conn:
                return await migrate(conn)

        def on_retry(exc: Exception, failures: int, delay: float) -> None:
            logger.warning(
                "Cannot reach %s (%s); retrying in %.1fs (%d of %d)",
                database.label,
                describe(exc, database.dsn),
                delay,
                failures,
                retry.times,
            )

        try:
            applied = await retry.run(connect_and_migrate, on_retry)
        except Exception as exc:
            message = f"Cannot open {database.label}: {describe(exc, database.dsn)}"
            if classify(exc) == "config":
                raise DatabaseMisconfigured(f"{message} ({hint(exc)})") from None
            if classify(exc) == "outage":
                raise DatabaseUnavailable(message) from None
            raise DatabaseError(message) from None
        yield database, applied
    finally:
        await database.close()


class CrawlDatabase:
    """The crawl's database, opened on first :meth:`acquire`, closed after the last release.

    Settings: ``NEWSCRAWL_DATABASE_URL`` (unset or empty: the embedded server in
    ``NEWSCRAWL_DATA_DIR``), ``NEWSCRAWL_SPOOL_DIR``, ``NEWSCRAWL_STORE_TIMEOUT`` and
    ``NEWSCRAWL_STORE_RETRY_*``. ``run_id`` names the crawl in ``crawl_runs`` and
    ``rejected_items``.
    """

    def __init__(
        self,
        url: str | None,
        data_dir: str,
        spool_dir: str | None,
        timeout: float,
        retry: RetryPolicy,
    ) -> None:
        self.url = url
        self.data_dir = data_dir
        self.spool_dir = spool_dir or str(Path(data_dir) / "spool")
        self.timeout = timeout
        self.retry = retry
        self.run_id = uuid.uuid4()
        self.database: Database | None = None
        self._failure: DatabaseError | None = None
        self._links: list[Link] = []
        self._resources = contextlib.AsyncExitStack()
        self._users = 0
        self._lock = asyncio.Lock()
        self._redaction = RedactingFilter(url)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> CrawlDatabase:
        return cls(
            url=settings.get("NEWSCRAWL_DATABASE_URL") or None,
            data_dir=settings["NEWSCRAWL_DATA_DIR"],
            spool_dir=settings.get("NEWSCRAWL_SPOOL_DIR") or None,
            timeout=settings.getfloat("NEWSCRAWL_STORE_TIMEOUT"),
            retry=RetryPolicy.from_settings(settings),
        )

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlDatabase:
        """The instance shared by ``crawler``'s components (created on first call)."""
        shared = getattr(crawler, _ATTRIBUTE, None)
        if shared is None:
            shared = cls.from_settings(crawler.settings)
            setattr(crawler, _ATTRIBUTE, shared)
        return shared

    @property
    def label(self) -> str:
        """The database's name for log lines (password masked)."""
        if self.database is not None:
            return self.database.label
        return f"PostgreSQL {redact(self.url, self.url)}" if self.url else "embedded PostgreSQL"

    def describe(self, exc: BaseException) -> str:
        """One log line for ``exc``, without the database password."""
        return describe(exc, self.database.dsn if self.database else self.url)

    @property
    def failed(self) -> bool:
        """Opening the database failed (and will not be tried again in this crawl)."""
        return self._failure is not None

    def replay_arguments(self) -> str:
        """What ``newscrawl db replay`` needs to find this crawl's spool."""
        if self.spool_dir != str(Path(self.data_dir) / "spool"):
            return f"--spool-dir {shlex.quote(self.spool_dir)}"
        return f"--data-dir {shlex.quote(self.data_dir)}"

    async def acquire(self) -> Database:
        """The open database; the first caller opens it. Raises :class:`DatabaseError`
        (the same one again for later callers: an open that failed is not retried)."""
        async with self._lock:
            if self._failure is not None:
                raise self._failure
            if self.database is None:
                self._redaction.install()
                opening = open_database(
                    self.url, self.data_dir, timeout=self.timeout, retry=self.retry
                )
                try:
                    self.database, _ = await self._resources.enter_async_context(opening)
                except DatabaseError as exc:
                    self._failure = exc
                    self._redaction.uninstall()
                    raise
            self._users += 1
            assert self.database is not None
            return self.database

    def link(self) -> Link:
        """A connection of its own for one component (closed with the database)."""
        assert self.database is not None, "acquire() first"
        link = self.database.link(self.timeout)
        self._links.append(link)
        return link

    def writer(self, count: Count, stopping: Callable[[], bool] = lambda: False) -> Writer:
        """The crawl's writer, spooling to this database's folder of the spool; no retry
        starts once ``stopping()``."""
        assert self.database is not None, "acquire() first"
        return Writer(
            self.database,
            ArticleStore(self.link()),
            self.spool(),
            retry=self.retry,
            timeout=self.timeout,
            count=count,
            run_id=self.run_id,
            stopping=stopping,
        )

    def spool(self) -> Spool:
        assert self.database is not None, "acquire() first"
        return Spool.of(self.database.dsn, self.spool_dir, self.run_id)

    async def release(self) -> None:
        """Leave; the last user closes the links and releases the embedded server."""
        async with self._lock:
            self._users -= 1
            if self._users > 0:
                return
            links, self._links = self._links, []
            for link in links:
                await link.close()
            self.database = None
            await self._resources.aclose()
            self._redaction.uninstall()
