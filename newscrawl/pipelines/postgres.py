"""Store every article in PostgreSQL, in batches, without holding up the crawl.

Items are buffered and written ``NEWSCRAWL_STORE_BATCH_SIZE`` at a time by
:class:`~newscrawl.db.store.ArticleStore`; a partial batch is written after
``NEWSCRAWL_STORE_FLUSH_INTERVAL`` seconds so a slow crawl still lands rows.
A full buffer makes ``process_item`` wait for the write, which slows the crawl
to what the database can take instead of growing memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg
from itemadapter import ItemAdapter
from psycopg_pool import AsyncConnectionPool
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from newscrawl.db.connection import DEFAULT_DATA_DIR, Database
from newscrawl.db.migrate import migrate
from newscrawl.db.store import ArticleStore

logger = logging.getLogger(__name__)

STATS_PREFIX = "newscrawl/store"


class PostgresPipeline:
    """Upserts items into PostgreSQL (a configured server, or the embedded one).

    Settings: ``NEWSCRAWL_DATABASE_URL`` (None: embedded server in
    ``NEWSCRAWL_DATA_DIR``), ``NEWSCRAWL_STORE_ENABLED``, ``NEWSCRAWL_STORE_BATCH_SIZE``,
    ``NEWSCRAWL_STORE_FLUSH_INTERVAL``. Stats ``newscrawl/store/<action>`` per record
    action, ``/batches`` written and ``/errors`` (records that could not be written).
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.database_url: str | None = settings.get("NEWSCRAWL_DATABASE_URL") or None
        self.data_dir: str = settings.get("NEWSCRAWL_DATA_DIR") or DEFAULT_DATA_DIR
        self.batch_size = max(1, settings.getint("NEWSCRAWL_STORE_BATCH_SIZE", 200))
        self.flush_interval = settings.getfloat("NEWSCRAWL_STORE_FLUSH_INTERVAL", 2.0)
        self.database: Database | None = None
        self.pool: AsyncConnectionPool | None = None
        self.store: ArticleStore | None = None
        self._buffer: list[dict[str, Any]] = []
        self._write_lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PostgresPipeline:
        if not crawler.settings.getbool("NEWSCRAWL_STORE_ENABLED", True):
            raise NotConfigured("NEWSCRAWL_STORE_ENABLED is off")
        return cls(crawler)

    async def open_spider(self) -> None:
        self.database = await Database.resolve(self.database_url, self.data_dir)
        try:
            async with await psycopg.AsyncConnection.connect(
                self.database.dsn, autocommit=True
            ) as conn:
                await migrate(conn)
            self.pool = await self.database.open_pool()
        except BaseException:
            await self.database.close()
            raise
        self.store = ArticleStore(self.pool)
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
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self._flush()
        if self.pool is not None:
            await self.pool.close()
        if self.database is not None:
            await self.database.close()

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            await self._flush()

    async def _flush(self) -> None:
        """Write what is buffered; one write at a time, so records land in the order seen."""
        async with self._write_lock:
            batch, self._buffer = self._buffer, []
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        """Write one batch and count the outcome; a failure is logged and counted, never raised."""
        assert self.store is not None and self.database is not None
        try:
            actions = await self.store.upsert_batch(batch)
        except Exception as exc:  # the crawl goes on whatever the database did
            logger.error(
                "Could not store %d items in %s: %s", len(batch), self.database.label, _brief(exc)
            )
            logger.debug("Store error detail", exc_info=exc)
            self.stats.inc_value(f"{STATS_PREFIX}/errors", len(batch))
            return
        self.stats.inc_value(f"{STATS_PREFIX}/batches")
        for action in actions:
            self.stats.inc_value(f"{STATS_PREFIX}/{action}")


def _brief(exc: Exception) -> str:
    """One line for the log: PostgreSQL errors carry query and context lines in ``str()``."""
    message = exc.diag.message_primary if isinstance(exc, psycopg.Error) else None
    return f"{type(exc).__name__}: {' '.join((message or str(exc)).split())}"
