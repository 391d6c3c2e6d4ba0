"""``newscrawl extract``: a saved page, a URL, and a long-running JSON-lines stream."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite

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
