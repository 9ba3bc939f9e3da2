"""The Pulumi program behind `pulumi up`: the stack's config names the spec, the target and the
environment (stacks/Pulumi.<stack>.yaml), and nothing else is needed."""

from __future__ import annotations

from pathlib import Path

import pulumi

from mlstack.backends import build
from mlstack.errors import SpecInvalid
from mlstack.resolve import resolve
from mlstack.spec import load

config = pulumi.Config("mlstack")
spec_path = Path(config.require("spec"))
if not spec_path.is_absolute():
    spec_path = Path(pulumi.get_root_directory()) / spec_path
try:
    loaded = load(spec_path, env=config.get("env"), target=config.get("target"))
except SpecInvalid as exc:
    # The engine shows this message as the update's error, one located problem per line.
    raise pulumi.RunError(f"the spec is invalid:\n{exc}") from None
build(resolve(loaded))
pulumi.export("target", loaded.cloud)
pulumi.export("spec", loaded.spec.name)
