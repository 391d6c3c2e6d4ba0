"""Extraction-quality benchmark: our generic extractor against its peers.

Scores every extractor on the same labelled pages in the same run:
body token precision/recall/F1, headline exact match, same-day date match
(and exact match where the label has a time), author-set F1, article-vs-listing
accuracy (ours only: the peers do not classify) and pages per CPU-second (one core).

    python -m bench.extraction [--dir tests/fixtures/generic] [--expected FILE]

The labels are ``{"page.html": {"url", "is_article", "headline", "authors",
"datePublished", "articleBody"}}``. Writes ``bench/results/extraction.json``
and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import trafilatura
from scrapy.http import HtmlResponse

from newscrawl.pages.generic import GenericArticlePage
from tests.support.scoring import same_day, same_time, token_prf

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "tests" / "fixtures" / "generic"
RESULTS = Path(__file__).resolve().parent / "results" / "extraction.json"

Record = dict[str, Any]
Extractor = Callable[[str, bytes], Record]


# --- scoring -------------------------------------------------------------------------------


def author_f1(got: Iterable[str], expected: Iterable[str]) -> float:
    got_set = {" ".join(name.casefold().split()) for name in got}
    expected_set = {" ".join(name.casefold().split()) for name in expected}
    if not got_set and not expected_set:
        return 1.0
    overlap = len(got_set & expected_set)
    if not overlap:
        return 0.0
    precision, recall = overlap / len(got_set), overlap / len(expected_set)
    return 2 * precision * recall / (precision + recall)


def score_page(record: Record, label: Record) -> dict[str, float | bool | None]:
    precision, recall, f1 = token_prf(record.get("articleBody"), label["articleBody"])
    labelled_time = len(label.get("datePublished") or "") > 10
    return {
        "body_precision": precision,
        "body_recall": recall,
        "body_f1": f1,
        "headline_exact": (record.get("headline") or "") == label["headline"],
        "date_same_day": same_day(record.get("datePublished"), label["datePublished"]),
        "date_exact": same_time(record.get("datePublished"), label["datePublished"])
        if labelled_time
        else None,
        "authors_f1": author_f1(record.get("authors") or [], label["authors"]),
    }


# --- extractors ----------------------------------------------------------------------------


def _response(url: str, body: bytes) -> HtmlResponse:
    return HtmlResponse(url, body=body, encoding="utf-8")


def ours(url: str, body: bytes) -> Record:
    """Our page object, normalised the way the crawler normalises it."""
    response = _response(url, body)
    page = GenericArticlePage(response)
    item = normalise(page.extract(), response)
    return {
        "is_article": page.is_article(),
        "headline": item.get("headline"),
        "authors": [author["name"] for author in item.get("authors") or []],
        "datePublished": item.get("datePublished"),
        "articleBody": item.get("articleBody"),
    }


def _normaliser() -> Callable[[Any, HtmlResponse], Record]:
    """The ArticleLoader when it exists, else the same processors applied directly."""
    try:
        from newscrawl.loaders import ArticleLoader
    except ImportError:
        from newscrawl.processors import (
            is_boilerplate,
            normalize_paragraphs,
            normalize_text,
            parse_date,
            split_authors,
        )

        def direct(extraction: Any, response: HtmlResponse) -> Record:
            values = extraction.values
            raw_date = values.get("datePublishedRaw")
            body = [line for line in values.get("articleBody") or [] if not is_boilerplate(line)]
            return {
                "headline": normalize_text(values.get("headline")) or None,
                "authors": [{"name": name} for name in split_authors(values.get("authors"))],
                "datePublished": parse_date(raw_date) if raw_date else None,
                "articleBody": normalize_paragraphs(body),
            }

        return direct
    return lambda extraction, response: dict(
        ArticleLoader.from_extraction(extraction, response, spider="bench")
    )


normalise = _normaliser()


def trafilatura_peer(url: str, body: bytes) -> Record:
    document = trafilatura.bare_extraction(
        body.decode("utf-8"),
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
    )
    if document is None:
        return {}
    return {
        "headline": document.title,
        "authors": [name.strip() for name in (document.author or "").split(";") if name.strip()],
        "datePublished": document.date,
        "articleBody": document.text,
    }


def newspaper_peer() -> Extractor | None:
    """newspaper4k, if installed (it is not a dependency)."""
    try:
        import newspaper
    except ImportError:
        return None

    def extract(url: str, body: bytes) -> Record:
        article = newspaper.Article(url, fetch_images=False)
        article.download(input_html=body.decode("utf-8"))
        article.parse()
        published = article.publish_date
        return {
            "headline": article.title,
            "authors": article.authors,
            "datePublished": published.isoformat() if published else None,
            "articleBody": article.text,
        }

    return extract


# --- running -------------------------------------------------------------------------------


def throughput(extract: Extractor, pages: list[tuple[str, bytes]], min_seconds: float) -> float:
    """Pages per CPU-second over whole passes of the set, for at least ``min_seconds``.

    CPU time of this process, not wall time: on a shared machine other jobs
    would otherwise decide the number.
    """
    done, start = 0, time.process_time()
    while True:
        for url, body in pages:
            extract(url, body)
        done += len(pages)
        elapsed = time.process_time() - start
        if elapsed >= min_seconds:
            return done / elapsed


# Site chrome of a typical news page (~150 KB): a mega-menu, a teaser rail, inline CSS
# and JS. Wrapping each labelled page in it measures speed at realistic page weight
# and checks that rails of links do not leak into bodies.
_MENU = "".join(
    f'<li><a href="/section/{i}/">Section {i}</a><ul>'
    + "".join(f'<li><a href="/section/{i}/{j}/">Topic {i}.{j}</a></li>' for j in range(8))
    + "</ul></li>"
    for i in range(30)
)
_RAIL = "".join(
    f'<div class="card"><a href="/n/{i}/"><img src="/img/{i}.jpg" alt=""></a>'
    f'<h3><a href="/n/{i}/">Teaser headline number {i} about the news of the day</a></h3>'
    "<span>2 hours ago</span></div>"
    for i in range(60)
)
_CHROME_HEAD = (
    "<style>" + ".c{color:#222;margin:0 auto}\n" * 1500 + "</style>"
    f'<div class="mega-menu"><ul>{_MENU}</ul></div>'
)
_CHROME_TAIL = (
    f'<div class="rail">{_RAIL}</div>'
    + "<script>"
    + "var x=1;function f(a){return a*2}\n" * 3000
    + "</script>"
)


def with_chrome(body: bytes) -> bytes:
    html = body.decode("utf-8")
    html = html.replace("<body>", "<body>" + _CHROME_HEAD, 1)
    return html.replace("</body>", _CHROME_TAIL + "</body>", 1).encode("utf-8")


def evaluate(
    extractors: dict[str, Extractor],
    labels: dict[str, Record],
    pages: dict[str, tuple[str, bytes]],
    min_seconds: float,
) -> dict[str, Any]:
    """Scores and speed of each extractor on one rendering of the labelled pages."""
    results: dict[str, Any] = {"extractors": {}, "per_page": {}}
    for name, extract in extractors.items():
        per_page: dict[str, Any] = {}
        classified = []
        for page, label in labels.items():
            record = extract(*pages[page])
            if "is_article" in record:
                classified.append(record["is_article"] == label["is_article"])
            if label["is_article"]:
                got = {key: value for key, value in record.items() if key != "articleBody"}
                per_page[page] = {**score_page(record, label), "got": got}
        summary = _summarise(per_page.values())
        summary["classification_accuracy"] = (
            sum(classified) / len(classified) if classified else None
        )
        summary["pages_per_s"] = throughput(extract, [pages[p] for p in per_page], min_seconds)
        results["extractors"][name] = summary
        results["per_page"][name] = per_page
    return results


def run(directory: Path, expected_path: Path, min_seconds: float) -> dict[str, Any]:
    labels: dict[str, Record] = json.loads(expected_path.read_text(encoding="utf-8"))
    pages = {
        name: (label["url"], (directory / name).read_bytes()) for name, label in labels.items()
    }
    extractors: dict[str, Extractor] = {"newscrawl": ours, "trafilatura": trafilatura_peer}
    newspaper = newspaper_peer()
    if newspaper is not None:
        extractors["newspaper4k"] = newspaper
    chrome = {name: (url, with_chrome(body)) for name, (url, body) in pages.items()}
    articles = [pages[name][1] for name, label in labels.items() if label["is_article"]]
    return {
        "dataset": str(directory),
        "pages": len(labels),
        "articles": len(articles),
        "mean_article_kb": {
            "as written": statistics.fmean(map(len, articles)) / 1024,
            "with site chrome": statistics.fmean(len(with_chrome(b)) for b in articles) / 1024,
        },
        "variants": {
            "as written": evaluate(extractors, labels, pages, min_seconds),
            "with site chrome": evaluate(extractors, labels, chrome, min_seconds),
        },
    }


def _summarise(scores: Iterable[dict[str, Any]]) -> dict[str, float | None]:
    scores = list(scores)
    summary: dict[str, float | None] = {}
    for metric in (
        "body_precision",
        "body_recall",
        "body_f1",
        "headline_exact",
        "date_same_day",
        "date_exact",
        "authors_f1",
    ):
        values = [float(s[metric]) for s in scores if s[metric] is not None]
        summary[metric] = statistics.fmean(values) if values else None
    return summary


def markdown(results: dict[str, Any]) -> str:
    columns = (
        ("body P", "body_precision"),
        ("body R", "body_recall"),
        ("body F1", "body_f1"),
        ("headline exact", "headline_exact"),
        ("date same day", "date_same_day"),
        ("date exact*", "date_exact"),
        ("authors F1", "authors_f1"),
        ("article/listing", "classification_accuracy"),
        ("pages/CPU-s", "pages_per_s"),
    )
    sizes = results["mean_article_kb"]
    lines = [
        f"{results['articles']} labelled articles, {results['pages']} pages ({results['dataset']})",
        "",
        "| pages | extractor | " + " | ".join(title for title, _ in columns) + " |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for variant, outcome in results["variants"].items():
        for name, summary in outcome["extractors"].items():
            cells = []
            for _, key in columns:
                value = summary.get(key)
                if value is None:
                    cells.append("–")
                elif key == "pages_per_s":
                    cells.append(f"{value:.0f}")
                else:
                    cells.append(f"{value:.3f}")
            label = f"{variant} (~{sizes[variant]:.0f} KB)"
            lines.append(f"| {label} | {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("*date exact: same instant, over the labels that carry a time.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="folder of labelled pages")
    parser.add_argument("--expected", type=Path, help="labels JSON (default: DIR/expected.json)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument("--min-seconds", type=float, default=2.0, help="timing budget per tool")
    args = parser.parse_args(argv)
    results = run(args.dir, args.expected or args.dir / "expected.json", args.min_seconds)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
