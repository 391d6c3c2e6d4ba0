"""Spidermon monitors run when a crawl closes: did it find articles, stay healthy, fill
the fields that matter and finish as it should?

Run by :class:`newscrawl.monitoring.Monitors` (for scheduled runs by default);
thresholds are settings (``NEWSCRAWL_MONITOR_*``). Each result is one log line (a
failure at WARNING) and goes into the ``newscrawl/monitors`` stat, so ``crawl_runs``
(its ``monitors`` and ``monitors_failed`` columns, migration 0006) and ``newscrawl
report`` show it.

The monitors read the figures of :mod:`newscrawl.summary`, so a monitor, the crawl
summary and the report never disagree on what "errors" or "coverage" means.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from scrapy.exceptions import ScrapyDeprecationWarning
from spidermon import Monitor, MonitorSuite
from spidermon.core.actions import Action

from newscrawl.summary import figures
from newscrawl.vocab import STATS_MONITORS

logger = logging.getLogger(__name__)

# Spidermon 1.27 logs through Spider.log(), deprecated since Scrapy 2.13: one WARNING per run.
warnings.filterwarnings(
    "ignore", message=r"Spider\.log\(\) is deprecated", category=ScrapyDeprecationWarning
)


class _CrawlMonitor(Monitor):  # type: ignore[misc]
    label = ""
    """The name results and logs use."""

    @property
    def figures(self) -> dict[str, Any]:
        return figures(self.data.stats)

    def setting(self, name: str) -> Any:
        return self.data.crawler.settings.get(name)


class MinimumItems(_CrawlMonitor):
    """Articles found (exported, or skipped as already stored) reach
    ``NEWSCRAWL_MONITOR_MIN_ITEMS``."""

    label = "minimum items"

    def test_minimum_items(self) -> None:
        found = self.figures["items"] + self.figures["skipped_stored"]
        minimum = int(self.setting("NEWSCRAWL_MONITOR_MIN_ITEMS"))
        self.assertGreaterEqual(found, minimum, f"{found} articles found, expected {minimum}+")


class ErrorRate(_CrawlMonitor):
    """Errors (every kind, HTTP errors included) per page fetched stay at or below
    ``NEWSCRAWL_MONITOR_MAX_ERROR_RATE``."""

    label = "error rate"

    def test_error_rate(self) -> None:
        errors, pages = sum(self.figures["errors"].values()), self.figures["pages"]
        rate = errors / pages if pages else float(errors > 0)
        maximum = float(self.setting("NEWSCRAWL_MONITOR_MAX_ERROR_RATE"))
        self.assertLessEqual(
            rate, maximum, f"{errors} errors in {pages} pages ({rate:.0%}), at most {maximum:.0%}"
        )


class FieldCoverage(_CrawlMonitor):
    """Each field of ``NEWSCRAWL_MONITOR_FIELD_COVERAGE`` is in at least its share of items."""

    label = "field coverage"

    def test_field_coverage(self) -> None:
        coverage = self.figures["coverage"]
        if not coverage:
            return  # no item: nothing to measure (the minimum-items monitor speaks)
        rules = self.data.crawler.settings.getdict("NEWSCRAWL_MONITOR_FIELD_COVERAGE")
        short = [
            f"{field} {coverage.get(field, 0):.0%} < {float(minimum):.0%}"
            for field, minimum in rules.items()
            if coverage.get(field, 0) < float(minimum)
        ]
        self.assertFalse(short, "; ".join(short))


class FinishReason(_CrawlMonitor):
    """The crawl ends for a reason in ``NEWSCRAWL_MONITOR_FINISH_REASONS``."""

    label = "finish reason"

    def test_finish_reason(self) -> None:
        reason = self.data.stats.get("finish_reason")
        expected = self.data.crawler.settings.getlist("NEWSCRAWL_MONITOR_FINISH_REASONS")
        self.assertIn(reason, expected, f"finished with {reason!r}, expected {expected}")


class RecordResults(Action):  # type: ignore[misc]
    """One log line per monitor, and the results into the ``newscrawl/monitors`` stat."""

    def run_action(self) -> None:
        results: dict[str, dict[str, Any]] = {}
        for outcome in self.result.monitor_results:
            name = outcome.monitor.label
            passed = outcome.status == "OK"
            detail = "" if passed else _first_line(outcome.reason)
            results[name] = {"passed": passed, "detail": detail}
            if passed:
                logger.info("Monitor %s: passed", name)
            else:
                logger.warning("Monitor %s: FAILED: %s", name, detail)
        self.data.crawler.stats.set_value(STATS_MONITORS, results)


def _first_line(reason: Any) -> str:
    """unittest's failure text ends with the assertion message."""
    lines = [line for line in str(reason).splitlines() if line.strip()]
    return lines[-1].split(": ", 1)[-1] if lines else ""


class CrawlMonitors(MonitorSuite):  # type: ignore[misc]
    monitors = (MinimumItems, ErrorRate, FieldCoverage, FinishReason)
    monitors_finished_actions = (RecordResults,)
