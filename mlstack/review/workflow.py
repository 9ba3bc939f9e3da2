"""`mlstack init-ci`: the review workflow from templates/github/, with its options filled in.

The template is itself a working workflow (for people who copy it by hand); the values it lets a user
choose sit on lines ending in `# mlstack:<option>`, and only those quoted values are replaced."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mlstack.backends import EXTRAS
from mlstack.errors import MlstackError
from mlstack.paths import TEMPLATES as TEMPLATES_ROOT
from mlstack.source import installed_record, requirement_from
from mlstack.spec import load

NAME = "mlstack-review.yml"
TEMPLATE = TEMPLATES_ROOT / "github" / NAME
_OPTION = re.compile(r'^(?P<before>.*?)"[^"]*"(?P<after>\s*# mlstack:(?P<key>\w+).*)$')


def fill(template: str, values: dict[str, str]) -> str:
    """The template with the quoted value on each `# mlstack:<key>` line set to values[key]."""
    out = []
    for line in template.splitlines(keepends=True):
        match = _OPTION.match(line.rstrip("\n"))
        if match and match["key"] in values:
            line = f"{match['before']}{json.dumps(values[match['key']])}{match['after']}\n"
        out.append(line)
    return "".join(out)


def _package(cloud: str, requirement: str | None, repository: Path) -> str:
    if requirement:
        return requirement
    return requirement_from(installed_record(), EXTRAS[cloud], repository)


def write_workflow(
    spec: Path,
    directory: Path,
    env: str | None,
    target: str | None,
    force: bool,
    requirement: str | None = None,
    repository: Path | None = None,
) -> Path:
    """The workflow for `spec`, a path relative to the repository (default: the current directory)."""
    root = repository or Path.cwd()
    if not TEMPLATE.is_file():
        raise MlstackError(f"the workflow template is missing: expected {TEMPLATE}")
    if spec.is_absolute():
        try:
            spec = spec.relative_to(root)
        except ValueError:
            raise MlstackError(f"{spec}: give the spec's path relative to the repository root") from None
    # a spec that does not validate gets no workflow
    loaded = load(spec if repository is None else root / spec, env=env, target=target)
    package = _package(loaded.cloud, requirement, root)
    text = fill(
        TEMPLATE.read_text(encoding="utf-8"),
        {"spec": spec.as_posix(), "env": env or "", "target": target or "", "package": package},
    )
    path = directory / NAME
    if path.exists() and path.read_text(encoding="utf-8") != text and not force:
        raise MlstackError(f"{path} exists and differs; pass --force to overwrite it")
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
