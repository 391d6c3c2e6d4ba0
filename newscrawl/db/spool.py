"""The spool: records the database could not take, kept on disk until it can.

When PostgreSQL stays out of reach past the pipeline's retries, the batch is
appended here as JSON lines, flushed and fsync'd before the pipeline moves on,
and replayed at the next start or by ``newscrawl db replay``. A file is deleted
only after every record in it is committed, so a crash at any point loses
nothing, and a replay cut short is simply repeated: upserts are idempotent.

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
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from newscrawl.db.store import Action, ArticleStore

logger = logging.getLogger(__name__)

SUFFIX = ".jsonl"

# The database did not answer (down, restarting, connection killed, pool exhausted):
# worth retrying, then spooling.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    TimeoutError,
)
# The database refused a record's content (bad encoding, invalid JSON number):
# retrying is pointless, but the other records of its batch can still be stored.
RECORD_ERRORS: tuple[type[Exception], ...] = (psycopg.DataError, ValueError)

Rejected = tuple[dict[str, Any], Exception]
Writer = Callable[[list[dict[str, Any]]], Awaitable[tuple[list[Action], list[Rejected]]]]


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


@dataclass
class Replay:
    """What a replay did: records written (by store action), files done, records left."""

    actions: Counter[str] = field(default_factory=Counter)
    files: int = 0
    rejected: int = 0
    corrupt_lines: int = 0
    error: Exception | None = None  # the database failed mid-way: the rest stays spooled

    @property
    def records(self) -> int:
        return sum(self.actions.values())


class Spool:
    """The spool folder of one database; appends go to this process's own file."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path: Path | None = None  # this process's file, once it has one
        self._file: IO[bytes] | None = None

    def append(self, records: list[dict[str, Any]]) -> Path:
        """Write ``records`` durably (flushed and fsync'd) and return the file holding them."""
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            self.path = self.directory / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
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
    def _claim(self, path: Path) -> Iterator[IO[bytes] | None]:
        """``path`` opened and locked, or None when another process still writes it."""
        try:
            file = path.open("rb")
        except FileNotFoundError:  # another replay finished it
            yield None
            return
        with file:
            yield file if _try_lock(file) and path.exists() else None

    async def replay(self, write: Writer, batch_size: int = 200) -> Replay:
        """Write every spooled record with ``write``, oldest file first, deleting each file
        once all its records are committed.

        Records the database rejects for their content are spooled again (to this
        process's file) so they stay visible; a database failure stops the replay and
        leaves the rest, already-written records included, for the next one.
        """
        done = Replay()
        for path in self.pending():
            with self._claim(path) as file:
                if file is None:
                    continue
                records = _read_records(path, file.read(), done)
                for start in range(0, len(records), batch_size):
                    try:
                        actions, rejected = await write(records[start : start + batch_size])
                    except Exception as exc:
                        done.error = exc
                        return done
                    done.actions.update(actions)
                    if rejected:
                        done.rejected += len(rejected)
                        self.append([record for record, _ in rejected])
                path.unlink()
                _fsync_dir(self.directory)
                done.files += 1
        return done


def _read_records(path: Path, data: bytes, done: Replay) -> list[dict[str, Any]]:
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
            done.corrupt_lines += 1
            logger.warning("Skipping unreadable line %d of spool file %s", number, path)
    return records


async def upsert_isolating(
    store: ArticleStore, records: list[dict[str, Any]]
) -> tuple[list[Action], list[Rejected]]:
    """Upsert ``records``; when the database refuses a record's content, split the batch
    to find it, so one bad record does not keep the others out.

    Returns the actions of the records written and the rejected records with their
    errors. Transient and schema errors are raised: they concern the whole batch.
    """
    try:
        return await store.upsert_batch(records), []
    except RECORD_ERRORS as exc:
        if len(records) == 1:
            message = " ".join(str(exc).split())[:300]
            logger.error(
                "The database rejected item %s: %s: %s",
                records[0].get("url"),
                type(exc).__name__,
                message,
            )
            return [], [(records[0], exc)]
    middle = len(records) // 2
    first, first_rejected = await upsert_isolating(store, records[:middle])
    second, second_rejected = await upsert_isolating(store, records[middle:])
    return first + second, first_rejected + second_rejected
