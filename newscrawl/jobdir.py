"""Resume a crawl from ``JOBDIR`` after it was killed, not only after a clean stop.

Scrapy's job directory holds the request queue, the fingerprints of requests
already scheduled, and the spider's state. The queue and the state are only
written when the crawl closes cleanly; the fingerprints are written as the crawl
goes. After ``kill -9``, an out-of-memory kill or a power cut, a resumed crawl
would therefore find every seed "already requested" and no queue to go on with:
it would end at once, leaving unfetched everything the lost queue held.

:class:`JobdirGuard` marks the job directory while a crawl runs. A crawl that
finds the mark of an earlier run that did not close starts the job afresh from
its seeds: the queue, fingerprints and state are removed. Nothing is stored
twice (upserts are idempotent) and articles already stored are not fetched again
(incremental crawling, when on). The mark also stops two crawls from sharing one
job directory, which would corrupt it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from pathlib import Path
from typing import IO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.job import job_dir

from newscrawl.vocab import STATS_JOBDIR

logger = logging.getLogger(__name__)

MARKER = "newscrawl.running"
# What Scrapy keeps in a job directory (scheduler queue, dupefilter, SpiderState).
JOB_STATE = ("requests.queue", "requests.seen", "spider.state")


class JobdirInUse(RuntimeError):
    """Another crawl is running with the same ``JOBDIR``."""


class JobdirGuard:
    """Extension: detects a job directory left by a killed crawl and starts it afresh.

    Stats: ``newscrawl/jobdir/unclean`` (1 when the previous run was killed).
    """

    def __init__(self, crawler: Crawler, jobdir: str) -> None:
        self.crawler = crawler
        self.jobdir = Path(jobdir)
        self.marker = self.jobdir / MARKER
        self._file: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JobdirGuard:
        jobdir = job_dir(crawler.settings)
        if not jobdir:
            raise NotConfigured("no JOBDIR")
        guard = cls(crawler, jobdir)
        guard.claim()  # now: before the scheduler and SpiderState read the directory
        crawler.signals.connect(guard.release, signal=signals.spider_closed)
        return guard

    def claim(self) -> None:
        """Mark the directory as in use; if an earlier run left its mark, reset the job."""
        unclean = self.marker.exists()
        file = self.marker.open("a+", encoding="utf-8")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            owner = file.read().strip() or "unknown"
            file.close()
            raise JobdirInUse(
                f"JOBDIR {self.jobdir} is in use by another crawl (pid {owner})"
            ) from None
        if unclean:
            self._reset()
        file.seek(0)
        file.truncate()
        file.write(str(os.getpid()))
        file.flush()
        os.fsync(file.fileno())
        self._file = file

    def _reset(self) -> None:
        removed = [name for name in JOB_STATE if (self.jobdir / name).exists()]
        for name in removed:
            path = self.jobdir / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        logger.warning(
            "JOBDIR %s was left by a crawl that did not shut down cleanly (killed?): its"
            " request queue is lost, so the job starts again from its seeds (removed: %s)."
            " Articles already stored are stored once; with incremental crawling on they"
            " are not fetched again.",
            self.jobdir,
            ", ".join(removed) or "nothing",
        )
        assert self.crawler.stats is not None
        self.crawler.stats.set_value(f"{STATS_JOBDIR}/unclean", 1)

    def release(self) -> None:
        """The crawl closed cleanly (Scrapy has saved its queue): remove the mark."""
        if self._file is not None:
            self.marker.unlink(missing_ok=True)
            self._file.close()
            self._file = None
