"""The spool: files of records the database could not take, kept until it can.

When PostgreSQL stays out of reach past the writer's retries, the batch is
appended here as JSON lines, flushed and fsync'd before the crawl moves on, and
replayed (by :class:`~newscrawl.db.writer.Writer`) at the next start or by
``newscrawl db replay``. A file is removed only after every record in it is
committed, so a crash at any point loses nothing, and a replay cut short is
simply repeated: upserts are idempotent. This module only handles the files.

Each writing process appends to a file of its own and holds an exclusive
``flock`` on it while it is open. A replay takes the same lock, so it never
reads a file that is still being written, and picks up a file left by a killed
process (the kernel released its lock). Spooled records only replay into the
database they were meant for: each database has its own folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from psycopg.conninfo import conninfo_to_dict

logger = logging.getLogger(__name__)

SUFFIX = ".jsonl"
_RUN_IN_NAME = re.compile(rf"\.run-([0-9a-f-]{{36}}){re.escape(SUFFIX)}$")


def database_folder(dsn: str) -> str:
    """A folder name for the database ``dsn`` names; readable, unique, without the password."""
    params = conninfo_to_dict(dsn)
    keys = ("host", "hostaddr", "port", "dbname", "user")
    identity = {key: params.get(key) or "" for key in keys}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    readable = f"{identity['dbname'] or 'db'}@{identity['host'] or 'local'}:{identity['port']}"
    return f"{re.sub(r'[^A-Za-z0-9.@:-]+', '_', readable)[-60:].strip('_')}-{digest}"


def _fsync_dir(path: Path) -> None:
    """Make a file's creation or removal in ``path`` survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _try_lock(file: IO[bytes]) -> bool:
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Spool:
    """The spool folder of one database; appends go to this process's own file."""

    def __init__(self, directory: str | os.PathLike[str], run_id: uuid.UUID | None = None) -> None:
        self.directory = Path(directory)
        self.run_id = run_id  # the crawl run whose records this process spools
        self.path: Path | None = None  # this process's file, once it has one
        self._file: IO[bytes] | None = None

    @classmethod
    def of(cls, dsn: str, base: str | os.PathLike[str], run_id: uuid.UUID | None = None) -> Spool:
        """The spool of the database at ``dsn``, in its own folder under ``base``; files
        written through it name the crawl run ``run_id``."""
        return cls(Path(base) / database_folder(dsn), run_id)

    @staticmethod
    def run_of(path: Path) -> str | None:
        """The crawl run whose records ``path`` holds (None for a file that names none)."""
        found = _RUN_IN_NAME.search(path.name)
        return found.group(1) if found else None

    def append(self, records: list[dict[str, Any]]) -> Path:
        """Write ``records`` durably (flushed and fsync'd) and return the file holding them."""
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            # The run in the name, not in the lines: a replay credits that run (crawl_runs,
            # run_articles) and the records stay exactly what the crawl exported.
            run = f".run-{self.run_id}" if self.run_id else ""
            name = f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}{run}{SUFFIX}"
            self.path = self.directory / name
            self._file = self.path.open("ab")
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
            _fsync_dir(self.directory)
        assert self.path is not None
        # ASCII JSON: a lone surrogate or other text that UTF-8 cannot carry still round-trips.
        lines = (json.dumps(record, default=str, separators=(",", ":")) for record in records)
        self._file.write("".join(f"{line}\n" for line in lines).encode())
        self._file.flush()
        os.fsync(self._file.fileno())
        return self.path

    def close(self) -> None:
        """Close this process's file (releasing its lock): from now on it is pending too."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path = None

    def pending(self) -> list[Path]:
        """Spool files, oldest first (this process's open file excluded)."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob(f"*{SUFFIX}") if p != self.path)

    def count(self) -> int:
        """Records waiting in the spool (including this process's file)."""
        paths = [*self.pending(), *([self.path] if self.path and self.path.exists() else [])]
        return sum(1 for path in paths for line in path.read_bytes().splitlines() if line.strip())

    @contextlib.contextmanager
    def claim(self, path: Path) -> Iterator[list[dict[str, Any]] | None]:
        """The records of ``path``, read under its lock (held until the block ends), or None
        when another process still writes it or another replay took it."""
        try:
            file = path.open("rb")
        except FileNotFoundError:  # another replay finished it
            yield None
            return
        with file:
            yield _read_records(path, file.read()) if _try_lock(file) and path.exists() else None

    def remove(self, path: Path) -> None:
        """Forget a file whose records are all committed."""
        path.unlink()
        _fsync_dir(self.directory)


def _read_records(path: Path, data: bytes) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:  # only the line being written when a process was killed can be torn
            logger.warning("Skipping unreadable line %d of spool file %s", number, path)
    return records
