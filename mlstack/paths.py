"""Where the project's Jinja2 templates live: `templates/` at the top of the source tree, beside the
package (installs are editable: `pip install -e .`, as both README commands do)."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
