#!/usr/bin/env bash
# Installs mlstack with the local emulator, then trains, registers and serves the quickstart platform.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
python3 -m pip install -q --disable-pip-version-check -e '.[local]'
exec python3 -m mlstack up specs/quickstart.yaml "$@"
