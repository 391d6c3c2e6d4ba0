"""``scrapy crawl`` with an exit status that tells a scheduler the crawl's work is not done.

Scrapy's own command exits 1 only when a crawl fails to start. A component that
finds the crawl's outcome incomplete sets the stat ``newscrawl/exit_code``
(:data:`EXIT_CODE`); this command then exits with it. The store pipeline does so
when items are left in the spool (the database was away at the end).
"""

from __future__ import annotations

import argparse

from scrapy.commands import crawl
from scrapy.crawler import Crawler
from scrapy.spiders import Spider

EXIT_CODE = "newscrawl/exit_code"


class Command(crawl.Command):
    def __init__(self) -> None:
        super().__init__()
        self.crawlers: list[Crawler] = []

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        crawler = super()._create_crawler(spidercls)
        self.crawlers.append(crawler)  # run() leaves no other handle on it
        return crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        super().run(args, opts)
        for crawler in self.crawlers:
            code = crawler.stats.get_value(EXIT_CODE) if crawler.stats else None
            if code and not self.exitcode:
                self.exitcode = int(code)
