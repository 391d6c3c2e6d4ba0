"""Extraction in worker processes, so the reactor thread only downloads, schedules and stores.

Parsing a page, running its page object and the loader cost a crawl more CPU
than downloading it; on the reactor thread every millisecond of that is a
millisecond of crawling lost, and other cores sit idle. An :class:`ExtractionPool`
runs ``NEWSCRAWL_EXTRACT_WORKERS`` worker processes (default: one per CPU but
one, left to the reactor; ``0``: extract in-process) fed with what a page object
needs (:class:`Page`: the body as bytes, URL, encoding, headers, fetch time),
never a ``Response``, and sends back an :class:`Extracted`: the finished record
(every normalisation done), and for pages read by classification (the ``news``
spider) what the page is, the extraction's issues and the page's links, so the
reactor parses nothing. A worker is a plain ``python -m newscrawl.workers``
child speaking length-prefixed pickles over its stdin and stdout, so starting
one never forks the running reactor. Pages queued for a worker go in one write,
and a worker's deadline is one timer, not one per page.

A worker that dies on a page, or takes longer than ``NEWSCRAWL_EXTRACT_TIMEOUT``
seconds (it is killed), costs that page one counted, logged error
(``newscrawl/errors/extract_crash``, ``.../extract_timeout``), never the crawl: a
new worker takes its place, and pages queued behind it are sent again.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import signal
import struct
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, NamedTuple

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.statscollectors import StatsCollector
from scrapy.utils.asyncio import is_asyncio_available

from newscrawl.items import Article
from newscrawl.loaders import ArticleLoader, fetch_time
from newscrawl.pages.base import ArticlePage
from newscrawl.pages.registry import page_for
from newscrawl.vocab import STATS_ERRORS, STATS_EXTRACT

logger = logging.getLogger(__name__)

_HEADER = struct.Struct("!I")  # length of the pickle that follows
READY = "ready"


class Page(NamedTuple):
    """What a page object needs from a response, cheap to send to another process (a
    tuple: pickling a dataclass runs Python code on the reactor for every page).

    ``page_cls`` None: the page is read by classification (:func:`page_for` picks the
    page object) and becomes a record when its probability reaches ``min_probability``;
    with ``links``, the page's links come back too.
    """

    page_cls: type[ArticlePage] | None
    spider: str
    url: str
    body: bytes
    encoding: str
    headers: dict[bytes, list[bytes]]
    received: float  # time.time() when the crawl took it: "now" for fetch_time
    response_cls: type[TextResponse] = HtmlResponse
    min_probability: float = 0.0
    links: bool = False

    @classmethod
    def from_response(
        cls,
        response: TextResponse,
        page_cls: type[ArticlePage] | None,
        spider: str,
        *,
        min_probability: float = 0.0,
        links: bool = False,
    ) -> Page:
        return cls(
            page_cls,
            spider,
            response.url,
            response.body,
            # The encoding Scrapy (or the encoding guard) settled on, not re-guessed.
            response.encoding,
            dict(response.headers),
            time.time(),
            type(response),
            min_probability,
            links,
        )

    def response(self) -> TextResponse:
        return self.response_cls(
            self.url, body=self.body, encoding=self.encoding, headers=self.headers
        )


class Extracted(NamedTuple):
    """What extraction made of a page: its record (None: no article); for a page read by
    classification, its type and probability, the extraction's issues (a source that
    failed, see ``Extraction.issues``) and, when asked for, its links ``(url, nofollow)``."""

    item: Article | None
    page_type: str | None = None
    probability: float | None = None
    issues: tuple[str, ...] = ()
    links: tuple[tuple[str, bool], ...] = ()


# Every link: the spider judges them (not allow_domains=..., which compares host:port and
# so misses sites on a port).
_LINKS = LinkExtractor()


def extract(page: Page) -> Extracted:
    """What ``page`` holds (in a worker: the page rebuilt from what was sent)."""
    response = page.response()
    return extract_response(
        response,
        page.page_cls,
        page.spider,
        fetch_time(response, datetime.fromtimestamp(page.received, UTC)),
        min_probability=page.min_probability,
        links=page.links,
    )


def extract_response(
    response: TextResponse,
    page_cls: type[ArticlePage] | None,
    spider: str,
    fetched: datetime,
    *,
    min_probability: float = 0.0,
    links: bool = False,
) -> Extracted:
    """:func:`extract` on a response at hand (the in-process path: no second parse)."""
    if page_cls is not None:
        reader = page_cls(response)
        if not reader.is_article():
            return Extracted(None)
        record = ArticleLoader.from_extraction(
            reader.read(), response, spider=spider, reference=fetched
        )
        return Extracted(record)
    page = page_for(response)
    kind = page.page_class
    item: Article | None = None
    issues: tuple[str, ...] = ()
    if kind.probability >= min_probability:
        extraction = page.read()
        issues = tuple(extraction.issues)
        item = ArticleLoader.from_extraction(extraction, response, spider=spider, reference=fetched)
    found = (
        tuple((link.url, link.nofollow) for link in _LINKS.extract_links(response)) if links else ()
    )
    return Extracted(item, kind.page_type, kind.probability, issues, found)


class ExtractionError(Exception):
    """A page object raised on a page (in a worker: with the worker's traceback)."""


class WorkerLost(Exception):
    """The worker extracting a page died (``kind="crash"``) or was killed (``"timeout"``)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


Reply = tuple[Extracted, list[tuple[str, int, str]]]  # and the log records it made


@dataclass(slots=True)
class _Job:
    page: Page
    future: asyncio.Future[Reply]


@dataclass(eq=False)
class _Worker:
    """One worker process and the jobs sent to it, answered in order."""

    process: asyncio.subprocess.Process
    depth: int
    jobs: deque[_Job] = field(default_factory=deque)
    busy: asyncio.Event = field(default_factory=asyncio.Event)  # has jobs, or died taking one
    dead: bool = False
    timed_out: bool = False  # killed by the watchdog
    since: float = 0.0  # loop time the job at the head of ``jobs`` started waiting
    watchdog: asyncio.TimerHandle | None = None

    def __post_init__(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin = self.process.stdin
        self.stdout = self.process.stdout
        self.room = asyncio.Semaphore(self.depth)  # jobs it may still take

    async def send(self, jobs: list[_Job]) -> None:
        """Send ``jobs`` in one write."""
        if not self.jobs:
            self.since = asyncio.get_running_loop().time()
        frames: list[bytes] = []
        for job in jobs:
            data = pickle.dumps(job.page, protocol=pickle.HIGHEST_PROTOCOL)
            frames += (_HEADER.pack(len(data)), data)
        self.jobs.extend(jobs)
        self.busy.set()
        self.stdin.write(b"".join(frames))
        await self.stdin.drain()

    async def receive(self) -> Any:
        (size,) = _HEADER.unpack(await self.stdout.readexactly(_HEADER.size))
        return pickle.loads(await self.stdout.readexactly(size))

    def kill(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.process.returncode is None:
            self.process.kill()


class ExtractionPool:
    """``workers`` worker processes extracting pages; see the module docstring.

    Each worker holds up to :attr:`DEPTH` pages, so it always has the next page at
    hand while the reactor, busy with downloads, gets round to reading its records
    (with 2, a crawl of 5,000 pages waited on that round trip: 85 pages/s against 110
    in-process). Pages behind one that kills or hangs its worker go to the next
    worker, uncounted. Jobs queue here while every worker is busy:
    Scrapy's own limits (``CONCURRENT_REQUESTS``, the scraper's active size) bound
    how many wait.
    """

    DEPTH = 8
    START_TIMEOUT = 60.0  # seconds for a worker to import its code and say it is ready

    def __init__(self, workers: int, timeout: float, log_level: int = logging.INFO) -> None:
        self.size = workers
        self.timeout = timeout
        self.log_level = log_level
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._slots: list[asyncio.Task[None]] = []
        self._workers: set[_Worker] = set()
        self._closing = False
        self.broken: str | None = None  # why workers cannot start; the crawl extracts in-process
        self.restarts = 0

    def start(self) -> None:
        self._slots = [asyncio.ensure_future(self._run_slot()) for _ in range(self.size)]

    async def extract(self, page: Page) -> Reply:
        """What extraction made of ``page`` and the log records it made.

        Raises :class:`WorkerLost` or :class:`ExtractionError`; :class:`RuntimeError`
        when the pool cannot run workers (see :attr:`broken`).
        """
        if self.broken:
            raise RuntimeError(self.broken)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(page, future))
        return await future

    async def close(self) -> None:
        """Stop the workers (the crawl has closed: no page is left for them)."""
        self._closing = True
        for slot in self._slots:
            slot.cancel()
        await asyncio.gather(*self._slots, return_exceptions=True)
        while not self._queue.empty():
            self._queue.get_nowait().future.cancel()

    async def _spawn(self) -> _Worker:
        # The worker must import what this process imports: a scrapyd egg is on sys.path only.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            __name__,
            str(self.log_level),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        worker = _Worker(process, self.DEPTH)
        self._workers.add(worker)
        try:
            ready = await asyncio.wait_for(worker.receive(), self.START_TIMEOUT)
        except (asyncio.IncompleteReadError, TimeoutError, pickle.UnpicklingError) as exc:
            self._forget(worker)
            raise RuntimeError(f"an extraction worker failed to start ({exc!r})") from exc
        if ready != READY:
            self._forget(worker)
            raise RuntimeError(f"an extraction worker said {ready!r} instead of {READY!r}")
        return worker

    def _forget(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.discard(worker)

    async def _run_slot(self) -> None:
        """Keep one worker busy; replace it when it dies or hangs."""
        first = True
        while not self._closing:
            try:
                worker = await self._spawn()
            except RuntimeError as exc:
                self._break(str(exc))
                return
            if not first:
                self.restarts += 1
            first = False
            feeder = asyncio.ensure_future(self._feed(worker))
            self._watch(worker)
            try:
                await self._read(worker)
            finally:
                feeder.cancel()
                self._forget(worker)
                await worker.process.wait()

    def _watch(self, worker: _Worker) -> None:
        """Kill ``worker`` once the page at the head of its jobs has waited ``timeout``
        seconds for its record: one timer a worker, re-armed as records come."""
        loop = asyncio.get_running_loop()

        def check() -> None:
            waited = loop.time() - worker.since
            if worker.jobs and waited >= self.timeout:
                worker.timed_out = True
                worker.kill()
                return
            left = self.timeout - waited if worker.jobs else self.timeout
            worker.watchdog = loop.call_later(left, check)

        worker.watchdog = loop.call_later(self.timeout, check)

    async def _feed(self, worker: _Worker) -> None:
        while True:
            await worker.room.acquire()
            jobs = [await self._queue.get()]
            # What else is queued and fits goes in the same write.
            while not self._queue.empty() and not worker.room.locked():
                await worker.room.acquire()  # free: returns at once
                jobs.append(self._queue.get_nowait())
            live = [job for job in jobs if not job.future.done()]
            for _ in range(len(jobs) - len(live)):  # cancelled: the crawl is closing
                worker.room.release()
            if not live:
                continue
            try:
                await worker.send(live)
            except (ConnectionError, OSError):
                # It died between pages: the pages go to the next worker, uncounted.
                for job in live:
                    worker.jobs.remove(job)
                    self._queue.put_nowait(job)
                worker.dead = True
                worker.busy.set()
                return

    async def _read(self, worker: _Worker) -> None:
        """Hand each record to its job; on a dead or hung worker, fail the page it had."""
        loop = asyncio.get_running_loop()
        while True:
            if not worker.jobs:
                worker.busy.clear()
                await worker.busy.wait()
                if worker.dead:
                    self._lose(worker, None)
                    return
            try:
                reply = await worker.receive()
            except Exception:  # a short read, or a reply that does not unpickle
                worker.kill()
                code = await worker.process.wait()
                if worker.timed_out:
                    lost = WorkerLost("timeout", f"no record after {self.timeout:g} s")
                else:
                    lost = WorkerLost("crash", f"worker exited ({_exit_reason(code)})")
                self._lose(worker, lost)
                return
            worker.since = loop.time()
            job = worker.jobs.popleft()
            worker.room.release()
            status, value, logs = reply
            if job.future.done():
                continue
            if status == "ok":
                job.future.set_result((value, logs))
            else:
                job.future.set_exception(ExtractionError(value))

    def _lose(self, worker: _Worker, error: WorkerLost | None) -> None:
        """The page in hand fails; pages queued behind it go to the next worker."""
        worker.kill()
        if worker.jobs and error is not None:
            job = worker.jobs.popleft()
            if not job.future.done():
                job.future.set_exception(error)
        while worker.jobs:
            self._queue.put_nowait(worker.jobs.popleft())

    def _break(self, reason: str) -> None:
        if self.broken is None:
            self.broken = reason
            logger.error("%s: extracting in-process from now on", reason)
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(RuntimeError(reason))


class ExtractionFailed(Exception):
    """A page's extraction failed; it is counted and logged already (see :class:`Extractor`)."""


class Extractor:
    """A crawl's extraction: in worker processes, or in-process with ``workers=0``.

    Settings: ``NEWSCRAWL_EXTRACT_WORKERS`` (unset: CPU count - 1), and
    ``NEWSCRAWL_EXTRACT_TIMEOUT`` (seconds one page may take in a worker). The pool
    starts when the spider opens and stops when it closes. Without Scrapy's asyncio
    reactor, or when workers cannot start, pages are extracted in-process.
    """

    def __init__(self, workers: int, timeout: float, log_level: int) -> None:
        self.stats: StatsCollector | None = None  # the crawl's, once it opens
        self.workers = workers
        self.timeout = timeout
        self.log_level = log_level
        self.pool: ExtractionPool | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Extractor:
        settings = crawler.settings
        workers = settings.get("NEWSCRAWL_EXTRACT_WORKERS")
        workers = max(0, (os.cpu_count() or 1) - 1 if workers in (None, "") else int(workers))
        log_level = logging.getLevelName(settings.get("LOG_LEVEL"))
        extractor = cls(
            workers,
            settings.getfloat("NEWSCRAWL_EXTRACT_TIMEOUT"),
            log_level if isinstance(log_level, int) else logging.DEBUG,
        )
        crawler.signals.connect(
            lambda: extractor.open(crawler.stats), signal=signals.spider_opened, weak=False
        )
        crawler.signals.connect(extractor.close, signal=signals.spider_closed)
        return extractor

    def open(self, stats: StatsCollector) -> None:
        self.stats = stats
        # The crawl process too: what its start-up left alive (Scrapy, Twisted, settings,
        # the page objects' data) is walked by every full collection otherwise; in-process,
        # 10-15% of the crawl's CPU on the bench site. Back in sight once the crawl closes.
        _freeze()
        if self.workers and not is_asyncio_available():
            logger.warning("Extraction workers need the asyncio reactor: extracting in-process")
            return
        if self.workers:
            self.pool = ExtractionPool(self.workers, self.timeout, self.log_level)
            self.pool.start()
        stats.set_value(f"{STATS_EXTRACT}/workers", self.workers if self.pool else 0)

    async def close(self) -> None:
        if self.pool is not None and self.stats is not None:
            await self.pool.close()
            self.stats.set_value(f"{STATS_EXTRACT}/worker_restarts", self.pool.restarts)
        gc.unfreeze()

    async def extract(
        self,
        response: TextResponse,
        page_cls: type[ArticlePage] | None,
        spider: str,
        *,
        min_probability: float = 0.0,
        links: bool = False,
    ) -> Extracted:
        """What ``response`` holds (see :class:`Page` for the arguments).

        Raises :class:`ExtractionFailed` (counted and logged) when extraction fails.
        """
        options: dict[str, Any] = {"min_probability": min_probability, "links": links}
        if self.pool is None or self.pool.broken:
            try:
                return extract_response(response, page_cls, spider, fetch_time(response), **options)
            except Exception as exc:
                self._fail(response.url, "extract_error", traceback.format_exc(limit=-8))
                raise ExtractionFailed(response.url) from exc
        try:
            made, logs = await self.pool.extract(
                Page.from_response(response, page_cls, spider, **options)
            )
        except WorkerLost as exc:
            self._fail(response.url, f"extract_{exc.kind}", str(exc))
            raise ExtractionFailed(response.url) from exc
        except ExtractionError as exc:
            self._fail(response.url, "extract_error", str(exc))
            raise ExtractionFailed(response.url) from exc
        except RuntimeError:
            if not self.pool.broken:
                raise
            return await self.extract(response, page_cls, spider, **options)  # in-process now
        for name, level, message in logs:
            logging.getLogger(name).log(level, "%s", message)
        return made

    async def extract_item(
        self, response: TextResponse, page_cls: type[ArticlePage], spider: str
    ) -> Article | None:
        """``response``'s article record as ``page_cls`` reads it, or None when it holds
        no article (see :meth:`extract`)."""
        return (await self.extract(response, page_cls, spider)).item

    def _fail(self, url: str, kind: str, detail: str) -> None:
        assert self.stats is not None
        self.stats.inc_value(f"{STATS_ERRORS}/{kind}")
        if kind == "extract_error":  # a page object's bug: the traceback helps
            logger.error("Extraction failed on %s: %s", url, detail)
        else:
            logger.warning("Extraction failed on %s (%s): %s", url, kind, detail)


class ExtractionFailures:
    """Spider middleware: a callback stopped by :class:`ExtractionFailed` ends quietly.

    The failure was counted and logged where it happened; Scrapy would log it
    again as a spider error, with a traceback of the crawl's own code.
    """

    def process_spider_exception(
        self, response: Response, exception: Exception
    ) -> list[Any] | None:
        return [] if isinstance(exception, ExtractionFailed) else None


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"


class _Collect(logging.Handler):
    """Keeps a job's log records, to be logged again by the crawl process."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


def _warm_up() -> None:
    """Load what the first pages would (page objects, dateparser's language data), so that
    a page's time in a worker is its own: the timeout applies to it from the start."""
    import newscrawl.pages.registry  # noqa: F401  (every site's page object)
    from newscrawl.processors import parse_date

    for text in ("21 April 2025 06:00", "3 hours ago", "17-05-2025"):
        parse_date(text, reference=datetime.now(UTC))


def _freeze() -> None:
    """Move what is alive now (code, settings, dateparser's data) out of the cyclic garbage
    collector's sight: its older generations' collections walked all of it again and again
    (in a worker, 8% of its time on the bench site). Collected first, so no garbage is
    frozen with it."""
    gc.collect()
    gc.freeze()


def serve(source: IO[bytes], sink: IO[bytes], log_level: int) -> None:
    """A worker's loop: a :class:`Page` in, ``(status, record or error, log records)`` out."""
    collect = _Collect()
    root = logging.getLogger()
    root.handlers[:] = [collect]
    root.setLevel(log_level)

    def reply(message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        sink.write(_HEADER.pack(len(data)) + data)
        sink.flush()

    _warm_up()
    _freeze()
    reply(READY)
    while header := source.read(_HEADER.size):
        if len(header) < _HEADER.size:
            return
        (size,) = _HEADER.unpack(header)
        collect.records = []
        try:
            page = pickle.loads(source.read(size))
            message: tuple[str, Any, Any] = ("ok", extract(page), collect.records)
        except Exception:  # a page object's bug: the crawl logs it, the worker goes on
            message = ("error", traceback.format_exc(limit=-8), collect.records)
        reply(message)


def main() -> None:
    # Ctrl-C reaches the whole process group: the crawl shuts down gracefully and
    # closes the pool, which needs its workers alive until then.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Pickles travel on the original stdout; anything printed goes to stderr instead.
    sink = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    log_level = int(sys.argv[1]) if len(sys.argv) > 1 else logging.INFO
    try:
        serve(sys.stdin.buffer, sink, log_level)
    except BrokenPipeError:  # the crawl ended (and closed the pool) before this worker was ready
        os._exit(0)  # no traceback, and no second one from flushing the closed pipe at exit


if __name__ == "__main__":
    # Run this module's importable copy, not __main__'s: replies must name classes
    # (``newscrawl.workers.Extracted``) the crawl process can unpickle.
    from newscrawl.workers import main as run_worker

    run_worker()
