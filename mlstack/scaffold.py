"""`mlstack init`: a platform repository from templates/init/ — a spec that validates for its target,
the Pulumi project whose program calls the installed mlstack, a `dev` stack, the review workflow."""

from __future__ import annotations

import re
from pathlib import Path

from mlstack.errors import MlstackError
from mlstack.paths import QUICKSTART, TEMPLATES

INIT = TEMPLATES / "init"
TARGETS = ("local", "aws", "gcp", "azure")
STACK = "dev"


def project_name(directory: Path) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", directory.resolve().name.lower()).strip("-")
    return name if re.fullmatch(r"[a-z][a-z0-9-]{1,40}", name or "") else "ml-platform"


def files(name: str, target: str) -> dict[str, str]:
    """Relative path -> text of every file the scaffold holds (written only if none exists yet)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from mlstack.spec.schema import schema_text

    jinja = Environment(loader=FileSystemLoader(INIT), undefined=StrictUndefined, keep_trailing_newline=True)
    values = {"name": name, "target": target, "owner": "you@example.com", "stack": STACK, "env": None}
    out = {
        "mlstack.yaml": jinja.get_template("mlstack.yaml.j2").render(values),
        "mlstack.schema.json": schema_text(),
        "Pulumi.yaml": jinja.get_template("Pulumi.yaml.j2").render(values),
        "__main__.py": (INIT / "__main__.py").read_text(),
        f"stacks/Pulumi.{STACK}.yaml": jinja.get_template("Pulumi.stack.yaml.j2").render(values),
        ".gitignore": (INIT / "gitignore").read_text(),
        "README.md": jinja.get_template("README.md.j2").render(values),
    }
    for example in sorted(QUICKSTART.iterdir()):
        if example.suffix in (".py", ".csv"):
            out[f"quickstart/{example.name}"] = example.read_text()
    return out


def init(directory: Path, target: str, requirement: str | None) -> tuple[list[Path], str | None]:
    """Write the scaffold; the files written and, if the review workflow could not be, why."""
    from mlstack.review.workflow import write_workflow

    if target not in TARGETS:
        raise MlstackError(f"unknown target '{target}': expected one of {', '.join(TARGETS)}")
    wanted = files(project_name(directory), target)
    clashes = [p for p in wanted if (directory / p).exists()]
    if clashes:
        raise MlstackError(f"{directory} already has {', '.join(clashes)}; `mlstack init` only starts new repositories")
    written = []
    try:
        for relative, text in wanted.items():
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        for path in written:  # nothing half-made
            path.unlink(missing_ok=True)
        raise MlstackError(f"cannot write {directory}: {exc.strerror}") from None
    try:
        written.append(
            write_workflow(
                Path("mlstack.yaml"),
                directory / ".github" / "workflows",
                env=None,
                target=None,
                force=False,
                requirement=requirement,
                repository=directory,
            )
        )
    except MlstackError as exc:
        return written, str(exc)
    return written, None
