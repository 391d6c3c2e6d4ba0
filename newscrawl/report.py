"""``newscrawl report [RUN] [-o FILE]``: one crawl run as a self-contained HTML page.

From the run's ``crawl_runs`` row (its final stats: the summary's figures, the
``newscrawl/timeline`` samples, monitor results) and the articles it stored or saw:
the summary table and charts of pages and items over time, items per source,
field coverage, errors by kind and a published-date histogram.

Charts are drawn with matplotlib as SVG and inlined: the page needs no script, no
network and no other file (it opens from a mail attachment or a CI artifact), and
weighs tens of kilobytes where an interactive library would inline megabytes of
JavaScript.
"""

from __future__ import annotations

import argparse
import html
import io
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from newscrawl.results import RUN_ARTICLES, ResultsError, add_database_arguments, connect
from newscrawl.summary import counted, figures
from newscrawl.vocab import STATS_MONITORS, STATS_TIMELINE

CHARTS = ("timeline", "sources", "coverage", "errors", "published")

_RUN = """
SELECT id, spider, job_id, started_at, finished_at, finish_reason, stats
FROM crawl_runs WHERE (%(run)s::uuid IS NULL OR id = %(run)s::uuid)
ORDER BY started_at DESC LIMIT 1
"""
# The run's articles (as ``newscrawl export --run``): the ones it wrote.
_ARTICLES = f"""
SELECT coalesce(a.source_name, '(none)') AS source, a.date_published::date AS published
FROM articles a JOIN crawl_runs r ON r.id = %(run)s
WHERE {RUN_ARTICLES}
"""


def load(conn: psycopg.Connection[Any], run: str | None) -> tuple[dict[str, Any], list[Any]]:
    """The run's row (the latest run when ``run`` is None) and its articles."""
    try:
        with conn.cursor(row_factory=dict_row) as cursor:
            row = cursor.execute(_RUN, {"run": run}).fetchone()
            if row is None:
                raise ResultsError(f"no run {run}" if run else "no crawl has been recorded yet")
            articles = cursor.execute(_ARTICLES, {"run": row["id"]}).fetchall()
    except psycopg.errors.UndefinedTable:
        raise ResultsError("no crawl has been recorded yet (no crawl_runs table)") from None
    except psycopg.errors.InvalidTextRepresentation:
        raise ResultsError(f"{run!r} is not a run id (a UUID)") from None
    return row, articles


def _svg(draw: Callable[[Any], None], height: float = 3.2) -> str:
    """One chart as inline SVG text."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text as text: small, selectable
        figure, axes = pyplot.subplots(figsize=(7.5, height), layout="constrained")
        try:
            draw(axes)
            axes.spines[["top", "right"]].set_visible(False)
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg")
        finally:
            pyplot.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _bars(labels: list[str], values: list[float], xlabel: str, percent: bool = False) -> str:
    from matplotlib.ticker import MaxNLocator

    def draw(axes: Any) -> None:
        axes.barh(labels[::-1], values[::-1], color="#3b6ea8")
        axes.set_xlabel(xlabel)
        if percent:
            axes.set_xlim(0, 100)
        else:
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))

    return _svg(draw, height=max(1.6, 0.28 * len(labels) + 0.9))


def charts(row: dict[str, Any], articles: list[dict[str, Any]]) -> dict[str, str | None]:
    """Chart name -> inline SVG, or None when the run has nothing to show for it."""
    stats = row["stats"] or {}
    done = figures(stats)
    out: dict[str, str | None] = dict.fromkeys(CHARTS)
    timeline = stats.get(STATS_TIMELINE) or []
    if timeline:

        def draw_timeline(axes: Any) -> None:
            seconds = [point[0] for point in timeline]
            axes.plot(seconds, [p[1] for p in timeline], label="pages fetched", marker=".")
            axes.plot(seconds, [p[2] for p in timeline], label="items exported", marker=".")
            axes.set_xlabel("seconds since the start")
            axes.legend(frameon=False)

        out["timeline"] = _svg(draw_timeline)
    sources: dict[str, int] = {}
    for article in articles:
        sources[article["source"]] = sources.get(article["source"], 0) + 1
    if sources:
        top = sorted(sources.items(), key=lambda pair: (-pair[1], pair[0]))[:25]
        out["sources"] = _bars([s for s, _ in top], [n for _, n in top], "articles")
    if done["coverage"]:
        shares = sorted(done["coverage"].items(), key=lambda pair: -pair[1])
        out["coverage"] = _bars(
            [f for f, _ in shares], [100 * v for _, v in shares], "% of items", percent=True
        )
    if done["errors"]:
        kinds = sorted(done["errors"].items(), key=lambda pair: -pair[1])
        out["errors"] = _bars([k for k, _ in kinds], [n for _, n in kinds], "count")
    days = sorted(a["published"] for a in articles if a["published"] is not None)
    if days:
        from matplotlib.ticker import MaxNLocator

        def draw_published(axes: Any) -> None:
            first, last = days[0].toordinal(), days[-1].toordinal()
            axes.hist(
                [day.toordinal() for day in days],
                bins=range(first, last + 2),
                color="#3b6ea8",
                edgecolor="white",
            )
            ticks = axes.get_xticks()
            axes.set_xticks(ticks, [date.fromordinal(int(t)).isoformat() for t in ticks])
            axes.tick_params(axis="x", labelrotation=30)
            axes.set_xlim(first - 0.5, last + 1.5)
            axes.set_ylabel("articles")
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))

        out["published"] = _svg(draw_published)
    return out


TITLES = {
    "timeline": "Pages and items over time",
    "sources": "Articles per source",
    "coverage": "Field coverage (share of items with each field)",
    "errors": "Errors by kind",
    "published": "Publication dates",
}


def _moment(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else "still running"


def render(row: dict[str, Any], articles: list[dict[str, Any]]) -> str:
    """The report page."""
    stats = row["stats"] or {}
    done = figures(stats)
    facts = [
        ("run", str(row["id"])),
        ("spider", row["spider"]),
        ("scrapyd job", row["job_id"] or "-"),
        ("started", _moment(row["started_at"])),
        ("finished", _moment(row["finished_at"])),
        ("finish reason", row["finish_reason"] or "-"),
        ("pages fetched", done["pages"]),
        ("items exported", done["items"]),
        (
            "articles stored",
            f"{done['stored']} ({done['inserted']} new, {done['updated']} updated)",
        ),
        ("articles unchanged", done["unchanged"]),
        ("skipped as already stored", done["skipped_stored"]),
        ("duplicates dropped", done["duplicates"]),
        ("items dropped", counted(done["dropped"])),
        ("errors", counted(done["errors"])),
    ]
    monitors = stats.get(STATS_MONITORS) or {}
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>newscrawl report: {html.escape(row['spider'])} {row['id']}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Crawl report: {html.escape(row['spider'])}</h1>",
        '<table class="facts">',
        *(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts),
        "</table>",
    ]
    if monitors:
        parts.append('<h2>Monitors</h2><table class="monitors">')
        for name, result in monitors.items():
            status = "passed" if result.get("passed") else "FAILED"
            parts.append(
                f'<tr class="{status.lower()}"><th>{html.escape(name)}</th><td>{status}</td>'
                f"<td>{html.escape(str(result.get('detail', '')))}</td></tr>"
            )
        parts.append("</table>")
    for name, svg in charts(row, articles).items():
        parts.append(f'<figure id="{name}"><figcaption>{TITLES[name]}</figcaption>')
        parts.append(svg if svg else '<p class="empty">Nothing to show for this run.</p>')
        parts.append("</figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


_CSS = """
body { font: 15px/1.4 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5rem; }
th, td { text-align: left; padding: .2rem 1rem .2rem 0; vertical-align: top; }
th { font-weight: 600; }
tr.failed td { color: #b00020; font-weight: 600; }
figure { margin: 2rem 0; }
figcaption { font-weight: 600; margin-bottom: .5rem; }
figure svg { max-width: 100%; height: auto; }
.empty { color: #777; }
"""


def run(args: argparse.Namespace) -> int:
    try:
        with connect(args) as (conn, _label):
            row, articles = load(conn, args.run)
        page = render(row, articles)
        output = args.output or f"report-{row['spider']}-{str(row['id'])[:8]}.html"
        with open(output, "w", encoding="utf-8") as out:
            out.write(page)
    except (ResultsError, OSError) as exc:
        print(f"newscrawl report: error: {exc}", file=sys.stderr)
        return 1
    print(f"Report of run {row['id']} ({row['spider']}) written to {output}", file=sys.stderr)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", nargs="?", help="crawl_runs id (default: the latest run)")
    parser.add_argument("-o", "--output", help="HTML file (default: report-<spider>-<run>.html)")
    add_database_arguments(parser)
    parser.set_defaults(func=run)
