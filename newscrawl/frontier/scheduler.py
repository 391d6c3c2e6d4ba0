"""A worker's side of the shared frontier: a Scrapy scheduler over Redis.

Scrapy calls a scheduler synchronously, so this one never waits for Redis in
those calls: ``enqueue_request`` puts the request in an outbox, ``next_request``
takes one from a small local buffer of leased requests, and a task on the event
loop (the *pump*) exchanges both with Redis in batches: one script call acknowledges,
frees the host slots of finished downloads and leases more (a push before it when
requests were made). The pump runs as soon as a download ends, the buffer runs low or
requests are made, so a host's slot goes back to the crawl at once. When Redis cannot
be reached the pump logs one line, pauses and retries; the crawl waits, it does not
crash, and carries on when Redis is back.

What stays in the worker: a retry of a leased request (same lease, same URL) and
requests that never leave the process (``data:``, a sitemap's "next batch"), so the
worker that read a sitemap pushes all of it at once. A redirect's target is a new
request for the whole crawl: it goes through the shared dupefilter.

A request's lease is acknowledged once the request is done *and* its items are
stored: done is when Scrapy lets go of every request object made for it (the
original, its retries, its redirects), which happens after its callback's output
went through the item pipelines; stored is when the store pipeline has finished
two flushes since (``newscrawl.pipelines.postgres.batch_flushed``). Requests the
callback made are pushed before the ack. A worker killed before that leaves its
leases to expire, and the requests go back to the queue for another worker.

Settings: ``NEWSCRAWL_FRONTIER_URL``, ``NEWSCRAWL_FRONTIER_LEASE_TIME`` (seconds a
lease lasts without renewal), ``NEWSCRAWL_FRONTIER_IDLE_TIMEOUT`` (a worker stops once
the whole frontier has been empty this long), ``NEWSCRAWL_FRONTIER_PREFETCH``
(requests leased ahead; default ``CONCURRENT_REQUESTS``),
``NEWSCRAWL_FRONTIER_HOST_DELAY`` / ``..._HOST_CONCURRENCY`` (politeness per host for
the whole crawl; default ``DOWNLOAD_DELAY`` / ``CONCURRENT_REQUESTS_PER_DOMAIN``),
``NEWSCRAWL_FRONTIER_RETRY_INTERVAL`` (seconds between attempts while Redis is down),
``NEWSCRAWL_FRONTIER_SEED_ONLY`` (push the seeds and stop: ``newscrawl frontier seed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import pickle
import socket
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator
from typing import Any, Self

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from scrapy import Request, Spider, signals
from scrapy.core.scheduler import BaseScheduler
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.request import request_from_dict
from twisted.internet.defer import Deferred

from newscrawl.budget import SharedPageBudget
from newscrawl.frontier.queue import Frontier, check_crawl_id
from newscrawl.pipelines.postgres import batch_flushed
from newscrawl.vocab import FRONTIER_ID, STATS_BUDGET, STATS_FRONTIER

logger = logging.getLogger(__name__)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
"""Errors that mean Redis is unreachable or restarting (``BusyLoadingError`` included)."""
PUSH_CHUNK = 500
COLLECT_WHEN_IDLE = 0.2
UNKNOWN = "\0unknown"  # a callback that is not the spider's method under its own name
"""Seconds between collections while leases are held and the worker has nothing in progress."""


class FrontierScheduler(BaseScheduler):
    """Requests from and to the crawl's frontier in Redis (see the module docstring)."""

    def __init__(
        self,
        crawler: Crawler,
        url: str,
        *,
        lease: float,
        idle_timeout: float,
        prefetch: int,
        host_delay: float,
        host_concurrency: int,
        retry_interval: float,
        seed_only: bool,
        store_gated: bool,
    ) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.url = url
        self.lease = lease
        self.renew_every = max(lease / 4, 0.2)
        self.alive = max(3 * self.renew_every, 5.0)
        self.idle_timeout = idle_timeout
        self.prefetch = prefetch
        self.host_delay = host_delay
        self.host_concurrency = host_concurrency
        self.retry_interval = retry_interval
        self.seed_only = seed_only
        self.store_gated = store_gated
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.frontier: Frontier | None = None
        self.spider: Spider | None = None
        self.budget: SharedPageBudget | None = None
        self.buffer: deque[Request] = deque()
        self.outbox: deque[Request] = deque()
        self.live: dict[int, int] = {}  # lease id -> request objects alive for it
        self.leased_urls: dict[int, str] = {}  # lease id -> the URL leased, while live
        # (lease id, flushes seen when done, requests made here by then): acked once both
        # its items are stored and the requests made before it are pushed
        self.settled: list[tuple[int, int, int]] = []
        self.made = 0  # requests put in the outbox, ever
        self.pushed = 0  # of them, pushed (the outbox is first in, first out)
        self.to_release: list[int] = []
        self.abandoned: set[int] = set()  # leases given back unstarted when closing
        self.flushes = 0
        self.seeding = False
        self.seeding_done = False
        self.seeds_enqueued = False
        self.remote_empty_since: float | None = None
        self.remote_queued = 0  # requests queued in the crawl at the last exchange
        self.outage_since: float | None = None
        self.closing = False
        self.wake = asyncio.Event()
        self.pump_task: asyncio.Task[None] | None = None
        self.last_renew = 0.0
        self.last_collect = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        delay = settings.get("NEWSCRAWL_FRONTIER_HOST_DELAY")
        concurrency = settings.get("NEWSCRAWL_FRONTIER_HOST_CONCURRENCY")
        pipelines = settings.getwithbase("ITEM_PIPELINES")
        scheduler = cls(
            crawler,
            settings["NEWSCRAWL_FRONTIER_URL"],
            lease=settings.getfloat("NEWSCRAWL_FRONTIER_LEASE_TIME"),
            idle_timeout=settings.getfloat("NEWSCRAWL_FRONTIER_IDLE_TIMEOUT"),
            prefetch=settings.getint("NEWSCRAWL_FRONTIER_PREFETCH")
            or settings.getint("CONCURRENT_REQUESTS"),
            host_delay=float(delay if delay is not None else settings.getfloat("DOWNLOAD_DELAY")),
            host_concurrency=int(
                concurrency
                if concurrency is not None
                else settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
            ),
            retry_interval=settings.getfloat("NEWSCRAWL_FRONTIER_RETRY_INTERVAL"),
            seed_only=settings.getbool("NEWSCRAWL_FRONTIER_SEED_ONLY"),
            store_gated=settings.getbool("NEWSCRAWL_STORE_ENABLED")
            and pipelines.get("newscrawl.pipelines.postgres.PostgresPipeline") is not None,
        )
        crawler.signals.connect(scheduler._flushed, signal=batch_flushed)
        crawler.signals.connect(scheduler._left_downloader, signal=signals.request_left_downloader)
        crawler.signals.connect(scheduler._spider_idle, signal=signals.spider_idle)
        return scheduler

    # -- Scrapy's scheduler interface (synchronous: never waits for Redis) ----------------

    def open(self, spider: Spider) -> Deferred[None] | None:
        self.spider = spider
        crawl_id = check_crawl_id(str(getattr(spider, "crawl_id", None) or spider.name))
        spider.crawl_id = crawl_id  # type: ignore[attr-defined]  # for crawl_runs (newscrawl.runs)
        budget = getattr(spider, "budget", None)
        self.budget = budget if isinstance(budget, SharedPageBudget) else None
        self.frontier = Frontier(Frontier.client(self.url), crawl_id)
        logger.info(
            "Shared frontier: crawl %r in %s (worker %s)",
            crawl_id,
            self.frontier.redis.connection_pool.connection_kwargs.get("host", "redis"),
            self.worker,
        )
        self.pump_task = asyncio.create_task(self._pump())
        return None

    def close(self, reason: str) -> Deferred[None] | None:
        return deferred_from_coro(self._close(reason))

    def has_pending_requests(self) -> bool:
        return bool(self.buffer or self.outbox)

    def enqueue_request(self, request: Request) -> bool:
        lease_id = request.meta.get(FRONTIER_ID)
        if lease_id is not None and self.leased_urls.get(lease_id) == request.url:
            # a retry of a request this worker holds: same lease, fetched here
            self._track(request, lease_id)
            self.buffer.appendleft(request)
        elif urlparse_cached(request).scheme == "data":
            # made and answered in this process (a sitemap's next batch): nothing to share
            self.buffer.append(request)
        else:
            if lease_id is not None:
                # a redirect: its target is a URL of its own, for the crawl's dupefilter to
                # judge (another worker may have fetched it); its lease ends with the original
                del request.meta[FRONTIER_ID]
            self.outbox.append(request)
            self.made += 1
            self.wake.set()
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if len(self.buffer) <= self.prefetch // 2:
            self.wake.set()
        if not self.buffer:
            return None
        self.stats.inc_value("scheduler/dequeued/redis")
        return self.buffer.popleft()

    # -- leases: tracked through the request objects made for them -------------------------

    def _track(self, request: Request, lease_id: int) -> None:
        self.live[lease_id] = self.live.get(lease_id, 0) + 1
        weakref.finalize(request, self._let_go, lease_id)

    def _let_go(self, lease_id: int) -> None:
        left = self.live.get(lease_id, 0) - 1
        if left > 0:
            self.live[lease_id] = left
            return
        self.live.pop(lease_id, None)
        self.leased_urls.pop(lease_id, None)
        if lease_id not in self.abandoned:
            self.settled.append((lease_id, self.flushes, self.made))

    def _flushed(self) -> None:
        self.flushes += 1

    def _left_downloader(self, request: Request) -> None:
        """Free the host's slot now: the cluster's next request for it waits for this."""
        if (lease_id := request.meta.get(FRONTIER_ID)) is not None:
            self.to_release.append(lease_id)
            self.wake.set()

    def _durable(self) -> list[int]:
        """Settled leases whose items are surely stored (two flushes since) and whose
        requests are pushed, taken out."""
        stored = self.flushes - 2 if self.store_gated else self.flushes
        ready = [lid for lid, seen, made in self.settled if seen <= stored and made <= self.pushed]
        if ready:
            self.settled = [
                entry for entry in self.settled if entry[1] > stored or entry[2] > self.pushed
            ]
        return ready

    # -- seeding ---------------------------------------------------------------------------

    async def claim_seeding(self) -> bool:
        """Whether this worker pushes the seeds: once per crawl, whoever comes first.

        Waits while another worker is seeding; if it dies its claim expires and the
        next worker seeds. ``NEWSCRAWL_FRONTIER_SEED_ONLY`` always seeds.
        """
        assert self.frontier is not None
        while True:
            try:
                if self.seed_only:
                    claim = "claimed"
                else:
                    claim = await self.frontier.claim_seeding(self.worker, self._seed_ttl)
            except REDIS_DOWN as exc:
                self._down(exc)
                await asyncio.sleep(self.retry_interval)
                continue
            self._up()
            if claim == "claimed":
                self.seeding = True
                logger.info("Seeding crawl %r", self.frontier.crawl_id)
                return True
            if claim == "done":
                logger.info(
                    "Crawl %r was seeded by another worker: taking requests from the frontier",
                    self.frontier.crawl_id,
                )
                self.seeding_done = True
                return False
            await asyncio.sleep(min(1.0, self.retry_interval))

    def seeds_pushed(self) -> None:
        """The spider's start requests are all enqueued (the pump marks the crawl seeded)."""
        self.wake.set()
        self.seeding = False
        self.seeds_enqueued = True

    @property
    def _seed_ttl(self) -> float:
        return max(self.lease, 10.0)

    # -- the pump: every exchange with Redis -----------------------------------------------

    async def _pump(self) -> None:
        while True:
            try:
                await self._exchange()
            except asyncio.CancelledError:
                raise
            except REDIS_DOWN as exc:
                self._down(exc)
                await asyncio.sleep(self.retry_interval)
                continue
            except Exception:  # a bug must not stop the worker silently
                logger.exception("Shared frontier: unexpected error; retrying")
                await asyncio.sleep(self.retry_interval)
                continue
            self._up()
            if self.closing:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self._tick())
            self.wake.clear()

    def _tick(self) -> float:
        if self.outbox:
            return 0.0
        if self.settled:
            return 0.05
        if self._ending():
            return COLLECT_WHEN_IDLE
        return min(0.5, self.renew_every)

    def _ending(self) -> bool:
        """Whether this worker holds leases only its garbage keeps: nothing queued in the
        crawl, nothing buffered, downloaded or parsed here."""
        engine = self.crawler.engine
        return (
            bool(self.live)
            and not self.buffer
            and not self.remote_queued
            and engine is not None
            and engine._slot is not None
            and not engine._slot.inprogress
        )

    async def _exchange(self) -> None:
        frontier = self.frontier
        assert frontier is not None
        # taken before the push: what a request's callback made is queued before it is acked
        acks = self._durable()
        released, self.to_release = self.to_release, []
        try:
            await self._push_outbox()
            if self.seeds_enqueued and not self.outbox:
                await frontier.seeded()
                self.seeds_enqueued = False
                self.seeding_done = True
                logger.info("Crawl %r seeded", frontier.crawl_id)
            if self.seed_only:
                return
            now = time.monotonic()
            if now - self.last_renew >= self.renew_every:
                await self._renew()
                self.last_renew = now
            wanted = self.prefetch - len(self.buffer) if not self.closing else 0
            taken = await frontier.pop(
                max(wanted, 0),
                lease=self.lease,
                delay=self.host_delay,
                concurrency=self.host_concurrency,
                worker=self.worker,
                alive=self.alive,
                ack=acks,
                release=released,
            )
        except BaseException:
            self.settled[:0] = [(lease_id, -(10**9), 0) for lease_id in acks]
            self.to_release[:0] = released
            raise
        self._count("acked", len(acks))
        for lease_id, blob in taken.requests:
            request = self._load(lease_id, blob)
            if request is not None:
                self._track(request, lease_id)
                self.buffer.append(request)
        if taken.requests:
            self._count("leased", len(taken.requests))
            self._wake_engine()
        self.remote_queued = taken.queued
        if taken.queued > 0 or taken.leased > 0:
            self.remote_empty_since = None
        elif self.remote_empty_since is None:
            self.remote_empty_since = now
        if self._ending():
            # the last requests' objects wait for the cycle collector, which an idle
            # process does not run: their leases would settle at the next heartbeat
            self._collect(COLLECT_WHEN_IDLE)
        if self._done():  # the engine checks idleness on its 5-second heartbeat: now instead
            self._wake_engine()

    async def _push_outbox(self) -> None:
        """Push a chunk of the requests made here (the pump comes back at once for more)."""
        assert self.frontier is not None and self.spider is not None
        fingerprinter = self.crawler.request_fingerprinter
        max_pages = self.budget.max_pages if self.budget is not None else None
        if not self.outbox:
            return
        # one chunk per exchange: the pump leases between chunks, so a worker pushing a big
        # sitemap keeps downloading
        chunk = [self.outbox.popleft() for _ in range(min(PUSH_CHUNK, len(self.outbox)))]
        entries = []
        for request in chunk:
            charge = self.budget is not None and self.budget.take(request.url)
            entries.append(
                (
                    b"" if request.dont_filter else fingerprinter.fingerprint(request),
                    urlparse_cached(request).hostname or "",
                    request.priority,
                    charge,
                    pickle.dumps(self._request_dict(request), protocol=5),
                )
            )
        try:
            codes = await self.frontier.push(entries, max_pages)
        except BaseException:
            self.outbox.extendleft(reversed(chunk))
            if self.budget is not None:  # charged again on the next attempt
                for request, entry in zip(chunk, entries, strict=True):
                    if entry[3]:
                        self.budget.spend(request.url)
            raise
        self.pushed += len(chunk)
        for request, code in zip(chunk, codes, strict=True):
            if code == 1:
                self._count("pushed")
            elif code == 0:
                self.stats.inc_value("dupefilter/filtered")
                self.crawler.signals.send_catch_log(
                    signals.request_dropped, request=request, spider=self.spider
                )
            else:
                assert self.budget is not None
                self.budget.mark_exhausted(request.url)
                self.stats.inc_value(f"{STATS_BUDGET}/skipped")

    def _request_dict(self, request: Request) -> dict[str, Any]:
        """``request.to_dict(spider=...)``, without the search through all the spider's
        members that Scrapy makes for each callback (a third of a millisecond a request,
        the frontier's largest cost): a spider method is found under its own name."""
        names = [self._method_name(request.callback), self._method_name(request.errback)]
        if UNKNOWN in names:
            return request.to_dict(spider=self.spider)
        data = request.replace(callback=None, errback=None).to_dict()
        data["callback"], data["errback"] = names
        return data

    def _method_name(self, function: Any) -> str | None:
        """The name of the spider's method ``function`` (None for none), else UNKNOWN."""
        if function is None:
            return None
        name = getattr(function, "__name__", "")
        own = getattr(self.spider, name, None)
        found = getattr(own, "__func__", None)
        return (
            name if found is not None and found is getattr(function, "__func__", None) else UNKNOWN
        )

    async def _renew(self) -> None:
        assert self.frontier is not None
        held = list(self.live) + [lease_id for lease_id, _, _ in self.settled]
        lost = await self.frontier.renew(
            held, lease=self.lease, worker=self.worker, alive=self.alive
        )
        if lost:
            # expired while we held them (a long outage, a stalled process): another
            # worker may fetch them again; at least once, as promised
            logger.warning("Shared frontier: %d leases expired before renewal", len(lost))
            self._count("leases_lost", len(lost))

    def _load(self, lease_id: int, blob: bytes) -> Request | None:
        try:
            request = request_from_dict(pickle.loads(blob), spider=self.spider)
        except Exception as exc:  # a request from another spider version, say
            logger.warning("Shared frontier: unreadable request %s dropped: %s", lease_id, exc)
            self._count("unreadable")
            self.settled.append((lease_id, -(10**9), 0))
            return None
        request.meta[FRONTIER_ID] = lease_id
        self.leased_urls[lease_id] = request.url
        return request

    def _collect(self, every: float) -> None:
        """Free the request objects held only by reference cycles, so their leases settle.

        Only when the crawl is ending (:meth:`_ending`): a full collection costs tens of
        milliseconds, and mid-crawl Python's own collector frees them soon enough.
        """
        now = time.monotonic()
        if now - self.last_collect >= every:
            self.last_collect = now
            gc.collect()

    def _wake_engine(self) -> None:
        """Have the engine ask for requests now rather than at its next 5-second heartbeat."""
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None:
            slot.nextcall.schedule()

    def _count(self, name: str, n: int = 1) -> None:
        if n:
            self.stats.inc_value(f"{STATS_FRONTIER}/{name}", n)

    def _down(self, exc: BaseException) -> None:
        if self.outage_since is None:
            self.outage_since = time.monotonic()
            self._count("outages")
            logger.warning(
                "Redis frontier unreachable (%s): worker paused, retrying every %gs",
                exc,
                self.retry_interval,
            )

    def _up(self) -> None:
        if self.outage_since is not None:
            logger.info(
                "Redis frontier reachable again after %.0fs: resuming",
                time.monotonic() - self.outage_since,
            )
            self.outage_since = None

    # -- stopping --------------------------------------------------------------------------

    def _spider_idle(self) -> None:
        """Keep the worker while the crawl has work anywhere; stop after the idle timeout."""
        self.wake.set()
        if self._ending():
            self._collect(COLLECT_WHEN_IDLE)
        if self._done():
            return
        raise DontCloseSpider

    def _done(self) -> bool:
        if self.outage_since is not None or self.seeding or self.outbox or self.buffer:
            return False
        if self.seeds_enqueued:
            return False
        if self.seed_only:
            return self.seeding_done
        if self.live or self.settled or self.remote_empty_since is None:
            return False
        return time.monotonic() - self.remote_empty_since >= self.idle_timeout

    async def _close(self, reason: str) -> None:
        """Ack what is stored, give back what was never started, push what is left."""
        self.closing = True
        if self.pump_task is not None:
            self.pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pump_task
        frontier = self.frontier
        assert frontier is not None
        unstarted = [r.meta[FRONTIER_ID] for r in self.buffer if FRONTIER_ID in r.meta]
        self.abandoned.update(unstarted)  # given back below, not acknowledged
        self.buffer.clear()
        deadline = time.monotonic() + max(self.lease, 10.0)
        while True:
            try:
                while True:  # push what is left, a chunk at a time, then ack
                    # the pipelines are closed: every settled request's items are stored
                    self.flushes += 2
                    await self._exchange()
                    if not self.outbox and not self.settled:
                        break
                await frontier.requeue(unstarted + list(self.live))
                await frontier.leave(self.worker)
                break
            except REDIS_DOWN as exc:
                self._down(exc)
                if time.monotonic() > deadline:
                    logger.warning(
                        "Shared frontier: closing without Redis; %d requests made by this"
                        " worker are lost, its leases expire and go back to the queue",
                        len(self.outbox),
                    )
                    self._count("lost", len(self.outbox))
                    break
                await asyncio.sleep(self.retry_interval)
        await frontier.redis.aclose()


class SeedOnce:
    """Spider middleware: the spider's start requests are pushed once per crawl id."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        scheduler = self.crawler.engine.scheduler if self.crawler.engine else None
        if not isinstance(scheduler, FrontierScheduler):
            async for item in start:
                yield item
            return
        if await scheduler.claim_seeding():
            async for item in start:
                yield item
            scheduler.seeds_pushed()
