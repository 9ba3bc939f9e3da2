"""Per resource type facts a review needs and a plan does not carry, kept as data per Pulumi provider
in `providers/<provider>.yaml`: which input changes replace a resource, which resources serve traffic,
which grant permissions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mlstack.review.values import path_matches

DATA = Path(__file__).parent / "providers"
_FIELDS = {"replace", "keep", "serving", "grant", "widening"}


@dataclass(frozen=True)
class Grant:
    principal: str  # the input naming who receives the permissions
    permission: str | None  # the input naming what is granted (a role, a policy ARN); None: a policy document


@dataclass(frozen=True)
class TypeRules:
    replace: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    serving: bool = False
    grant: Grant | None = None
    widening: tuple[str, ...] = ()

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
    return TypeRules(
        replace=tuple(raw.get("replace", ())),
        keep=tuple(raw.get("keep", ())),
        serving=bool(raw.get("serving", False)),
        grant=Grant(grant["principal"], grant.get("permission")) if grant else None,
        widening=tuple(raw.get("widening", ())),
    )


@cache
def provider_rules(provider: str) -> dict[str, TypeRules]:
    """Every type listed for a provider package (`aws`, `gcp`, `azure-native`, `pulumi` ...)."""
    path = DATA / f"{provider}.yaml"
    if not path.is_file():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {token: _entry(provider, token, entry) for token, entry in raw.items()}


def rules_for(type_token: str) -> TypeRules:
    """A type's rules; a type nobody listed is updated in place unless the plan's options say otherwise."""
    return provider_rules(type_token.split(":", 1)[0]).get(type_token, TypeRules())


def providers() -> list[str]:
    return sorted(p.stem for p in DATA.glob("*.yaml"))
