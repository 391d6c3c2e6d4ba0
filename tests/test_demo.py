"""The README's main job: ``newscrawl demo`` end to end on embedded defaults."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path


def test_demo_crawls_the_sample_site_into_the_embedded_database_and_a_feed(
    tmp_path: Path,
) -> None:
    feed = tmp_path / "articles.jsonl"
    with socket.socket() as taken:  # a busy port: the demo moves to a free one
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "newscrawl.cli",
                "demo",
                "--articles",
                "16",
                "--port",
                str(port),
                "--output",
                str(feed),
                "--data-dir",
                str(tmp_path / "data"),
                "--log-level",
                "WARNING",
            ],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Port {port} unavailable" in done.stdout
    summary = dict(line.strip().rsplit(maxsplit=1) for line in done.stdout.splitlines()[-8:-1])
    items = [json.loads(line) for line in feed.read_text().splitlines()]
    assert int(summary["articles stored"]) == len(items) == 14
    assert summary["items dropped as invalid"] == "1" and summary["errors"] == "0"
    assert (tmp_path / "data" / "pgdata").is_dir()
