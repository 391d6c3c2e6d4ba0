"""Security: SQL stays parameterised, passwords stay out of logs, the crawl stays where allowed.

Real crawls of a small site on 127.0.0.1 into a real PostgreSQL; the SQL check
reads the source, so a query built from strings cannot slip in unnoticed.
"""

from __future__ import annotations

import ast
import html
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg.conninfo import make_conninfo
from scrapy.utils.test import get_crawler

from newscrawl.cli import project_settings
from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import Resource, StorySpec
from newscrawl.logformatter import NewsLogFormatter
from newscrawl.processors import url_key
from tests.support.badsite import BadSite
from tests.support.crawl import ROOT, CrawlResult, query, run_crawl
from tests.support.database import temporary_database

PAYLOADS = (
    "'); DROP TABLE articles; --",
    "' OR '1'='1' --",
    "$$; SELECT pg_sleep(30); $$",
    "\\'; COPY articles TO PROGRAM 'touch /tmp/pwned'; --",
    '%s %(x)s {0} $1 " \\" ; -- /* */',
)
PASSWORD = "s3cr3t-Pa55"


class PayloadSite:
    """One article per payload, with the payload in every field the crawler reads;
    plus a page that robots.txt forbids and a link to another host."""

    def __init__(self) -> None:
        self.bad = BadSite()  # for its pages: the sample site's markup, one story each
        stories = [case.story for case in self.bad.cases.values()]
        self.articles: dict[str, tuple[StorySpec, str]] = {
            f"/en/article/{story.id}": (story, payload)
            for story, payload in zip(stories, PAYLOADS, strict=False)
        }
        self.forbidden = f"/zz/article/{stories[-1].id}"
        self.offsite = f"/en/article/{stories[-2].id}"
        self.hits: list[str] = []

    def render(self, path_with_query: str, host: str = "127.0.0.1") -> Resource | None:
        path = path_with_query.split("?", 1)[0]
        self.hits.append(path)
        if path == "/robots.txt":
            return _ok("User-agent: *\nDisallow: /zz/\n", "text/plain")
        if path == "/en":
            port = host.rsplit(":", 1)[1]
            links = [*self.articles, self.forbidden, f"http://localhost:{port}{self.offsite}"]
            items = "".join(f'<a href="{link}">story</a>' for link in links)
            return _ok(f"<html><body>{items}</body></html>")
        if path in self.articles:
            return _ok(self._payload_page(*self.articles[path], f"http://{host}{path}"))
        if path in (self.forbidden, self.offsite):
            story = next(iter(self.articles.values()))[0]
            return _ok(self.bad.page(story, host))
        return None

    def _payload_page(self, story: StorySpec, payload: str, url: str) -> str:
        data = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": payload,
            "articleBody": f"{payload}\n{story.body}",
            "datePublished": payload,
            "inLanguage": payload,
            "url": url,
            "sourceOrganization": {"name": payload, "url": f"https://source.example/?q={payload}"},
        }
        ld = json.dumps(data).replace("</", "<\\/")
        escaped = html.escape(payload)
        return (
            self.bad.page(story)
            .replace("</head>", f'<script type="application/ld+json">{ld}</script></head>')
            .replace(
                '<meta name="description" content="',
                f'<meta name="description" content="{escaped} ',
            )
        )


def _ok(text: str, content_type: str = "text/html") -> Resource:
    body = text.encode()
    headers = {"Content-Type": f"{content_type}; charset=utf-8", "Content-Length": str(len(body))}
    return Resource(200, headers, body)


@dataclass
class Crawled:
    site: PayloadSite
    server: SiteServer
    dsn: str
    result: CrawlResult
    workdir: Path


def crawl(
    site: PayloadSite, server: SiteServer, dsn: str, workdir: Path, **args: str
) -> CrawlResult:
    return run_crawl(
        "daily8",
        workdir,
        args={"start_urls": f"{server.url}/en", **args},
        settings={"NEWSCRAWL_DATABASE_URL": dsn, "LOG_LEVEL": "DEBUG"},
    )


@pytest.fixture(scope="module")
def crawled(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    site = PayloadSite()
    workdir = tmp_path_factory.mktemp("security")
    with SiteServer(site) as server, temporary_database(pg_dsn) as dsn:
        secret_dsn = make_conninfo(dsn, password=PASSWORD)  # trust auth ignores it
        result = crawl(site, server, secret_dsn, workdir)
        yield Crawled(site, server, dsn, result, workdir)


# --------------------------------------------------------------------------- SQL


def _unsafe_queries(source: str) -> list[int]:
    """Lines where a query handed to execute() is built from strings (f-string, %, +, format)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"execute", "executemany", "copy"}
            and node.args
        ):
            continue
        query_arg = node.args[0]
        built = isinstance(query_arg, (ast.JoinedStr, ast.BinOp)) or (
            isinstance(query_arg, ast.Call)
            and isinstance(query_arg.func, ast.Attribute)
            and query_arg.func.attr == "format"
            and not (  # psycopg.sql composition quotes what it formats
                isinstance(query_arg.func.value, ast.Call)
                and getattr(query_arg.func.value.func, "attr", None) == "SQL"
            )
        )
        if built:
            lines.append(node.lineno)
    return lines


def test_every_query_is_parameterised() -> None:
    unsafe = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "newscrawl").rglob("*.py"))
        if (lines := _unsafe_queries(path.read_text()))
    }
    assert unsafe == {}
    assert _unsafe_queries('cur.execute(f"SELECT {x}")\ncur.execute("SELECT %s" % x)') == [1, 2]


def test_injection_payloads_in_every_field_are_stored_as_text(crawled: Crawled) -> None:
    assert crawled.result.returncode == 0, crawled.result.log[-3000:]
    tables = query(crawled.dsn, "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")
    assert tables[0]["n"] >= 4  # nothing dropped
    for path, (story, payload) in crawled.site.articles.items():
        rows = query(
            crawled.dsn,
            "SELECT a.* FROM articles a JOIN article_urls u ON u.article_id = a.id"
            " WHERE u.url_key = %s",
            url_key(f"{crawled.server.url}{path}"),
        )
        assert len(rows) == 1, payload
        row = rows[0]
        assert row["headline"] == payload
        assert row["article_body"] == f"{payload}\n{story.body}"
        assert row["description"].startswith(f"{payload} ")
        assert row["source_name"] == payload
        assert row["in_language"] == payload
        assert row["date_published_raw"] == payload and row["date_published"] is None
    assert query(crawled.dsn, "SELECT count(*) AS n FROM articles")[0]["n"] == len(PAYLOADS)
    assert not Path("/tmp/pwned").exists()


# --------------------------------------------------------------------------- secrets


def test_the_database_password_appears_nowhere(crawled: Crawled, tmp_path: Path) -> None:
    result = crawled.result
    assert "Using PostgreSQL" in result.log and "password=***" in result.log
    outputs = [result.log, json.dumps(result.stats), json.dumps(result.items)]
    outputs += [
        path.read_text(errors="replace") for path in crawled.workdir.rglob("*") if path.is_file()
    ]

    # A malformed DSN, which libpq echoes whole into its error message.
    broken = f"postgresql://postgres:{PASSWORD}@[::1"
    failed = run_crawl(
        "daily8",
        tmp_path,
        args={"start_urls": f"{crawled.server.url}/en"},
        settings={"NEWSCRAWL_DATABASE_URL": broken, "LOG_LEVEL": "DEBUG"},
    )
    assert (
        failed.returncode != 0 and "Cannot open PostgreSQL postgresql://postgres:***@" in failed.log
    )
    outputs += [failed.log, json.dumps(failed.stats)]
    replay = subprocess.run(
        [sys.executable, "-m", "newscrawl.cli", "db", "replay", "--database-url", broken],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replay.returncode == 2 and "***" in replay.stderr
    outputs += [replay.stdout, replay.stderr]
    assert not [text for text in outputs if PASSWORD in text]


def test_the_debug_log_names_items_without_dumping_them(crawled: Crawled) -> None:
    log = crawled.result.log
    scraped = [line for line in log.splitlines() if "] DEBUG: Scraped http" in line]
    assert len(scraped) == len(crawled.result.items) > 0
    assert "'articleBody'" not in log and "'headline'" not in log


def test_above_debug_no_scraped_record_is_built() -> None:
    """At INFO Scrapy's handler would drop the record: the formatter does not make it."""
    item = {"url": "http://127.0.0.1/a"}
    quiet = NewsLogFormatter.from_crawler(get_crawler(settings_dict={"LOG_LEVEL": "INFO"}))
    as_number = NewsLogFormatter.from_crawler(get_crawler(settings_dict={"LOG_LEVEL": 20}))
    assert as_number.scraped(item, "response", None) is None
    loud = NewsLogFormatter.from_crawler(get_crawler(settings_dict={"LOG_LEVEL": "DEBUG"}))
    assert quiet.scraped(item, "response", None) is None
    logged = loud.scraped(item, "response", None)
    assert logged is not None and logged["args"] == {"url": item["url"], "src": "response"}


# --------------------------------------------------------------------------- crawl boundaries


def test_robots_txt_is_obeyed_and_offsite_links_are_not_followed(crawled: Crawled) -> None:
    assert project_settings().getbool("ROBOTSTXT_OBEY")
    assert crawled.site.forbidden not in crawled.site.hits
    assert crawled.site.offsite not in crawled.site.hits
    assert crawled.result.stat("robotstxt/forbidden") == 1
    assert crawled.result.stat("offsite/filtered") == 1


def test_offsite_links_are_followed_when_allowed(pg_dsn: str, tmp_path: Path) -> None:
    site = PayloadSite()
    with SiteServer(site) as server, temporary_database(pg_dsn) as dsn:
        result = crawl(site, server, dsn, tmp_path, allowed_domains="127.0.0.1,localhost")
        assert result.returncode == 0
        offsite = url_key(f"http://localhost:{server.url.rsplit(':', 1)[1]}{site.offsite}")
        assert query(dsn, "SELECT 1 FROM article_urls WHERE url_key = %s", offsite)
    assert site.offsite in site.hits and site.forbidden not in site.hits
