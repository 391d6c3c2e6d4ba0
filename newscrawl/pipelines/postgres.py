"""Store every article in PostgreSQL, in batches, without holding up the crawl.

Items are buffered and written ``NEWSCRAWL_STORE_BATCH_SIZE`` at a time by
:class:`~newscrawl.db.store.ArticleStore`; a partial batch is written after
``NEWSCRAWL_STORE_FLUSH_INTERVAL`` seconds so a slow crawl still lands rows.
A full buffer makes ``process_item`` wait for the write, which slows the crawl
to what the database can take instead of growing memory.

Delivery is at least once: a write that fails for want of the database is
retried with backoff, and a batch that still cannot be written goes to the
spool (:mod:`newscrawl.db.spool`), which is replayed when the crawl closes, at
the next start, or by ``newscrawl db replay``. Upserts are idempotent, so a
record written twice is stored once. Once the database is known to be down,
batches go straight to the spool and one attempt every
``NEWSCRAWL_STORE_RETRY_BACKOFF_MAX`` seconds probes it, so an outage slows the
crawl by at most one timeout per probe instead of stalling it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from newscrawl.db.connection import DATABASE_URL_ENV, Database
from newscrawl.db.session import StoreSession, describe
from newscrawl.db.shared import CrawlerDatabase
from newscrawl.db.spool import TRANSIENT_ERRORS, Rejected
from newscrawl.redact import RedactingFilter, secrets_of
from newscrawl.vocab import STATS_STORE

logger = logging.getLogger(__name__)


class PostgresPipeline:
    """Upserts items into PostgreSQL (a configured server, or the embedded one).

    Settings: ``NEWSCRAWL_DATABASE_URL`` (None: embedded server in
    ``NEWSCRAWL_DATA_DIR``), ``NEWSCRAWL_STORE_ENABLED``, ``NEWSCRAWL_STORE_BATCH_SIZE``,
    ``NEWSCRAWL_STORE_FLUSH_INTERVAL``, ``NEWSCRAWL_STORE_RETRY_TIMES``,
    ``NEWSCRAWL_STORE_RETRY_BACKOFF`` (first delay, doubling up to
    ``NEWSCRAWL_STORE_RETRY_BACKOFF_MAX``), ``NEWSCRAWL_STORE_TIMEOUT`` (seconds per
    attempt), ``NEWSCRAWL_SPOOL_DIR`` (default ``<NEWSCRAWL_DATA_DIR>/spool``).

    Stats under ``newscrawl/store/``: one per record action, ``batches`` written,
    ``retries``, ``errors`` (records a write attempt could not store), ``spooled``,
    ``replayed`` (and ``replayed/<action>``), ``rejected`` (refused by the database for
    their content, so kept in the spool) and ``lost`` (could not even be spooled).
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.shared = CrawlerDatabase.of(crawler)
        self.batch_size = max(1, settings.getint("NEWSCRAWL_STORE_BATCH_SIZE", 200))
        self.flush_interval = settings.getfloat("NEWSCRAWL_STORE_FLUSH_INTERVAL", 2.0)
        self.session: StoreSession | None = None
        self._redaction = RedactingFilter(
            secrets_of(self.shared.url or os.environ.get(DATABASE_URL_ENV))
        )
        self._buffer: list[dict[str, Any]] = []
        self._write_lock = asyncio.Lock()
        self._closing = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None
        # When the database is found unavailable, batches go straight to the spool until
        # this (event loop) time; then one attempt, without retries, probes it again.
        self._outage_until: float | None = None

    @property
    def database(self) -> Database | None:
        return self.session.database if self.session is not None else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PostgresPipeline:
        if not crawler.settings.getbool("NEWSCRAWL_STORE_ENABLED", True):
            raise NotConfigured("NEWSCRAWL_STORE_ENABLED is off")
        return cls(crawler)

    async def open_spider(self) -> None:
        self._redaction.install()
        self.session = await self.shared.acquire()
        await self._replay()
        if self.flush_interval > 0:
            self._timer = asyncio.create_task(self._flush_periodically())

    async def process_item(self, item: Any) -> Any:
        record = ItemAdapter(item).asdict()
        provenance = record.get("provenance")
        provenance = dict(provenance) if isinstance(provenance, dict) else {}
        provenance.setdefault("spider", self.crawler.spidercls.name)
        record["provenance"] = provenance
        self._buffer.append(record)
        if len(self._buffer) >= self.batch_size:
            await self._flush()
        return item

    async def close_spider(self) -> None:
        self._closing.set()
        if self._timer is not None:
            await self._timer  # lets a write in progress finish: its batch is in no buffer
        await self._flush()
        if self.session is not None:
            spool = self.session.spool
            spool.close()
            if spool.pending():
                await self._replay()
            if left := spool.count():
                logger.warning(
                    "%d items remain spooled in %s: run `newscrawl db replay` once the"
                    " database is back (or start another crawl)",
                    left,
                    spool.directory,
                )
            await self.shared.release()
        self._redaction.uninstall()

    async def _flush_periodically(self) -> None:
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.flush_interval)
            await self._flush()

    async def _flush(self) -> None:
        """Write what is buffered; one write at a time, so records land in the order seen."""
        async with self._write_lock:
            batch, self._buffer = self._buffer, []
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        """Write one batch and count the outcome; what cannot be written is spooled, not raised."""
        assert self.session is not None
        session = self.session
        loop = asyncio.get_running_loop()
        if self._outage_until is not None and loop.time() < self._outage_until:
            await self._spool(batch)
            return

        def on_retry(exc: Exception, failures: int, delay: float) -> None:
            self.stats.inc_value(f"{STATS_STORE}/retries")

        try:
            actions, rejected = await session.write(
                batch, retries=0 if self._outage_until is not None else None, on_retry=on_retry
            )
        except Exception as exc:  # the crawl goes on whatever the database did
            if isinstance(exc, TRANSIENT_ERRORS):
                self._outage_until = loop.time() + session.retry.backoff_max
            logger.error(
                "Could not store %d items in %s: %s",
                len(batch),
                session.database.label,
                describe(exc, session.database.dsn),
            )
            logger.debug("Store error detail", exc_info=exc)
            self.stats.inc_value(f"{STATS_STORE}/errors", len(batch))
            await self._spool(batch)
            return
        if self._outage_until is not None:
            logger.info("The database is back: %s", session.database.label)
            self._outage_until = None
        self.stats.inc_value(f"{STATS_STORE}/batches")
        for action in actions:
            self.stats.inc_value(f"{STATS_STORE}/{action}")
        await self._reject(rejected)

    async def _reject(self, rejected: list[Rejected]) -> None:
        """Records the database refused for their content: logged by the spool, kept in it."""
        if rejected:
            self.stats.inc_value(f"{STATS_STORE}/rejected", len(rejected))
            await self._spool([record for record, _ in rejected])

    async def _spool(self, records: list[dict[str, Any]]) -> None:
        assert self.session is not None
        try:
            # fsync can take long on a busy disk: off the reactor thread (writes are serialised
            # by the write lock, so the spool file never sees two appends at once).
            path = await asyncio.to_thread(self.session.spool.append, records)
        except OSError as exc:
            logger.critical(
                "Could not spool %d items to %s (%s): they are lost",
                len(records),
                self.session.spool.directory,
                exc,
            )
            self.stats.inc_value(f"{STATS_STORE}/lost", len(records))
            return
        self.stats.inc_value(f"{STATS_STORE}/spooled", len(records))
        logger.warning(
            "Spooled %d items to %s; they are stored when the crawl closes, at the next"
            " start or by `newscrawl db replay`",
            len(records),
            path,
        )

    async def _replay(self) -> None:
        assert self.session is not None
        async with self._write_lock:
            done = await self.session.replay(self.batch_size)
        if done.records:
            self.stats.inc_value(f"{STATS_STORE}/replayed", done.records)
        for action, count in done.actions.items():
            self.stats.inc_value(f"{STATS_STORE}/replayed/{action}", count)
