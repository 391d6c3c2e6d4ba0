"""newscrawl settings: polite defaults; every value can be overridden with ``-s``.

Environment variables are read here and nowhere else: ``NEWSCRAWL_DATABASE_URL`` selects a
PostgreSQL server (unset: an embedded server in ``NEWSCRAWL_DATA_DIR``), ``NEWSCRAWL_BROWSER``
the browser, ``NEWSCRAWL_FRONTIER_URL`` a Redis server to share one crawl between
workers, ``SCRAPYD_URL``, ``SCRAPYD_USERNAME`` and ``SCRAPYD_PASSWORD`` the scheduler's
scrapyd. Every component reads the settings, so ``-s`` beats the environment.
"""

import os

from newscrawl import vocab as _vocab  # lower case: not a setting itself

BOT_NAME = "newscrawl"
SPIDER_MODULES = ["newscrawl.spiders"]
NEWSPIDER_MODULE = "newscrawl.spiders"
# `scrapy crawl` that stops on a bad -a value or feed path in one line (exit 2), and exits
# non-zero when a crawl ends with its work undone (newscrawl.commands.crawl).
COMMANDS_MODULE = "newscrawl.commands"

# Politeness: identify ourselves, obey robots.txt, adapt to the server's speed.
USER_AGENT = "newscrawl/0.1 (+https://github.com/newscrawl/newscrawl)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Items (and links) per response handled in parallel. A page yields one article and a few
# links; Scrapy's default of 100 starts 100 tasks per response, a third of a bare crawl's CPU.
CONCURRENT_ITEMS = 16
DOWNLOAD_DELAY = 0.25
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DEPTH_LIMIT = 8
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
# A page with more elements is skipped (counted, one warning), so that one page cannot take
# hundreds of MB to parse; news pages have a few thousand. 0: no limit.
NEWSCRAWL_PAGE_MAX_ELEMENTS = 100_000
RETRY_TIMES = 2
# A page that stays unreachable is the web's fault, not the crawler's: a warning.
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Quiet by default: progress, warnings and errors, not a line per page and item
# (``-s LOG_LEVEL=DEBUG`` for those). Progress every 15 s, so even a short crawl shows it.
LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 15.0

ITEM_PIPELINES = {
    "newscrawl.pipelines.validate.ValidatePipeline": 100,
    # The store is the authority on identity (it merges a story reached under
    # a second URL into the stored article); dedupe then keeps feeds unique.
    "newscrawl.pipelines.postgres.PostgresPipeline": 300,
    "newscrawl.pipelines.dedupe.DedupePipeline": 400,
}

FEED_EXPORT_ENCODING = "utf-8"
# CSV feeds: one column per Article field, nested fields (authors, source...) as JSON.
FEED_EXPORTERS = {"csv": "newscrawl.exporters.CsvItemExporter"}

EXTENSIONS = {
    # Before Scrapy's own: it must see a killed crawl's JOBDIR before the scheduler reads it.
    "newscrawl.jobdir.JobdirGuard": 0,
    "newscrawl.extensions.StatsFile": 500,
    # The summary every crawl ends with (newscrawl.summary); before the run record,
    # so crawl_runs.stats holds its field coverage.
    "newscrawl.summary.CrawlSummary": 505,
    # One crawl_runs row per run, whenever the store is on.
    "newscrawl.runs.RunRecorder": 510,
    # Spidermon close monitors (newscrawl.monitoring); before the run record, which keeps them.
    "newscrawl.monitoring.Monitors": 502,
}
# Monitors: "scheduled" (scrapyd jobs), "always" or "never"; their thresholds.
NEWSCRAWL_MONITORS = "scheduled"
NEWSCRAWL_MONITOR_MIN_ITEMS = 1  # articles found: exported or skipped as already stored
NEWSCRAWL_MONITOR_MAX_ERROR_RATE = 0.1  # errors (HTTP errors included) per page fetched
NEWSCRAWL_MONITOR_FIELD_COVERAGE = {"headline": 1.0, "articleBody": 1.0, "datePublished": 0.8}
NEWSCRAWL_MONITOR_FINISH_REASONS = ["finished"]
# Write the final stats as JSON here (unset: don't).
NEWSCRAWL_STATS_FILE = None
# Log the crawl summary (pages, stored, dropped, errors, field coverage) at close.
NEWSCRAWL_SUMMARY_LOG = True

# Storage (newscrawl.db). The environment is read here only: every component takes these
# from crawler.settings, so `-s NEWSCRAWL_DATABASE_URL=` forces the embedded server.
NEWSCRAWL_DATABASE_URL = os.environ.get("NEWSCRAWL_DATABASE_URL") or None
NEWSCRAWL_DATA_DIR = os.environ.get("NEWSCRAWL_DATA_DIR", ".newscrawl")
NEWSCRAWL_STORE_ENABLED = True
NEWSCRAWL_STORE_BATCH_SIZE = 200
# A batch is also written once its items hold this many characters of text: PostgreSQL
# takes at most 256 MB of jsonb in one value, and the writer holds one batch in memory.
NEWSCRAWL_STORE_BATCH_BYTES = 32 * 1024 * 1024
NEWSCRAWL_STORE_FLUSH_INTERVAL = 2.0
# A write that fails for want of the database is retried, waiting from
# NEWSCRAWL_STORE_RETRY_BACKOFF seconds, doubling, up to ..._BACKOFF_MAX; a batch that
# still fails is spooled to NEWSCRAWL_SPOOL_DIR (default <NEWSCRAWL_DATA_DIR>/spool) and
# replayed when the crawl closes, at the next start or by `newscrawl db replay`.
NEWSCRAWL_STORE_RETRY_TIMES = 5
NEWSCRAWL_STORE_RETRY_BACKOFF = 1.0
NEWSCRAWL_STORE_RETRY_BACKOFF_MAX = 30.0
NEWSCRAWL_STORE_TIMEOUT = 30.0  # seconds for one write attempt, and to connect
NEWSCRAWL_SPOOL_DIR = None

# The scheduler (``newscrawl schedule``): scrapyd's address (a schedule file's [scrapyd]
# url and --url come first) and its HTTP credentials.
NEWSCRAWL_SCRAPYD_URL = os.environ.get("SCRAPYD_URL") or "http://127.0.0.1:6800"
NEWSCRAWL_SCRAPYD_USERNAME = os.environ.get("SCRAPYD_USERNAME") or None
NEWSCRAWL_SCRAPYD_PASSWORD = os.environ.get("SCRAPYD_PASSWORD") or None
NEWSCRAWL_SCRAPYD_TIMEOUT = 30.0  # seconds for one scrapyd call: a stuck scrapyd never hangs a tick

# Incremental crawling: article URLs already stored are not fetched again (listings,
# feeds and sitemaps always are). Off for one run with ``-a incremental=0``.
SPIDER_MIDDLEWARES = {
    # Outermost: a failing Spider.start() is one error line and exit code 1.
    "newscrawl.middlewares.start.StartGuard": 10,
    "newscrawl.browser.middleware.RenderMiddleware": 550,
    "newscrawl.middlewares.incremental.IncrementalMiddleware": 600,
    "newscrawl.workers.ExtractionFailures": 650,
}
NEWSCRAWL_INCREMENTAL_ENABLED = True
NEWSCRAWL_INCREMENTAL_BATCH_SIZE = 200  # article URLs per lookup

# Validation: an item without these fields is dropped (counted per reason). By default the
# fields the store cannot do without; add to them, the store still needs those.
NEWSCRAWL_REQUIRED_FIELDS = list(_vocab.STORED_FIELDS)
# Limits before the database (counted under newscrawl/fields/): longer canonical URLs and
# related links are dropped (an item with a longer URL is), longer fields truncated.
NEWSCRAWL_MAX_URL_LENGTH = 2083  # Scrapy's URLLENGTH_LIMIT; PostgreSQL indexes ~2.7 KB
NEWSCRAWL_FIELD_LIMITS = {"headline": 1000, "description": 10_000, "articleBody": 1_000_000}
# The news spider stores a page when the probability that it is one story (an article
# or a live blog) reaches this; pages fetched as articles that fall short are counted.
NEWSCRAWL_MIN_ARTICLE_PROBABILITY = 0.5

# Extraction (parsing, page objects, the loader) runs in this many worker processes
# (newscrawl.workers); unset: one per CPU but one, 0: in the crawl process. A page a
# worker takes longer than NEWSCRAWL_EXTRACT_TIMEOUT seconds on is given up (counted).
NEWSCRAWL_EXTRACT_WORKERS = os.environ.get("NEWSCRAWL_EXTRACT_WORKERS") or None
NEWSCRAWL_EXTRACT_TIMEOUT = 30.0

# Sitemap entries are requested this many at a time, as the crawl drains (newscrawl.sitemaps).
NEWSCRAWL_SITEMAP_BATCH = 500

# One crawl over many workers (newscrawl.frontier; README "Crawling with many workers"):
# set a Redis URL and every worker started with the same -a crawl_id shares its queue,
# dupefilter, page budgets and per-host politeness. Unset: one process, Scrapy's scheduler.
ADDONS = {"newscrawl.frontier.FrontierAddon": 0}
NEWSCRAWL_FRONTIER_URL = os.environ.get("NEWSCRAWL_FRONTIER_URL") or None
NEWSCRAWL_FRONTIER_LEASE_TIME = 120.0  # seconds a worker holds a request without renewing
NEWSCRAWL_FRONTIER_IDLE_TIMEOUT = 30.0  # a worker stops once the frontier is empty this long
NEWSCRAWL_FRONTIER_PREFETCH = None  # requests leased ahead (None: CONCURRENT_REQUESTS)
NEWSCRAWL_FRONTIER_HOST_DELAY = None  # seconds per host, whole crawl (None: DOWNLOAD_DELAY)
NEWSCRAWL_FRONTIER_HOST_CONCURRENCY = None  # None: CONCURRENT_REQUESTS_PER_DOMAIN
NEWSCRAWL_FRONTIER_RETRY_INTERVAL = 5.0  # seconds between attempts while Redis is down
NEWSCRAWL_FRONTIER_SEED_ONLY = False  # push the seeds and stop (newscrawl frontier seed)

LOG_FORMATTER = "newscrawl.logformatter.NewsLogFormatter"

# JavaScript-rendered pages (newscrawl.browser; README "JavaScript-rendered pages").
# Spiders render as ``-a render=auto|always|never`` says; a crawl that may render and
# finds a browser gets scrapy-playwright's download handlers (the others never start
# Playwright). The browser: NEWSCRAWL_BROWSER, else /usr/bin/chromium, chromium-browser
# or google-chrome, whichever exists first.
NEWSCRAWL_BROWSER = os.environ.get("NEWSCRAWL_BROWSER") or None
NEWSCRAWL_BROWSER_CONTEXT_PAGES = 100  # pages a browser context serves before it is replaced
NEWSCRAWL_BROWSER_WAIT_TIMEOUT = 5.0  # seconds a rendered page may take to build its content
# Whether a rendered page may load scripts, styles and data from public hosts off the site
# (CDNs, APIs). Private addresses are refused either way; False: every browser request onsite.
NEWSCRAWL_BROWSER_OFFSITE_ASSETS = True
# Chromium calls these Google services despite the flags below; no page needs them. The
# browser's traffic goes through newscrawl.browser.proxy, which refuses them without a count.
NEWSCRAWL_BROWSER_BLOCKED_HOSTS = [
    "accounts.google.com",
    "clients2.google.com",
    "clients2.googleusercontent.com",
    "update.googleapis.com",
    "safebrowsing.googleapis.com",
    "optimizationguide-pa.googleapis.com",
    "content-autofill.googleapis.com",
    "redirector.gvt1.com",
]
DOWNLOADER_MIDDLEWARES = {
    # Bad responses become one log line and a newscrawl/errors/<kind> count (guard.py):
    # redirect loops are seen before Scrapy's redirects (600), the rest after decompression
    # (590) and retries (550).
    "newscrawl.middlewares.guard.RedirectGuard": 650,
    # After Scrapy's OffsiteMiddleware (50), which compares hosts only: ports too.
    "newscrawl.middlewares.guard.PortGuard": 60,
    "newscrawl.middlewares.guard.ResponseGuard": 540,
    "newscrawl.browser.middleware.BrowserMiddleware": 950,
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_BROWSER_PROVIDER = "newscrawl.browser.ChromiumProvider"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "headless": True,
    "timeout": 20_000,  # ms to start; a broken browser fails the crawl's renders, not hangs
    # Runs as root in containers (no sandbox there); no GPU, small /dev/shm, and no
    # traffic of its own (updates, sync, sign-in, field trials): only the pages we ask for.
    "args": [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        # WebRTC would reach addresses over UDP, around the browser's proxy (browser.proxy).
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    ],
}
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
PLAYWRIGHT_MAX_CONTEXTS = 3  # the current context, and retired ones finishing their pages
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 15_000  # ms
PLAYWRIGHT_ABORT_REQUEST = "newscrawl.browser.abort_request"  # no images, media or fonts
