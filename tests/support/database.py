"""Scratch PostgreSQL databases for tests (and benchmarks).

Every test that stores anything gets a new, empty database of its own on the
test server, so tests never see each other's rows and leave nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_dsn() -> str:
    """The PostgreSQL server tests use: ``$NEWSCRAWL_TEST_DATABASE_URL``, else the local one."""
    return os.environ.get("NEWSCRAWL_TEST_DATABASE_URL", TEST_DATABASE_URL)


@contextlib.contextmanager
def temporary_database(server_dsn: str, prefix: str = "nc_test") -> Iterator[str]:
    """A new, empty database on the server at ``server_dsn`` (tests and benchmarks); dropped
    on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(server_dsn, dbname=name)
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
