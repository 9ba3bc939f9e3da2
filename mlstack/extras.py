"""Which `pip install 'mlstack[extra]'` brings a missing module: read from the installed distribution's
own metadata (pyproject.toml's optional-dependencies), so the answer never drifts from the packaging."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, requires

# import names that are not their distribution's name
DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "pyyaml", "ruamel": "ruamel-yaml"}
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9._-]+)[^;]*;\s*extra\s*==\s*['\"]([\w-]+)['\"]")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extra_for(module: str) -> str | None:
    """The smallest extra whose requirements provide `module` (top-level or dotted), if any."""
    try:
        lines = requires("mlstack") or []
    except PackageNotFoundError:
        return None
    top = module.split(".")[0]
    wanted = _normal(DISTRIBUTIONS.get(top, module))
    candidates: dict[str, int] = {}  # extra -> 0 for an exact name, 1 for a prefix (`google` of google-cloud-*)
    sizes: dict[str, int] = {}
    for line in lines:
        match = _REQUIREMENT.match(line)
        if not match:
            continue
        name, extra = _normal(match[1]), match[2]
        sizes[extra] = sizes.get(extra, 0) + 1
        if name == wanted or name.startswith(wanted + "-"):
            candidates[extra] = min(candidates.get(extra, 1), 0 if name == wanted else 1)
    if not candidates:
        return None
    return min(candidates, key=lambda extra: (extra == "test", candidates[extra], sizes[extra], extra))
