"""Bad input: a real ``scrapy crawl daily8`` over a site of broken pages (``badsite``).

One crawl meets every case; each case's outcome is asserted on its own: stored
cleanly (values checked in PostgreSQL), or dropped with its reason counted and
logged. Nothing crashes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from newscrawl.demo.server import SiteServer
from newscrawl.processors import url_key
from tests.support.badsite import CRAWL_SETTINGS, STORED, BadSite, Case
from tests.support.crawl import CrawlResult, query, run_crawl
from tests.support.database import temporary_database

SITE = BadSite()
CASES = list(SITE.cases.values())
NEVER_FETCHED = {"robotstxt/forbidden", "offsite/filtered"}


@dataclass
class Crawled:
    server: SiteServer
    dsn: str
    result: CrawlResult

    def url(self, case: Case) -> str:
        return f"{self.server.url}{case.path}"

    def row(self, case: Case) -> dict[str, Any] | None:
        rows = query(
            self.dsn,
            "SELECT a.* FROM articles a JOIN article_urls u ON u.article_id = a.id"
            " WHERE u.url_key = %s",
            url_key(self.url(case)),
        )
        assert len(rows) <= 1
        return rows[0] if rows else None


@pytest.fixture(scope="module")
def crawled(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    with SiteServer(SITE) as server, temporary_database(pg_dsn) as dsn:
        result = run_crawl(
            "daily8",
            tmp_path_factory.mktemp("bad"),
            args={"start_urls": f"{server.url}/en"},
            settings={**CRAWL_SETTINGS, "NEWSCRAWL_DATABASE_URL": dsn},
        )
        yield Crawled(server, dsn, result)


def test_the_crawl_survives_every_case(crawled: Crawled) -> None:
    result = crawled.result
    assert len(CASES) >= 25
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["finish_reason"] == "finished"
    assert "Traceback" not in result.log
    assert not [key for key in result.stats if key.startswith("spider_exceptions")]
    assert result.stat("log_count/ERROR") == 0, result.log[-3000:]
    assert result.stat("newscrawl/store/rejected") == 0
    assert result.stat("newscrawl/sitemap/unreadable") == 1  # robots.txt names a broken one
    assert result.stat("newscrawl/fields/unusable_datePublished") == 2  # 2099 and 1970
    stored = [case for case in CASES if case.outcome == STORED]
    assert result.stat("newscrawl/store/inserted") == len(stored)


@pytest.mark.parametrize("case", [c for c in CASES if c.outcome == STORED], ids=lambda c: c.name)
def test_stored_cleanly(crawled: Crawled, case: Case) -> None:
    row = crawled.row(case)
    assert row is not None, f"{case.name} not stored"
    record = row["record"]
    expected = dict(case.expected)
    assert row["headline"] == expected.pop("headline")
    body = case.story.body
    if "body_starts" in expected:  # text added before the story's own
        body = expected.pop("body_starts") + body
    assert row["article_body"] == expected.pop("body", body)
    for name, value in expected.items():
        assert record.get(name) == value, name
    text = json.dumps(record, ensure_ascii=False)
    for junk in ("<script", "alert(", "evil", "leak", "\\u0000", "\ufffd", "Ã", "<b>", "&amp;"):
        assert junk not in text, junk


@pytest.mark.parametrize("case", [c for c in CASES if c.outcome != STORED], ids=lambda c: c.name)
def test_dropped_and_counted(crawled: Crawled, case: Case) -> None:
    assert crawled.row(case) is None
    same_reason = sum(1 for other in CASES if other.outcome == case.outcome)
    assert crawled.result.stat(case.outcome) == same_reason
    if case.outcome in NEVER_FETCHED:
        assert SITE.hits(case.name) == 0
    else:
        lines = [line for line in crawled.result.log.splitlines() if crawled.url(case) in line]
        assert any(" WARNING: " in line or " INFO: " in line for line in lines), case.name


def test_every_case_has_its_own_story_and_page() -> None:
    """Cases must not merge as duplicates of one story, or a lost case could hide."""
    assert len({case.story.id for case in CASES}) == len(CASES)
    assert len({case.path for case in CASES}) == len(CASES)
