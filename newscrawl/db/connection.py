"""Which PostgreSQL to talk to: a configured DSN, or an embedded server.

With ``NEWSCRAWL_DATABASE_URL`` set, that server is used as is. Without it, the
first run needs nothing installed: ``pgserver`` (PostgreSQL binaries shipped as a
wheel) runs a private server in ``<NEWSCRAWL_DATA_DIR>/pgdata``, reused across
runs and stopped when the last process using it is done.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from psycopg_pool import AsyncConnectionPool

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

logger = logging.getLogger(__name__)

DATABASE_URL_ENV = "NEWSCRAWL_DATABASE_URL"
DEFAULT_DATA_DIR = ".newscrawl"

# Greedy up to the last "@" of the authority: an unencoded "@" in a password stays masked.
_URL_PASSWORD = re.compile(r"^(?P<keep>[a-z][a-z0-9+.-]*://[^:@/?#]*:)[^/?#]*[^/?#@](?=@)", re.I)
_QUERY_PASSWORD = re.compile(r"(?P<keep>[?&]password=)[^&#]+", re.I)
_KEYWORD_PASSWORD = re.compile(r"(?P<keep>\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s']+)", re.I)

# pgserver keeps one handle per data directory and process; these serialise the
# acquire/release calls that run in worker threads (asyncio.to_thread).
_embedded_lock = threading.Lock()


def mask_dsn(dsn: str) -> str:
    """``dsn`` with any password replaced by ``***``, safe to log.

    Handles the URL form (``postgresql://user:pw@host/db``, ``?password=pw``) and
    the libpq keyword form (``host=h password=pw`` or ``password='p w'``).
    """
    if "://" in dsn:
        dsn = _URL_PASSWORD.sub(r"\g<keep>***", dsn)
        return _QUERY_PASSWORD.sub(r"\g<keep>***", dsn)
    return _KEYWORD_PASSWORD.sub(r"\g<keep>***", dsn)


def _acquire_embedded(pgdata: Path) -> PostgresServer:
    """Start (or join) the embedded server in ``pgdata``; blocking, run it in a thread.

    pgserver records every process using a data directory and only the last one
    to leave stops the server, so a second crawl joins a running server instead
    of failing. Its bookkeeping has two gaps that this closes: pids of crashed
    processes would keep the server alive forever, and a handle that was released
    in this process while another process kept the server up is returned from
    pgserver's cache without being registered again.
    """
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR (containers, cron, scrapyd) platformdirs warns and uses
        # /tmp/runtime-<uid> for pgserver's lock file, which is fine.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import pgserver
    from pgserver.utils import process_is_running

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with _embedded_lock:
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
        with server._lock:  # pgserver's inter-process lock
            users = server.global_process_id_list
            users.put([pid for pid in users.get() if process_is_running(pid)])
            server.ensure_postgres_running()
            users.get_and_add(os.getpid())
        server.__enter__()  # in-process reference count
    return server


def _release_embedded(server: PostgresServer) -> None:
    """Drop this handle; the server stops when no handle in any process remains."""
    with _embedded_lock:
        server.__exit__(None, None, None)


@dataclass
class Database:
    """A resolved database: the DSN to connect with, and the embedded server behind it."""

    dsn: str
    label: str
    server: PostgresServer | None = None

    @classmethod
    async def resolve(
        cls, url: str | None = None, data_dir: str | os.PathLike[str] | None = None
    ) -> Database:
        """Use ``url`` (or ``$NEWSCRAWL_DATABASE_URL``); without one, start the embedded server.

        Logs one INFO line naming the database, with the password masked.
        """
        url = url or os.environ.get(DATABASE_URL_ENV)
        if url:
            database = cls(dsn=url, label=f"PostgreSQL {mask_dsn(url)}")
        else:
            pgdata = Path(data_dir or DEFAULT_DATA_DIR) / "pgdata"
            _quiet_pgserver()
            server = await asyncio.to_thread(_acquire_embedded, pgdata.absolute())
            label = f"embedded PostgreSQL in {pgdata}"
            database = cls(dsn=server.get_uri(), label=label, server=server)
        logger.info("Using %s", database.label)
        return database

    async def open_pool(self, max_size: int = 4, timeout: float = 30.0) -> AsyncConnectionPool:
        """An open pool of autocommit connections: a batch is one statement, its own transaction.

        ``timeout`` also bounds every wait for a connection, so a database outage costs
        each caller (a lookup, a run record) seconds, not the pool's default half minute.
        """
        pool = AsyncConnectionPool(
            self.dsn,
            min_size=1,
            max_size=max_size,
            kwargs={"autocommit": True},
            open=False,
            name="newscrawl",
            timeout=timeout,
        )
        try:
            await pool.open(wait=True, timeout=timeout)
        except BaseException:
            await pool.close()
            raise
        return pool

    async def close(self) -> None:
        """Release the embedded server (stopping it if this was its last user)."""
        server, self.server = self.server, None
        if server is not None:
            await asyncio.to_thread(_release_embedded, server)


def _quiet_pgserver() -> None:
    """pgserver logs every pg_ctl command and its output at INFO; keep that out of crawl logs."""
    pg_logger = logging.getLogger("pgserver")
    if pg_logger.level == logging.NOTSET:
        pg_logger.setLevel(logging.WARNING)
