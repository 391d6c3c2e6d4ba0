"""Every example in README.md runs as written, in README order, or is listed here with why not.

Each ``bash`` block runs in one ``bash -euo pipefail`` (any failing command fails it),
each ``python`` block in the project's interpreter, each ``sql`` block through
``newscrawl db shell -c``, all in one temporary directory (a copy of ``scrapy.cfg``
beside them), so later examples read what earlier ones stored, as a reader's would.
Only loopback traffic: the examples' public addresses are rewritten to stand-ins
(:data:`STAND_INS`): the bundled sample site for Daily8 and for ``example.com`` (it has
an RSS feed and a news sitemap), the test PostgreSQL for every database URL, the local
Redis for the frontier's. What cannot run here is in :data:`NOT_RUN`, with the reason
and where it is tested instead; an example in neither fails the test, as does an entry
that names no example any more.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite
from tests.support.crawl import ROOT
from tests.support.database import temporary_database

README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
RUNNABLE = ("bash", "python", "sql")
REDIS = "redis://127.0.0.1:6379/0"

NOT_RUN = {
    "bash tests/run.sh": "the test suite itself, which runs this test",
    "python3 -m venv .venv": "a fresh venv and install take minutes and the package registry;"
    " CI runs this line from a clean clone (.ci/run). Its `newscrawl demo` runs here",
    "export SCRAPYD_URL=": "needs a scrapyd server and /etc/newscrawl/schedule.toml;"
    " tests/test_scrapyd.py deploys the egg and runs `newscrawl schedule` against a real one",
    "NEWSCRAWL_FRONTIER_URL=redis://redis.internal": "starts scrapyd on remote nodes and"
    " schedules jobs there; tests/test_frontier.py runs workers sharing one Redis",
    "pip install -e .": "benchmarks take minutes each (and apt-get);"
    " tests/test_bench.py runs every one at a tiny size",
}
"""A line that does not run (its block's first line: the whole block), and why. Matched
before the stand-ins are applied to a block's first line, after them to the others (so
the install line of the first block becomes its `newscrawl demo`, which runs)."""


@dataclass
class Place:
    """Where the stand-ins listen, and the state the examples share."""

    workdir: Path
    site: str  # the sample site standing in for daily8.com and example.com
    article: str  # one of its article URLs
    dsn: str
    crawl_id: str


def stand_ins(place: Place, port: int) -> list[tuple[str, str]]:
    """(text as written, text run) in the order applied."""
    site = place.site
    return [
        # The README's own sample-site block names port 8008: a free port instead.
        ("8008", str(port)),
        ("python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/", ""),
        ("https://www.daily8.com/en/article/e2a35f0d68b14334edda90a8b70c7504", place.article),
        ("https://www.daily8.com", site),
        ("https://example.com/2025/05/17/story", place.article),
        ("https://example.com/rss", f"{site}/en/rss.xml"),
        ("https://example.com/news-sitemap.xml", f"{site}/en/news-sitemap.xml"),
        ("https://example.com/", f"{site}/en"),
        ("postgresql://user:pw@db/news", place.dsn),
        ("postgresql://crawler@db/news", place.dsn),
        ("postgresql://newscrawl:pw@db.internal/news", place.dsn),
        ("redis://redis.internal:6379/0", REDIS),
        ("daily8-0600", place.crawl_id),
        ("/var/lib/newscrawl/spool", str(place.workdir / "spool")),
    ]


# Stand-ins for what the examples take as given: a saved page (page.html, one of the
# sample site's articles), and the ends of `producer | newscrawl extract --jsonl | consumer`.
PRELUDE = """
[ -f page.html ] || python -c '
import urllib.request; open("page.html", "wb").write(urllib.request.urlopen("URL").read())'
producer() {
  python -c 'import json; print(json.dumps({"url": "URL", "html": open("page.html").read()}))'
}
consumer() { cat; }
"""


def blocks() -> list[tuple[str, str]]:
    return [(lang, code) for lang, code in FENCE.findall(README) if lang in RUNNABLE]


def reason_not_run(line: str) -> str | None:
    return next((why for start, why in NOT_RUN.items() if line.strip().startswith(start)), None)


def without_lines_not_run(code: str) -> str:
    """``code`` with each line that cannot run here turned into a comment."""
    lines = code.splitlines()
    return "\n".join(f"# (not run here) {x}" if reason_not_run(x) else x for x in lines)


def test_every_exception_names_an_example() -> None:
    lines = [line.strip() for _, code in blocks() for line in code.splitlines()]
    for start in NOT_RUN:
        assert any(line.startswith(start) for line in lines), f"no README example: {start}"


@pytest.fixture(scope="module")
def place(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Place]:
    workdir = tmp_path_factory.mktemp("readme")
    shutil.copy(ROOT / "scrapy.cfg", workdir)
    site = SampleSite(n_articles=12)
    with temporary_database(pg_dsn) as dsn, SiteServer(site) as server:
        article = f"{server.url}{site.article_paths()[0]}"
        crawl_id = f"readme-{uuid.uuid4().hex[:8]}"
        yield Place(workdir, server.url, article, as_url(dsn), crawl_id)
        command = [sys.executable, "-m", "newscrawl.cli", "frontier", "clear", crawl_id]
        subprocess.run([*command, "--url", REDIS], check=True, capture_output=True)


def as_url(dsn: str) -> str:
    """``dsn`` as a URL, the form the examples write (one shell word)."""
    params = conninfo_to_dict(dsn)
    user, host, port = params.get("user", ""), params.get("host", ""), params.get("port", "")
    return f"postgresql://{user}@{host}:{port}/{params['dbname']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.parametrize(("language", "code"), blocks(), ids=lambda v: v.splitlines()[0][:40])
def test_a_readme_example_runs_as_written(language: str, code: str, place: Place) -> None:
    if why := reason_not_run(code.splitlines()[0]):
        pytest.skip(f"not run here: {why}")
    for written, here in stand_ins(place, free_port()):
        code = code.replace(written, here)
    code = without_lines_not_run(code)
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(place.workdir),
        "NEWSCRAWL_DATABASE_URL": place.dsn,
        "NEWSCRAWL_DATA_DIR": str(place.workdir / "data"),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    if language == "bash":
        command = ["bash", "-euo", "pipefail", "-c", PRELUDE.replace("URL", place.article) + code]
    elif language == "python":
        command = [sys.executable, "-c", code]
    else:
        command = [sys.executable, "-m", "newscrawl.cli", "db", "shell", "-c", code]
    done = subprocess.run(
        command, cwd=place.workdir, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, (code, done.stdout[-2000:], done.stderr[-3000:])
    if "newscrawl report" in code:  # the sample-site block: what it shows
        assert (place.workdir / "news.jsonl").stat().st_size > 0
        assert "<svg" in (place.workdir / "report.html").read_text()
        assert "\nurl,canonicalUrl,headline," in done.stdout  # the CSV export's header
