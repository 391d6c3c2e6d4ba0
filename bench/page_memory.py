"""Memory per page: the peak RSS of a crawl that meets one huge page.

    python -m bench.page_memory [--elements 1000000]

Three ``scrapy crawl news`` runs, each seeded with one page: a normal article
(the baseline), a page of ``--elements`` elements (8 bytes each: 8 MB for a
million) with ``NEWSCRAWL_PAGE_MAX_ELEMENTS=0`` (no limit: parsed like any page),
and the same page with the default limit (skipped before parsing). The peak RSS
of each crawl process comes from the kernel (``os.wait4``). Writes
``bench/results/page_memory.json``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import CRAWL_SETTINGS, markdown_table, write_results
from tests.support.huge_page import ARTICLE_PATH, HUGE_PATH, crawl, huge_page, page, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--elements", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    huge = huge_page(args.elements)
    pages = {ARTICLE_PATH: page(), HUGE_PATH: huge}
    with serve(pages) as base, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        runs = [
            crawl("normal page", base + ARTICLE_PATH, CRAWL_SETTINGS, workdir),
            crawl(
                "huge page, no limit",
                base + HUGE_PATH,
                {**CRAWL_SETTINGS, "NEWSCRAWL_PAGE_MAX_ELEMENTS": "0"},
                workdir,
            ),
            crawl("huge page, default limit", base + HUGE_PATH, CRAWL_SETTINGS, workdir),
        ]
    result = {"elements": args.elements, "bytes": len(huge), "runs": runs}
    path = write_results("page_memory", result)
    print(
        markdown_table(
            ["crawl", "items", "skipped", "peak RSS MB", "wall s"],
            [[r["run"], r["items"], r["skipped"], r["peak_rss_mb"], r["wall_s"]] for r in runs],
        )
    )
    print(f"\n{len(huge) / 2**20:.1f} MB page of {args.elements:,} elements; results in {path}")
    return 0 if all(run["returncode"] == 0 for run in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
