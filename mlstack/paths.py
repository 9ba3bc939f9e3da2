"""Where files of the source tree outside the package live: `templates/` (Jinja2 templates) and
`specs/quickstart/` (the example's data and scripts, which `mlstack init` copies). A wheel ships them
inside the package as `mlstack/templates` and `mlstack/quickstart` (setup.py maps them there); a
checkout, an editable install or PYTHONPATH pointing at the tree has them at their source places."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(inside: str, in_tree: Path) -> Path:
    return _PACKAGE / inside if (_PACKAGE / inside).is_dir() else in_tree


TEMPLATES = _shipped("templates", _PACKAGE.parent / "templates")
QUICKSTART = _shipped("quickstart", _PACKAGE.parent / "specs" / "quickstart")
