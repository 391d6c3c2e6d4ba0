"""ArticleStore: the SQL of storage. Batched, idempotent writes of article records.

A batch goes to the database as one JSON array in one statement
(``newscrawl_upsert_articles``, migration 0004), so the cost per batch is one
round trip and one transaction whatever its size. Python's part is only what
SQL cannot do well: URL identity keys, date parsing and input checks.

When PostgreSQL refuses a batch because of one record's content,
:meth:`ArticleStore.write` splits the batch to isolate it (see
:mod:`newscrawl.db.errors` for what counts as a record's fault); the caller
puts it in ``rejected_items`` with :meth:`ArticleStore.reject`.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from newscrawl.db.errors import classify, describe, sqlstate
from newscrawl.processors import body_hash, is_date_only, url_key
from newscrawl.vocab import STORED_FIELDS

logger = logging.getLogger(__name__)

Action = Literal["inserted", "updated", "unchanged", "merged", "skipped"]
Rejected = tuple[dict[str, Any], Exception]
# PostgreSQL's timestamptz takes offsets up to 15:59 either way; Python's up to 23:59.
MAX_OFFSET = timedelta(hours=15, minutes=59)


class Connector(Protocol):
    """Where connections come from: a :class:`~newscrawl.db.connection.Link` (or a pool)."""

    def connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]: ...


def _timestamp(value: Any) -> tuple[str | None, Literal["day", "second"] | None]:
    """An ISO 8601 value as an explicit-offset timestamp, and its precision.

    A bare date means the page gave no time: it is stored as midnight UTC with
    precision 'day'. A time without offset is taken as UTC.
    """
    if not value:
        return None, None
    text = str(value).strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        logger.warning("Not storing unparsable date %r", text)
        return None, None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not _offset_in_range(moment):
        logger.warning("Not storing date %r: its UTC offset is out of range", text)
        return None, None
    return moment.isoformat(), "day" if is_date_only(text) else "second"


def _offset_in_range(moment: datetime) -> bool:
    offset = moment.utcoffset()
    return offset is None or abs(offset) <= MAX_OFFSET


def usable_timestamp(value: Any) -> bool:
    """Whether ``value`` (ISO 8601) is a time PostgreSQL's ``timestamptz`` takes."""
    try:
        return _offset_in_range(datetime.fromisoformat(str(value).strip()))
    except ValueError:
        return False


def _related(values: Any, index: int) -> list[dict[str, Any]]:
    """Related links of record ``index`` with their URL keys, first one per key."""
    related: dict[str, dict[str, Any]] = {}
    for value in values if isinstance(values, list) else ():
        if not isinstance(value, dict) or not isinstance(value.get("url"), str):
            continue
        key = url_key(value["url"])
        if key and key not in related:
            headline = value.get("headline")
            related[key] = {
                "index": index,
                "url_key": key,
                "url": value["url"],
                "headline": str(headline) if headline else None,
                "date_published": _timestamp(value.get("datePublished"))[0],
                "date_published_raw": value.get("datePublishedRaw"),
            }
    return list(related.values())


def _element(record: dict[str, Any], index: int) -> dict[str, Any] | None:
    """The batch element for ``record`` (see migration 0004), or None if it cannot be stored."""
    missing = [
        name
        for name in STORED_FIELDS
        if not isinstance(record.get(name), str) or not record[name].strip()
    ]
    if missing:
        logger.warning("Not storing record %r: missing %s", record.get("url"), ", ".join(missing))
        return None
    url = record["url"]
    canonical = record.get("canonicalUrl") if isinstance(record.get("canonicalUrl"), str) else None
    canonical = canonical or url
    published, precision = _timestamp(record.get("datePublished"))
    return {
        "index": index,
        "url_key": url_key(url),
        "canonical_key": url_key(canonical),
        "body_hash": record.get("bodyHash") or body_hash(record["articleBody"]),
        "url": url,
        "canonical_url": canonical,
        "date_published": published,
        "date_published_precision": precision,
        "date_modified": _timestamp(record.get("dateModified"))[0],
        "date_downloaded": _timestamp(record.get("dateDownloaded"))[0],
        "record": record,
    }


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _encode(value: Any) -> bytes:
    """UTF-8 JSON. orjson: the standard library took a tenth of a batch's whole write time."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:  # integers beyond 64 bits and the like: slower, still stored
        return json.dumps(value, ensure_ascii=False, default=str).encode()


def _dumps(value: Any) -> bytes:
    """JSON for PostgreSQL, which cannot store NUL characters in text or jsonb."""
    data = _encode(value)
    if b"\\u0000" in data:  # rare: only then pay for a second pass
        data = _encode(_without_nul(value))
    return data


_UPSERT_RUN = """
INSERT INTO crawl_runs (id, spider, job_id, crawl_id, started_at, finished_at, finish_reason,
                        pages, items_stored, items_replayed, items_rejected, items_spooled,
                        duplicates, errors, stats)
VALUES (%(id)s::uuid, %(spider)s, %(job_id)s, %(crawl_id)s, %(started_at)s::timestamptz,
        %(finished_at)s::timestamptz, %(finish_reason)s, %(pages)s, %(items_stored)s,
        %(items_replayed)s, %(items_rejected)s, %(items_spooled)s, %(duplicates)s, %(errors)s,
        %(stats)s)
ON CONFLICT (id) DO UPDATE SET
    finished_at = excluded.finished_at, finish_reason = excluded.finish_reason,
    pages = excluded.pages, items_stored = excluded.items_stored,
    items_replayed = excluded.items_replayed, items_rejected = excluded.items_rejected,
    items_spooled = excluded.items_spooled, duplicates = excluded.duplicates,
    errors = excluded.errors, stats = excluded.stats
"""


# What a run did to each article of a batch: one row per article (two URLs of one story
# in a batch are one article), the strongest action kept (inserted > updated > merged >
# unchanged), also against what an earlier batch of the run did.
_RUN_ARTICLES = """
INSERT INTO run_articles AS r (run_id, article_id, action)
SELECT DISTINCT ON (u.article_id) %(run)s::uuid, u.article_id, x.action
  FROM unnest(%(keys)s::text[], %(actions)s::text[]) AS x(url_key, action)
  JOIN article_urls u ON u.url_key = x.url_key
 ORDER BY u.article_id, array_position(%(order)s::text[], x.action) DESC
ON CONFLICT (run_id, article_id) DO UPDATE SET action = excluded.action
 WHERE array_position(%(order)s::text[], excluded.action)
     > array_position(%(order)s::text[], r.action)
"""
_ACTION_ORDER = ["unchanged", "merged", "updated", "inserted"]


class ArticleStore:
    """Article (and run record) persistence: one statement a batch, over ``connector``'s
    autocommit connections."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    async def write(
        self, records: list[dict[str, Any]], run_id: uuid.UUID | str | None = None
    ) -> tuple[list[Action], list[Rejected]]:
        """Upsert ``records`` (for the run ``run_id``); when one record's content makes
        PostgreSQL refuse the batch, split the batch to isolate it, so it does not keep the
        others out.

        Returns the actions of the records written, in order, and the rejected records
        with their errors. Outages and errors that are no record's
        fault (a missing table fails every half of a batch alike) are raised.
        """
        return await self._write(records, run_id, blame_rows=False)

    async def _write(
        self, records: list[dict[str, Any]], run_id: uuid.UUID | str | None, *, blame_rows: bool
    ) -> tuple[list[Action], list[Rejected]]:
        try:
            return await self.upsert(records, run_id), []
        except Exception as exc:
            kind = classify(exc)
            if kind == "record" or (kind == "batch" and blame_rows):
                if len(records) == 1:
                    return [], [(records[0], exc)]
            elif kind != "batch" or len(records) == 1:
                raise
            blame_rows = blame_rows or kind == "record"
        middle = len(records) // 2
        first, second = records[:middle], records[middle:]
        if blame_rows:
            a = await self._write(first, run_id, blame_rows=True)
            b = await self._write(second, run_id, blame_rows=True)
            return a[0] + b[0], a[1] + b[1]
        # Not (yet) a record's fault: if both halves fail alike, the batch as a whole is.
        try:
            a = await self._write(first, run_id, blame_rows=False)
        except Exception as exc:
            if classify(exc) != "batch":
                raise
            b = await self._write(second, run_id, blame_rows=False)  # raises if it fails too
            a = await self._write(first, run_id, blame_rows=True)
            return a[0] + b[0], a[1] + b[1]
        b = await self._write(second, run_id, blame_rows=True)
        return a[0] + b[0], a[1] + b[1]

    async def upsert(
        self, records: list[dict[str, Any]], run_id: uuid.UUID | str | None = None
    ) -> list[Action]:
        """Store ``records`` (exported item dicts) in one transaction; one action per record,
        also kept in ``run_articles`` under ``run_id`` (migration 0009) when given.

        ``inserted``: a new article. ``updated``: a known URL with a changed body (version+1,
        the old text kept in ``article_versions``, related links replaced). ``unchanged``: a
        known URL, same body (only ``last_seen`` moves). ``merged``: a new URL whose body is
        already stored (the URL becomes an alias of that article). ``skipped``: lacks a
        required field. Records apply in order, so later ones win.
        """
        elements: list[dict[str, Any]] = []
        related: list[dict[str, Any]] = []
        positions: list[int] = []
        for position, record in enumerate(records):
            element = _element(record, len(elements))
            if element is not None:
                related += _related(record.get("relatedArticles"), len(elements))
                elements.append(element)
                positions.append(position)
        actions: list[Action] = ["skipped"] * len(records)
        if elements:
            async with self.connector.connection() as conn, conn.transaction():
                cursor = await conn.execute(
                    "SELECT newscrawl_upsert_articles(%s, %s)",
                    (Jsonb(elements, dumps=_dumps), Jsonb(related, dumps=_dumps)),
                )
                row = await cursor.fetchone()
                assert row is not None
                for position, action in zip(positions, row[0], strict=True):
                    actions[position] = action
                if run_id is not None:
                    await conn.execute(_RUN_ARTICLES, self._run_articles(run_id, elements, row[0]))
        return actions

    @staticmethod
    def _run_articles(
        run_id: uuid.UUID | str, elements: list[dict[str, Any]], actions: list[str]
    ) -> dict[str, Any]:
        stored = [
            (e["url_key"], a) for e, a in zip(elements, actions, strict=True) if a != "skipped"
        ]
        return {
            "run": str(run_id),
            "keys": [key for key, _ in stored],
            "actions": [action for _, action in stored],
            "order": _ACTION_ORDER,
        }

    async def reject(self, rejected: list[Rejected], run_id: uuid.UUID | None = None) -> None:
        """Put ``rejected`` records in ``rejected_items`` (migration 0005), with their errors."""
        rows = [
            (
                run_id,
                _without_nul(record.get("url")) if isinstance(record.get("url"), str) else None,
                json.dumps(record, default=str),  # ASCII: whatever the record holds fits in text
                sqlstate(exc),
                _without_nul(describe(exc)[:2000]),
            )
            for record, exc in rejected
        ]
        async with self.connector.connection() as conn, conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO rejected_items (run_id, url, item, sqlstate, error)"
                " VALUES (%s, %s, %s, %s, %s)",
                rows,
            )

    async def record_run(self, row: dict[str, Any]) -> None:
        """Upsert a ``crawl_runs`` row (:mod:`newscrawl.runs` builds it; a spooled one comes
        back from JSON, hence the casts)."""
        stats = row.get("stats")
        params = {**row, "stats": None if stats is None else Jsonb(stats, dumps=_dumps)}
        async with self.connector.connection() as conn:
            await conn.execute(_UPSERT_RUN, params)

    async def change_run(
        self, run_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> bool:
        """Update the ``crawl_runs`` row ``run_id`` under a row lock: ``change`` takes its
        stats and returns the columns to set (``stats`` included). False: no such row."""
        async with self.connector.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "SELECT stats FROM crawl_runs WHERE id = %s::uuid FOR UPDATE", (run_id,)
            )
            row = await cursor.fetchone()
            if row is None:
                return False
            values = change(row[0] or {})
            values["stats"] = Jsonb(values["stats"], dumps=_dumps)
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(column)) for column in values
            )
            await conn.execute(
                sql.SQL("UPDATE crawl_runs SET {} WHERE id = %s::uuid").format(assignments),
                [*values.values(), run_id],
            )
        return True

    async def known_url_keys(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` (see ``processors.url_key``) lead to a stored article."""
        if not keys:
            return set()
        async with self.connector.connection() as conn:
            cursor = await conn.execute(
                "SELECT url_key FROM article_urls WHERE url_key = ANY(%s)", (keys,)
            )
            return {key for (key,) in await cursor.fetchall()}

    async def counts(self) -> dict[str, int]:
        """Row counts: articles, urls, related, versions."""
        async with self.connector.connection() as conn:
            cursor = await conn.execute(
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_urls),"
                " (SELECT count(*) FROM related_articles), (SELECT count(*) FROM article_versions)"
            )
            row = await cursor.fetchone()
        assert row is not None
        return dict(zip(("articles", "urls", "related", "versions"), row, strict=True))
