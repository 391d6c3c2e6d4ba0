"""Configuration is read once: the environment in ``newscrawl/settings.py`` only.

Every component takes its values from the settings, so ``-s NAME=value`` always beats
an environment variable, and a reader looking for a knob finds it in one module.
Passing the environment on to a child process (``{**os.environ, ...}``) is not reading it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "newscrawl"


def environment_reads(tree: ast.AST) -> list[int]:
    """Lines that look a variable up: ``os.environ.get(...)``, ``os.environ[...]``,
    ``os.getenv(...)``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, owner = node.func.attr, ast.unparse(node.func.value)
            if (name, owner) in {("getenv", "os"), ("get", "os.environ")}:
                lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            lines.append(node.lineno)
    return sorted(lines)


def test_the_environment_is_read_in_settings_only() -> None:
    readers = {
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "settings.py" or path.parent != PACKAGE
        for line in environment_reads(ast.parse(path.read_text()))
    }
    assert not readers, f"read these in newscrawl/settings.py, then use the setting: {readers}"


def test_the_check_sees_each_way_of_reading() -> None:
    code = 'import os\na = os.environ.get("A")\nb = os.environ["B"]\nc = os.getenv("C")\n'
    assert environment_reads(ast.parse(code)) == [2, 3, 4]
    assert environment_reads(ast.parse('import os\nenv = {**os.environ, "A": "1"}\n')) == []
