"""Store speed: ``ArticleStore.upsert_batch`` against raw ``COPY`` of the same rows.

    python -m bench.store --items 20000

Both sides write the same Daily8-style records (one per sample-site story, a
body of about 3 KB, three related links) into a freshly migrated database of their own. The
store goes through the pipeline's path: batches of ``NEWSCRAWL_STORE_BATCH_SIZE``,
one ``upsert_batch`` call (one round trip, one transaction) each, URL keys and
dates computed per batch. The baseline is the fastest way PostgreSQL loads rows:
one ``COPY`` stream per table, in one transaction, from rows prepared in advance,
so its time is the database's alone. ``copy articles`` loads the article rows;
``copy all`` also loads the rows the store writes beside them (every URL of an
article, its related links).

``--stored 0,100000,1000000`` then measures how the store's cost grows with
what it holds: for each size, a fresh database is filled with that many
generated articles (one ``INSERT ... SELECT generate_series``, with their URL
and related rows and the statistics refreshed), then ``--scale-items`` new records
are stored the pipeline's way, and the incremental middleware's lookup
(``known_url_keys``, batches of ``NEWSCRAWL_INCREMENTAL_BATCH_SIZE`` keys, half of
them stored) runs over as many keys. Each rate is compared with the empty
database's. Writes ``bench/results/store.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bench.common import RESULTS_DIR, fresh_database, markdown_table, ratio, verdict, write_results
from newscrawl import processors
from newscrawl import settings as project_settings
from newscrawl.db.connection import Database
from newscrawl.db.migrate import migrate
from newscrawl.db.store import ArticleStore
from newscrawl.demo.site import SampleSite, StorySpec
from newscrawl.processors import body_hash, url_key

BASE = "https://www.daily8.com"
DOWNLOADED = "2025-04-21T06:00:00+00:00"
BODY_CHARS = 3000  # news articles run to a few thousand characters; sample stories are shorter
TARGET = 0.5  # store items/s against COPY of the article rows
SCALE_TARGET = 0.8  # store and lookup rates with the most articles stored, against none
ARTICLE_COLUMNS = (
    "id, url_key, canonical_url, url, headline, description, article_body, body_hash,"
    " date_published, date_published_raw, date_published_precision, authors, in_language,"
    " main_image, source_name, source_url, breadcrumbs, record, spider, first_seen,"
    " last_seen, date_downloaded"
)
URL_COLUMNS = "url_key, url, article_id, kind, first_seen, last_seen"
RELATED_COLUMNS = "article_id, url_key, url, headline, date_published, date_published_raw"

Record = dict[str, Any]


def _body(site: SampleSite, spec: StorySpec) -> str:
    """The story's text, lengthened with its neighbours' to :data:`BODY_CHARS` or more."""
    paragraphs = list(spec.paragraphs)
    borrowed = (p for other in spec.related for p in site.card_spec(other).paragraphs)
    while sum(map(len, paragraphs)) < BODY_CHARS and (paragraph := next(borrowed, None)):
        paragraphs.append(paragraph)
    return "\n".join(paragraphs)


def records(n: int) -> list[Record]:
    """``n`` distinct article records as the daily8 spider exports them."""
    site = SampleSite(n_articles=max(n + 2, 12))
    skip = {site.special.duplicate, site.special.bodiless}  # no twin texts, no empty body
    out = []
    for story_id in site.ids:
        if len(out) == n:
            break
        if story_id in skip:
            continue
        spec = site.spec(story_id)
        body = _body(site, spec)
        related = [site.card_spec(other) for other in spec.related]
        out.append(
            {
                "url": f"{BASE}{spec.path}",
                "canonicalUrl": f"{BASE}{spec.path}",
                "headline": spec.headline,
                "description": body[:150],
                "articleBody": body,
                "bodyHash": body_hash(body),
                "inLanguage": "en",
                "mainImage": {"url": f"{BASE}{spec.image_url}"},
                "breadcrumbs": [{"name": "Home", "url": f"{BASE}/en"}],
                "authors": [],
                "datePublished": spec.date_iso,
                "datePublishedRaw": spec.date_raw,
                "dateDownloaded": DOWNLOADED,
                "source": {"name": spec.source_name, "url": spec.source_url},
                "relatedArticles": [
                    {
                        "url": f"{BASE}{card.path}",
                        "headline": card.headline,
                        "datePublished": card.date_iso,
                        "datePublishedRaw": card.date_raw,
                    }
                    for card in related
                ],
                "provenance": {
                    "spider": "daily8",
                    "fields": {"headline": "json-ld", "articleBody": "dom", "url": "response"},
                },
            }
        )
    return out


def copy_rows(batch: Sequence[Record]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows the store ends up writing for ``batch``, per table, ready for ``COPY``."""
    tables: dict[str, list[tuple[Any, ...]]] = {"articles": [], "urls": [], "related": []}
    for article_id, record in enumerate(batch, 1):
        key = url_key(record["url"])
        published = record["datePublished"]
        tables["articles"].append(
            (
                article_id,
                key,
                record["canonicalUrl"],
                record["url"],
                record["headline"],
                record["description"],
                record["articleBody"],
                record["bodyHash"],
                published,
                record["datePublishedRaw"],
                "day" if published else None,
                Jsonb(record["authors"]),
                record["inLanguage"],
                record["mainImage"]["url"],
                record["source"]["name"],
                record["source"]["url"],
                Jsonb(record["breadcrumbs"]),
                Jsonb(record),
                "daily8",
                DOWNLOADED,
                DOWNLOADED,
                DOWNLOADED,
            )
        )
        tables["urls"].append((key, record["url"], article_id, "canonical", DOWNLOADED, DOWNLOADED))
        for link in record["relatedArticles"]:
            tables["related"].append(
                (
                    article_id,
                    url_key(link["url"]),
                    link["url"],
                    link["headline"],
                    link["datePublished"],
                    link["datePublishedRaw"],
                )
            )
    return tables


async def _migrated(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await migrate(conn)


async def time_store(
    dsn: str, batch: list[Record], batch_size: int, *, migrate_first: bool = True
) -> tuple[float, Counter]:
    """Seconds to store ``batch`` the pipeline's way, and the actions the store reported."""
    if migrate_first:
        await _migrated(dsn)
    processors._url_key.cache_clear()  # a cold start, as at the beginning of a crawl
    link = Database(dsn=dsn, label="bench").link(timeout=30)
    actions: Counter[str] = Counter()
    try:
        store = ArticleStore(link)
        start = time.perf_counter()
        for first in range(0, len(batch), batch_size):
            actions.update(await store.upsert(batch[first : first + batch_size]))
        return time.perf_counter() - start, actions
    finally:
        await link.close()


async def time_copy(dsn: str, tables: dict[str, list[tuple[Any, ...]]], every: bool) -> float:
    """Seconds to ``COPY`` the article rows (and with ``every`` the URL and related rows)."""
    await _migrated(dsn)
    copies = [("articles", ARTICLE_COLUMNS, tables["articles"])]
    if every:
        copies += [
            ("article_urls", URL_COLUMNS, tables["urls"]),
            ("related_articles", RELATED_COLUMNS, tables["related"]),
        ]
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        start = time.perf_counter()
        async with conn.transaction(), conn.cursor() as cursor:
            for table, columns, rows in copies:
                async with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        await copy.write_row(row)
        return time.perf_counter() - start


PRELOAD_SQL = (
    """INSERT INTO articles (url_key, canonical_url, url, headline, description, article_body,
         body_hash, date_published, date_published_precision, source_name, source_url, record,
         spider, first_seen, last_seen, date_downloaded)
       SELECT 'stored.example/news/' || g, 'https://stored.example/news/' || g,
         'https://stored.example/news/' || g, 'Stored story number ' || g, 'About story ' || g,
         repeat(md5(g::text) || ' ', 40), encode(sha256(g::text::bytea), 'hex'),
         timestamptz '2020-01-01' + g * interval '1 minute', 'second', 'Source ' || g %% 500,
         'https://source' || g %% 500 || '.example/', jsonb_build_object('n', g), 'bench',
         now(), now(), now()
       FROM generate_series(1, %(n)s) AS g""",
    """INSERT INTO article_urls (url_key, url, article_id, kind, first_seen, last_seen)
       SELECT url_key, url, id, 'canonical', first_seen, last_seen FROM articles""",
    """INSERT INTO related_articles (article_id, url_key, url, headline)
       SELECT id, 'stored.example/news/' || (id %% %(n)s + 1),
         'https://stored.example/news/' || (id %% %(n)s + 1), 'Related story'
       FROM articles""",
    "ANALYZE",
)


async def preload(dsn: str, stored: int) -> float:
    """Migrate ``dsn`` and fill it with ``stored`` generated articles; seconds taken."""
    await _migrated(dsn)
    start = time.perf_counter()
    if stored:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            for statement in PRELOAD_SQL:
                await conn.execute(statement, {"n": stored} if "%(n)s" in statement else None)
    return time.perf_counter() - start


async def time_at_scale(
    dsn: str, stored: int, batch: list[Record], batch_size: int, lookup_batch: int
) -> dict[str, float]:
    """Store ``batch`` into a database holding ``stored`` articles; then look up as many
    keys, half of them stored (the generated ones) and half not."""
    loaded = await preload(dsn, stored)
    took, _ = await time_store(dsn, batch, batch_size, migrate_first=False)
    rng = random.Random(len(batch))
    picks = rng.sample(range(1, stored + 1), len(batch)) if stored else range(len(batch))
    stored_keys = [f"stored.example/news/{n}" for n in picks]
    new_keys = [url_key(record["url"]) + "-unseen" for record in batch]
    keys = [key for pair in zip(stored_keys, new_keys, strict=True) for key in pair]
    link = Database(dsn=dsn, label="bench").link(timeout=30)
    try:
        store = ArticleStore(link)
        await store.known_url_keys(keys[:lookup_batch])  # the connection's first query: not timed
        start = time.perf_counter()
        found = 0
        for first in range(0, len(keys), lookup_batch):
            found += len(await store.known_url_keys(keys[first : first + lookup_batch]))
        lookup = time.perf_counter() - start
    finally:
        await link.close()
    expected = len(batch) if stored else 0
    if found != expected:
        raise RuntimeError(f"lookup found {found} stored keys of {expected}")
    return {
        "preload_s": round(loaded, 1),
        "store_items_per_s": round(len(batch) / took, 1),
        "lookup_keys_per_s": round(len(keys) / lookup, 1),
    }


def run_scale(levels: list[int], items: int, batch_size: int, lookup_batch: int) -> dict[str, Any]:
    """The store's rates at each number of stored articles, and their ratios to the empty one."""
    batch = records(items)
    figures = {}
    for stored in levels:
        with fresh_database() as dsn:
            figures[stored] = asyncio.run(
                time_at_scale(dsn, stored, batch, batch_size, lookup_batch)
            )
    base = figures[levels[0]]
    for rates in figures.values():
        for name in ("store_items_per_s", "lookup_keys_per_s"):
            rates[f"{name.split('_')[0]}_vs_empty"] = ratio(rates[name], base[name])
    largest = figures[levels[-1]]
    return {
        "items": items,
        "lookup_batch": lookup_batch,
        "levels": {str(stored): rates for stored, rates in figures.items()},
        "target": {"vs_empty_at_largest": SCALE_TARGET},
        "verdicts": {
            name: verdict(largest[f"{name}_vs_empty"], SCALE_TARGET) for name in ("store", "lookup")
        },
    }


def _median_seconds(runs: Iterable[float]) -> float:
    return round(statistics.median(runs), 3)


def run(items: int, repeat: int, batch_size: int) -> dict[str, Any]:
    """Interleaved rounds of the three writers, each into a fresh database; medians."""
    batch = records(items)
    tables = copy_rows(batch)
    seconds: dict[str, list[float]] = {"store": [], "copy articles": [], "copy all": []}
    actions: Counter[str] = Counter()
    for _ in range(repeat):
        with fresh_database() as dsn:
            took, actions = asyncio.run(time_store(dsn, batch, batch_size))
            seconds["store"].append(took)
        for name, every in (("copy articles", False), ("copy all", True)):
            with fresh_database() as dsn:
                seconds[name].append(asyncio.run(time_copy(dsn, tables, every)))
    rates = {name: round(items / _median_seconds(runs), 1) for name, runs in seconds.items()}
    ratios = {name: ratio(rates["store"], rates[name]) for name in ("copy articles", "copy all")}
    return {
        "items": items,
        "batch_size": batch_size,
        "repeat": repeat,
        "body_chars_mean": round(statistics.mean(len(r["articleBody"]) for r in batch)),
        "rows": {name: len(rows) for name, rows in tables.items()},
        "store_actions": dict(actions),
        "seconds": {name: [round(s, 3) for s in runs] for name, runs in seconds.items()},
        "items_per_s": rates,
        "store_vs": ratios,
        "target": {"store/copy articles": TARGET},
        "verdict": verdict(ratios["copy articles"], TARGET),
    }


def table(result: dict[str, Any]) -> str:
    rates, ratios = result["items_per_s"], result["store_vs"]
    every = "articles, URLs, related"
    rows = [
        ["store (upsert_batch)", rates["store"], 1.0, every, ""],
        ["copy articles", rates["copy articles"], ratios["copy articles"], "articles"],
        ["copy all", rates["copy all"], ratios["copy all"], every, ""],
    ]
    rows[1].append(f"≥ {TARGET} {result['verdict']}")
    headers = ["writer", "items/s", "store vs this", "tables", "target"]
    return markdown_table(headers, rows)


def scale_table(scale: dict[str, Any]) -> str:
    rows = [
        [
            f"{int(stored):,}",
            rates["store_items_per_s"],
            rates["store_vs_empty"],
            rates["lookup_keys_per_s"],
            rates["lookup_vs_empty"],
        ]
        for stored, rates in scale["levels"].items()
    ]
    verdicts = scale["verdicts"]
    rows.append(
        [f"target at the largest: ≥ {SCALE_TARGET}", "", verdicts["store"], "", verdicts["lookup"]]
    )
    headers = ["articles stored", "store items/s", "vs empty", "lookup keys/s", "vs empty"]
    return markdown_table(headers, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (median)")
    parser.add_argument(
        "--batch-size", type=int, default=project_settings.NEWSCRAWL_STORE_BATCH_SIZE
    )
    parser.add_argument(
        "--stored",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[],
        help="comma-separated numbers of articles already stored, smallest first (e.g. 0,1000000)",
    )
    parser.add_argument("--scale-items", type=int, default=5000, help="records stored per size")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="where store.json goes")
    args = parser.parse_args(argv)
    if args.stored and args.stored != sorted(args.stored):
        parser.error("--stored must list the sizes smallest first")
    if any(0 < stored < args.scale_items for stored in args.stored):
        parser.error("each --stored size must be 0 or at least --scale-items")
    result = run(args.items, max(1, args.repeat), args.batch_size)
    if args.stored:
        lookup_batch = project_settings.NEWSCRAWL_INCREMENTAL_BATCH_SIZE
        result["scale"] = run_scale(args.stored, args.scale_items, args.batch_size, lookup_batch)
    path = write_results("store", result, args.results)
    print(table(result))
    if args.stored:
        print("\n" + scale_table(result["scale"]))
    print(f"\n{args.items} items in batches of {args.batch_size}; results in {path}")


if __name__ == "__main__":
    main()
