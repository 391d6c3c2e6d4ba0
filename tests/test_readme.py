"""The README's runnable example blocks (marked ``<!-- readme-test -->``) run as written.

Each block runs in bash (``-e``: any failing command fails the test) from a copy of
the project root's ``scrapy.cfg``, so its feeds and reports land in a temporary
directory, with the embedded database there too. The sample site's fixed port
8008 becomes a free one, so parallel runs do not collide.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.crawl import ROOT

BLOCK = re.compile(r"<!-- readme-test -->\n```(bash|python)\n(.*?)```", re.S)
BLOCKS = BLOCK.findall((ROOT / "README.md").read_text())


def test_the_readme_marks_its_runnable_blocks() -> None:
    assert BLOCKS


@pytest.mark.parametrize(("language", "code"), BLOCKS)
def test_a_readme_block_runs_as_written(language: str, code: str, tmp_path: Path) -> None:
    shutil.copy(ROOT / "scrapy.cfg", tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = code.replace("8008", str(port))
    command = ["bash", "-euo", "pipefail", "-c", code] if language == "bash" else [sys.executable]
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "NEWSCRAWL_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    done = subprocess.run(
        command,
        input=code if language == "python" else None,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    if "news.jsonl" in code:
        assert (tmp_path / "news.jsonl").stat().st_size > 0
        assert "<svg" in (tmp_path / "report.html").read_text()
        assert "\nurl,canonicalUrl,headline," in done.stdout  # the CSV export's header
