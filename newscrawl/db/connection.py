"""Which PostgreSQL to talk to: a configured DSN, or an embedded server.

With a DSN (``NEWSCRAWL_DATABASE_URL``), that server is used as is. Without one,
the first run needs nothing installed: ``pgserver`` (PostgreSQL binaries shipped as a
wheel) runs a private server in ``<NEWSCRAWL_DATA_DIR>/pgdata``, reused across
runs and stopped when the last process using it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from newscrawl.db.errors import classify
from newscrawl.redact import redact

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

logger = logging.getLogger(__name__)

# pgserver keeps one handle per data directory and process; these serialise the
# acquire/release calls that run in worker threads (asyncio.to_thread).
_embedded_lock = threading.Lock()
_SYSTEM_BIN = ("/usr/sbin", "/sbin")


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
        from pgserver.postgres_server import PostgresServer
    from pgserver.utils import process_is_running

    pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
    _find_system_tools()
    with _embedded_lock:
        # Not pgserver.get_server(), which resolves the symlink _socket_safe() may return.
        path = _socket_safe(pgdata)
        server = PostgresServer._instances.get(path) or PostgresServer(path, cleanup_mode="stop")
        with server._lock:  # pgserver's inter-process lock
            users = server.global_process_id_list
            users.put([pid for pid in users.get() if process_is_running(pid)])
            server.ensure_postgres_running()
            users.get_and_add(os.getpid())
        server.__enter__()  # in-process reference count
    return server


def _find_system_tools() -> None:
    """Put /usr/sbin and /sbin on PATH for root when ``useradd`` is not found.

    Started by root, pgserver runs PostgreSQL as a ``pgserver`` user that it creates
    with ``useradd`` looked up on PATH; cron's PATH (/usr/bin:/bin) lacks it, so a
    scheduled first crawl on a fresh machine would fail there.
    """
    if os.geteuid() == 0 and shutil.which("useradd") is None:
        os.environ.update(PATH=os.pathsep.join([*os.get_exec_path(), *_SYSTEM_BIN]))


def _socket_safe(pgdata: Path) -> Path:
    """``pgdata``, or a short symlink to it when a socket path inside it would be too long.

    The server's socket always lives in its data directory, which is private (0700,
    owned by the server's user): with trust authentication, whoever reaches the
    socket is in. pgserver itself would move a socket whose path is too long (the
    limit is about 100 bytes) to a directory under ``/tmp`` open to every user.
    """
    if len(os.fsencode(pgdata / ".s.PGSQL.5432")) < 100:
        return pgdata
    if os.geteuid() == 0:  # the server runs as pgserver's own user, which must reach pgdata
        from pgserver.utils import ensure_prefix_permissions

        ensure_prefix_permissions(pgdata)
    base = Path(tempfile.gettempdir()) / f"newscrawl-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    if base.is_symlink() or base.stat().st_uid != os.getuid():
        raise PermissionError(f"{base} belongs to another user: cannot link {pgdata} from it")
    link = base / hashlib.sha256(os.fsencode(pgdata)).hexdigest()[:16]
    if not (link.is_symlink() and os.readlink(link) == str(pgdata)):
        fresh = base / f".{link.name}.{os.getpid()}"
        fresh.unlink(missing_ok=True)
        fresh.symlink_to(pgdata, target_is_directory=True)
        fresh.replace(link)  # atomic: a concurrent crawl sees the old link or the new one
    return link


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
    async def resolve(cls, url: str | None, data_dir: str | os.PathLike[str]) -> Database:
        """Use ``url``; without one, start (or join) the embedded server in ``data_dir``.

        Logs one INFO line naming the database, with the password masked.
        """
        if url:
            database = cls(dsn=url, label=f"PostgreSQL {redact(url, url)}")
        else:
            pgdata = Path(data_dir) / "pgdata"
            _quiet_pgserver()
            server = await asyncio.to_thread(_acquire_embedded, pgdata.absolute())
            label = f"embedded PostgreSQL in {pgdata}"
            database = cls(dsn=server.get_uri(), label=label, server=server)
        logger.info("Using %s", database.label)
        return database

    async def connect(self, timeout: float) -> psycopg.AsyncConnection[Any]:
        """An autocommit connection: a batch is one statement, its own transaction.

        A refused connection fails at once; a server that does not answer, within
        ``timeout`` seconds (libpq's ``connect_timeout``, at least 2).
        """
        return await psycopg.AsyncConnection.connect(
            self.dsn, autocommit=True, connect_timeout=connect_timeout(timeout)
        )

    def link(self, timeout: float) -> Link:
        return Link(self, timeout)

    async def close(self) -> None:
        """Release the embedded server (stopping it if this was its last user)."""
        server, self.server = self.server, None
        if server is not None:
            await asyncio.to_thread(_release_embedded, server)


def connect_timeout(timeout: float) -> int:
    """libpq's ``connect_timeout`` for ``timeout`` seconds: whole seconds, at least 2 (libpq
    would take 1 as 2 anyway, and 0 as no limit)."""
    return max(2, round(timeout))


def _quiet_pgserver() -> None:
    """pgserver logs every pg_ctl command and its output at INFO; keep that out of crawl logs."""
    pg_logger = logging.getLogger("pgserver")
    if pg_logger.level == logging.NOTSET:
        pg_logger.setLevel(logging.WARNING)


class Link:
    """One connection to ``database``, opened on first use and again after it broke.

    Users take turns (``async with link.connection() as conn``). A connection that
    failed other than by a statement error (lost, cancelled mid-query) is closed, so
    the next user connects afresh, and a refused connection is reported in
    milliseconds, where a pool would wait out its timeout.
    """

    def __init__(self, database: Database, timeout: float) -> None:
        self.database = database
        self.timeout = timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = await self.database.connect(self.timeout)
            try:
                yield self._conn
            except BaseException as exc:
                if not _statement_error(exc) or self._conn.broken:
                    await self.close_now()
                raise

    async def close_now(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def close(self) -> None:
        async with self._lock:
            await self.close_now()


def _statement_error(exc: BaseException) -> bool:
    """The server refused a statement and the connection is fine for the next one."""
    return isinstance(exc, psycopg.Error) and classify(exc) in ("record", "batch", "config")
