#!/usr/bin/env bash
# Installs what the tests need (the project's own extras, from PyPI), lints, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
python3 -m pip install -q --disable-pip-version-check -e '.[all,test]'
python3 -m ruff check mlstack tests benchmarks scripts
python3 -m pytest -q -p no:cacheprovider -n 2 "$@"
