"""A platform repository as Pulumi sees it: `Pulumi.yaml` and its stacks' config files
(`<stackConfigDir>/Pulumi.<stack>.yaml`, whose `mlstack:spec|target|env` say what to deploy).
Read without Pulumi, so that commands can explain a missing file before the engine starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlstack.errors import MlstackError, did_you_mean

PROJECT_FILE = "Pulumi.yaml"


@dataclass(frozen=True)
class Stack:
    project: Project
    name: str
    config: dict[str, Any]  # the stack file's `config:` as written

    @property
    def config_file(self) -> Path:
        return self.project.config_dir / f"Pulumi.{self.name}.yaml"

    def setting(self, key: str) -> str | None:
        value = self.config.get(f"mlstack:{key}")
        return None if value is None else str(value)

    @property
    def spec(self) -> Path:
        value = self.setting("spec")
        if not value:
            raise MlstackError(f"{self.config_file}: config needs `mlstack:spec`, the spec file of this stack")
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.project.root / path


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    main: Path  # the program `pulumi up` runs: a directory with __main__.py, or a file
    config_dir: Path

    def stacks(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.config_dir.glob("Pulumi.*.yaml"))

    def stack(self, name: str) -> Stack:
        file = self.config_dir / f"Pulumi.{name}.yaml"
        if not file.is_file():
            known = self.stacks()
            listed = f"; stacks here: {', '.join(known)}" if known else ""
            raise MlstackError(f"no stack '{name}': {file} does not exist{did_you_mean(name, known)}{listed}")
        data = _yaml(file) or {}
        config = data.get("config") or {}
        if not isinstance(config, dict):
            raise MlstackError(f"{file}: `config` must be a mapping of keys to values")
        return Stack(self, name, config)


def _yaml(file: Path) -> Any:
    try:
        return yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise MlstackError(f"{file}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise MlstackError(f"cannot read {file}: {exc.strerror}") from None


def find(start: Path) -> Project:
    """The project whose Pulumi.yaml is in `start` or the nearest directory above it."""
    start = start.resolve()
    for directory in (start, *start.parents):
        file = directory / PROJECT_FILE
        if file.is_file():
            break
    else:
        raise MlstackError(f"no {PROJECT_FILE} in {start} or above it; `mlstack init` makes a platform repository")
    data = _yaml(file)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise MlstackError(f"{file}: needs a `name`")
    main = directory / str(data.get("main") or ".")
    program = main / "__main__.py" if main.is_dir() else main
    if not program.is_file():
        raise MlstackError(f"{file}: the program {program} does not exist")
    return Project(directory, data["name"], main, directory / str(data.get("stackConfigDir") or "."))
