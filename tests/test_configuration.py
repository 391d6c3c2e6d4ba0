"""One fact, one module: the environment and every default in ``newscrawl/settings.py``,
stats keys in ``newscrawl/vocab.py``, settings read in ``from_crawler``.

Every component takes its values from the settings, so ``-s NAME=value`` always beats
an environment variable, and a reader looking for a knob finds it in one module.
Passing the environment on to a child process (``{**os.environ, ...}``) is not reading it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from scrapy.settings import Settings

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


# --------------------------------------------------------------------------- one place each
# Defaults live in newscrawl/settings.py, shared words (stats keys among them) in
# newscrawl/vocab.py, and components read settings in from_crawler. These checks keep it so.

SETTINGS = PACKAGE / "settings.py"
VOCAB = PACKAGE / "vocab.py"
GETTERS = {"get", "getint", "getfloat", "getbool", "getlist", "getdict", "getwithbase"}
STATS_KEY = re.compile(r"^newscrawl/[a-z_]+(/|$)")


def modules(*but: Path) -> dict[str, ast.AST]:
    return {
        str(path.relative_to(PACKAGE.parent)): ast.parse(path.read_text())
        for path in sorted(PACKAGE.rglob("*.py"))
        if path not in but
    }


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings or bare string statements."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }


def stats_keys(tree: ast.AST) -> list[int]:
    """Lines that spell a stats key (``"newscrawl/<area>..."``) or build one on the bare
    ``STATS`` prefix (an area vocab.py does not name)."""
    skip = docstrings(tree)
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if STATS_KEY.match(node.value):
                lines.append(node.lineno)
        elif isinstance(node, ast.Name | ast.alias) and "STATS" in (
            getattr(node, "id", None),
            getattr(node, "name", None),
        ):
            lines.append(node.lineno)
    return sorted(lines)


def settings_defaults(tree: ast.AST) -> list[int]:
    """Lines that give a setting a default where they read it:
    ``settings.getfloat("NAME", 30.0)``."""
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in GETTERS
        and ast.unparse(node.func.value).split(".")[-1] == "settings"
        and (len(node.args) > 1 or any(k.arg == "default" for k in node.keywords))
    )


def settings_read(tree: ast.AST) -> set[str]:
    """``NEWSCRAWL_*`` names read: ``settings.get*("NEWSCRAWL_X")``, ``settings["NEWSCRAWL_X"]``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in GETTERS and node.args:
                names.add(ast.unparse(node.args[0]))
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("settings"):
            names.add(ast.unparse(node.slice))
    return {name.strip("'\"") for name in names if name.strip("'\"").startswith("NEWSCRAWL_")}


def setting_values() -> dict[object, str]:
    """Numbers that are ``NEWSCRAWL_*`` defaults in settings.py (0 and 1 say nothing), and
    the settings that have them."""
    names: dict[object, list[str]] = {}
    for node in ast.parse(SETTINGS.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if (
                name.startswith("NEWSCRAWL_")
                and type(value) in (int, float)
                and value not in (0, 1)
            ):
                names.setdefault(value, []).append(name)
    return {value: " or ".join(same) for value, same in names.items()}


def repeated_defaults(tree: ast.AST, values: dict[object, str]) -> list[str]:
    """Parameter and dataclass-field defaults equal to a setting's default (a copy of it)."""
    found = []
    for node in ast.walk(tree):
        defaults: list[ast.expr | None] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defaults = [*node.args.defaults, *node.args.kw_defaults]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            defaults = [node.value]
        for default in defaults:
            if (
                isinstance(default, ast.Constant)
                and type(default.value) in (int, float)
                and default.value in values
            ):
                found.append(f"{default.lineno} ({values[default.value]})")
    return found


def settings_in_init(tree: ast.AST) -> list[int]:
    """``__init__`` methods that read settings (Scrapy's pattern: ``from_crawler`` does)."""
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.name == "__init__"
        and any(
            isinstance(inner, ast.Attribute) and inner.attr == "settings"
            for inner in ast.walk(node)
        )
    )


def test_stats_keys_are_named_in_vocab_only() -> None:
    found = {f"{name}:{line}" for name, tree in modules(VOCAB).items() for line in stats_keys(tree)}
    assert not found, f"name these stats keys (or their area) in newscrawl/vocab.py: {found}"


def test_settings_have_their_defaults_in_settings_py_only() -> None:
    defined = {
        node.targets[0].id
        for node in ast.parse(SETTINGS.read_text()).body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    trees = modules(SETTINGS)
    undefined = {
        f"{name}: {setting}"
        for name, tree in trees.items()
        for setting in settings_read(tree) - defined
    }
    assert not undefined, f"give these settings their default in settings.py: {undefined}"
    at_reads = {
        f"{name}:{line}" for name, tree in trees.items() for line in settings_defaults(tree)
    }
    assert not at_reads, f"a second default where a setting is read: {at_reads}"
    values = setting_values()
    copies = {
        f"{name}:{hit}" for name, tree in trees.items() for hit in repeated_defaults(tree, values)
    }
    assert not copies, f"copies of a setting's default (take it as an argument): {copies}"


def test_components_read_settings_in_from_crawler() -> None:
    found = {
        f"{name}:{line}" for name, tree in modules().items() for line in settings_in_init(tree)
    }
    assert not found, f"read settings in from_crawler, pass plain values to __init__: {found}"


def test_the_checks_see_what_they_look_for() -> None:
    code = '''
"""Counts newscrawl/errors/x."""
from newscrawl.vocab import STATS
KEY = "newscrawl/exit_code"
OTHER = f"{STATS}/mine"
AGENT = "newscrawl/0.1 (+https://example.com)"
'''
    assert stats_keys(ast.parse(code)) == [3, 4, 5]
    code = """
class Component:
    def __init__(self, crawler, timeout: float = 30.0, size: int = 1) -> None:
        self.limit = crawler.settings.getint("NEWSCRAWL_PAGE_MAX_ELEMENTS")
        self.wait = crawler.settings.getfloat("NEWSCRAWL_UNDEFINED", 5.0)
        self.url = settings["NEWSCRAWL_FRONTIER_URL"]
"""
    tree = ast.parse(code)
    assert settings_defaults(tree) == [5]
    assert settings_read(tree) == {
        "NEWSCRAWL_PAGE_MAX_ELEMENTS",
        "NEWSCRAWL_UNDEFINED",
        "NEWSCRAWL_FRONTIER_URL",
    }
    assert repeated_defaults(tree, {30.0: "NEWSCRAWL_STORE_TIMEOUT"}) == [
        "3 (NEWSCRAWL_STORE_TIMEOUT)"
    ]
    assert settings_in_init(tree) == [3]
    assert setting_values()[2083] == "NEWSCRAWL_MAX_URL_LENGTH"


README = PACKAGE.parent / "README.md"
README_ROW = re.compile(r"^\| `(?P<name>[A-Z][A-Z0-9_]+)` \| `(?P<default>[^`]*)` \|", re.MULTILINE)


def readme_defaults(text: str) -> dict[str, str]:
    """``NAME -> default`` from the README's settings tables (rows ``| `NAME` | `value` |``)."""
    return {match["name"]: match["default"] for match in README_ROW.finditer(text)}


def shown(value: object) -> str:
    """A default as the README writes it: lists comma-separated, the rest as Python does."""
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def readme_mismatches(text: str, project: Settings) -> dict[str, tuple[str, str]]:
    """Settings whose README default differs from settings.py's: ``(written, actual)``."""
    tables = readme_defaults(text)
    return {
        name: (written, shown(project[name]))
        for name, written in tables.items()
        if name in project
        and project[name] is not None
        and not written.startswith("<")  # a description ("<NEWSCRAWL_DATA_DIR>/spool")
        and written not in tables  # another setting's name ("CONCURRENT_REQUESTS")
        and written != shown(project[name])
    }


def test_the_readme_shows_the_defaults_of_settings_py() -> None:
    project = Settings()
    project.setmodule("newscrawl.settings", priority="project")
    text = README.read_text()
    assert len(readme_defaults(text)) > 20  # the tables were found
    wrong = readme_mismatches(text, project)
    assert not wrong, f"README default (written, settings.py): {wrong}"


def test_the_readme_check_reads_the_tables() -> None:
    text = "| `AB` | `200` | items |\n| `CD` | `url,headline` | x |\n| not | `a` | row |\n"
    assert readme_defaults(text) == {"AB": "200", "CD": "url,headline"}
    assert shown(["url", "headline"]) == "url,headline" and shown(2.0) == "2.0"
    project = Settings({"NEWSCRAWL_STORE_BATCH_SIZE": 200, "DEPTH_LIMIT": 8})
    text = "| `NEWSCRAWL_STORE_BATCH_SIZE` | `100` | x |\n| `DEPTH_LIMIT` | `8` | y |\n"
    assert readme_mismatches(text, project) == {"NEWSCRAWL_STORE_BATCH_SIZE": ("100", "200")}


def bench_imports(tree: ast.AST) -> list[int]:
    """Lines importing the benchmarks (``bench`` or a module in it)."""
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "bench")
        or (
            isinstance(node, ast.Import)
            and any(a.name.split(".")[0] == "bench" for a in node.names)
        )
    )


def test_tests_never_import_the_benchmarks() -> None:
    tests = PACKAGE.parent / "tests"
    found = {
        f"{path.relative_to(tests.parent)}:{line}"
        for path in tests.rglob("*.py")
        for line in bench_imports(ast.parse(path.read_text()))
    }
    assert not found, f"move what these use from bench/ to tests/support/: {found}"
    assert bench_imports(ast.parse("import bench.common\nfrom bench.gensite import serve\n")) == [
        1,
        2,
    ]
