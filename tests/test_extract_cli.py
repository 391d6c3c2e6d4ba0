"""``newscrawl extract``: a saved page, a URL, and a long-running JSON-lines stream."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SERVER_MARKUPS, SampleSite

FIXTURES = Path(__file__).parent / "fixtures" / "generic"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
COMMAND = [sys.executable, "-m", "newscrawl.cli", "extract"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=60)


def test_saved_page_with_its_url() -> None:
    meta = EXPECTED["wp_two_authors.html"]
    done = run(str(FIXTURES / "wp_two_authors.html"), "--url", meta["url"])
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["headline"] == meta["headline"]
    assert [a["name"] for a in record["authors"]] == meta["authors"]
    assert record["provenance"]["spider"] == "extract"


def test_url_fetched_from_a_local_server() -> None:
    site = SampleSite()
    story = site.spec(site.ids[0])
    with SiteServer(site) as server:
        done = run(f"{server.url}{story.path}")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["headline"] == story.headline
    assert record["articleBody"] == story.body


def test_saved_page_needs_its_url() -> None:
    done = run(str(FIXTURES / "wp_two_authors.html"))
    assert done.returncode == 2 and "--url" in done.stderr


def test_jsonl_stream_answers_line_by_line_and_survives_broken_input() -> None:
    pages = ["wp_two_authors.html", "nextjs_next_data.html", "listing_tag_page.html"]
    lines = [
        json.dumps({"url": EXPECTED[pages[0]]["url"], "html": (FIXTURES / pages[0]).read_text()}),
        "{not json",
        json.dumps({"url": "https://broken.example/a", "html": "\x00\x01<html><p"}),
        json.dumps(
            {
                "url": EXPECTED[pages[1]]["url"],
                "html": (FIXTURES / pages[1]).read_text(),
                "extra": "ignored",
            }
        ),
        json.dumps({"url": EXPECTED[pages[2]]["url"], "html": (FIXTURES / pages[2]).read_text()}),
        json.dumps({"url": None, "html": (FIXTURES / pages[0]).read_text()}),
    ]
    process = subprocess.Popen(
        [*COMMAND, "--jsonl"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdin and process.stdout
    records = []
    for line in lines:  # each answer arrives before the next page is sent: a real stream
        process.stdin.write(line + "\n")
        process.stdin.flush()
        records.append(json.loads(process.stdout.readline()))
    process.stdin.close()
    assert process.wait(timeout=30) == 0
    assert records[0]["headline"] == EXPECTED[pages[0]]["headline"]
    assert records[1]["line"] == 2 and "bad input line" in records[1]["error"]
    assert records[2]["url"] == "https://broken.example/a" and records[2]["pageType"] == "other"
    assert "headline" not in records[2] and "articleBody" not in records[2]
    assert records[3]["headline"] == EXPECTED[pages[1]]["headline"]
    # Never refused: a listing is a record too, marked as what it is.
    assert records[4]["url"] == EXPECTED[pages[2]]["url"] and "error" not in records[4]
    assert records[4]["pageType"] == "listing" and records[4]["probability"] < 0.5
    assert records[0]["pageType"] == "article" and records[0]["probability"] > 0.5
    # A page without an address: read all the same, and no URL made up for it.
    assert records[5]["url"] is None and "canonicalUrl" not in records[5]
    assert records[5]["headline"] == records[0]["headline"]


def test_each_failure_is_one_line_naming_the_page(tmp_path: Path) -> None:
    with SiteServer(SampleSite()) as server:
        with socket.socket() as closed:  # a port nothing listens on
            closed.bind(("127.0.0.1", 0))
            refused = f"http://127.0.0.1:{closed.getsockname()[1]}/story"
        cases = {
            f"{server.url}/en/article/missing": "HTTP 404 Not Found",
            refused: "cannot fetch: Connection refused",
        }
        for url, reason in cases.items():
            done = run(url)
            assert (done.returncode, done.stdout) == (1, "")
            assert done.stderr == f"newscrawl extract: error: {url}: {reason}\n"
        listing = tmp_path / "pages.txt"
        listing.write_text(f"{server.url}/en/article/missing\n{refused}\n")
        done = run("--input-file", str(listing), "--format", "jsonl")
    assert done.returncode == 1
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        {"url": url, "error": reason} for url, reason in cases.items()
    ]
    done = run(str(tmp_path / "gone.html"), "--url", "https://example.com/a")
    assert done.returncode == 1
    assert done.stderr == (
        f"newscrawl extract: error: https://example.com/a: cannot read {tmp_path / 'gone.html'}:"
        " No such file or directory\n"
    )
    assert run("--page", "nope", "x").returncode == 2


def test_jsonl_errors_carry_the_url() -> None:
    done = subprocess.run(
        [*COMMAND, "--jsonl"],
        input='{"url": "https://example.com/a"}\n',
        capture_output=True,
        text=True,
        timeout=60,
    )
    record = json.loads(done.stdout)
    assert record["url"] == "https://example.com/a" and "html" in record["error"]


def test_extract_gives_the_crawls_record_for_every_sample_page(tmp_path: Path) -> None:
    """The Python API's crawl (a real ``scrapy crawl`` of the sample site on 127.0.0.1,
    every server markup), then ``newscrawl extract`` and ``newscrawl.extract`` on the same
    pages, with no ``--page``: the same records. The pages name their site (Daily8), so
    the registry picks the page object the ``daily8`` spider reads them with."""
    import newscrawl

    site = SampleSite(24)
    with SiteServer(site) as server:
        crawled = {r["url"]: r for r in newscrawl.crawl(f"{server.url}/en", spider="daily8")}
        assert len(crawled) >= 20
        markups = {site.spec(url.rsplit("/", 1)[1]).variant for url in crawled}
        assert markups == set(SERVER_MARKUPS)
        # The daily8 spider's records say what the page is, as extract's and news's do.
        assert {(r["pageType"], r["probability"]) for r in crawled.values()} == {("article", 1.0)}
        listing = tmp_path / "urls.txt"
        listing.write_text("\n".join(crawled))
        done = run("--input-file", str(listing), "--format", "jsonl")
        assert done.returncode == 0, done.stderr
        from_api = []
        for url in crawled:
            with urllib.request.urlopen(url) as response:
                headers = dict(response.headers.items())
                from_api.append(newscrawl.extract(response.read(), url=url, headers=headers))
        markdown = run("--input-file", str(listing), "--format", "markdown")
    extracted = [json.loads(line) for line in done.stdout.splitlines()]
    assert [record["url"] for record in extracted] == list(crawled)
    for record in [*extracted, *from_api]:
        expected = crawled[record["url"]]
        assert comparable(record) == comparable(expected), record["url"]
    assert markdown.stdout.count("\n# ") + markdown.stdout.startswith("# ") == len(crawled)


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A record without what differs by run: download time, the spider's name, and dates
    of related cards given as "an hour ago" (resolved against the download time)."""
    provenance = {k: v for k, v in record["provenance"].items() if k != "spider"}
    related = [{**card, "datePublished": None} for card in record.get("relatedArticles", [])]
    return {**record, "dateDownloaded": None, "provenance": provenance, "relatedArticles": related}


def test_a_site_is_known_by_its_host_or_by_the_name_its_pages_give_it() -> None:
    from scrapy.http import HtmlResponse

    from newscrawl.pages.daily8 import Daily8ArticlePage
    from newscrawl.pages.generic import GenericArticlePage
    from newscrawl.pages.registry import page_class_for

    def page_class(url: str, head: str) -> type:
        body = f"<html><head>{head}</head><body><p>Text</p></body></html>"
        return page_class_for(url, HtmlResponse(url, body=body, encoding="utf-8"))

    mirror = "http://127.0.0.1:9/en/article/" + "a" * 32
    assert page_class("https://www.daily8.com/en", "") is Daily8ArticlePage
    assert page_class(mirror, "<title>Rail fares frozen | Daily8</title>") is Daily8ArticlePage
    assert page_class(mirror, "<title>DAILY8 – Latest news</title>") is Daily8ArticlePage
    assert page_class(mirror, '<meta property="og:site_name" content="Daily8">') is (
        Daily8ArticlePage
    )
    for other in (
        "<title>Daily8 raises funding | Tech Weekly</title>",
        '<title>Rail fares frozen</title><meta property="og:site_name" content="Tech Weekly">',
        "",
    ):
        assert page_class(mirror, other) is GenericArticlePage, other
