"""Where the project's Jinja2 templates live: `templates/` at the top of the source tree, which a wheel
ships inside the package as `mlstack/templates` (setup.py maps it there). A checkout, an editable
install or PYTHONPATH pointing at the tree has it beside the package instead."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
TEMPLATES = _PACKAGE / "templates" if (_PACKAGE / "templates").is_dir() else _PACKAGE.parent / "templates"
