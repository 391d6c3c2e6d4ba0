"""``newscrawl export``: stored articles out of the database, as JSON lines, CSV or Parquet.

Reads the configured database (``--database-url`` / ``NEWSCRAWL_DATABASE_URL``) or
the embedded one (``--data-dir``), starting the embedded server for the time of the
export. Records are the stored ``record`` column, exactly what the crawl's feed
held. Filters: ``--since`` (published on or after), ``--source`` (publisher name),
``--spider``, ``--run`` (the articles a ``crawl_runs`` run wrote: inserted, updated,
found unchanged, or given a new URL; kept in ``run_articles`` as the run stores them).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterator
from datetime import date
from typing import IO, Any

import psycopg
from psycopg import sql

from newscrawl.exporters import CsvItemExporter, flat_value
from newscrawl.items import Article
from newscrawl.results import RUN_ARTICLES, ResultsError, add_database_arguments, connect

FORMATS = ("jsonl", "csv", "parquet")


def article_query(args: argparse.Namespace) -> tuple[sql.Composed, list[Any]]:
    """The ``SELECT`` of stored records matching the filters, oldest first."""
    where: list[sql.Composable] = []
    params: list[Any] = []
    if args.since:
        where.append(sql.SQL("a.date_published >= %s"))
        params.append(args.since)
    if args.source:
        where.append(sql.SQL("a.source_name = %s"))
        params.append(args.source)
    if args.spider:
        where.append(sql.SQL("a.spider = %s"))
        params.append(args.spider)
    if args.run:
        where.append(
            sql.SQL("EXISTS (SELECT 1 FROM crawl_runs r WHERE r.id = %s AND {})").format(
                sql.SQL(RUN_ARTICLES)
            )
        )
        params.append(args.run)
    query = sql.Composed([sql.SQL("SELECT a.record FROM articles a")])
    if where:
        query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where)
    return query + sql.SQL(" ORDER BY a.first_seen, a.id"), params


def records(conn: psycopg.Connection[Any], args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    query, params = article_query(args)
    try:
        with conn.cursor(name="newscrawl_export") as cursor:  # server-side: constant memory
            cursor.itersize = 500
            cursor.execute(query, params)
            for (record,) in cursor:
                yield record
    except psycopg.errors.UndefinedTable:
        raise ResultsError("the database has no articles yet (no crawl stored any)") from None
    except psycopg.errors.InvalidTextRepresentation:
        raise ResultsError(f"--run: {args.run!r} is not a run id (a UUID)") from None


def write(rows: Iterator[dict[str, Any]], fmt: str, out: IO[bytes]) -> int:
    """Write ``rows`` to ``out`` in ``fmt``; returns how many."""
    count = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
            count += 1
    elif fmt == "csv":
        exporter = CsvItemExporter(out)
        exporter.start_exporting()
        for row in rows:
            exporter.export_item(row)
            count += 1
        exporter.finish_exporting()
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        fields = list(Article.fields)
        schema = pa.schema([(name, pa.string()) for name in fields])
        with pq.ParquetWriter(out, schema) as writer:
            batch: list[dict[str, Any]] = []
            for row in rows:
                batch.append({name: _text(row.get(name)) for name in fields})
                count += 1
                if len(batch) == 1000:
                    writer.write_table(pa.Table.from_pylist(batch, schema))
                    batch = []
            writer.write_table(pa.Table.from_pylist(batch, schema))
    return count


def _text(value: Any) -> str | None:
    """Parquet columns are text; nested fields as JSON, as in CSV."""
    value = flat_value(value)
    return None if value is None else str(value)


def run(args: argparse.Namespace) -> int:
    try:
        with connect(args) as (conn, label):
            rows = records(conn, args)
            if args.output:
                with open(args.output, "wb") as out:
                    count = write(rows, args.format, out)
            else:
                stdout = sys.stdout.buffer
                if args.format == "parquet":  # a seekable buffer, then the bytes
                    buffer = io.BytesIO()
                    count = write(rows, args.format, buffer)
                    stdout.write(buffer.getvalue())
                else:
                    count = write(rows, args.format, stdout)
                stdout.flush()
    except (ResultsError, OSError) as exc:
        print(f"newscrawl export: error: {exc}", file=sys.stderr)
        return 1
    where = args.output or "standard output"
    print(f"Exported {count} articles from {label} to {where}", file=sys.stderr)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="jsonl")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")
    parser.add_argument(
        "--since", type=date.fromisoformat, help="YYYY-MM-DD: published on or after"
    )
    parser.add_argument("--source", help="publisher name (the record's source.name)")
    parser.add_argument("--spider", help="spider that stored the articles")
    parser.add_argument("--run", help="crawl_runs id: the articles that run wrote")
    add_database_arguments(parser)
    parser.set_defaults(func=run)
