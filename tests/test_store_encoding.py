"""How the store encodes a batch for PostgreSQL (``newscrawl.db.store._dumps``)."""

from __future__ import annotations

import json

from newscrawl.db.store import _dumps


def test_text_is_utf8_and_nul_free() -> None:
    data = _dumps({"headline": "Zürich\x00 ё 中", "nested": [{"k\x00ey": "a\x00b"}]})
    assert "Zürich ё 中".encode() in data  # raw UTF-8, not \\u escapes
    assert json.loads(data) == {"headline": "Zürich ё 中", "nested": [{"key": "ab"}]}


def test_values_orjson_refuses_still_encode() -> None:
    assert json.loads(_dumps({"big": 2**70, 1: "int key"})) == {"big": 2**70, "1": "int key"}
