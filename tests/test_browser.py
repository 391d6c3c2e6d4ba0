"""JavaScript-rendered pages: real ``scrapy crawl`` runs with the system's Chromium.

The sample site serves every story twice: server-rendered under ``/en`` and as
a client-rendered app under ``/app/en`` (an empty shell whose script fetches
the story from ``/api``). A crawl seeded with the app's listing reaches both
(the app through its listing, the static pages through the sitemap).
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse
from scrapy.settings import Settings

from newscrawl import browser
from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite
from newscrawl.processors import url_key
from tests.support.crawl import CrawlResult, query, start_crawl
from tests.support.database import temporary_database

PIPELINES = {  # no feed dedupe: a story and its app twin both reach the feed
    "newscrawl.pipelines.validate.ValidatePipeline": 100,
    "newscrawl.pipelines.postgres.PostgresPipeline": 300,
}
SAME_FIELDS = ("headline", "articleBody", "bodyHash", "source", "datePublished", "inLanguage")


@pytest.fixture(scope="module")
def chromium() -> str:
    executable = browser.resolve_executable(os.environ.get("NEWSCRAWL_BROWSER"))
    if executable is None:
        pytest.fail(f"no Chromium: {browser.INSTALL_HINT} (tests/run.sh does it as root)")
    return executable


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    # The classic markup: the app under /app renders that one, so twins compare field for field.
    with SiteServer(SampleSite(markups=("classic",))) as server:
        yield server


def crawl(
    server: SiteServer,
    workdir: Path,
    start: str,
    dsn: str | None = None,
    settings: dict[str, str] | None = None,
    **args: str,
) -> CrawlResult:
    """``scrapy crawl daily8`` from ``start``; into ``dsn``, else feed only."""
    store = {"NEWSCRAWL_DATABASE_URL": dsn} if dsn else {"NEWSCRAWL_STORE_ENABLED": "False"}
    running = start_crawl(
        "daily8",
        workdir,
        args={"start_urls": f"{server.url}{start}", **args},
        settings={"ITEM_PIPELINES": json.dumps(PIPELINES), **store, **(settings or {})},
    )
    children: set[str] = set()
    deadline = time.monotonic() + 90
    while running.process.poll() is None and time.monotonic() < deadline:
        children |= descendants(running.process.pid)
        time.sleep(0.05)
    result = running.wait(timeout=1)
    result.children = children
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["finish_reason"] == "finished"
    return result


def descendants(pid: int) -> set[str]:
    """Executables (base names) of the processes under ``pid``, read from /proc."""
    names: set[str] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:  # exited meanwhile
                continue
            for child in map(int, children):
                try:
                    names.add(Path(f"/proc/{child}/exe").readlink().name)
                except OSError:
                    continue
                pending.append(child)
    return names


def error_lines(result: CrawlResult) -> list[str]:
    return [line for line in result.log.splitlines() if "] ERROR:" in line]


def cards(item: dict) -> list[tuple[str, str, str]]:
    """Related cards without their resolved dates ("an hour ago" depends on the fetch time)."""
    return [(r["url"], r["headline"], r["datePublishedRaw"]) for r in item["relatedArticles"]]


def story_id(item: dict) -> str:
    return item["url"].rstrip("/").rsplit("/", 1)[1]


@dataclass
class AutoCrawl:
    site: SampleSite
    server: SiteServer
    dsn: str
    result: CrawlResult
    hits: dict[str, int]


@pytest.fixture(scope="module")
def auto_crawl(
    chromium: str, server: SiteServer, pg_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AutoCrawl]:
    server.hits.clear()
    with temporary_database(pg_dsn) as dsn:
        result = crawl(server, tmp_path_factory.mktemp("auto"), "/app/en", dsn)
        yield AutoCrawl(server.site, server, dsn, result, dict(server.hits))


def app_ids(site: SampleSite) -> list[str]:
    """The stories the app's listing links to."""
    return site.listed_ids()[: site.listing_page_size]


def test_client_rendered_page_gives_the_record_of_its_server_rendered_twin(
    auto_crawl: AutoCrawl,
) -> None:
    app, static = {}, {}
    for item in auto_crawl.result.items:
        (app if "/app/" in item["url"] else static)[story_id(item)] = item
    assert set(app) == set(app_ids(auto_crawl.site))
    for key, twin in app.items():
        original = static[key]
        assert {f: twin.get(f) for f in SAME_FIELDS} == {f: original.get(f) for f in SAME_FIELDS}
        assert twin["mainImage"] == original["mainImage"]
        assert cards(twin) == cards(original)
        assert twin["provenance"]["fields"]["articleBody"] == "dom"  # read from the built DOM


def test_a_story_and_its_app_twin_are_one_stored_article(auto_crawl: AutoCrawl) -> None:
    (row,) = query(auto_crawl.dsn, "SELECT count(*) AS n FROM articles")
    assert row["n"] == len(auto_crawl.site.expected_unique_stories())
    base = auto_crawl.server.url
    for key in app_ids(auto_crawl.site):
        rows = query(
            auto_crawl.dsn,
            "SELECT DISTINCT article_id FROM article_urls WHERE url_key = ANY(%s)",
            [url_key(f"{base}/en/article/{key}"), url_key(f"{base}/app/en/article/{key}")],
        )
        assert len(rows) == 1, key


def test_auto_renders_only_the_pages_that_need_it(auto_crawl: AutoCrawl) -> None:
    result, hits = auto_crawl.result, auto_crawl.hits
    shells = 1 + len(app_ids(auto_crawl.site))  # the app's listing and its articles
    assert result.stat("newscrawl/browser/fallback") == shells
    assert result.stat("newscrawl/browser/rendered") == shells
    assert result.stat("playwright/page_count") == shells
    assert result.stat("playwright/browser_count") == 1
    assert result.stat("newscrawl/browser/skipped") == 0
    assert {"node", "chromium"} <= result.children  # what the static crawl below must not start
    for key in app_ids(auto_crawl.site):
        assert hits[f"/app/en/article/{key}"] == 2  # plain HTTP, then the browser
        assert hits[f"/api/article/{key}.json"] == 1  # only the browser runs the script
    static_pages = [path for path in hits if path.startswith("/en/article/")]
    assert len(static_pages) > len(app_ids(auto_crawl.site))
    assert all(hits[path] == 1 for path in static_pages)  # never rendered
    assert result.stat("playwright/request_count/aborted") > 0  # images are not fetched
    assert not any("/img/" in path for path in hits)
    assert error_lines(result) == []


def test_static_pages_never_start_a_browser(
    chromium: str, server: SiteServer, tmp_path: Path
) -> None:
    result = crawl(server, tmp_path, "/en", max_pages="6")
    assert len(result.items) >= 5
    assert not {"node", "chromium"} & result.children  # no Node driver, no Chromium
    assert "Starting download handler" not in result.log
    assert result.stat("playwright/browser_count") == 0
    assert result.stat("newscrawl/browser/rendered") == 0
    assert result.stat("newscrawl/browser/fallback") == 0


def test_always_renders_every_article_and_listing_page(
    chromium: str, server: SiteServer, tmp_path: Path
) -> None:
    server.hits.clear()
    result = crawl(server, tmp_path, "/app/en", render="always", max_pages="4")
    pages = [p for p in server.hits if p.startswith(("/en/article/", "/app/en"))]
    assert (
        result.stat("newscrawl/browser/rendered")
        == len(pages)
        == sum(server.hits[p] for p in pages)
    )  # each page once, through the browser
    assert result.stat("newscrawl/browser/fallback") == 0
    assert len(result.items) == 4


def test_never_leaves_app_shells_unread(chromium: str, server: SiteServer, tmp_path: Path) -> None:
    result = crawl(server, tmp_path, "/app/en", render="never", max_pages="3")
    assert result.stat("playwright/browser_count") == 0
    assert result.stat("newscrawl/browser/fallback") == 0
    assert "Starting download handler" not in result.log  # Playwright not even loaded
    assert all("/app/" not in item["url"] for item in result.items)


def test_without_a_browser_the_crawl_goes_on_with_one_error_line(
    server: SiteServer, pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSCRAWL_BROWSER", "/nonexistent/chromium")
    with temporary_database(pg_dsn) as dsn:
        result = crawl(server, tmp_path, "/app/en", dsn)
        (row,) = query(dsn, "SELECT count(*) AS n FROM articles")
    assert row["n"] == len(server.site.expected_unique_stories())  # every static page
    (line,) = error_lines(result)
    assert "/nonexistent/chromium" in line
    assert "apt-get install chromium" in line and "NEWSCRAWL_BROWSER" in line
    assert result.stat("newscrawl/browser/unavailable") == 1
    assert result.stat("newscrawl/browser/skipped") == 1  # the app's listing shell
    assert "Starting download handler" not in result.log  # Playwright not even started


def test_a_browser_that_does_not_start_is_tried_once_and_is_one_error_line(
    server: SiteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A "browser" that hangs at start times out once, not once per queued page; in
    ``always`` mode the pages then go over plain HTTP, and app shells are skipped."""
    launches, fake = tmp_path / "launches", tmp_path / "chromium"
    fake.write_text(f"#!/bin/sh\necho launched >> {launches}\nexec sleep 10\n")
    fake.chmod(stat.S_IRWXU)
    monkeypatch.setenv("NEWSCRAWL_BROWSER", str(fake))
    server.hits.clear()
    result = crawl(
        server,
        tmp_path,
        "/app/en",
        settings={"PLAYWRIGHT_LAUNCH_OPTIONS": json.dumps({"headless": True, "timeout": 2000})},
        render="always",
        max_pages="4",
    )
    assert launches.read_text().splitlines() == ["launched"]
    (line,) = error_lines(result)
    assert f"{fake} failed to start" in line and "apt-get install chromium" in line
    assert "Traceback" not in result.log
    assert result.stat("newscrawl/browser/unavailable") == 1
    assert result.stat("newscrawl/browser/skipped") == 1  # the app's listing shell
    assert result.stat("newscrawl/browser/rendered") == 0
    assert len(result.items) == 4  # static articles, fetched over plain HTTP instead
    assert server.hits["/app/en"] == 1


# -- the parts, without a crawl -------------------------------------------------------


def test_resolve_executable_takes_the_setting_or_the_first_candidate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def make(name: str, mode: int) -> str:
        path = tmp_path / name
        path.write_text("#!/bin/sh\n")
        path.chmod(mode)
        return str(path)

    runnable, plain = make("runnable", stat.S_IRWXU), make("plain", stat.S_IRUSR)
    assert browser.resolve_executable(runnable) == runnable
    assert browser.resolve_executable(plain) is None  # not executable
    assert browser.resolve_executable(str(tmp_path / "absent")) is None
    assert browser.resolve_executable(str(tmp_path)) is None  # a directory
    later = make("later", stat.S_IRWXU)
    monkeypatch.setattr(browser, "CANDIDATES", (str(tmp_path / "absent"), plain, runnable, later))
    assert browser.resolve_executable(None) == runnable
    assert str(tmp_path / "absent") in browser.missing_reason(None)
    assert "NEWSCRAWL_BROWSER=/x" in browser.missing_reason("/x")


def test_configure_installs_playwright_only_for_crawls_that_may_render(
    chromium: str,
) -> None:
    project = Settings()
    project.setmodule("newscrawl.settings", priority="project")
    assert browser.configure(project.copy(), browser.NEVER) is None

    settings = project.copy()
    settings.set("NEWSCRAWL_BROWSER", chromium)
    assert browser.configure(settings, browser.AUTO) == chromium
    assert settings.getdict("DOWNLOAD_HANDLERS") == {
        "http": browser.DOWNLOAD_HANDLER,
        "https": browser.DOWNLOAD_HANDLER,
    }
    options = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    assert options["executable_path"] == chromium
    assert options["headless"] is True and "--disable-background-networking" in options["args"]

    settings = project.copy()
    settings.set("NEWSCRAWL_BROWSER", "/nonexistent/chromium")
    assert browser.configure(settings, browser.ALWAYS) is None
    assert not settings.getdict("DOWNLOAD_HANDLERS")


def test_app_shell_is_told_from_pages_with_content() -> None:
    site = SampleSite()
    story = site.ids[0]

    def page(path: str) -> HtmlResponse:
        resource = site.render(path)
        assert resource is not None
        return HtmlResponse(f"http://h{path}", body=resource.body, headers=resource.headers)

    assert browser.looks_like_app_shell(page(f"/app/en/article/{story}"))
    assert browser.looks_like_app_shell(page("/app/en"))
    assert not browser.looks_like_app_shell(page(f"/en/article/{story}"))
    assert not browser.looks_like_app_shell(page("/en"))
    empty = HtmlResponse("http://h/", body=b"<html><body><p>Gone.</p></body></html>")
    assert not browser.looks_like_app_shell(empty)  # no script would fill it
    data_only = b'<html><body><script type="application/ld+json">{}</script></body></html>'
    assert not browser.looks_like_app_shell(HtmlResponse("http://h/", body=data_only))
