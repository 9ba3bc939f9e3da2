#!/usr/bin/env bash
# Installs what the tests need (the project's own extras, from PyPI), lints, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
python3 -m pip install -q --disable-pip-version-check -e '.[all,test]'
# the report and PR-comment tests open pages in headless Chromium (Debian's package)
if ! command -v chromium >/dev/null && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null || echo "chromium not installed: browser tests skip" >&2
fi
python3 -m ruff check mlstack tests benchmarks scripts
python3 -m pytest -q -p no:cacheprovider -n 2 "$@"
