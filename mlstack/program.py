"""The Pulumi program of a platform repository: the stack's config names the spec, the target and the
environment (`<stackConfigDir>/Pulumi.<stack>.yaml`), and nothing else is needed. A repository's
`__main__.py` calls `run()`; `pulumi up` runs it through the python language host and `mlstack deploy`
runs the same file inline through the Automation API."""

from __future__ import annotations

from pathlib import Path

import pulumi

from mlstack.backends import build
from mlstack.errors import MlstackError, SpecInvalid
from mlstack.resolve import resolve
from mlstack.spec import load


def run() -> None:
    config = pulumi.Config("mlstack")
    spec_path = Path(config.require("spec")).expanduser()
    if not spec_path.is_absolute():
        root = pulumi.get_root_directory()
        if not root:
            raise pulumi.RunError(f"mlstack:spec {spec_path} is relative and Pulumi gave no project directory")
        spec_path = Path(root) / spec_path
    try:
        loaded = load(spec_path, env=config.get("env"), target=config.get("target"))
        build(resolve(loaded, user=config.get("user")))
    except SpecInvalid as exc:
        # The engine shows this message as the update's error, one located problem per line.
        raise pulumi.RunError(f"the spec is invalid:\n{exc}") from None
    except MlstackError as exc:
        raise pulumi.RunError(str(exc)) from None
    pulumi.export("target", loaded.cloud)
    pulumi.export("spec", loaded.spec.name)
