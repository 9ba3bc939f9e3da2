"""Loading a spec: YAML with positions -> environment overlay -> Pydantic models -> rules."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path as FsPath

from pydantic import ValidationError

from mlstack.errors import SpecError, SpecInvalid
from mlstack.spec import environments, partial, pydantic_errors, rules, secrets
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


@dataclass(frozen=True)
class Checked:
    """A document's type and rule errors; `loaded` holds the well-typed part (None when too little is)."""

    loaded: LoadedSpec | None
    errors: list[SpecError]
    kept: partial.Kept  # how the typed part's item indices map back into the file


def check_document(doc: Document, env: str | None = None, target: str | None = None) -> Checked:
    """Types and rules in one round: rules run on the part of the spec that is well typed, so a type
    error in one endpoint does not hide a rule error in another. Never raises SpecInvalid."""
    if target is not None and target not in CLOUDS:
        error = SpecError(f"unknown target '{target}'; expected one of: {', '.join(CLOUDS)}", (), doc.file)
        return Checked(None, [error], partial.Kept())
    if env is not None:
        try:
            doc = environments.apply(doc, env)
        except SpecInvalid as exc:  # an unknown environment, or an overlay that does not fit
            return Checked(None, exc.errors, partial.Kept())
    data = doc.data
    assert isinstance(data, dict)
    if target is not None:
        current = data.get("target")
        data["target"] = {**(current if isinstance(current, dict) else {}), "cloud": target}
    leaked = [replace(doc.error(path, message, key=True), path=shown) for path, message, shown in secrets.find(data)]
    if leaked:  # no further check may repeat a secret in its message
        return Checked(None, leaked, partial.Kept())
    errors: list[SpecError] = []
    try:
        spec, kept = Spec.model_validate(data), partial.Kept()
    except ValidationError as exc:
        errors += pydantic_errors.convert(exc, doc, Spec)
        typed = partial.typed_part(data, exc)
        if typed is None:
            return Checked(None, errors, partial.Kept())
        spec, kept = typed
    cloud = spec.target.cloud
    errors += kept.relocate(rules.problems(spec, cloud), doc)
    return Checked(LoadedSpec(spec=spec, doc=doc, cloud=cloud, environment=env), errors, kept)


def validate_document(doc: Document, env: str | None = None, target: str | None = None) -> LoadedSpec:
    """Validate a parsed document for planning: types, rules and the target backend's problems
    (mlstack.validate); raises SpecInvalid listing every problem found."""
    from mlstack.validate import check

    report = check(doc, env=env, target=target)
    if report.errors:
        raise SpecInvalid(report.errors)
    assert report.loaded is not None
    return report.loaded


def load(path: str | FsPath, env: str | None = None, target: str | None = None) -> LoadedSpec:
    return validate_document(load_file(path), env=env, target=target)


def loads(text: str, file: str = "<spec>", env: str | None = None, target: str | None = None) -> LoadedSpec:
    return validate_document(parse(text, file), env=env, target=target)


__all__ = ["Checked", "LoadedSpec", "Spec", "SpecInvalid", "check_document", "load", "loads", "validate_document"]
