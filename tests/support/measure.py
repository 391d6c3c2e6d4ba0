"""What one child process cost, from the kernel: wall time, CPU time, peak RSS.

``os.wait4`` reports the child's own rusage, so the parent (a test, a benchmark) and
the servers it runs do not count. The benchmarks and the page-limit test measure
crawls this way.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Measurement:
    """What the kernel says one child process cost."""

    returncode: int
    wall_s: float
    cpu_s: float  # user + system
    peak_rss_mb: float


def run_measured(
    command: Sequence[str],
    *,
    log: Path,
    env: dict[str, str] | None = None,
    timeout: float = 3600,
) -> Measurement:
    """Run ``command`` in the project root, output to ``log``; its wall time, CPU and peak RSS.

    ``os.wait4`` reports the child's own rusage, so the benchmark process and the
    site server (another child) do not count.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(
        returncode=process.returncode,
        wall_s=round(wall, 3),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
    )
