"""Connection resolution, DSN masking, migrations and the embedded server."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import psutil
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from newscrawl.db.connection import Database, _find_system_tools
from newscrawl.db.migrate import migrate, migration_files
from newscrawl.redact import redact

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        (
            "postgresql://newscrawl:s3cr%40t@db:5432/news",
            "postgresql://newscrawl:***@db:5432/news",
        ),
        ("postgresql://u:p@ss@db/news", "postgresql://u:***@db/news"),
        ("postgres://u:pw@h1,h2/db?sslmode=require", "postgres://u:***@h1,h2/db?sslmode=require"),
        (
            "postgresql://u@h/db?password=pw&sslmode=require",
            "postgresql://u@h/db?password=***&sslmode=require",
        ),
        (
            "postgresql://postgres:@/postgres?host=/tmp/x",
            "postgresql://postgres:@/postgres?host=/tmp/x",
        ),
        ("host=db user=u password=pw dbname=news", "host=db user=u password=*** dbname=news"),
        ("host=db password = 'p w\\' x' dbname=news", "host=db password = *** dbname=news"),
        ("host=db PASSWORD=pw", "host=db PASSWORD=***"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("host=db user=u", "host=db user=u"),
    ],
)
def test_mask_dsn(dsn: str, masked: str) -> None:
    assert redact(dsn, dsn) == masked


async def _migrate(dsn: str) -> list[str]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        return await migrate(conn)


def test_migrations_apply_once(fresh_db: str) -> None:
    names = [name for name, _ in migration_files()]
    assert names == sorted(names) and names[0] == "0001_initial.sql"
    assert asyncio.run(_migrate(fresh_db)) == names
    assert asyncio.run(_migrate(fresh_db)) == []
    with psycopg.connect(fresh_db) as conn:
        applied = [row[0] for row in conn.execute("SELECT name FROM schema_migrations ORDER BY 1")]
        tables = {
            row[0]
            for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    assert applied == names
    assert {"articles", "article_urls", "related_articles", "article_versions"} <= tables


def test_concurrent_migrations_do_not_race(fresh_db: str) -> None:
    async def both() -> list[list[str]]:
        return await asyncio.gather(*(_migrate(fresh_db) for _ in range(4)))

    results = asyncio.run(both())
    assert sorted(map(len, results)) == [0, 0, 0, len(migration_files())]


def test_migrations_are_read_from_a_zipped_egg(tmp_path: Path) -> None:
    egg = tmp_path / "newscrawl.egg"
    with zipfile.ZipFile(egg, "w") as archive:
        for path in (ROOT / "newscrawl").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(ROOT).as_posix())
    code = (
        "import newscrawl.db.migrate as m;"
        "print(m.__file__); print([name for name, sql in m.migration_files() if sql])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(egg)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    module, names = result.stdout.splitlines()
    assert module.startswith(str(egg))
    assert names == str([name for name, _ in migration_files()])


def test_configured_url_wins(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="newscrawl.db.connection")
    given = asyncio.run(Database.resolve("postgresql://u:secret@db:5432/news", "unused"))
    assert given.dsn == "postgresql://u:secret@db:5432/news" and given.server is None
    assert "Using PostgreSQL postgresql://u:***@db:5432/news" in caplog.messages
    assert "secret" not in caplog.text


EMBEDDED_CLIENT = textwrap.dedent(
    """
    import asyncio, sys
    from newscrawl.db.connection import Database

    async def main():
        db = await Database.resolve(None, sys.argv[1])
        print(db.server.get_pid(), flush=True)
        await db.close()

    asyncio.run(main())
    """
)


def test_embedded_server_is_shared_and_stopped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="newscrawl.db.connection")
    data_dir = tmp_path / "data"

    async def scenario() -> int:
        first = await Database.resolve(None, data_dir)
        assert first.server is not None
        pid = first.server.get_pid()
        assert await _migrate(first.dsn)
        second = await Database.resolve(None, data_dir)  # same process: same server
        assert second.server is first.server
        await second.close()
        # Another process joins the running server, and leaving does not stop it.
        other = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            EMBEDDED_CLIENT,
            str(data_dir),
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        out, _ = await other.communicate()
        assert other.returncode == 0
        assert int(out) == pid
        assert psutil.pid_exists(pid)
        assert await _migrate(first.dsn) == []  # still up, schema kept
        await first.close()
        return pid

    pid = asyncio.run(scenario())
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert f"Using embedded PostgreSQL in {data_dir / 'pgdata'}" in caplog.messages
    # The data survives for the next run, which starts the server again.
    again = asyncio.run(Database.resolve(None, data_dir))
    assert again.server is not None
    assert asyncio.run(_migrate(again.dsn)) == []
    asyncio.run(again.close())


def test_the_embedded_socket_is_private_even_under_a_long_path(tmp_path: Path) -> None:
    data_dir = tmp_path / ("long-" * 20)  # a socket path inside would pass 100 bytes

    async def scenario() -> str:
        database = await Database.resolve(None, data_dir)
        try:
            async with await database.connect(timeout=5) as conn:
                await conn.execute("SELECT 1")
            return str(conninfo_to_dict(database.dsn)["host"])
        finally:
            await database.close()

    host = Path(asyncio.run(scenario()))
    assert host.resolve() == (data_dir / "pgdata").resolve()  # the socket is in pgdata
    mode = host.resolve().stat().st_mode
    assert mode & 0o077 == 0, oct(mode)  # 0700: no other user reaches the socket


@pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/sbin/useradd").exists(), reason="root with useradd"
)
def test_root_with_crons_path_finds_useradd_for_the_embedded_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # cron's
    _find_system_tools()
    assert shutil.which("useradd") == "/usr/sbin/useradd"
