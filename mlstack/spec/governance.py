"""Rules for promotion between environments: stages are declared environments, named once, and
approvers are asked for only where a promotion can happen (every stage after the first)."""

from __future__ import annotations

from collections.abc import Iterator

from mlstack.errors import Path, did_you_mean, listing
from mlstack.spec.models import Promotion, Spec

Problem = tuple[Path, str]


def _promotion(spec: Spec, promotion: Promotion, path: Path) -> Iterator[Problem]:
    environments = list(spec.environments)
    seen: set[str] = set()
    for i, stage in enumerate(promotion.stages):
        if stage in seen:
            yield (*path, "stages", i), f"stage '{stage}' is listed twice; a version passes each stage once"
        seen.add(stage)
        if stage not in spec.environments:
            defined = f"; defined: {listing(environments)}" if environments else "; the spec defines no environments"
            yield (
                (*path, "stages", i),
                f"stage '{stage}' is not an environment{did_you_mean(stage, environments)}{defined}; "
                f"declare it under `environments:` (an empty `{stage}: {{}}` will do)",
            )
    first = promotion.stages[0]
    for stage in promotion.approvers:
        if stage not in promotion.stages:
            yield (
                (*path, "approvers", stage),
                f"'{stage}' is not one of the stages{did_you_mean(stage, promotion.stages)}; "
                f"stages: {', '.join(promotion.stages)}",
            )
        elif stage == first:
            yield (
                (*path, "approvers", stage),
                f"a new version enters the first stage '{first}' when it is registered; "
                "approvers apply to the stages after it",
            )


def problems(spec: Spec) -> Iterator[Problem]:
    if spec.registry.promotion is not None:
        yield from _promotion(spec, spec.registry.promotion, ("registry", "promotion"))
    for gi, group in enumerate(spec.registry.model_groups):
        if group.promotion is not None:
            yield from _promotion(spec, group.promotion, ("registry", "model_groups", gi, "promotion"))
