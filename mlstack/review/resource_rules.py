"""Per resource type facts a review needs and a plan does not carry, kept as data per Pulumi provider
in `providers/<provider>.yaml`: which input changes replace a resource, which resources serve traffic,
which grant permissions."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mlstack.review.values import path_matches

DATA = Path(__file__).parent / "providers"
_FIELDS = {"replace", "keep", "serving", "grant", "widening", "delete_before_replace"}
ALL_TYPES = "all"  # a provider file's entry for every type of the provider (e.g. aws: region)


@dataclass(frozen=True)
class Grant:
    principal: str  # the input naming who receives the permissions
    permission: str | None  # the input naming what is granted (a role, a policy ARN); None: a policy document
    scope: str | None = None  # the input naming where it is granted


@dataclass(frozen=True)
class TypeRules:
    replace: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    serving: bool | dict[str, Any] = False  # or the inputs that make a resource of this type serve
    grant: Grant | None = None
    widening: tuple[str, ...] = ()
    delete_before_replace: bool = False  # the provider deletes first (a dynamic provider's DiffResult)

    def serves(self, inputs: dict[str, Any]) -> bool:
        if isinstance(self.serving, dict):
            return all(inputs.get(k) == v for k, v in self.serving.items())
        return self.serving

    def forces_replacement(self, path: str, options: dict[str, Any]) -> bool:
        patterns = (*self.replace, *options.get("replaceOnChanges", ()))
        if not any(path_matches(path, p) for p in patterns):
            return False
        explicit = any(path_matches(path, p) for p in options.get("replaceOnChanges", ()))
        return explicit or not any(path_matches(path, k) for k in self.keep)


def _entry(provider: str, type_token: str, raw: Any) -> TypeRules:
    if not isinstance(raw, dict) or set(raw) - _FIELDS:
        unknown = sorted(set(raw) - _FIELDS) if isinstance(raw, dict) else raw
        raise ValueError(f"providers/{provider}.yaml: {type_token}: unknown fields {unknown}")
    grant = raw.get("grant")
    serving = raw.get("serving", False)
    return TypeRules(
        replace=tuple(raw.get("replace", ())),
        keep=tuple(raw.get("keep", ())),
        serving=serving if isinstance(serving, dict) else bool(serving),
        grant=Grant(grant["principal"], grant.get("permission"), grant.get("scope")) if grant else None,
        widening=tuple(raw.get("widening", ())),
        delete_before_replace=bool(raw.get("delete_before_replace", False)),
    )


@cache
def provider_rules(provider: str) -> dict[str, TypeRules]:
    """Every type listed for a provider package (`aws`, `gcp`, `azure-native`, `pulumi` ...)."""
    path = DATA / f"{provider}.yaml"
    if not path.is_file():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    common = tuple(raw.pop(ALL_TYPES, {}).get("replace", ()))
    rules = {token: _entry(provider, token, entry) for token, entry in raw.items()}
    rules = {token: dataclasses.replace(r, replace=(*common, *r.replace)) for token, r in rules.items()}
    rules[ALL_TYPES] = TypeRules(replace=common)
    return rules


def rules_for(type_token: str) -> TypeRules:
    """A type's rules; a type nobody listed is updated in place unless the plan's options (or its
    provider's entry for all types) say otherwise."""
    rules = provider_rules(type_token.split(":", 1)[0])
    return rules.get(type_token) or rules.get(ALL_TYPES) or TypeRules()


def providers() -> list[str]:
    return sorted(p.stem for p in DATA.glob("*.yaml"))
