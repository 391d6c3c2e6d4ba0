"""The summary every crawl ends with: what it did, where the data is, what to run next.

Scrapy ends a crawl with a dump of raw stats. :class:`CrawlSummary` logs instead
the figures an operator reads first (``newscrawl demo`` prints the same lines):
pages, articles stored / updated / unchanged, duplicates, items dropped by reason,
errors by kind (HTTP errors such as 404 included), and field coverage, the share
of exported items that have each field (counted as items are scraped, into
``newscrawl/coverage/<field>`` stats, so ``crawl_runs.stats`` keeps them).
"""

from __future__ import annotations

import logging
import shlex
import time
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from newscrawl import settings as defaults
from newscrawl.items import Article
from newscrawl.redact import redact
from newscrawl.vocab import (
    STATS_COVERAGE,
    STATS_DROPPED,
    STATS_DUPLICATES,
    STATS_ERRORS,
    STATS_INCREMENTAL,
    STATS_LISTING,
    STATS_RUN,
    STATS_STORE,
    STATS_TIMELINE,
)

logger = logging.getLogger(__name__)

COVERAGE_PREFIX = f"{STATS_COVERAGE}/"
DROPPED_PREFIX = f"{STATS_DROPPED}/"
ERRORS_PREFIX = f"{STATS_ERRORS}/"
TIMELINE_POINTS = 100
FIELDS = tuple(Article.fields)
_COVERAGE_KEYS = {field: COVERAGE_PREFIX + field for field in FIELDS}


def _with_prefix(stats: dict[str, Any], prefix: str) -> dict[str, int]:
    return {
        key.removeprefix(prefix): int(value)
        for key, value in sorted(stats.items())
        if key.startswith(prefix) and value
    }


def errors_by_kind(stats: dict[str, Any]) -> dict[str, int]:
    """``newscrawl/errors/<kind>`` counts (download failures, HTTP errors, bad pages), and
    ERROR log lines no kind accounts for as ``logged``."""
    errors = _with_prefix(stats, ERRORS_PREFIX)
    if stats.get("log_count/ERROR"):
        errors["logged"] = int(stats["log_count/ERROR"])
    return errors


def coverage(stats: dict[str, Any]) -> dict[str, float]:
    """Field -> share (0..1) of the crawl's exported items that have it."""
    items = stats.get("item_scraped_count", 0)
    if not items:
        return {}
    counts = _with_prefix(stats, COVERAGE_PREFIX)
    return {field: counts.get(field, 0) / items for field in FIELDS}


def figures(stats: dict[str, Any]) -> dict[str, Any]:
    """The summary's figures, from a crawl's stats (also what ``newscrawl report`` shows)."""
    store = {kind: int(stats.get(f"{STATS_STORE}/{kind}", 0)) for kind in _STORE_KINDS}
    return {
        "pages": int(stats.get("response_received_count", 0)),
        "items": int(stats.get("item_scraped_count", 0)),
        "stored": store["inserted"] + store["updated"],
        **store,
        "skipped_stored": int(stats.get(f"{STATS_INCREMENTAL}/skipped", 0)),
        "duplicates": int(
            stats.get(f"{STATS_DUPLICATES}/url", 0) + stats.get(f"{STATS_DUPLICATES}/content", 0)
        ),
        "dropped": _with_prefix(stats, DROPPED_PREFIX),
        "empty_listings": int(stats.get(f"{STATS_LISTING}/empty", 0)),
        "errors": errors_by_kind(stats),
        "coverage": coverage(stats),
    }


_STORE_KINDS = ("inserted", "updated", "unchanged", "merged")


def counted(parts: dict[str, int]) -> str:
    total = sum(parts.values())
    if not total:
        return "0"
    return f"{total} ({', '.join(f'{name} {count}' for name, count in parts.items())})"


def _coverage_text(shares: dict[str, float]) -> str:
    """``100%: a, b; c 90%, d 0%``: the fields every item has, then the others."""
    full = [name for name, share in shares.items() if share == 1]
    partial = sorted((pair for pair in shares.items() if pair[1] < 1), key=lambda p: -p[1])
    parts = [f"100%: {', '.join(full)}"] if full else []
    if partial:
        parts.append(", ".join(f"{name} {share:.0%}" for name, share in partial))
    return "; ".join(parts)


def summary_lines(stats: dict[str, Any], settings: BaseSettings, spider: str) -> list[str]:
    """The summary as ``label  value`` lines, ending with where the data is and the next
    command to read it."""
    done = figures(stats)
    store = settings.getbool("NEWSCRAWL_STORE_ENABLED")
    rows = [
        ("pages fetched", str(done["pages"])),
        ("items exported", str(done["items"])),
    ]
    if store:
        rows += [
            (
                "articles stored",
                f"{done['stored']} ({done['inserted']} new, {done['updated']} updated)",
            ),
            ("articles unchanged", str(done["unchanged"])),
            ("stored stories at a new URL", str(done["merged"])),
            ("skipped as already stored", str(done["skipped_stored"])),
        ]
    rows += [
        ("duplicates dropped", str(done["duplicates"])),
        ("items dropped", counted(done["dropped"])),
        ("listings without article links", str(done["empty_listings"])),
        ("errors", counted(done["errors"])),
    ]
    if done["coverage"]:
        rows.append(("field coverage", _coverage_text(done["coverage"])))
    feeds = [str(uri) for uri in settings.getdict("FEEDS")]
    where = [f"feed {', '.join(feeds)}"] if feeds else []
    if store:
        where.append(database_label(settings))
        rows.append(("data", "; ".join(where)))
        run = stats.get(STATS_RUN) if done["items"] else None  # else: what earlier runs stored
        rows.append(("next", export_command(settings, spider, run)))
    elif where:
        rows.append(("data", "; ".join(where)))
    width = max(len(label) for label, _ in rows)
    return [f"{label:<{width}}  {value}" for label, value in rows]


def database_label(settings: BaseSettings) -> str:
    url = settings.get("NEWSCRAWL_DATABASE_URL")
    if url:
        return f"database {redact(url, url)}"
    return f"embedded database in {settings['NEWSCRAWL_DATA_DIR']}"


def database_options(settings: BaseSettings) -> list[str]:
    """``newscrawl`` command options that reach the crawl's database. A configured URL
    is not repeated (it holds a password): the commands read ``NEWSCRAWL_DATABASE_URL``
    as the crawl did."""
    if settings.get("NEWSCRAWL_DATABASE_URL"):
        return []
    data_dir = settings["NEWSCRAWL_DATA_DIR"]
    # The commands' own default: newscrawl.settings, with NEWSCRAWL_DATA_DIR if set.
    return [] if data_dir == defaults.NEWSCRAWL_DATA_DIR else ["--data-dir", data_dir]


def export_command(settings: BaseSettings, spider: str, run: str | None) -> str:
    """The command that reads this crawl's articles back from the database, into a file
    named after the run (not ``articles.jsonl``: that is the demo's appended feed)."""
    command = ["newscrawl", "export", *database_options(settings)]
    if run:
        command += ["--run", run, "-o", f"run-{run}.jsonl"]
    else:
        command += ["--spider", spider, "-o", f"{spider}.jsonl"]
    return shlex.join(command)


class CrawlSummary:
    """Extension: counts field coverage as items are scraped; logs the summary at close.

    A crawl that exported no item because every article it found was already stored
    (incremental crawling) says so at WARNING, with the two ways out.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.started = time.monotonic()
        self.interval = 1.0
        self.next_sample = self.started

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlSummary:
        extension = cls(crawler)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.sample, signal=signals.response_received)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self.sample(force=True)

    def item_scraped(self, item: Any) -> None:
        # Straight into the collector's dict: inc_value goes through Scrapy's deprecation
        # wrappers, a dozen calls an item cost 20-30 µs of the reactor's time (5 µs so).
        counts = self.stats.get_stats()
        for field, value in item.items():
            key = _COVERAGE_KEYS.get(field)
            if key is not None and value not in (None, "", [], {}):
                counts[key] = counts.get(key, 0) + 1

    def sample(self, force: bool = False) -> None:
        """Add ``[seconds, pages, items]`` to the ``newscrawl/timeline`` stat (what
        ``newscrawl report`` plots), at most every ``interval`` seconds; past
        ``TIMELINE_POINTS`` points every other one goes and the interval doubles."""
        now = time.monotonic()
        if now < self.next_sample and not force:
            return
        timeline = self.stats.get_value(STATS_TIMELINE) or []
        timeline.append(
            [
                round(now - self.started, 1),
                self.stats.get_value("response_received_count", 0),
                self.stats.get_value("item_scraped_count", 0),
            ]
        )
        if len(timeline) > TIMELINE_POINTS:
            timeline = timeline[::2]
            self.interval *= 2
        self.stats.set_value(STATS_TIMELINE, timeline)
        self.next_sample = now + self.interval

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.sample(force=True)
        stats = self.stats.get_stats()
        if self.crawler.settings.getbool("NEWSCRAWL_SUMMARY_LOG"):
            lines = summary_lines(stats, self.crawler.settings, spider.name)
            logger.info("Crawl summary (%s):\n  %s", reason, "\n  ".join(lines))
        skipped = stats.get(f"{STATS_INCREMENTAL}/skipped", 0)
        if skipped and not stats.get("item_scraped_count"):
            logger.warning(
                "No items exported: all %d articles found were already stored and skipped "
                "(incremental crawl). Fetch them again with -a incremental=0, or read them "
                "with: %s",
                skipped,
                export_command(self.crawler.settings, spider.name, None),
            )
