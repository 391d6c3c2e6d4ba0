"""Schema migrations: ordered SQL files applied once each, at every start.

The files ship as package data and are read through ``importlib.resources`` so
they are found in an installed (even zipped) egg, as scrapyd runs it. All
pending files apply in one transaction under an advisory lock, so two crawls
starting together neither race nor see a half-migrated schema.
"""

from __future__ import annotations

import logging
from importlib import resources

from psycopg import AsyncConnection

logger = logging.getLogger(__name__)


def migration_files() -> list[tuple[str, str]]:
    """``(name, sql)`` of every migration, in the order they apply."""
    folder = resources.files("newscrawl.db").joinpath("migrations")
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".sql")), key=lambda e: e.name
    )
    return [(entry.name, entry.read_text(encoding="utf-8")) for entry in entries]


async def migrate(conn: AsyncConnection) -> list[str]:
    """Apply the migrations ``conn``'s database lacks; return their names."""
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('newscrawl.migrate', 0))")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor = await conn.execute("SELECT name FROM schema_migrations")
        done = {name for (name,) in await cursor.fetchall()}
        for name, sql in migration_files():
            if name in done:
                continue
            # A file holds several statements: sent without parameters, as a simple query.
            await conn.execute(sql.encode())
            await conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
            applied.append(name)
    if applied:
        logger.info("Applied database migrations: %s", ", ".join(applied))
    return applied
