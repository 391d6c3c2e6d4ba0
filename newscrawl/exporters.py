"""Feed exporters: CSV cells hold nested fields as JSON.

Scrapy's CSV exporter writes a list of dicts (``authors``, ``relatedArticles``) as
their Python reprs joined by commas, which no reader can parse back. Here every
list or dict becomes one JSON cell; ``newscrawl export --format csv`` writes the
same columns the same way.
"""

from __future__ import annotations

import json
from typing import Any

from scrapy.exporters import CsvItemExporter as ScrapyCsvItemExporter

from newscrawl.items import Article


def flat_value(value: Any) -> Any:
    """A nested value (list, dict) as a JSON string; anything else unchanged."""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


class CsvItemExporter(ScrapyCsvItemExporter):
    """CSV with one column per :class:`~newscrawl.items.Article` field, nested ones as JSON."""

    def __init__(self, file: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fields_to_export", list(Article.fields))
        super().__init__(file, **kwargs)

    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        return super().serialize_field(field, name, flat_value(value))
