"""ArticleStore: batched, idempotent writes of article records.

A batch goes to the database as one JSON array in one statement
(``newscrawl_upsert_articles``, migration 0002), so the cost per batch is one
round trip and one transaction whatever its size. Python's part is only what
SQL cannot do well: URL identity keys, date parsing and input checks.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

import orjson
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from newscrawl import processors
from newscrawl.processors import body_hash, is_date_only

logger = logging.getLogger(__name__)

# Keys are costly (full URL canonicalisation) and the same URLs recur: an article's
# own URL was usually a related link on pages stored just before it.
url_key = lru_cache(maxsize=8192)(processors.url_key)

Action = Literal["inserted", "updated", "unchanged", "merged", "skipped"]
REQUIRED_FIELDS = ("url", "headline", "articleBody")


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
    return moment.isoformat(), "day" if is_date_only(text) else "second"


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
                "o": index,
                "k": key,
                "url": value["url"],
                "headline": str(headline) if headline else None,
                "dp": _timestamp(value.get("datePublished"))[0],
                "dpr": value.get("datePublishedRaw"),
            }
    return list(related.values())


def _element(record: dict[str, Any], index: int) -> dict[str, Any] | None:
    """The batch element for ``record`` (see migration 0002), or None if it cannot be stored."""
    missing = [
        name
        for name in REQUIRED_FIELDS
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
        "o": index,
        "k": url_key(url),
        "c": url_key(canonical),
        "h": record.get("bodyHash") or body_hash(record["articleBody"]),
        "u": url,
        "cu": canonical,
        "dp": published,
        "dpp": precision,
        "dm": _timestamp(record.get("dateModified"))[0],
        "dd": _timestamp(record.get("dateDownloaded"))[0],
        "r": record,
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


class ArticleStore:
    """Article persistence over an async pool (autocommit connections: one round trip a batch)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def upsert_batch(self, records: list[dict[str, Any]]) -> list[Action]:
        """Store ``records`` (exported item dicts) in one transaction; one action per record.

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
            async with self.pool.connection() as conn:
                cursor = await conn.execute(
                    "SELECT newscrawl_upsert_articles(%s, %s)",
                    (Jsonb(elements, dumps=_dumps), Jsonb(related, dumps=_dumps)),
                )
                row = await cursor.fetchone()
            assert row is not None
            for position, action in zip(positions, row[0], strict=True):
                actions[position] = action
        return actions

    async def known_url_keys(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` (see ``processors.url_key``) lead to a stored article."""
        if not keys:
            return set()
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT url_key FROM article_urls WHERE url_key = ANY(%s)", (keys,)
            )
            return {key for (key,) in await cursor.fetchall()}

    async def counts(self) -> dict[str, int]:
        """Row counts: articles, urls, related, versions."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_urls),"
                " (SELECT count(*) FROM related_articles), (SELECT count(*) FROM article_versions)"
            )
            row = await cursor.fetchone()
        assert row is not None
        return dict(zip(("articles", "urls", "related", "versions"), row, strict=True))
