#!/usr/bin/env bash
# Installs what the tests need (the project's own extras at the versions in constraints.txt), builds the
# Pulumi CLI the engine tests drive (cached under ~/.cache after the first build), lints, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
MLSTACK_VENV=if-needed . scripts/venv.sh
python3 -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
python3 -m pip install --disable-pip-version-check --progress-bar on -c constraints.txt -e '.[all,test]'
PATH="$(scripts/install-pulumi.sh | tail -1):$PATH"
export PATH
python3 -m ruff check mlstack tests benchmarks scripts
python3 -m pytest -q -p no:cacheprovider -n 2 "$@"
