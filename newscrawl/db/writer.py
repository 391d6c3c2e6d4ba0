"""The Writer: every batch reaches the database, the dead letters or the spool.

One write path for the crawl's pipeline and for ``newscrawl db replay``:

- an outage (see :mod:`newscrawl.db.errors`) is retried with backoff; a batch that
  still fails is spooled, and the writer then sends batches straight to the spool
  (the breaker is open) until one attempt, ``backoff_max`` seconds later, finds the
  database back. A refused connection fails in milliseconds, so an outage costs
  the crawl next to nothing;
- a record PostgreSQL refuses for its content is isolated by the store and put in
  ``rejected_items``; the rest of its batch is stored;
- any other error spools the batch without retries.

A replay sends each spool file through the same path without retries: an outage
stops it (the files wait), a file that fails otherwise is kept and the next one
is tried.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from scrapy.settings import BaseSettings

from newscrawl.db.errors import classify, describe
from newscrawl.db.spool import Spool
from newscrawl.db.store import Action, ArticleStore, Rejected

if TYPE_CHECKING:  # its label and DSN name it in log lines; connections come through the store
    from newscrawl.db.connection import Database

logger = logging.getLogger(__name__)

T = TypeVar("T")
Count = Callable[[str, int], None]
# A spool line {RUN_RECORD: row} is a crawl_runs row (newscrawl.runs), not an article.
RUN_RECORD = "_crawl_run"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry an outage.

    Delays are ``backoff * 2**n`` seconds capped at ``backoff_max``, jittered into
    their upper half so that crawls that lost the database together do not all
    come back in the same instant.
    """

    times: int
    backoff: float
    backoff_max: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> RetryPolicy:
        """``NEWSCRAWL_STORE_RETRY_TIMES``, ``..._BACKOFF`` and ``..._BACKOFF_MAX``."""
        return cls(
            times=max(0, settings.getint("NEWSCRAWL_STORE_RETRY_TIMES")),
            backoff=settings.getfloat("NEWSCRAWL_STORE_RETRY_BACKOFF"),
            backoff_max=settings.getfloat("NEWSCRAWL_STORE_RETRY_BACKOFF_MAX"),
        )

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        on_retry: Callable[[Exception, int, float], None] | None = None,
        times: int | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> T:
        """``attempt()``, retried up to ``times`` (default: the policy's) on outages only,
        and not once ``stopping()`` (a crawl shutting down does not wait out an outage)."""
        times = self.times if times is None else times
        failures = 0
        while True:
            try:
                return await attempt()
            except Exception as exc:
                if failures >= times or classify(exc) != "outage" or stopping():
                    raise
                delay = min(self.backoff_max, self.backoff * 2**failures)
                delay *= random.uniform(0.5, 1.0)
                failures += 1
                if on_retry is not None:
                    on_retry(exc, failures, delay)
                deadline = asyncio.get_running_loop().time() + delay
                while not stopping() and (left := deadline - asyncio.get_running_loop().time()) > 0:
                    await asyncio.sleep(min(left, 0.25))


@dataclass
class Replayed:
    """What a replay did."""

    actions: Counter[str] = field(default_factory=Counter)
    files: int = 0
    rejected: int = 0
    runs: int = 0  # crawl_runs rows written
    # Per crawl run that spooled them (the spool file's name): its items' actions and
    # "rejected", for ``newscrawl db replay`` to add to that run's crawl_runs row.
    by_run: dict[str, Counter[str]] = field(default_factory=dict)
    kept: list[Path] = field(default_factory=list)  # files that failed, left for later
    outage: bool = False  # the database was (or went) away: the rest waits

    @property
    def records(self) -> int:
        return sum(self.actions.values())


class Writer:
    """Writes batches into ``database`` through ``store``, falling back to ``spool``.

    ``count(key, n)`` receives the outcome figures (``batches``, each store action,
    ``rejected``, ``retries``, ``errors``, ``spooled``, ``lost``, ``replayed`` and
    ``replayed/<action>``); rejected records are tagged with ``run_id``.
    """

    def __init__(
        self,
        database: Database,
        store: ArticleStore,
        spool: Spool,
        *,
        retry: RetryPolicy,
        timeout: float,
        count: Count,
        run_id: uuid.UUID | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.database = database
        self.store = store
        self.spool = spool
        self.retry = retry
        self.timeout = timeout
        self.count = count
        self.run_id = run_id
        self.stopping = stopping
        # While the breaker is open, batches go straight to the spool until this
        # (event loop) time; then one attempt, without retries, probes the database.
        self._outage_until: float | None = None

    @property
    def in_outage(self) -> bool:
        """The last attempt found the database out of reach."""
        return self._outage_until is not None

    async def write(self, batch: list[dict[str, Any]]) -> None:
        """Store ``batch``; what cannot be stored is dead-lettered or spooled, never raised."""
        loop = asyncio.get_running_loop()
        if self._outage_until is not None and loop.time() < self._outage_until:
            await self._spool(batch)
            return
        try:
            actions, rejected = await self.retry.run(
                lambda: self._attempt(batch, self.run_id),
                lambda exc, failures, delay: self._retrying(exc, failures, delay, len(batch)),
                times=0 if self.in_outage else None,
                stopping=self.stopping,
            )
        except Exception as exc:  # the crawl goes on whatever the database did
            outage = classify(exc) == "outage"
            if outage:
                self._outage_until = loop.time() + self.retry.backoff_max
            logger.error(
                "Could not store %d items in %s: %s%s",
                len(batch),
                self.database.label,
                describe(exc, self.database.dsn),
                f" (spooling the next batches for {self.retry.backoff_max:g}s)" if outage else "",
            )
            logger.debug("Store error detail", exc_info=exc)
            self.count("errors", len(batch))
            await self._spool(batch)
            return
        if self._outage_until is not None:
            logger.info("The database is back: %s", self.database.label)
            self._outage_until = None
        self.count("batches", 1)
        for action, n in Counter(actions).items():
            self.count(action, n)
        await self._reject(rejected)

    async def replay(self, batch_size: int) -> Replayed:
        """Replay the spool, oldest file first, removing each once all its records are in.

        Skipped while the breaker is open: an outage is not waited out twice.
        """
        done = Replayed(outage=self.in_outage)
        if done.outage:
            return done
        for path in self.spool.pending():
            with self.spool.claim(path) as records:
                if records is None:
                    continue
                runs = [record[RUN_RECORD] for record in records if RUN_RECORD in record]
                articles = [record for record in records if RUN_RECORD not in record]
                run_id = self.spool.run_of(path)
                try:
                    for start in range(0, len(articles), batch_size):
                        batch = articles[start : start + batch_size]
                        actions, rejected = await self._attempt(batch, run_id)
                        done.actions.update(actions)
                        done.rejected += len(rejected)
                        await self._reject(rejected, raising=True)
                        if run_id is not None:
                            credit = done.by_run.setdefault(run_id, Counter())
                            credit.update(actions)
                            credit["rejected"] += len(rejected)
                    for row in runs:
                        await asyncio.wait_for(self.store.record_run(row), self.timeout)
                        done.runs += 1
                except Exception as exc:
                    done.outage = classify(exc) == "outage"
                    if done.outage:
                        self._outage_until = asyncio.get_running_loop().time()
                    self._replay_failed(path, exc, done.outage)
                    done.kept.append(path)
                    if done.outage:
                        break
                    continue
                self.spool.remove(path)
                done.files += 1
        for action, n in done.actions.items():
            self.count("replayed", n)
            self.count(f"replayed/{action}", n)
        if done.runs:
            logger.info("Wrote %d spooled run records to crawl_runs", done.runs)
        if done.records or done.files:
            logger.info(
                "Replayed %d spooled items from %d files into %s (%s)",
                done.records,
                done.files,
                self.database.label,
                ", ".join(f"{n} {action}" for action, n in sorted(done.actions.items())),
            )
        return done

    async def close(self, batch_size: int) -> int:
        """Close this writer's spool file and replay what is pending (the breaker permitting);
        how many records remain spooled."""
        self.spool.close()
        if self.spool.pending():
            await self.replay(batch_size)
        return self.spool.count()

    async def _attempt(
        self, batch: list[dict[str, Any]], run_id: uuid.UUID | str | None
    ) -> tuple[list[Action], list[Rejected]]:
        try:
            return await asyncio.wait_for(self.store.write(batch, run_id), self.timeout)
        except TimeoutError:
            raise TimeoutError(f"no answer within {self.timeout:g}s") from None

    def _retrying(self, exc: Exception, failures: int, delay: float, size: int) -> None:
        logger.warning(
            "Database unavailable (%s): retrying %d items in %.1fs (retry %d of %d)",
            describe(exc, self.database.dsn),
            size,
            delay,
            failures,
            self.retry.times,
        )
        self.count("retries", 1)

    def _replay_failed(self, path: Path, exc: Exception, outage: bool) -> None:
        logger.warning(
            "Replay of spool file %s failed (%s): %s",
            path,
            describe(exc, self.database.dsn),
            "the database is unavailable, the spool waits"
            if outage
            else "it is kept, the other files go on",
        )

    async def _reject(self, rejected: list[Rejected], *, raising: bool = False) -> None:
        """Dead-letter ``rejected`` in ``rejected_items``; spool them if even that fails."""
        if not rejected:
            return
        for record, exc in rejected:
            logger.warning(
                "The database rejected item %s: %s (kept in rejected_items)",
                record.get("url"),
                describe(exc, self.database.dsn),
            )
        self.count("rejected", len(rejected))
        try:
            await asyncio.wait_for(self.store.reject(rejected, self.run_id), self.timeout)
        except Exception as exc:
            if raising:
                raise
            logger.error(
                "Could not record %d rejected items: %s",
                len(rejected),
                describe(exc, self.database.dsn),
            )
            await self._spool([record for record, _ in rejected])

    async def _spool(self, records: list[dict[str, Any]]) -> None:
        try:
            # fsync can take long on a busy disk: off the event loop's thread (writes are
            # serialised by the caller, so a spool file never sees two appends at once).
            path = await asyncio.to_thread(self.spool.append, records)
        except OSError as exc:
            logger.critical(
                "Could not spool %d items to %s (%s): they are lost",
                len(records),
                self.spool.directory,
                exc,
            )
            self.count("lost", len(records))
            return
        self.count("spooled", len(records))
        logger.warning(
            "Spooled %d items to %s; they are stored when the crawl closes, at the next"
            " start or by `newscrawl db replay`",
            len(records),
            path,
        )
