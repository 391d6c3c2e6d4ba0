#!/usr/bin/env bash
# The test command: installs what the suite needs, checks lint and types, then runs the tests.
#  - a virtualenv in .venv with the project and its test dependencies;
#  - Debian's Chromium for the browser tests (when run as root and missing);
#  - ruff (lint and format) on the whole tree and mypy (strict, on newscrawl/: pyproject.toml)
#    must be clean before any test runs.
# PostgreSQL: NEWSCRAWL_TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt -e .
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"
