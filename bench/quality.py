"""Extraction quality on public labelled news pages: newscrawl beside trafilatura.

Runs both extractors, each in a fresh process per set, through the shared
scoring harness (``score.py``: body shingle F1, title exact match, same-day
date, author-set F1, failures) on every development set found under the data
directory (article-extraction-benchmark, Fundus, htmldate, trafilatura), and
measures pages per CPU-second of each (``time.process_time`` around every page:
the machine is shared, so wall time would measure the neighbours).

    python -m bench.quality --data DIR --harness PATH/score.py [--limit N]

``--data`` defaults to ``$NEWSCRAWL_EVAL_DATA`` and ``--harness`` to
``$NEWSCRAWL_EVAL_HARNESS``; the pages are third-party and never belong in this
repository. Writes ``bench/results/quality.json`` (summaries, no page text) and
the table between the markers in README.md. ``--records FILE`` keeps every
page's predictions and scores (outside the repo) for diffing two runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import RESULTS_DIR, ROOT

RESULT = RESULTS_DIR / "quality.json"
README = ROOT / "README.md"
BEGIN, END = "<!-- quality:begin -->", "<!-- quality:end -->"
EXTRACTORS = {
    "newscrawl": "py:newscrawl.extraction:harness_record",
    "trafilatura": "trafilatura",
}


def load_harness(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"bench.quality: cannot load the harness from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["score"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def timed(extractor: Any) -> list[float]:
    """Wrap ``extractor.extract`` so each call's CPU time is recorded."""
    spent: list[float] = []
    extract = extractor.extract

    def measured(page: Any, html: str) -> Any:
        start = time.process_time()
        try:
            return extract(page, html)
        finally:
            spent.append(time.process_time() - start)

    extractor.extract = measured
    return spent


def score_one(score: ModuleType, dataset: Any, name: str, args: argparse.Namespace) -> Any:
    """One extractor on one set, in this process: the harness summary plus CPU time."""
    extractor = score.make_extractor(f"{name}={EXTRACTORS[name]}", args)
    spent = timed(extractor)
    summary = score.run_one(dataset, extractor, args)
    summary["cpu_seconds"] = sum(spent)
    summary["pages_per_cpu_s"] = len(spent) / sum(spent) if sum(spent) else None
    return summary


def score_apart(dataset: str, name: str, args: argparse.Namespace) -> Any:
    """:func:`score_one` in a fresh process, so neither extractor inherits the other's
    caches, imports or garbage (the second of two in one process ran up to 2x slower)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, "-m", "bench.quality", "--data", args.data]
        command += ["--harness", args.harness, "--limit", str(args.limit)]
        command += ["--one", f"{dataset}:{name}", "--out", out.name]
        subprocess.run(command, check=True, cwd=ROOT)
        return json.loads(Path(out.name).read_text())


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def table(summaries: list[dict[str, Any]]) -> str:
    lines = [
        "| set (pages) | extractor | body F1 | title exact | date | author F1 | failures"
        " | pages per CPU-s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        fails = ", ".join(f"{k} {v}" for k, v in sorted(s["failures"].items())) or "0"
        speed = s.get("pages_per_cpu_s")
        cells = [
            f"{s['dataset']} ({s['pages']})",
            s["extractor"],
            _fmt((s.get("body") or {}).get("f1")),
            _fmt((s.get("title_exact") or {}).get("score")),
            _fmt((s.get("date") or {}).get("score")),
            _fmt((s.get("author_f1") or {}).get("score")),
            fails,
            f"{speed:.1f}" if speed else "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = README.read_text()
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"bench.quality: README.md lacks the {BEGIN} ... {END} markers")
    README.write_text(readme[: start + len(BEGIN)] + "\n" + text + "\n" + readme[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("NEWSCRAWL_EVAL_DATA"))
    parser.add_argument("--harness", default=os.environ.get("NEWSCRAWL_EVAL_HARNESS"))
    parser.add_argument("--limit", type=int, default=0, help="first N pages per set (smoke run)")
    parser.add_argument("--sets", help="comma-separated set names (default: every set found)")
    parser.add_argument("--records", type=Path, help="also write per-page records here")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md as it is")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # SET:EXTRACTOR, in a child process
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.data or not args.harness:
        parser.error("give --data and --harness (or NEWSCRAWL_EVAL_DATA, NEWSCRAWL_EVAL_HARNESS)")
    warnings.filterwarnings("ignore")
    score = load_harness(Path(args.harness))
    # The harness's own knobs, as its command line would set them.
    args.timeout, args.ngram, args.bootstrap, args.keep_text = 60.0, 4, 0, False
    args.progress, args.cmd_stderr = 0, None
    datasets = score.find_datasets(Path(args.data))
    if args.one:
        wanted, name = args.one.split(":")
        dataset = next(d for d in datasets if d.name == wanted)
        summary = score_one(score, dataset, name, args)
        args.out.write_text(json.dumps(summary, ensure_ascii=False, default=str))
        return 0
    if args.sets:
        datasets = [d for d in datasets if d.name in args.sets.split(",")]
    summaries = []
    for dataset in datasets:
        for name in EXTRACTORS:
            summaries.append(score_apart(dataset.name, name, args))
            speed = summaries[-1]["pages_per_cpu_s"] or 0
            print(f"{dataset.name:<12} {name:<12} {speed:6.1f} pages/CPU-s", flush=True)
    if args.records:
        args.records.write_text(json.dumps(summaries, ensure_ascii=False, default=str))
    for s in summaries:
        del s["records"]
    RESULT.parent.mkdir(exist_ok=True)
    result = {"limit": args.limit, "summaries": summaries}
    RESULT.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n")
    text = table(summaries)
    print(text)
    if not args.no_readme and not args.limit:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
