"""``newscrawl schedule``: schedule files, due times, overlap checks, state, the command.

scrapyd itself is exercised in test_scrapyd.py; here a small HTTP server on
127.0.0.1 speaks the two scrapyd calls the scheduler makes, so every branch
(refused credentials, an unreachable scrapyd, a pending job) is quick to reach.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest

from newscrawl.schedule import (
    Entry,
    Schedule,
    ScheduleError,
    Scheduler,
    Scrapyd,
    StateFile,
    entry_of,
    load_schedule,
    parse_schedule,
)

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "ops", "s3cret"


class FakeScrapyd:
    """scrapyd's listjobs.json and schedule.json, with basic auth; records what it is asked."""

    def __init__(self) -> None:
        self.pending: list[dict[str, str]] = []
        self.scheduled: list[list[tuple[str, str]]] = []
        self.listed = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeScrapyd:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self._authorized() and urlsplit(self.path).path == "/listjobs.json":
                    fake.listed += 1
                    self._json({"status": "ok", "pending": fake.pending, "running": []})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qsl(self.rfile.read(length).decode())
                if self._authorized() and self.path == "/schedule.json":
                    fake.scheduled.append(form)
                    job = dict(form)
                    fake.pending.append({"id": job["jobid"], "spider": job["spider"]})
                    self._json({"status": "ok", "jobid": job["jobid"]})

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == expected:
                    return True
                self.send_response(401)
                self.send_header("Content-Length", "12")
                self.end_headers()
                self.wfile.write(b"Unauthorized")
                return False

            def _json(self, data: dict[str, Any]) -> None:
                body = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def scrapyd() -> Iterator[FakeScrapyd]:
    with FakeScrapyd() as fake:
        yield fake


HOURLY = Entry("daily8-hourly", "daily8", "0 * * * *", {"start_urls": "http://x/en"}, {"A": "1"})
FAST = Entry("daily8", "daily8", "*/5 * * * *")  # its name is a prefix of HOURLY's


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def scheduler(url: str, tmp_path: Path, *entries: Entry, **schedule: Any) -> Scheduler:
    return Scheduler(
        Schedule(entries or (HOURLY,), **schedule),
        Scrapyd(url, USER, PASSWORD, timeout=5),
        StateFile(tmp_path / "state.json"),
    )


def actions(decisions: list[Any]) -> dict[str, str]:
    return {decision.entry: decision.action for decision in decisions}


# --------------------------------------------------------------------------- the file


def test_the_example_schedule_is_valid() -> None:
    schedule = load_schedule(ROOT / "docs" / "schedule.example.toml")
    assert [entry.spider for entry in schedule.entries] == ["daily8", "daily8"]
    first = schedule.entries[0]
    assert first.args == {"start_urls": "https://www.daily8.com/en", "max_pages": "300"}
    assert first.settings == {"DEPTH_LIMIT": "3", "CLOSESPIDER_TIMEOUT": "600"}
    assert schedule.entries[1].args["incremental"] == "false"


def test_values_are_passed_as_scrapyd_text() -> None:
    schedule = parse_schedule(
        {
            "timezone": "Europe/Berlin",
            "scrapyd": {"url": "http://scrapyd:6800", "project": "news"},
            "jobs": [
                {
                    "name": "a",
                    "spider": "news",
                    "cron": "@hourly",
                    "args": {"start_urls": ["http://a/", "http://b/"], "render": True},
                    "settings": {"FEEDS": {"x.jl": {"format": "jsonlines"}}, "DEPTH_LIMIT": 2},
                }
            ],
        }
    )
    (entry,) = schedule.entries
    assert entry.args == {"start_urls": "http://a/,http://b/", "render": "true"}
    assert entry.settings == {"FEEDS": '{"x.jl": {"format": "jsonlines"}}', "DEPTH_LIMIT": "2"}
    assert (schedule.project, schedule.url) == ("news", "http://scrapyd:6800")
    assert schedule.timezone == ZoneInfo("Europe/Berlin")


JOB = {"name": "a", "spider": "daily8", "cron": "0 * * * *"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "no [[jobs]] entries"),
        ({"jobs": [{**JOB, "cron": "61 * * * *"}]}, "is not a cron expression"),
        ({"jobs": [JOB, JOB]}, "name used twice"),
        ({"jobs": [{**JOB, "name": "a.b"}]}, "name must be letters"),
        ({"jobs": [{**JOB, "spider": ""}]}, "spider is required"),
        ({"jobs": [{**JOB, "args": {"jobid": "x"}}]}, "scrapyd keeps argument(s) jobid"),
        ({"jobs": [{**JOB, "setting": {}}]}, "unknown key(s) setting"),
        ({"jobs": [JOB], "timezone": "Mars/Base"}, "unknown timezone"),
        ({"jobs": [JOB], "scrapyd": {"password": "x"}}, "[scrapyd]: unknown key(s) password"),
    ],
)
def test_invalid_schedules_say_what_is_wrong(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(message)):
        parse_schedule(document)


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "schedule.toml"
    path.write_text("jobs = [")
    with pytest.raises(ScheduleError, match="cannot read"):
        load_schedule(path)


# --------------------------------------------------------------------------- due times


def test_due_times() -> None:
    assert HOURLY.latest_due(at("2025-05-17T12:00:00"), UTC) == at("2025-05-17T12:00:00")
    assert HOURLY.latest_due(at("2025-05-17T12:59:59.9"), UTC) == at("2025-05-17T12:00:00")
    assert HOURLY.latest_due(at("2025-05-17T11:59:59.9"), UTC) == at("2025-05-17T11:00:00")
    assert HOURLY.next_due(at("2025-05-17T12:00:00"), UTC) == at("2025-05-17T13:00:00")
    nightly = Entry("n", "daily8", "0 3 * * *")  # 03:00 in Berlin is 01:00 UTC in summer
    berlin = ZoneInfo("Europe/Berlin")
    assert nightly.latest_due(at("2025-05-17T12:00:00"), berlin) == at("2025-05-17T01:00:00")


def test_job_ids_name_their_entry() -> None:
    job = HOURLY.job_id(at("2025-05-17T12:00:00"))
    assert job == "daily8-hourly.20250517T1200Z"
    assert entry_of(job) == "daily8-hourly"
    assert entry_of(FAST.job_id(at("2025-05-17T12:00:00"))) == "daily8"
    assert entry_of("6487ec79947edab326d6db28a2d86511") == ""  # scrapyd's own ids


# --------------------------------------------------------------------------- ticks


def test_an_entry_starts_at_its_next_due_time_and_only_once(
    scrapyd: FakeScrapyd, tmp_path: Path
) -> None:
    ticks = scheduler(scrapyd.url, tmp_path)
    assert actions(ticks.tick(at("2025-05-17T12:30:00"))) == {"daily8-hourly": "not due"}
    assert scrapyd.scheduled == [] and scrapyd.listed == 0
    assert actions(ticks.tick(at("2025-05-17T12:59:00"))) == {"daily8-hourly": "not due"}
    (started,) = ticks.tick(at("2025-05-17T13:00:05"))
    assert (started.action, started.job_id) == ("started", "daily8-hourly.20250517T1300Z")
    assert scrapyd.scheduled == [
        [
            ("project", "newscrawl"),
            ("spider", "daily8"),
            ("jobid", "daily8-hourly.20250517T1300Z"),
            ("setting", "A=1"),
            ("start_urls", "http://x/en"),
        ]
    ]
    scrapyd.pending.clear()  # the job finished
    assert actions(ticks.tick(at("2025-05-17T13:20:00"))) == {"daily8-hourly": "not due"}
    assert len(scrapyd.scheduled) == 1
    state = json.loads((tmp_path / "state.json").read_text())
    assert state == {"daily8-hourly": "2025-05-17T13:00:00+00:00"}


def test_a_due_entry_whose_last_job_is_pending_is_skipped(
    scrapyd: FakeScrapyd, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ticks = scheduler(scrapyd.url, tmp_path, HOURLY, FAST)
    ticks.tick(at("2025-05-17T12:58:00"))
    first = ticks.tick(at("2025-05-17T13:00:00"))
    assert actions(first) == {"daily8-hourly": "started", "daily8": "started"}
    scrapyd.pending = [job for job in scrapyd.pending if job["id"].startswith("daily8-hourly.")]
    with caplog.at_level(logging.INFO, logger="newscrawl.schedule"):
        second = ticks.tick(at("2025-05-17T14:00:00"))
    assert actions(second) == {"daily8-hourly": "skipped", "daily8": "started"}
    assert "daily8-hourly.20250517T1300Z is pending" in second[0].detail
    assert "daily8-hourly: skipped, due 2025-05-17T14:00:00+00:00" in caplog.text
    assert "daily8: started, due 2025-05-17T14:00:00+00:00" in caplog.text
    # The skipped run is not made up later; the next due time is.
    scrapyd.pending.clear()
    assert actions(ticks.tick(at("2025-05-17T14:01:00")))["daily8-hourly"] == "not due"
    assert actions(ticks.tick(at("2025-05-17T15:00:00")))["daily8-hourly"] == "started"


def test_missed_runs_collapse_into_one(scrapyd: FakeScrapyd, tmp_path: Path) -> None:
    ticks = scheduler(scrapyd.url, tmp_path)
    ticks.tick(at("2025-05-17T10:00:00"))
    (decision,) = ticks.tick(at("2025-05-17T13:30:00"))  # nothing ticked for hours
    assert decision.job_id == "daily8-hourly.20250517T1300Z"
    assert len(scrapyd.scheduled) == 1


def test_a_failed_start_is_retried_on_the_next_tick(scrapyd: FakeScrapyd, tmp_path: Path) -> None:
    offline = scheduler("http://127.0.0.1:9", tmp_path)
    offline.tick(at("2025-05-17T12:30:00"))
    (failed,) = offline.tick(at("2025-05-17T13:00:00"))
    assert failed.action == "failed"
    assert "cannot reach scrapyd at http://127.0.0.1:9" in failed.detail
    assert offline.next_tick(at("2025-05-17T13:00:00"), [failed]) == at("2025-05-17T13:01:00")
    (started,) = scheduler(scrapyd.url, tmp_path).tick(at("2025-05-17T13:02:00"))
    assert (started.action, started.job_id) == ("started", "daily8-hourly.20250517T1300Z")


def test_refused_credentials_are_reported(scrapyd: FakeScrapyd, tmp_path: Path) -> None:
    ticks = Scheduler(
        Schedule((HOURLY,)),
        Scrapyd(scrapyd.url, USER, "wrong", timeout=5),
        StateFile(tmp_path / "state.json"),
    )
    ticks.tick(at("2025-05-17T12:30:00"))
    (failed,) = ticks.tick(at("2025-05-17T13:00:00"))
    assert failed.action == "failed"
    assert "refused the credentials (HTTP 401)" in failed.detail
    assert scrapyd.scheduled == []


def test_one_tick_at_a_time(scrapyd: FakeScrapyd, tmp_path: Path) -> None:
    ticks = scheduler(scrapyd.url, tmp_path)
    ticks.tick(at("2025-05-17T12:30:00"))
    with ticks.state.locked() as mine:
        assert mine
        assert ticks.tick(at("2025-05-17T13:00:00")) == []
    assert scrapyd.scheduled == []


@pytest.mark.parametrize("saved", ["not json", '["a list"]', '{"daily8-hourly": "noon"}'])
def test_an_unreadable_state_starts_nothing_early(
    saved: str, scrapyd: FakeScrapyd, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "state.json").write_text(saved)
    ticks = scheduler(scrapyd.url, tmp_path)
    assert actions(ticks.tick(at("2025-05-17T13:00:05"))) == {"daily8-hourly": "not due"}
    assert "Ignoring unreadable schedule state" in caplog.text
    assert actions(ticks.tick(at("2025-05-17T14:00:00"))) == {"daily8-hourly": "started"}


def test_next_tick_is_the_earliest_due_time(tmp_path: Path) -> None:
    ticks = scheduler("http://127.0.0.1:9", tmp_path, HOURLY, FAST)
    assert ticks.next_tick(at("2025-05-17T12:31:00"), []) == at("2025-05-17T12:35:00")


# --------------------------------------------------------------------------- the command


def test_the_command_runs_one_tick(scrapyd: FakeScrapyd, tmp_path: Path) -> None:
    """``newscrawl schedule --once`` as cron runs it: scrapyd and its credentials from the
    environment, the password never in the output; exit 1 when a start fails, 2 for a bad file."""
    file = tmp_path / "schedule.toml"
    file.write_text('[[jobs]]\nname = "every-minute"\nspider = "daily8"\ncron = "* * * * *"\n')
    state = tmp_path / "state.json"
    environment = {
        "SCRAPYD_URL": scrapyd.url,
        "SCRAPYD_USERNAME": USER,
        "SCRAPYD_PASSWORD": PASSWORD,
    }
    command = [sys.executable, "-m", "newscrawl.cli", "schedule", str(file), "--once"]

    def tick(**env: str) -> subprocess.CompletedProcess[str]:
        state.write_text(json.dumps({"every-minute": "2000-01-01T00:00:00+00:00"}))
        return subprocess.run(
            [*command, "--state", str(state)],
            cwd=ROOT,
            env={**os.environ, **environment, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = tick()
    assert done.returncode == 0, done.stderr
    assert [dict(form)["spider"] for form in scrapyd.scheduled] == ["daily8"]
    assert "every-minute: started" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert tick(SCRAPYD_PASSWORD="wrong").returncode == 1
    file.write_text("[[jobs]]\nname = 'x'\n")
    assert tick().returncode == 2
