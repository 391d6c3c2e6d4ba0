"""``scrapy crawl`` with a user's mistakes stopped early, in one line, with exit code 2.

Scrapy creates the spider inside the running crawl, so a bad ``-a`` value ends as
an unhandled-Deferred traceback, and an unwritable ``-O`` path is found only when the
first item is exported (one traceback per item, exit 0). Here the spider's
:class:`~newscrawl.spiders.arguments.ArgumentError` and an unwritable feed path each
print one line and exit 2; a crawl whose start requests failed exits 1.

A component that finds the crawl's outcome incomplete sets the stat
:data:`~newscrawl.vocab.STATS_EXIT_CODE` and the command exits with it: the store
pipeline does so when items are left in the spool (the database was away at the end).

Exit codes: 0 the crawl ran, 1 it could not start, its start requests failed or its
work is not done (that stat), 2 a usage mistake (argument, feed path).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.crawler import Crawler
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from newscrawl.spiders.arguments import ArgumentError
from newscrawl.vocab import STATS_EXIT_CODE, STATS_START_ERRORS

USAGE_ERROR = 2
START_FAILED = 1


class Command(ScrapyCrawl):
    def run(self, args: list[str], opts: Any) -> None:
        if len(args) != 1:
            super().run(args, opts)  # Scrapy's own usage errors
            return
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        problem = unwritable_feed(crawler)
        if problem:
            self._usage_error(problem)
            return
        running = self.crawler_process.crawl(crawler, **opts.spargs)
        if isinstance(running, asyncio.Task):  # AsyncCrawlerProcess
            running.add_done_callback(self._argument_error_of_task)
        elif isinstance(running, Deferred):
            running.addErrback(self._argument_error_of_deferred)
        self.crawler_process.start()
        if self.exitcode:
            return
        if self.crawler_process.bootstrap_failed or crawler.stats.get_value(STATS_START_ERRORS):
            self.exitcode = START_FAILED
        else:
            self.exitcode = int(crawler.stats.get_value(STATS_EXIT_CODE) or 0)

    def _argument_error_of_task(self, task: asyncio.Task[None]) -> None:
        """Print an :class:`ArgumentError` as one line (retrieving it, asyncio logs no
        traceback); other exceptions stay unretrieved, so asyncio still logs them."""
        if not task.cancelled() and isinstance(error := task.exception(), ArgumentError):
            self._usage_error(str(error))

    def _argument_error_of_deferred(self, failure: Failure) -> Failure | None:
        if not isinstance(failure.value, ArgumentError):
            return failure
        self._usage_error(str(failure.value))
        return None

    def _usage_error(self, message: str) -> None:
        print(f"scrapy crawl: error: {message}", file=sys.stderr, flush=True)
        self.exitcode = USAGE_ERROR


def unwritable_feed(crawler: Crawler) -> str | None:
    """A one-line reason when a local feed file (``-o``/``-O``/``FEEDS``) cannot be written.

    Scrapy creates the feed's missing directories; the check writes (and removes) a
    file in the nearest directory that exists, and opens an existing feed file for
    appending, which changes nothing in it.
    """
    for uri in crawler.settings.getdict("FEEDS"):
        uri = str(uri)
        parts = urlsplit(uri)
        if parts.scheme not in ("", "file") and len(parts.scheme) > 1:  # C:\ is a path
            continue
        path = Path(_render(parts.path if parts.scheme == "file" else uri, crawler))
        try:
            if path.exists():
                with path.open("ab"):
                    pass
            else:
                directory = next(p for p in path.absolute().parents if p.exists())
                if not directory.is_dir():
                    raise NotADirectoryError(f"{directory} is not a directory")
                with tempfile.NamedTemporaryFile(dir=directory, prefix=".newscrawl-check-"):
                    pass
        except OSError as exc:
            return f"cannot write the feed {path}: {exc.strerror or exc}"
    return None


def _render(uri: str, crawler: Crawler) -> str:
    """The feed path with Scrapy's ``%(name)s``-style parameters filled in."""
    name = crawler.spidercls.name
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace(":", "-")

    class Params(dict[str, Any]):
        def __missing__(self, key: str) -> str:
            return "x"

    try:
        return uri % Params(name=name, time=now, batch_time=now, batch_id=1)
    except (TypeError, ValueError):
        return uri
