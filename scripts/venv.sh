# Sourced by the install scripts: run pip inside a virtualenv (.venv at the repository root, made on first
# use) unless one is active. A stock Debian/Ubuntu python refuses `pip install` outside one (PEP 668).
#   MLSTACK_VENV=if-needed: keep using python3 when it accepts installs (a pyenv or CI interpreter).
if [[ -z "${VIRTUAL_ENV:-}" ]]; then
    stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')
    if [[ "${MLSTACK_VENV:-always}" != "if-needed" || -f "$stdlib/EXTERNALLY-MANAGED" ]]; then
        if [[ ! -x .venv/bin/python ]]; then
            echo "creating a virtualenv in .venv (activate it later with: . .venv/bin/activate)" >&2
            python3 -m venv .venv
        fi
        # shellcheck disable=SC1091
        . .venv/bin/activate
    fi
fi
