"""Shared fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

# --------------------------------------------------------------------------- database

TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The test PostgreSQL server (``NEWSCRAWL_TEST_DATABASE_URL``); skipped if unreachable.

    Under CI (``CI`` set) an unreachable server fails the test instead, so a
    broken setup cannot pass as a green run.
    """
    dsn = os.environ.get("NEWSCRAWL_TEST_DATABASE_URL", TEST_DATABASE_URL)
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL for tests unreachable ({exc}); set NEWSCRAWL_TEST_DATABASE_URL"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return dsn


@contextmanager
def temporary_database(server_dsn: str) -> Iterator[str]:
    """A new, empty database on the server at ``server_dsn``; dropped on exit."""
    name = f"nc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(server_dsn, dbname=name)
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def fresh_db(pg_dsn: str) -> Iterator[str]:
    """DSN of a new, empty database on the test server, dropped afterwards."""
    with temporary_database(pg_dsn) as dsn:
        yield dsn
