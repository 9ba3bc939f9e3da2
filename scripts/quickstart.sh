#!/usr/bin/env bash
# Makes a virtualenv (.venv) unless one is active, installs mlstack with the local emulator into it at the
# tested versions (constraints.txt), then trains, registers and serves the quickstart platform.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
python3 -m pip install --disable-pip-version-check --upgrade "pip>=24"
python3 -m pip install --disable-pip-version-check --progress-bar on -c constraints.txt -e '.[local]'
exec python3 -m mlstack up specs/quickstart.yaml "$@"
