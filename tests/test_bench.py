"""Smoke tests: every throughput benchmark runs end to end at a tiny size.

They check that the commands work and that their results keep their shape, not
the figures (a test machine is no benchmark machine), so the benchmarks cannot
rot between the runs made by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.gensite import build_site, nginx_binary, serve

ROOT = Path(__file__).resolve().parent.parent


def run_bench(
    name: str, args: list[str], results: Path, pg_dsn: str, variant: str = ""
) -> tuple[dict, str]:
    """``python -m bench.<name> <args>`` with results in ``results``; its JSON and stdout."""
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args, "--results", str(results)],
        cwd=ROOT,
        env={**os.environ, "NEWSCRAWL_TEST_DATABASE_URL": pg_dsn},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((results / f"{name}{variant}.json").read_text())
    assert result["benchmark"] == name
    assert result["command"].startswith(f"python -m bench.{name} ")
    assert result["machine"]["cpus"] >= 1
    assert "| --- |" in done.stdout  # the markdown table
    return result, done.stdout


def positive(run: dict[str, Any], *keys: str) -> None:
    for key in keys:
        assert run[key] > 0, (key, run)


def test_site_repeats_some_stories() -> None:
    site = build_site(200)
    bodies = [site.spec(story_id).body for story_id in site.ids]
    assert 200 - len(set(bodies)) == 5  # the sample's own pair, and 37, 87, 137, 187
    assert site.spec(site.ids[87]).body == site.spec(site.ids[86]).body


@pytest.mark.parametrize("server", ["nginx", "python"])
def test_servers_serve_the_site_as_rendered(server: str) -> None:
    if server == "nginx" and nginx_binary() is None:
        pytest.skip("nginx is not installed")
    site = build_site(60)
    with serve(60, server=server) as running:
        host = running.url.removeprefix("http://")
        paths = ["/robots.txt", "/sitemap.xml", "/en", "/en?page=2", *site.article_paths()[:8]]
        for path in paths:
            with urllib.request.urlopen(running.url + path) as response:
                expected = site.render(path, host)
                assert expected is not None
                assert response.read() == expected.body, path
                assert response.headers["Content-Type"] == expected.headers["Content-Type"]
        for path in ("/en?page=99", "/en/article/" + site.special.missing):
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(running.url + path)
            assert error.value.code == 404
        with urllib.request.urlopen(running.url + "/") as response:  # redirected
            assert response.url == running.url + "/en"


def test_crawl_benchmark(tmp_path: Path, pg_dsn: str) -> None:
    result, _ = run_bench("crawl", ["--pages", "60"], tmp_path, pg_dsn)
    runs = result["median"]
    for kind in ("bare", "full", "inprocess"):
        positive(runs[kind], "pages", "pages_per_s", "crawl_cpu_s", "peak_rss_mb", "elapsed_s")
        assert runs[kind]["crawl_cpu_s"] < runs[kind]["cpu_s"]  # start-up left out
    # The baseline fetches exactly what newscrawl fetches, and extracts nothing.
    assert runs["bare"]["pages"] == runs["full"]["pages"] == runs["inprocess"]["pages"] > 60
    assert runs["bare"]["items"] == 0
    assert runs["full"]["items"] == runs["inprocess"]["items"] > 50
    # Every item stored, whichever way it was extracted.
    assert runs["full"]["stored"] == runs["inprocess"]["stored"] >= runs["full"]["items"] - 2
    assert runs["full"]["extract_workers"] == (os.cpu_count() or 1) - 1
    assert runs["inprocess"]["extract_workers"] == 0
    assert set(result["ratios_to_bare"]) == {"full", "inprocess"}
    assert result["verdicts"]["full"] in ("pass", "MISS")


def test_store_benchmark(tmp_path: Path, pg_dsn: str) -> None:
    args = ["--items", "200", "--repeat", "1", "--stored", "0,300", "--scale-items", "100"]
    result, table = run_bench("store", args, tmp_path, pg_dsn)
    assert result["store_actions"] == {"inserted": 200}
    assert result["rows"] == {"articles": 200, "urls": 200, "related": 600}
    assert result["body_chars_mean"] >= 3000
    for writer in ("store", "copy articles", "copy all"):
        assert result["items_per_s"][writer] > 0
    assert result["store_vs"]["copy articles"] > 0
    assert result["verdict"] in ("pass", "MISS")
    scale = result["scale"]
    assert set(scale["levels"]) == {"0", "300"}
    for rates in scale["levels"].values():
        positive(rates, "store_items_per_s", "lookup_keys_per_s")
    assert scale["levels"]["0"]["store_vs_empty"] == 1.0
    assert set(scale["verdicts"]) == {"store", "lookup"}
    assert "| 300 |" in table


@pytest.mark.parametrize("variant", ["", "-jobdir"])
def test_memory_benchmark(tmp_path: Path, pg_dsn: str, variant: str) -> None:
    # Without JOBDIR, a site larger than the crawl: its sitemap names more than is fetched.
    more = ["--jobdir"] if variant else ["--site-pages", "90"]
    args = ["--pages", "60", "--first", "20", *more]
    result, table = run_bench("memory", args, tmp_path, pg_dsn, variant)
    assert result["jobdir"] is bool(variant)
    assert result["site"]["articles"] == (60 if variant else 90)
    assert result["peak_verdict"] in ("pass", "MISS") and "| peak over the crawl |" in table
    assert "| 0 (spider open) |" in table and "| growth 20 → 60 |" in table
    # Closing lets requests in flight finish: a sample at 80 may follow (seen 1 run in 4).
    milestones = [s["pages"] for s in result["samples"]]
    assert milestones[:4] == [0, 20, 40, 60] and all(m % 20 == 0 for m in milestones)
    for sample in result["samples"]:
        assert 0 < sample["rss_mb"] <= sample["peak_rss_mb"]
    assert isinstance(result["growth_mb"], float)
    assert result["crawl"]["pages"] >= 60  # closing lets requests in flight finish
    assert result["verdict"] in ("pass", "MISS")


def test_memory_keeps_the_crawl_files_when_the_crawl_falls_short(
    tmp_path: Path, pg_dsn: str
) -> None:
    # 40 stories cannot give 60 pages: the crawl ends before its last milestone.
    args = ["--pages", "60", "--first", "30", "--site-pages", "40", "--results", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", *args],
        cwd=ROOT,
        env={**os.environ, "NEWSCRAWL_TEST_DATABASE_URL": pg_dsn, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    kept = Path(done.stderr.rsplit("the crawl's files are in ", 1)[1].strip())
    assert kept.parent == tmp_path and (kept / "memory.log").is_file()


@pytest.mark.parametrize("bad", [["--first", "7"], ["--first", "100"]])
def test_memory_rejects_milestones_that_do_not_divide(bad: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--pages", "60", *bad],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "--first" in done.stderr


def test_scale_benchmark(tmp_path: Path, pg_dsn: str) -> None:
    """One crawl without the frontier, then by a worker of the shared frontier."""
    result, _ = run_bench("scale", ["--pages", "40", "--workers", "1"], tmp_path, pg_dsn)
    for kind in ("local", "redis-1"):
        run = result["best"][kind]
        assert run["pages"] >= 40, run
        positive(run, "pages_per_s", "crawl_s", "cpu_ms_per_page")
    assert set(result["ratios"]) == {"redis-1 vs local"}
