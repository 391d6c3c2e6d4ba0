"""Shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.database import postgres_dsn, temporary_database

# --------------------------------------------------------------------------- database


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The test PostgreSQL server (``NEWSCRAWL_TEST_DATABASE_URL``); skipped if unreachable.

    Under CI (``CI`` set) an unreachable server fails the test instead, so a
    broken setup cannot pass as a green run.
    """
    dsn = postgres_dsn()
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL for tests unreachable ({exc}); set NEWSCRAWL_TEST_DATABASE_URL"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return dsn


@pytest.fixture
def fresh_db(pg_dsn: str) -> Iterator[str]:
    """DSN of a new, empty database on the test server, dropped afterwards."""
    with temporary_database(pg_dsn) as dsn:
        yield dsn
