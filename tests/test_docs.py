"""The worked example in docs/adding-a-site.md runs as written.

Its ``python`` blocks each name a file on their first line: the page object, the registry
entry and the saved-page tests. They are run here, as the guide's reader would run them,
against the fixture the guide names, so the guide cannot drift from the code.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from newscrawl.pages import registry

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "adding-a-site.md"
BLOCK = re.compile(r"^```python\n# (?P<path>\S+)\n(?P<code>.*?)^```$", re.MULTILINE | re.DOTALL)
PAGE = "newscrawl/pages/harbour_gazette.py"
REGISTRY = "newscrawl/pages/registry.py"
TESTS = "tests/test_harbour_gazette_page.py"


def guide_blocks() -> dict[str, str]:
    return {match["path"]: match["code"] for match in BLOCK.finditer(GUIDE.read_text())}


def module(name: str, path: str, code: str) -> types.ModuleType:
    """``code`` as the module ``name`` would be if saved at ``path``."""
    loaded = types.ModuleType(name)
    loaded.__file__ = str(ROOT / path)
    exec(compile(code, str(ROOT / path), "exec"), loaded.__dict__)
    return loaded


def test_the_worked_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = guide_blocks()
    assert set(blocks) == {PAGE, REGISTRY, TESTS}
    assert "tests/fixtures/harbour-gazette/story.html" in GUIDE.read_text()
    assert (ROOT / "tests" / "fixtures" / "harbour-gazette" / "story.html").is_file()

    page = module("newscrawl.pages.harbour_gazette", PAGE, blocks[PAGE])
    monkeypatch.setitem(sys.modules, page.__name__, page)
    # The registry block is an edit of the real module: apply it to a copy of its names.
    names: dict[str, Any] = dict(vars(registry))
    exec(compile(blocks[REGISTRY], REGISTRY, "exec"), names)
    assert names["SITE_PAGES"]["harbourgazette.example"] is page.HarbourGazettePage
    monkeypatch.setattr(registry, "SITE_PAGES", names["SITE_PAGES"])

    tests = module("tests.test_harbour_gazette_page", TESTS, blocks[TESTS])
    ran = []
    for name, test in vars(tests).items():
        if name.startswith("test_") and callable(test):
            test()
            ran.append(name)
    assert len(ran) == 3, ran
