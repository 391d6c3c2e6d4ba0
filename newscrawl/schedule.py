"""``newscrawl schedule``: start scrapyd jobs on cron schedules, never two of one entry at once.

scrapyd has no periodic scheduler (its maintainers point to cron), and a cron
line calling ``schedule.json`` starts a new job even while the last one still
runs. This reads a schedule file (TOML, see ``docs/schedule.example.toml``) and,
for every entry that is due, asks scrapyd (``listjobs.json``) whether the
entry's previous job is still pending or running: if so this run is skipped,
like ``flock -n`` would; otherwise ``schedule.json`` starts it. Every decision
is logged.

Job ids are ``<entry>.<due time, UTC>`` (``daily8-hourly.20250517T1200Z``): that is
how a job is traced back to its entry, here, in scrapyd and in ``crawl_runs``.

When an entry is due follows cron, with a state file holding the last due time
handled per entry: a tick at ``now`` handles the latest due time in
``(last handled, now]``, so runs missed while nothing ticked collapse into one.
An entry seen for the first time waits for its next due time, as cron would. A
start that failed (scrapyd unreachable, refused) is not recorded, so the next
tick tries again.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import re
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from croniter import croniter
from scrapy.settings import Settings

from newscrawl import settings as defaults
from newscrawl.redact import redact

logger = logging.getLogger(__name__)

DEFAULT_PROJECT = "newscrawl"
RETRY_AFTER = 60.0
"""Seconds before the loop retries an entry whose start failed."""

_NAME = re.compile(r"[A-Za-z0-9_-]+")
# scrapyd reads these form fields itself: as spider arguments they would be lost.
_RESERVED_ARGS = {"project", "spider", "jobid", "setting", "priority", "_version", "_job"}

Action = Literal["started", "skipped", "not due", "failed"]


class ScheduleError(ValueError):
    """The schedule file is unreadable or invalid; the message says where."""


class ScrapydError(RuntimeError):
    """scrapyd could not be reached or refused a call; the message is safe to log."""


@dataclass(frozen=True)
class Entry:
    """One scheduled job: a spider, when it runs, and its arguments and settings."""

    name: str
    spider: str
    cron: str
    args: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)

    def latest_due(self, now: datetime, zone: tzinfo) -> datetime:
        """The latest due time at or before ``now`` (cron read in ``zone``)."""
        # croniter's get_prev() is strictly before its start: start one second on.
        start = now.astimezone(zone).replace(microsecond=0) + timedelta(seconds=1)
        return croniter(self.cron, start).get_prev(datetime).astimezone(UTC)

    def next_due(self, now: datetime, zone: tzinfo) -> datetime:
        """The first due time after ``now``."""
        return croniter(self.cron, now.astimezone(zone)).get_next(datetime).astimezone(UTC)

    def job_id(self, due: datetime) -> str:
        return f"{self.name}.{due.astimezone(UTC):%Y%m%dT%H%MZ}"


def entry_of(job_id: str) -> str:
    """The entry name in a job id made by :meth:`Entry.job_id` ('' for other ids)."""
    return job_id.rpartition(".")[0]


@dataclass(frozen=True)
class Schedule:
    entries: tuple[Entry, ...]
    project: str = DEFAULT_PROJECT
    url: str | None = None
    timezone: tzinfo = UTC


def _text(value: Any) -> str:
    """A TOML value as scrapyd passes it on: lists comma-joined, tables as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScheduleError(f"{where} must be a table")
    return value


def _only(table: dict[str, Any], allowed: set[str], where: str) -> None:
    if unknown := sorted(set(table) - allowed):
        raise ScheduleError(f"{where}: unknown key(s) {', '.join(unknown)}")


def parse_schedule(data: dict[str, Any]) -> Schedule:
    """A :class:`Schedule` from a parsed TOML document; :class:`ScheduleError` if invalid."""
    _only(data, {"timezone", "scrapyd", "jobs"}, "schedule")
    scrapyd = _table(data.get("scrapyd", {}), "[scrapyd]")
    _only(scrapyd, {"url", "project"}, "[scrapyd]")
    try:
        zone: tzinfo = ZoneInfo(data["timezone"]) if "timezone" in data else UTC
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(f"unknown timezone {data['timezone']!r}") from None
    jobs = data.get("jobs")
    if not isinstance(jobs, list) or not jobs:
        raise ScheduleError("no [[jobs]] entries")
    entries: list[Entry] = []
    for number, job in enumerate(jobs, 1):
        where = f"[[jobs]] #{number}"
        job = _table(job, where)
        _only(job, {"name", "spider", "cron", "args", "settings"}, where)
        name, spider, cron = job.get("name"), job.get("spider"), job.get("cron")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ScheduleError(f"{where}: name must be letters, digits, '-' or '_'")
        where = f"[[jobs]] {name!r}"
        if name in {entry.name for entry in entries}:
            raise ScheduleError(f"{where}: name used twice")
        if not isinstance(spider, str) or not spider:
            raise ScheduleError(f"{where}: spider is required")
        if not isinstance(cron, str) or not croniter.is_valid(cron):
            raise ScheduleError(f"{where}: cron {cron!r} is not a cron expression")
        args = _table(job.get("args", {}), f"{where} args")
        if reserved := sorted(_RESERVED_ARGS & set(args)):
            raise ScheduleError(f"{where}: scrapyd keeps argument(s) {', '.join(reserved)}")
        settings = _table(job.get("settings", {}), f"{where} settings")
        entries.append(
            Entry(
                name,
                spider,
                cron,
                {key: _text(value) for key, value in args.items()},
                {key: _text(value) for key, value in settings.items()},
            )
        )
    return Schedule(
        tuple(entries),
        project=str(scrapyd.get("project", DEFAULT_PROJECT)),
        url=scrapyd.get("url"),
        timezone=zone,
    )


def load_schedule(path: str | os.PathLike[str]) -> Schedule:
    try:
        with open(path, "rb") as file:
            return parse_schedule(tomllib.load(file))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScheduleError(f"cannot read {path}: {exc}") from None
    except ScheduleError as exc:
        raise ScheduleError(f"{path}: {exc}") from None


class Scrapyd:
    """The two scrapyd calls the scheduler makes, with HTTP basic auth and a timeout.

    (``scrapyd_client.ScrapydClient`` sets no timeout: a stuck scrapyd would hang
    every tick.)
    """

    def __init__(
        self,
        url: str,
        username: str | None,
        password: str | None,
        *,
        timeout: float,
    ) -> None:
        self.url = url.rstrip("/")
        self.label = redact(self.url, self.url)
        self.timeout = timeout
        self.session = requests.Session()
        if username:
            self.session.auth = (username, password or "")

    def active_jobs(self, project: str) -> dict[str, str]:
        """``job id -> 'pending' | 'running'`` for ``project``'s unfinished jobs."""
        jobs = self._call("GET", "listjobs", params={"project": project})
        return {job["id"]: state for state in ("pending", "running") for job in jobs.get(state, [])}

    def schedule(self, project: str, entry: Entry, job_id: str) -> str:
        """Start ``entry`` as job ``job_id``; returns the job id scrapyd confirms."""
        form = [("project", project), ("spider", entry.spider), ("jobid", job_id)]
        form += [("setting", f"{key}={value}") for key, value in entry.settings.items()]
        form += list(entry.args.items())
        return str(self._call("POST", "schedule", data=form)["jobid"])

    def _call(self, method: str, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.url}/{endpoint}.json"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ScrapydError(f"cannot reach scrapyd at {self.label}: {exc}") from None
        if response.status_code == 401:
            raise ScrapydError(
                f"scrapyd at {self.label} refused the credentials (HTTP 401):"
                " check SCRAPYD_USERNAME and SCRAPYD_PASSWORD"
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("status") != "ok":
            reason = data.get("message") if isinstance(data, dict) else response.text[:200]
            raise ScrapydError(
                f"scrapyd {endpoint}.json failed (HTTP {response.status_code}): {reason}"
            )
        return data


@dataclass(frozen=True)
class Decision:
    """What a tick did about one entry."""

    entry: str
    action: Action
    detail: str
    due: datetime | None = None
    job_id: str | None = None


class StateFile:
    """Per entry, the last due time handled; written atomically, ticks serialised by a lock."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[bool]:
        """Hold the lock; yields False when another tick holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load(self) -> dict[str, datetime]:
        """The saved due times; none (every entry waits for its next) when unreadable."""
        try:
            data = json.loads(self.path.read_text())
            return {name: datetime.fromisoformat(value) for name, value in data.items()}
        except FileNotFoundError:
            return {}
        except (ValueError, TypeError, AttributeError) as exc:
            logger.warning("Ignoring unreadable schedule state %s: %s", self.path, exc)
            return {}

    def save(self, handled: dict[str, datetime]) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        data = {name: moment.isoformat() for name, moment in sorted(handled.items())}
        temporary.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(temporary, self.path)


class Scheduler:
    """Starts the due entries of ``schedule`` on ``scrapyd``; see the module docstring."""

    def __init__(self, schedule: Schedule, scrapyd: Scrapyd, state: StateFile) -> None:
        self.schedule = schedule
        self.scrapyd = scrapyd
        self.state = state

    def tick(self, now: datetime | None = None) -> list[Decision]:
        """Start what is due at ``now`` (default: the current time); one decision per entry."""
        now = now or datetime.now(UTC)
        with self.state.locked() as mine:
            if not mine:
                logger.info(
                    "Another scheduler tick holds %s: leaving this one to it", self.state.path
                )
                return []
            handled = self.state.load()
            decisions = self._decide(now, handled)
            self.state.save(handled)
        for decision in decisions:
            level = logging.ERROR if decision.action == "failed" else logging.INFO
            logger.log(level, "%s: %s, %s", decision.entry, decision.action, decision.detail)
        return decisions

    def _decide(self, now: datetime, handled: dict[str, datetime]) -> list[Decision]:
        """Decide every entry, recording in ``handled`` the due times dealt with."""
        zone = self.schedule.timezone
        decisions: dict[str, Decision] = {}
        due: list[tuple[Entry, datetime]] = []
        for entry in self.schedule.entries:
            latest = entry.latest_due(now, zone)
            last = handled.get(entry.name)
            if last is None or latest <= last:
                handled.setdefault(entry.name, latest)
                upcoming = f"next run at {entry.next_due(now, zone).isoformat()}"
                first = "new entry, " if last is None else ""
                decisions[entry.name] = Decision(entry.name, "not due", first + upcoming)
            else:
                due.append((entry, latest))
        if due:
            try:
                active = self.scrapyd.active_jobs(self.schedule.project)
            except ScrapydError as exc:
                active, reason = None, f"{exc}; will retry on the next tick"
            for entry, at in due:
                job_id = entry.job_id(at)
                if active is None:
                    decision = Decision(entry.name, "failed", reason, at, job_id)
                elif running := sorted(job for job in active if entry_of(job) == entry.name):
                    states = ", ".join(f"{job} is {active[job]}" for job in running)
                    detail = f"due {at.isoformat()} but its previous job {states}"
                    decision = Decision(entry.name, "skipped", detail, at)
                    handled[entry.name] = at
                else:
                    decision = self._start(entry, at, job_id)
                    if decision.action == "started":
                        handled[entry.name] = at
                decisions[entry.name] = decision
        return [decisions[entry.name] for entry in self.schedule.entries]

    def _start(self, entry: Entry, at: datetime, job_id: str) -> Decision:
        try:
            started = self.scrapyd.schedule(self.schedule.project, entry, job_id)
        except ScrapydError as exc:
            detail = f"due {at.isoformat()}, could not start: {exc}; will retry on the next tick"
            return Decision(entry.name, "failed", detail, at, job_id)
        detail = f"due {at.isoformat()}: job {started} ({entry.spider}) on {self.scrapyd.label}"
        return Decision(entry.name, "started", detail, at, started)

    def next_tick(self, now: datetime, decisions: list[Decision]) -> datetime:
        """When the loop should tick next: the next due time, sooner to retry a failure."""
        zone = self.schedule.timezone
        wake = min(entry.next_due(now, zone) for entry in self.schedule.entries)
        if any(decision.action == "failed" for decision in decisions):
            wake = min(wake, now + timedelta(seconds=RETRY_AFTER))
        return wake

    def run_forever(self) -> None:
        """Tick whenever an entry is due, until interrupted."""
        while True:
            decisions = self.tick()
            now = datetime.now(UTC)
            wake = self.next_tick(now, decisions)
            logger.info("Next tick at %s", wake.isoformat())
            time.sleep(max(0.0, (wake - now).total_seconds()))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``newscrawl schedule`` command line."""
    parser.add_argument("file", help="schedule file (TOML; see docs/schedule.example.toml)")
    parser.add_argument(
        "--once", action="store_true", help="start what is due and exit (for cron or a timer)"
    )
    parser.add_argument(
        "--state",
        help="state file: last due time handled per entry"
        f" (default: {defaults.NEWSCRAWL_DATA_DIR}/schedule-state.json)",
    )
    parser.add_argument(
        "--url", help="scrapyd URL (default: [scrapyd] url, else $SCRAPYD_URL, else localhost)"
    )
    parser.add_argument("--log-level", default=defaults.LOG_LEVEL)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run the scheduler; credentials come from $SCRAPYD_USERNAME and $SCRAPYD_PASSWORD."""
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s [%(name)s] %(levelname)s: %(message)s"
    )
    try:
        schedule = load_schedule(args.file)
    except ScheduleError as exc:
        logger.error("%s", exc)
        return 2
    settings = Settings()
    settings.setmodule("newscrawl.settings", priority="project")
    scrapyd = Scrapyd(
        args.url or schedule.url or settings["NEWSCRAWL_SCRAPYD_URL"],
        settings["NEWSCRAWL_SCRAPYD_USERNAME"],
        settings["NEWSCRAWL_SCRAPYD_PASSWORD"],
        timeout=settings.getfloat("NEWSCRAWL_SCRAPYD_TIMEOUT"),
    )
    state = StateFile(args.state or Path(settings["NEWSCRAWL_DATA_DIR"]) / "schedule-state.json")
    scheduler = Scheduler(schedule, scrapyd, state)
    if args.once:
        decisions = scheduler.tick()
        return 1 if any(decision.action == "failed" for decision in decisions) else 0
    with contextlib.suppress(KeyboardInterrupt):
        scheduler.run_forever()
    return 0
