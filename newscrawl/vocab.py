"""The words spiders, middlewares, pipelines and reports share.

One place for the names that cross module boundaries, so a middleware never
imports a spider module to learn them and never re-types them as strings:

- page kinds: what a request is expected to fetch, kept in ``request.meta[PAGE_KIND]``;
- request meta keys newscrawl sets (Scrapy's and scrapy-playwright's own keys are theirs);
- stats keys: every counter is ``newscrawl/<area>/<what>``; the prefixes below name
  the areas whose keys are read elsewhere (reports, monitors, tests).
"""

from __future__ import annotations

from typing import Final

# Page kinds.
ARTICLE: Final = "article"
LISTING: Final = "listing"
SITEMAP: Final = "sitemap"
FEED: Final = "feed"
HTML_PAGE_KINDS: Final = frozenset({ARTICLE, LISTING})
"""Kinds parsed as HTML pages (sitemaps may be gzipped, feeds are XML)."""

# Page types: what a page object's classification says a page is (the record's
# ``pageType``, as zyte-common-items names them); ARTICLE and LISTING are the kinds above.
LIVE_BLOG: Final = "liveBlog"
OTHER: Final = "other"

# Record fields every stored article has (NOT NULL in the articles table, migration 0001):
# the store skips a record without one, and NEWSCRAWL_REQUIRED_FIELDS starts from them.
STORED_FIELDS: Final = ("url", "headline", "articleBody")

# Request meta keys.
PAGE_KIND: Final = "page_kind"
FRONTIER_ID: Final = "frontier_id"
"""The shared frontier's id of a request a worker leased (newscrawl.frontier)."""
SITEMAP_CHILD: Final = "sitemap_child"
"""On a sitemap request: a sitemap of an index, whose entries the sitemap feed waits for
(newscrawl.sitemaps)."""
RENDER: Final = "newscrawl_render"
"""Why a request goes through the browser: ``always`` or ``fallback`` (newscrawl.browser)."""

# Stats key prefixes: ``<prefix>/<name>``.
STATS: Final = "newscrawl"
STATS_BROWSER: Final = f"{STATS}/browser"
STATS_BUDGET: Final = f"{STATS}/budget"
STATS_COVERAGE: Final = f"{STATS}/coverage"
"""``/<field>``: items scraped with that field filled (newscrawl.summary)."""
STATS_DROPPED: Final = f"{STATS}/dropped"
"""``/<reason>``: pages requested as articles that gave no record (``not_an_article``,
``no_headline``, ``no_body``: spiders) and items the validation pipeline dropped
(``missing_<field>``)."""
STATS_DUPLICATES: Final = f"{STATS}/duplicates"
STATS_ENCODING: Final = f"{STATS}/encoding"
STATS_ERRORS: Final = f"{STATS}/errors"
"""``/<kind>``: downloads and responses that failed (``timeout``, ``http_404``, ``not_html``...)."""
STATS_EXTRACT: Final = f"{STATS}/extract"
"""``/workers``, ``/worker_restarts`` (newscrawl.workers), ``/<issue>`` (the news spider)."""
STATS_FEED: Final = f"{STATS}/feed"
STATS_FIELDS: Final = f"{STATS}/fields"
STATS_FRONTIER: Final = f"{STATS}/frontier"
"""``/pushed``, ``/leased``, ``/acked``, ``/outages``, ``/leases_lost``... (newscrawl.frontier)"""
STATS_INCREMENTAL: Final = f"{STATS}/incremental"
STATS_JOBDIR: Final = f"{STATS}/jobdir"
STATS_LISTING: Final = f"{STATS}/listing"
"""``/empty``: listings without an article link on a site whose listings have them."""
STATS_RUNS: Final = f"{STATS}/runs"
STATS_SINCE: Final = f"{STATS}/since"
STATS_SITEMAP: Final = f"{STATS}/sitemap"
STATS_STORE: Final = f"{STATS}/store"
"""``/inserted``, ``/updated``, ``/unchanged``, ``/merged``, ``/rejected``, ``/spooled``..."""

# Stats keys read by a module other than the one that sets them.
STATS_EXIT_CODE: Final = f"{STATS}/exit_code"
"""The exit status ``scrapy crawl`` ends with when a component finds the crawl's work
undone (set by the store pipeline, read by newscrawl.commands.crawl)."""
STATS_START_ERRORS: Final = f"{STATS_ERRORS}/start"
"""Failures of a spider's start requests (newscrawl.middlewares.start): exit code 1."""
STATS_MONITORS: Final = f"{STATS}/monitors"
"""The Spidermon results of a run (newscrawl.monitors; crawl_runs.monitors, migration 0006)."""
STATS_RUN: Final = f"{STATS}/run"
"""The crawl_runs id of the run (newscrawl.runs; read by the summary)."""
STATS_TIMELINE: Final = f"{STATS}/timeline"
"""Pages and items over time (newscrawl.summary; drawn by newscrawl.report)."""
