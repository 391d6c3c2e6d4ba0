"""What a database error means for the write path, decided once, here.

Every failure falls in one of four kinds, and each kind has one treatment:

``record``
    One record's content is at fault (SQLSTATE class 22 data exception, 23 integrity
    violation, 54 program limit such as "index row size exceeds", or a value the
    client cannot encode): the batch is split to isolate the record, which goes to
    ``rejected_items``; the others are stored.
``outage``
    The server is out of reach (connection refused or lost, shutting down, too
    many connections, no answer in time): retried with backoff, then spooled.
``config``
    The server answered "no" to who we are (wrong password, unknown role or
    database, malformed DSN, no permission): retrying cannot help, so it fails at
    once with one line naming the fix.
``batch``
    Anything else (a missing table, a bug): the batch is spooled, not retried; a
    split finds the row if a single one causes it.

psycopg reports some record errors as ``OperationalError`` subclasses (class 54),
and connection failures carry no SQLSTATE at all (only the server's message), so
the SQLSTATE is checked first and the exception class after.
"""

from __future__ import annotations

import re
from typing import Literal

import psycopg

from newscrawl.redact import redact

Kind = Literal["record", "outage", "config", "batch"]

RECORD_CLASSES = frozenset({"22", "23", "54"})
OUTAGE_CLASSES = frozenset({"08", "53", "57", "58"})  # connection, resources, operator, system
CONFIG_CLASSES = frozenset({"28", "3D", "42501"})  # authorization, unknown database, privilege
# 57014 is a query cancelled (statement_timeout): the server is there, it was slow.
RETRYABLE_STATES = frozenset({"40001", "40P01", "57014"})

# A connection refused by the server itself ("FATAL: ...") carries no SQLSTATE in psycopg.
_REFUSED_LOGIN = re.compile(
    r"password authentication failed|authentication failed|role .* does not exist"
    r"|database .* does not exist|no pg_hba\.conf entry|permission denied"
    r"|server does not support SSL|SSL .*required|invalid .*(?:option|URI|sslmode)",
    re.I,
)


class DatabaseError(Exception):
    """A database failure, with a message safe to log (no password)."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached now; it may come back."""


class DatabaseMisconfigured(DatabaseError):
    """The database refuses this configuration (DSN, credentials, database name)."""


def sqlstate(exc: BaseException) -> str | None:
    return exc.sqlstate if isinstance(exc, psycopg.Error) else None


def classify(exc: BaseException) -> Kind:
    """The kind of ``exc`` (see the module docstring)."""
    state = sqlstate(exc)
    if state:
        if state in RETRYABLE_STATES:
            return "outage"
        if state in CONFIG_CLASSES or state[:2] in CONFIG_CLASSES:
            return "config"
        if state[:2] in RECORD_CLASSES:
            return "record"
        if state[:2] in OUTAGE_CLASSES:
            return "outage"
        return "batch"
    if isinstance(exc, DatabaseUnavailable):
        return "outage"
    if isinstance(exc, DatabaseMisconfigured | psycopg.ProgrammingError):
        return "config"  # psycopg raises this for a DSN it cannot parse
    if isinstance(exc, psycopg.OperationalError):
        return "config" if _REFUSED_LOGIN.search(str(exc)) else "outage"
    if isinstance(exc, psycopg.InterfaceError | TimeoutError | ConnectionError):
        return "outage"
    if isinstance(exc, ValueError):  # UnicodeEncodeError and friends, raised while encoding
        return "record"
    return "batch"


def describe(exc: BaseException, dsn: str | None = None) -> str:
    """One log line for ``exc``, without ``dsn``'s password.

    PostgreSQL errors carry query and context lines in ``str()``, and libpq echoes a
    malformed connection string whole, password included.
    """
    if isinstance(exc, DatabaseError):
        return str(exc)  # already one safe line
    message = exc.diag.message_primary if isinstance(exc, psycopg.Error) else None
    text = " ".join((message or str(exc) or "no answer").split())
    return f"{type(exc).__name__}: {redact(text, dsn)}"


def hint(exc: BaseException) -> str:
    """What to do about a ``config`` error, for the end of its log line."""
    text = str(exc)
    if re.search(r"password|authentication|pg_hba", text, re.I):
        return "check the user and password in NEWSCRAWL_DATABASE_URL"
    if re.search(r"role .* does not exist", text, re.I):
        return "create the role, or name an existing one in NEWSCRAWL_DATABASE_URL"
    if re.search(r"database .* does not exist", text, re.I):
        return "create it (createdb), or name an existing one in NEWSCRAWL_DATABASE_URL"
    if re.search(r"permission denied", text, re.I):
        return "grant the role CREATE and USAGE on the database, or use its owner"
    return (
        "fix NEWSCRAWL_DATABASE_URL (postgresql://user:password@host:port/dbname),"
        " or unset it for the embedded server"
    )
