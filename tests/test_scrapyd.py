"""A real scrapyd: deploy the egg with scrapyd-deploy, start jobs with ``newscrawl schedule``.

scrapyd runs from a temporary directory on a free loopback port with a username
and password, and writes to a fresh PostgreSQL database named by
``NEWSCRAWL_DATABASE_URL`` in its environment. The project is deployed from a
copy of its packaging files, so building the egg leaves nothing in the work tree.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import ARTICLE_RE, SampleSite
from newscrawl.schedule import Entry, Schedule, Scheduler, Scrapyd, StateFile
from tests.support.crawl import TEST_SETTINGS, query
from tests.support.database import temporary_database

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "newscrawl-ops", "correct horse battery staple"
PROJECT = "newscrawl"
PACKAGING = ("setup.py", "scrapy.cfg", "requirements.txt")
START_TIMEOUT = 30.0
JOB_TIMEOUT = 90.0


@dataclass
class Server:
    url: str
    root: Path
    dsn: str
    process: subprocess.Popen[bytes]

    def get(self, endpoint: str, **params: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.url}/{endpoint}.json", params=params, auth=(USER, PASSWORD), timeout=10
        )
        response.raise_for_status()
        return response.json()

    def logs(self) -> str:
        """scrapyd's own log and every job log, for failure reports."""
        parts = [(self.root / "scrapyd.log").read_text(errors="replace")[-3000:]]
        for path in sorted((self.root / "logs").rglob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-6000:]}")
        return "\n".join(parts)

    def wait_finished(self, job: str) -> None:
        deadline = time.monotonic() + JOB_TIMEOUT
        while self.get("status", job=job, project=PROJECT)["currstate"] != "finished":
            if time.monotonic() > deadline:
                pytest.fail(f"job {job} did not finish in {JOB_TIMEOUT}s\n{self.logs()}")
            time.sleep(0.25)


def job_environment() -> dict[str, str]:
    """This environment without what would run the work tree's code instead of the egg's."""
    return {
        key: value
        for key, value in os.environ.items()
        if key != "PYTHONPATH" and not key.startswith(("SCRAPY_", "SCRAPYD_", "NEWSCRAWL_"))
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_scrapyd(root: Path, dsn: str) -> Server:
    port = free_port()
    (root / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        "bind_address = 127.0.0.1\n"
        f"http_port = {port}\n"
        f"username = {USER}\n"
        f"password = {PASSWORD}\n"
        f"eggs_dir = {root / 'eggs'}\n"
        f"logs_dir = {root / 'logs'}\n"
        f"items_dir = {root / 'items'}\n"
        f"dbs_dir = {root / 'dbs'}\n"
        "jobs_to_keep = 5\n"
        "max_proc = 2\n"
        "poll_interval = 0.5\n"
    )
    env = {**job_environment(), "NEWSCRAWL_DATABASE_URL": dsn}
    with open(root / "scrapyd.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "scrapyd"], cwd=root, env=env, stdout=log, stderr=log
        )
    server = Server(f"http://127.0.0.1:{port}", root, dsn, process)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            server.get("daemonstatus")
            return server
        except requests.RequestException:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"scrapyd did not start\n{server.logs()}")
            time.sleep(0.2)


def deploy(server: Server) -> None:
    """``scrapyd-deploy`` from a copy of the packaging files, with the scrapy.cfg target."""
    project = server.root / "project"
    project.mkdir()
    for name in PACKAGING:
        shutil.copy(ROOT / name, project)
    shutil.copytree(
        ROOT / "newscrawl", project / "newscrawl", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {
        **os.environ,
        "SCRAPYD_URL": server.url,
        "SCRAPYD_USERNAME": USER,
        "SCRAPYD_PASSWORD": PASSWORD,
    }
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-m", "scrapyd_client.deploy", "--version", "1.0"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "ok", done.stdout + done.stderr


@pytest.fixture(scope="module")
def scrapyd(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("scrapyd")
    with temporary_database(pg_dsn) as dsn:
        server = start_scrapyd(root, dsn)
        try:
            deploy(server)
            yield server
        finally:
            server.process.terminate()
            try:
                server.process.wait(10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def test_requests_without_credentials_are_refused(scrapyd: Server) -> None:
    assert requests.get(f"{scrapyd.url}/daemonstatus.json", timeout=10).status_code == 401
    form = {"project": PROJECT, "spider": "daily8"}
    assert requests.post(f"{scrapyd.url}/schedule.json", data=form, timeout=10).status_code == 401
    wrong = requests.get(f"{scrapyd.url}/listjobs.json", auth=(USER, "guess"), timeout=10)
    assert wrong.status_code == 401
    assert scrapyd.get("listjobs", project=PROJECT)["pending"] == []


def test_the_egg_runs_the_deployed_package(scrapyd: Server) -> None:
    (egg,) = (scrapyd.root / "eggs" / PROJECT).glob("*.egg")
    names = zipfile.ZipFile(egg).namelist()
    assert "newscrawl/db/migrations/0003_crawl_runs.sql" in names
    # What a job imports is the egg, not the work tree the tests run from.
    code = (
        "from scrapyd.runner import project_environment\n"
        f"with project_environment({PROJECT!r}):\n"
        "    import newscrawl.db.migrate as m\n"
        "    print(m.__file__)\n"
        "    print(len(m.migration_files()))\n"
    )
    env = {**job_environment(), "SCRAPY_PROJECT": PROJECT}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=scrapyd.root, env=env, capture_output=True, text=True
    )
    module, count = done.stdout.split()
    assert module.startswith(str(egg)), done.stderr
    assert int(count) == len([name for name in names if name.endswith(".sql")])
    assert scrapyd.get("listspiders", project=PROJECT)["spiders"] == ["daily8", "news"]


def test_build_outputs_are_git_ignored(scrapyd: Server) -> None:
    git = shutil.which("git")
    if git is None or subprocess.run([git, "rev-parse"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("not a git checkout")
    project = scrapyd.root / "project"
    built = [
        path.name + "/" if path.is_dir() else path.name
        for path in project.iterdir()
        if path.name not in {*PACKAGING, "newscrawl"}
    ]
    assert built  # build/ and the egg-info at least
    ignored = subprocess.run(
        [git, "check-ignore", "--no-index", *built],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert sorted(ignored) == sorted(built)


def articles_fetched(hits: Counter[str]) -> set[str]:
    return {match[1] for path in hits if (match := ARTICLE_RE.fullmatch(path))}


def test_scheduled_jobs_store_new_articles_once(scrapyd: Server, tmp_path: Path) -> None:
    site = SampleSite(n_articles=24)
    expected = len(site.expected_unique_stories())
    with SiteServer(site) as web:
        entry = Entry(
            "daily8-every-minute",
            "daily8",
            "* * * * *",
            args={"start_urls": f"{web.url}/en"},
            settings={**TEST_SETTINGS, "LOG_LEVEL": "INFO"},
        )
        scheduler = Scheduler(
            Schedule((entry,), project=PROJECT),
            Scrapyd(scrapyd.url, USER, PASSWORD, timeout=10),
            StateFile(tmp_path / "state.json"),
        )
        now = datetime(2025, 5, 17, 12, 0, 30, tzinfo=UTC)
        minute = timedelta(minutes=1)
        try:
            assert [d.action for d in scheduler.tick(now)] == ["not due"]  # a new entry waits
            (first,) = scheduler.tick(now + minute)
            assert first.action == "started", first.detail
            # While the first job is pending or running, a due tick starts nothing.
            (overlap,) = scheduler.tick(now + 2 * minute)
            assert overlap.action == "skipped", overlap.detail
            assert first.job_id in overlap.detail
            scrapyd.wait_finished(first.job_id)
            hits_first = Counter(web.hits)

            (second,) = scheduler.tick(now + 3 * minute)
            assert second.action == "started", second.detail
            scrapyd.wait_finished(second.job_id)
            hits_second = Counter(web.hits) - hits_first

            jobs = scrapyd.get("listjobs", project=PROJECT)
            assert sorted(job["id"] for job in jobs["finished"]) == [first.job_id, second.job_id]
            runs = {
                row["job_id"]: row
                for row in query(scrapyd.dsn, "SELECT * FROM crawl_runs ORDER BY started_at")
            }
            (articles,) = query(scrapyd.dsn, "SELECT count(*) AS n FROM articles")
            feeds = {
                job: (scrapyd.root / "items" / PROJECT / "daily8" / f"{job}.jl").read_text()
                for job in (first.job_id, second.job_id)
            }
            one, two = runs[first.job_id], runs[second.job_id]

            # The first run stored every story, in PostgreSQL and in scrapyd's item feed.
            assert articles["n"] == expected
            assert (one["finish_reason"], one["items_stored"], one["errors"]) == (
                "finished",
                expected,
                0,
            )
            assert one["pages"] > expected
            items = [json.loads(line) for line in feeds[first.job_id].splitlines()]
            stored = query(scrapyd.dsn, "SELECT canonical_url FROM articles")
            assert {item["canonicalUrl"] for item in items} == {r["canonical_url"] for r in stored}

            # The second stored nothing twice and fetched no stored article again.
            assert (two["finish_reason"], two["items_stored"], two["duplicates"]) == (
                "finished",
                0,
                0,
            )
            assert two["stats"]["newscrawl/incremental/skipped"] == expected + 1  # + duplicate
            assert "newscrawl/store/unchanged" not in two["stats"]
            assert articles_fetched(hits_second) == {site.special.bodiless}
            assert hits_second["/sitemap.xml"] == 1 and hits_second["/en"] == 1
            assert feeds[second.job_id] == ""
        except BaseException:
            print(scrapyd.logs())
            raise
