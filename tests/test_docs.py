"""The worked example in docs/adding-a-site.md runs as written.

Its ``python`` blocks each name a file on their first line: the page object, the registry
entry and the saved-page tests. They are run here, as the guide's reader would run them,
against the fixture the guide names, so the guide cannot drift from the code. The same
runner given a guide with a plausible mistake in its page object must fail: a check that
passes whatever the guide says would prove nothing.
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


def guide_blocks(text: str) -> dict[str, str]:
    return {match["path"]: match["code"] for match in BLOCK.finditer(text)}


def module(name: str, path: str, code: str) -> types.ModuleType:
    """``code`` as the module ``name`` would be if saved at ``path``."""
    loaded = types.ModuleType(name)
    loaded.__file__ = str(ROOT / path)
    exec(compile(code, str(ROOT / path), "exec"), loaded.__dict__)
    return loaded


def run_worked_example(text: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run the guide ``text``'s page object, registry entry and saved-page tests, as its
    reader would; the names of the tests that ran (an assertion error if one fails)."""
    blocks = guide_blocks(text)
    assert set(blocks) == {PAGE, REGISTRY, TESTS}
    page = module("newscrawl.pages.harbour_gazette", PAGE, blocks[PAGE])
    monkeypatch.setitem(sys.modules, page.__name__, page)
    # The registry block is an edit of the real module: apply it to a copy of its names.
    names: dict[str, Any] = dict(vars(registry))
    exec(compile(blocks[REGISTRY], REGISTRY, "exec"), names)
    assert names["SITE_PAGES"]["harbourgazette.example"] is page.HarbourGazettePage
    for name in ("SITE_PAGES", "SITE_NAMES"):
        monkeypatch.setattr(registry, name, names[name])

    tests = module("tests.test_harbour_gazette_page", TESTS, blocks[TESTS])
    ran = []
    for name, test in vars(tests).items():
        if name.startswith("test_") and callable(test):
            test()
            ran.append(name)
    return ran


def test_the_worked_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    text = GUIDE.read_text()
    assert "tests/fixtures/harbour-gazette/story.html" in text
    assert (ROOT / "tests" / "fixtures" / "harbour-gazette" / "story.html").is_file()
    assert len(run_worked_example(text, monkeypatch)) == 3


@pytest.mark.parametrize(
    ("mistake", "fixed"),
    [
        # The page object forgets the wire credit: the guide's first test fails.
        ('extraction.offer("source", source, "dom")', "pass"),
        # It reads the update time as shown, not its datetime attribute: the time zone is lost.
        (".updated time::attr(datetime)", ".updated time::text"),
    ],
)
def test_a_guide_whose_example_is_wrong_fails(
    monkeypatch: pytest.MonkeyPatch, mistake: str, fixed: str
) -> None:
    text = GUIDE.read_text()
    assert mistake in text
    with pytest.raises((AssertionError, KeyError)):  # what the reader's pytest would show
        run_worked_example(text.replace(mistake, fixed), monkeypatch)
