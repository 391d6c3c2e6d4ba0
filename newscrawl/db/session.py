"""One open store: the database, its pool, the article store and its spool.

The crawl's pipeline and the ``newscrawl db`` commands open the store the same
way: resolve the database, bring its schema up to date, open a pool, and find
the spool of records that an earlier outage left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool

from newscrawl.db.connection import DEFAULT_DATA_DIR, Database
from newscrawl.db.migrate import migrate
from newscrawl.db.spool import (
    TRANSIENT_ERRORS,
    Rejected,
    Replay,
    Spool,
    database_folder,
    upsert_isolating,
)
from newscrawl.db.store import Action, ArticleStore
from newscrawl.redact import redact, secrets_of

logger = logging.getLogger(__name__)

T = TypeVar("T")


class StoreUnavailable(RuntimeError):
    """The database cannot be opened; the message is safe to log (no password)."""


def describe(exc: BaseException, dsn: str | None = None) -> str:
    """One log line for ``exc``, without ``dsn``'s password.

    PostgreSQL errors carry query and context lines in ``str()``, and libpq echoes a
    malformed connection string whole, password included.
    """
    message = exc.diag.message_primary if isinstance(exc, psycopg.Error) else None
    text = " ".join((message or str(exc)).split())
    return f"{type(exc).__name__}: {redact(text, secrets_of(dsn))}"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry transient database errors.

    Delays are ``backoff * 2**n`` seconds capped at ``backoff_max``, jittered into
    their upper half so that crawls that lost the database together do not all
    come back in the same instant.
    """

    times: int = 0
    backoff: float = 1.0
    backoff_max: float = 30.0

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        on_retry: Callable[[Exception, int, float], None] | None = None,
        times: int | None = None,
    ) -> T:
        """``attempt()``, retried up to ``times`` (default: the policy's) on transient errors."""
        times = self.times if times is None else times
        failures = 0
        while True:
            try:
                return await attempt()
            except TRANSIENT_ERRORS as exc:
                if failures >= times:
                    raise
                delay = min(self.backoff_max, self.backoff * 2**failures)
                delay *= random.uniform(0.5, 1.0)
                failures += 1
                if on_retry is not None:
                    on_retry(exc, failures, delay)
                await asyncio.sleep(delay)


@dataclass
class StoreSession:
    """An open store. ``timeout`` bounds each write attempt, ``retry`` says how to retry."""

    database: Database
    pool: AsyncConnectionPool
    store: ArticleStore
    spool: Spool
    applied: list[str]
    timeout: float
    retry: RetryPolicy

    async def write(
        self,
        batch: list[dict[str, Any]],
        *,
        retries: int | None = None,
        on_retry: Callable[[Exception, int, float], None] | None = None,
    ) -> tuple[list[Action], list[Rejected]]:
        """Upsert ``batch`` (see :func:`upsert_isolating`), retrying transient errors.

        ``retries`` overrides the policy's count; each retry is logged (and passed to
        ``on_retry``). Raises what the last attempt raised.
        """

        async def attempt() -> tuple[list[Action], list[Rejected]]:
            try:
                return await asyncio.wait_for(upsert_isolating(self.store, batch), self.timeout)
            except TimeoutError:
                raise TimeoutError(f"no answer within {self.timeout:g}s") from None

        def retrying(exc: Exception, failures: int, delay: float) -> None:
            logger.warning(
                "Database unavailable (%s): retrying %d items in %.1fs (retry %d of %d)",
                describe(exc, self.database.dsn),
                len(batch),
                delay,
                failures,
                self.retry.times if retries is None else retries,
            )
            if on_retry is not None:
                on_retry(exc, failures, delay)

        return await self.retry.run(attempt, retrying, retries)

    async def replay(self, batch_size: int = 200) -> Replay:
        """Replay the spool into the database, logging the outcome."""
        done = await self.spool.replay(self.write, batch_size)
        if done.records or done.files:
            logger.info(
                "Replayed %d spooled items from %d files into %s (%s)",
                done.records,
                done.files,
                self.database.label,
                ", ".join(f"{n} {action}" for action, n in sorted(done.actions.items())),
            )
        if done.error is not None:
            logger.warning(
                "Replay of the spool in %s stopped, %s: %d items stay spooled",
                self.spool.directory,
                describe(done.error, self.database.dsn),
                self.spool.count(),
            )
        return done


def spool_for(dsn: str, data_dir: str | os.PathLike[str], spool_dir: str | None) -> Spool:
    """The spool of the database at ``dsn`` (default folder: ``<data_dir>/spool``)."""
    return Spool(Path(spool_dir or Path(data_dir) / "spool") / database_folder(dsn))


@contextlib.asynccontextmanager
async def open_store(
    url: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    spool_dir: str | None = None,
    timeout: float = 30.0,
    retry: RetryPolicy = RetryPolicy(),
) -> AsyncIterator[StoreSession]:
    """The store of ``url`` (None: the embedded server), schema up to date.

    Raises :class:`StoreUnavailable` with a password-free message when the database
    cannot be reached (within ``timeout`` seconds, after ``retry``) or refuses the schema.
    """
    data_dir = data_dir or DEFAULT_DATA_DIR
    database = await Database.resolve(url, data_dir)

    async def connect_and_migrate() -> list[str]:
        async with await psycopg.AsyncConnection.connect(
            database.dsn, autocommit=True, connect_timeout=max(2, round(timeout))
        ) as conn:
            return await migrate(conn)

    def on_retry(exc: Exception, failures: int, delay: float) -> None:
        logger.warning(
            "Cannot reach %s (%s); retrying in %.1fs",
            database.label,
            describe(exc, database.dsn),
            delay,
        )

    try:
        try:
            applied = await retry.run(connect_and_migrate, on_retry)
            pool = await database.open_pool(timeout=timeout)
        except Exception as exc:
            raise StoreUnavailable(
                f"Cannot open {database.label}: {describe(exc, database.dsn)}"
            ) from None
        spool = spool_for(database.dsn, data_dir, spool_dir)
        try:
            yield StoreSession(database, pool, ArticleStore(pool), spool, applied, timeout, retry)
        finally:
            spool.close()
            await pool.close()
    finally:
        await database.close()
