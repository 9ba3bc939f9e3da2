"""Loading a spec: YAML with positions -> environment overlay -> Pydantic models -> rules."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path as FsPath

from pydantic import ValidationError

from mlstack.errors import SpecError, SpecInvalid
from mlstack.spec import environments, pydantic_errors, rules, secrets
from mlstack.spec.models import CLOUDS, Spec
from mlstack.spec.yaml_loader import Document, load_file, parse


@dataclass(frozen=True)
class LoadedSpec:
    spec: Spec
    doc: Document
    cloud: str
    environment: str | None

    @property
    def path(self) -> FsPath:
        return FsPath(self.doc.file)

    @property
    def production(self) -> bool:
        if self.environment is None:
            return False
        return environments.is_production(self.environment, self.spec.environments.get(self.environment))


def validate_document(doc: Document, env: str | None = None, target: str | None = None) -> LoadedSpec:
    """Validate a parsed document; raises SpecInvalid listing every problem found."""
    if target is not None and target not in CLOUDS:
        raise SpecInvalid([SpecError(f"unknown target '{target}'; expected one of: {', '.join(CLOUDS)}", (), doc.file)])
    if env is not None:
        doc = environments.apply(doc, env)
    data = doc.data
    assert isinstance(data, dict)
    if target is not None:
        current = data.get("target")
        data["target"] = {**(current if isinstance(current, dict) else {}), "cloud": target}
    leaked = [
        replace(doc.error(path, message, key=True), path=shown)
        for path, message, shown in secrets.find(data)
    ]
    if leaked:
        raise SpecInvalid(leaked)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecInvalid(pydantic_errors.convert(exc, doc, Spec)) from None
    errors: list[SpecError] = rules.check(spec, doc, spec.target.cloud)
    loaded = LoadedSpec(spec=spec, doc=doc, cloud=spec.target.cloud, environment=env)
    if not errors:
        from mlstack.backends import deploy_problems
        from mlstack.resolve import resolve

        errors = [doc.error(path, message) for path, message in deploy_problems(resolve(loaded))]
    if errors:
        raise SpecInvalid(sorted(errors, key=lambda e: (e.line, e.column)))
    return loaded


def load(path: str | FsPath, env: str | None = None, target: str | None = None) -> LoadedSpec:
    return validate_document(load_file(path), env=env, target=target)


def loads(text: str, file: str = "<spec>", env: str | None = None, target: str | None = None) -> LoadedSpec:
    return validate_document(parse(text, file), env=env, target=target)


__all__ = ["LoadedSpec", "Spec", "SpecInvalid", "load", "loads", "validate_document"]
