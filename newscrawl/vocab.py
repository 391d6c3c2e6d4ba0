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

# Request meta keys.
PAGE_KIND: Final = "page_kind"
FRONTIER_ID: Final = "frontier_id"
"""The shared frontier's id of a request a worker leased (newscrawl.frontier)."""

# Stats key prefixes: ``<prefix>/<name>``.
STATS: Final = "newscrawl"
STATS_BROWSER: Final = f"{STATS}/browser"
STATS_BUDGET: Final = f"{STATS}/budget"
STATS_DROPPED: Final = f"{STATS}/dropped"
"""``/<reason>``: pages requested as articles that gave no record (``not_an_article``,
``no_headline``, ``no_body``: spiders) and items the validation pipeline dropped
(``missing_<field>``)."""
STATS_DUPLICATES: Final = f"{STATS}/duplicates"
STATS_ENCODING: Final = f"{STATS}/encoding"
STATS_ERRORS: Final = f"{STATS}/errors"
"""``/<kind>``: downloads and responses that failed (``timeout``, ``http_404``, ``not_html``...)."""
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
