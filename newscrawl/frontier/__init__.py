"""One crawl over many worker processes: a shared frontier in Redis.

Set ``NEWSCRAWL_FRONTIER_URL=redis://host:6379/0`` (environment or ``-s``) and start
any number of ``scrapy crawl <spider> -a crawl_id=<name>`` processes, on any
machines, with the same database: they share one queue, one dupefilter, one page
budget per site and one politeness budget per host (see :mod:`.queue` for the
keys, :mod:`.scheduler` for a worker's side). Unset, a crawl is one process with
Scrapy's own scheduler and nothing here imports Redis.

Why not scrapy-redis: its queue hands a request out and forgets it (a killed
worker loses what it held), a Redis outage raises inside Scrapy's synchronous
scheduler calls (the crawl dies), politeness stays per process, and its spiders
rely on ``start_requests``. What it does well (a Redis set as the dupefilter, a
sorted set as the queue) is a few lines here, inside scripts that also lease.
"""

from __future__ import annotations

from scrapy.settings import BaseSettings


class FrontierAddon:
    """Switches the scheduler to the shared frontier when ``NEWSCRAWL_FRONTIER_URL`` is set.

    An add-on because a setting given with ``-s`` must be able to switch it, and the
    settings module only sees the environment.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("NEWSCRAWL_FRONTIER_URL"):
            return
        settings.set("SCHEDULER", "newscrawl.frontier.scheduler.FrontierScheduler", "addon")
        middlewares = settings.getdict("SPIDER_MIDDLEWARES")
        middlewares["newscrawl.frontier.scheduler.SeedOnce"] = 10
        priority = settings.getpriority("SPIDER_MIDDLEWARES") or 0
        settings.set("SPIDER_MIDDLEWARES", middlewares, max(priority, 30))
        # robots.txt fetched once per crawl: Scrapy's middleware swapped for one sharing it
        scrapy_robots = "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"
        downloader = settings.getdict("DOWNLOADER_MIDDLEWARES")
        downloader[scrapy_robots] = None
        downloader["newscrawl.frontier.robots.SharedRobotsTxt"] = settings.getwithbase(
            "DOWNLOADER_MIDDLEWARES"
        )[scrapy_robots]
        priority = settings.getpriority("DOWNLOADER_MIDDLEWARES") or 0
        settings.set("DOWNLOADER_MIDDLEWARES", downloader, max(priority, 30))
