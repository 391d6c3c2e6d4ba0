"""Run records: one ``crawl_runs`` row per crawl (migrations 0003 and 0005).

scrapyd keeps a handful of logs per spider and forgets finished jobs when it
restarts; an operator of scheduled crawls needs to know, for every run, when it
ran, why it stopped and what it did. The row is written when the spider opens
and completed when it closes, so a row left without ``finished_at`` is a run
still going, or one whose process died. A run that ends with items left in the
spool (the database went away) is recorded with ``finish_reason`` ``store_outage``;
when the database is still away at the end, the row waits in the spool and is
written by the next replay.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from newscrawl.db.crawl import CrawlDatabase
from newscrawl.db.store import ArticleStore
from newscrawl.db.writer import RUN_RECORD, RetryPolicy
from newscrawl.vocab import STATS_DROPPED, STATS_DUPLICATES, STATS_RUN, STATS_RUNS, STATS_STORE

logger = logging.getLogger(__name__)

# crawl_runs column -> summary() figure
COLUMNS = {
    "pages": "pages fetched",
    "items_stored": "articles stored",
    "duplicates": "duplicates dropped",
    "errors": "errors",
}
# crawl_runs column -> stats key (the store pipeline's)
STORE_COLUMNS = {
    "items_replayed": f"{STATS_STORE}/replayed",
    "items_rejected": f"{STATS_STORE}/rejected",
    "items_spooled": f"{STATS_STORE}/left_spooled",
}
STORE_OUTAGE = "store_outage"


def summary(stats: dict[str, Any]) -> dict[str, int]:
    """The figures an operator asks about first, from a crawl's stats.

    Stored articles include those replayed from the spool during the crawl.
    """
    stored = ("inserted", "updated", "replayed/inserted", "replayed/updated")
    return {
        "pages fetched": stats.get("response_received_count", 0),
        "articles stored": sum(stats.get(f"{STATS_STORE}/{kind}", 0) for kind in stored),
        "articles unchanged": stats.get(f"{STATS_STORE}/unchanged", 0),
        "new URLs of stored stories": stats.get(f"{STATS_STORE}/merged", 0),
        "duplicates dropped": stats.get(f"{STATS_DUPLICATES}/url", 0)
        + stats.get(f"{STATS_DUPLICATES}/content", 0),
        "items dropped as invalid": sum(
            value for key, value in stats.items() if key.startswith(f"{STATS_DROPPED}/")
        ),
        "errors": stats.get("log_count/ERROR", 0),
    }


def replayed_later(credit: Counter[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What a later ``newscrawl db replay`` of a run's spooled items changes in its row.

    ``credit``: the store actions of the replayed items, and ``rejected``. They are added
    to the run's stats as the crawl's own replay would have counted them, and the store
    columns recomputed from the stats, so the row reads as if the run had stored them
    itself (``finish_reason`` still says there was an outage).
    """

    def change(stats: dict[str, Any]) -> dict[str, Any]:
        stats = dict(stats)
        replayed = sum(n for action, n in credit.items() if action != "rejected")
        for action, n in credit.items():
            rejected = action == "rejected"
            key = (
                STORE_COLUMNS["items_rejected"] if rejected else f"{STATS_STORE}/replayed/{action}"
            )
            stats[key] = stats.get(key, 0) + n
        stats[STORE_COLUMNS["items_replayed"]] = (
            stats.get(STORE_COLUMNS["items_replayed"], 0) + replayed
        )
        spooled = STORE_COLUMNS["items_spooled"]
        stats[spooled] = max(0, stats.get(spooled, 0) - replayed - credit["rejected"])
        return {
            "stats": stats,
            "items_stored": summary(stats)[COLUMNS["items_stored"]],
            **{column: stats.get(key, 0) for column, key in STORE_COLUMNS.items()},
        }

    return change


class RunRecorder:
    """Extension writing the crawl's ``crawl_runs`` row; on whenever the store is.

    A failed write is logged and counted (``newscrawl/runs/errors``), never raised:
    the record must not cost the crawl.
    """

    def __init__(self, crawler: Crawler, database: CrawlDatabase) -> None:
        self.crawler = crawler
        self.database = database
        self.store: ArticleStore | None = None
        self.row: dict[str, Any] = {"id": self.database.run_id}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        if not crawler.settings.getbool("NEWSCRAWL_STORE_ENABLED"):
            raise NotConfigured("the store is disabled: no database to record runs in")
        recorder = cls(crawler, CrawlDatabase.of(crawler))
        crawler.signals.connect(recorder.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        return recorder

    async def spider_opened(self, spider: Spider) -> None:
        if self.database.failed:
            return
        self.row.update(
            spider=spider.name,
            job_id=getattr(spider, "_job", None),  # scrapyd passes -a _job=<id>
            # workers of one shared-frontier crawl (newscrawl.frontier) share this id
            crawl_id=getattr(spider, "crawl_id", None),
            started_at=datetime.now(UTC),
            finished_at=None,
            finish_reason=None,
            stats=None,
            **dict.fromkeys([*COLUMNS, *STORE_COLUMNS]),
        )
        # The run's id in the stats: the crawl summary names it (newscrawl export --run).
        self.crawler.stats.set_value(STATS_RUN, str(self.row["id"]))
        await self._write()

    async def spider_closed(self, reason: str) -> None:
        if self.database.failed:
            return  # the store said why, in one line; there is nowhere to record the run
        stats = dict(self.crawler.stats.get_stats()) if self.crawler.stats else {}
        figures = summary(stats)
        if stats.get(STORE_COLUMNS["items_spooled"]):
            reason = STORE_OUTAGE
        self.row.update(
            finished_at=datetime.now(UTC),
            finish_reason=reason,
            stats=stats,
            **{column: figures[figure] for column, figure in COLUMNS.items()},
            **{column: stats.get(key, 0) for column, key in STORE_COLUMNS.items()},
        )
        if await self._write():
            logger.info(
                "Run recorded in crawl_runs (%s): %s",
                reason,
                ", ".join(f"{figures[figure]} {column}" for column, figure in COLUMNS.items()),
            )
        elif self.store is not None:
            await self._spool()
        if self.store is not None:
            self.store = None
            await self.database.release()

    async def _spool(self) -> None:
        """Keep the row for the next replay: the database went away before the end."""
        spool = self.database.spool()
        try:
            path = await asyncio.to_thread(spool.append, [{RUN_RECORD: self.row}])
        except OSError as exc:
            logger.error("Could not spool the run record (%s): it is lost", exc)
            return
        finally:
            spool.close()
        logger.warning("Run record spooled to %s: the next replay writes it to crawl_runs", path)

    async def _write(self) -> bool:
        """Upsert the row; False (logged and counted) when the database refused."""
        try:
            if self.store is None:
                await self.database.acquire()
                self.store = ArticleStore(self.database.link())
            store, timeout = self.store, self.database.timeout
            # Once more on a fresh connection: the database may have restarted since the last.
            await RetryPolicy(times=1, backoff=0.1, backoff_max=0.1).run(
                lambda: asyncio.wait_for(store.record_run(self.row), timeout)
            )
        except Exception as exc:
            logger.error("Could not record the run in crawl_runs: %s", self.database.describe(exc))
            self.crawler.stats.inc_value(f"{STATS_RUNS}/errors")
            return False
        return True
