"""Checks beyond types: references, duplicates, naming and limits of the chosen target.

Every rule that depends on the target reads the target's profile (mlstack.targets), so the
backends, review and migration share the same facts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from mlstack.errors import Path, SpecError, did_you_mean, listing
from mlstack.names import RESERVED_COLUMNS, column_clashes
from mlstack.spec import governance, locations
from mlstack.spec.models import (
    AB,
    ComputeProfile,
    Endpoint,
    ModelRef,
    Shadow,
    Spec,
)
from mlstack.spec.yaml_loader import Document
from mlstack.targets import TargetProfile, profile, supports_metric
from mlstack.targets.schedules import schedule_problem

Problem = tuple[Path, str]


def _duplicates(items: Iterable[object], path: Path, what: str, key: str = "name") -> Iterator[Problem]:
    seen: dict[object, int] = {}
    for i, item in enumerate(items):
        name = getattr(item, key)
        if name in seen:
            yield (*path, i, key), f"duplicate {what} '{name}' (also at {what} #{seen[name] + 1})"
        else:
            seen[name] = i


def _missing(kind: str, name: str, known: Iterable[str]) -> str:
    names = tuple(known)
    defined = f"; defined: {listing(names)}" if names else f"; the spec defines no {kind}s"
    return f"no {kind} named '{name}'{did_you_mean(name, names)}{defined}"


def _all_duplicates(spec: Spec) -> Iterator[Problem]:
    yield from _duplicates(spec.registry.model_groups, ("registry", "model_groups"), "model group")
    for gi, group in enumerate(spec.registry.model_groups):
        yield from _duplicates(group.versions, ("registry", "model_groups", gi, "versions"), "version", "version")
        aliases: dict[str, int] = {}
        for vi, version in enumerate(group.versions):
            for alias in version.aliases:
                if alias in aliases:
                    yield (
                        ("registry", "model_groups", gi, "versions", vi, "aliases"),
                        f"alias '{alias}' is already on version {aliases[alias]}",
                    )
                aliases[alias] = version.version
    yield from _duplicates(spec.feature_store.entities, ("feature_store", "entities"), "entity")
    yield from _duplicates(spec.feature_store.views, ("feature_store", "views"), "feature view")
    for vi, view in enumerate(spec.feature_store.views):
        yield from _duplicates(view.features, ("feature_store", "views", vi, "features"), "feature")
    yield from _duplicates(spec.pipelines, ("pipelines",), "pipeline")
    for pi, pipe in enumerate(spec.pipelines):
        yield from _duplicates(pipe.steps, ("pipelines", pi, "steps"), "step")
    yield from _duplicates(spec.endpoints, ("endpoints",), "endpoint")
    for ei, endpoint in enumerate(spec.endpoints):
        if isinstance(endpoint.strategy, AB):
            yield from _duplicates(endpoint.strategy.variants, ("endpoints", ei, "strategy", "variants"), "variant")
    yield from _duplicates(spec.monitors, ("monitors",), "monitor")
    yield from _duplicates(spec.batch_jobs, ("batch_jobs",), "batch job")


def _model_refs(spec: Spec) -> Iterator[tuple[Path, ModelRef]]:
    for ei, endpoint in enumerate(spec.endpoints):
        if endpoint.model is not None:
            yield ("endpoints", ei, "model"), endpoint.model
        strategy = endpoint.strategy
        if isinstance(strategy, Shadow):
            yield ("endpoints", ei, "strategy", "challenger"), strategy.challenger
        if isinstance(strategy, AB):
            for vi, variant in enumerate(strategy.variants):
                yield ("endpoints", ei, "strategy", "variants", vi, "model"), variant.model
    for bi, job in enumerate(spec.batch_jobs):
        yield ("batch_jobs", bi, "model"), job.model


def _registered_by_pipeline(spec: Spec, ref: ModelRef) -> bool:
    """A pipeline's registration would make `ref` name a version: it moves the alias, or (for a version
    number) registers into the group at all — as the emulator looks for one (emulator/resources.producers)."""
    return any(
        s.kind == "registration" and s.model_group == ref.group and (ref.alias is None or ref.alias in s.aliases)
        for p in spec.pipelines
        for s in p.steps
    )


def _check_model_ref(spec: Spec, path: Path, ref: ModelRef, cloud: str) -> Iterator[Problem]:
    group = spec.model_group(ref.group)
    if group is None:
        yield (*path, "group"), _missing("model group", ref.group, (g.name for g in spec.registry.model_groups))
        return
    if ref.version is not None:
        version = next((v for v in group.versions if v.version == ref.version), None)
        selector = ("version", f"version {ref.version}", [str(v.version) for v in group.versions])
    else:
        version = next((v for v in group.versions if ref.alias in v.aliases), None)
        selector = ("alias", f"alias '{ref.alias}'", [a for v in group.versions for a in v.aliases])
    if version is None:
        later = profile(cloud).serves_unregistered_versions
        if later and _registered_by_pipeline(spec, ref):
            return  # a pipeline registers it when the platform comes up
        known = ", ".join(selector[2]) or "none declared"
        hint = "" if later else " (or let a pipeline's registration step produce it on the local target)"
        yield (*path, selector[0]), f"model group '{group.name}' has no {selector[1]} (declared: {known}){hint}"
        return
    if group.approval == "manual" and version.approval != "approved":
        yield (
            (*path, selector[0]),
            (
                f"{ref.describe()} is version {version.version}, whose approval is "
                f"'{version.approval}'; group '{group.name}' requires manual approval before "
                "an endpoint may serve it"
            ),
        )


def _compute_refs(spec: Spec) -> Iterator[tuple[Path, str | ComputeProfile]]:
    for pi, pipe in enumerate(spec.pipelines):
        if pipe.compute is not None:
            yield ("pipelines", pi, "compute"), pipe.compute
        for si, step in enumerate(pipe.steps):
            if step.compute is not None:
                yield ("pipelines", pi, "steps", si, "compute"), step.compute
    for ei, endpoint in enumerate(spec.endpoints):
        if endpoint.compute is not None:
            yield ("endpoints", ei, "compute"), endpoint.compute
        strategy = endpoint.strategy
        if isinstance(strategy, Shadow) and strategy.compute is not None:
            yield ("endpoints", ei, "strategy", "compute"), strategy.compute
        if isinstance(strategy, AB):
            for vi, variant in enumerate(strategy.variants):
                if variant.compute is not None:
                    yield ("endpoints", ei, "strategy", "variants", vi, "compute"), variant.compute
    for bi, job in enumerate(spec.batch_jobs):
        yield ("batch_jobs", bi, "compute"), job.compute


def _references(spec: Spec, cloud: str) -> Iterator[Problem]:
    for path, ref in _model_refs(spec):
        yield from _check_model_ref(spec, path, ref, cloud)
    for path, compute in _compute_refs(spec):
        if isinstance(compute, str) and compute not in spec.compute:
            yield path, _missing("compute profile", compute, spec.compute)
    entities = [e.name for e in spec.feature_store.entities]
    for vi, view in enumerate(spec.feature_store.views):
        if view.entity not in entities:
            yield ("feature_store", "views", vi, "entity"), _missing("entity", view.entity, entities)
            continue
        keys = tuple(k.name for e in spec.feature_store.entities if e.name == view.entity for k in e.join_keys)
        for problem in column_clashes([f.name for f in view.features], (*RESERVED_COLUMNS, *keys)):
            yield (
                ("feature_store", "views", vi, "features"),
                f"{problem} (join keys of {view.entity}: {', '.join(keys)})",
            )
    views = [v.name for v in spec.feature_store.views]
    pipelines = [p.name for p in spec.pipelines]
    endpoints = [e.name for e in spec.endpoints]
    monitors = [m.name for m in spec.monitors]
    groups = [g.name for g in spec.registry.model_groups]
    for pi, pipe in enumerate(spec.pipelines):
        for fi, view in enumerate(pipe.feature_views):
            if view not in views:
                yield ("pipelines", pi, "feature_views", fi), _missing("feature view", view, views)
        for ti, trigger in enumerate(pipe.triggers):
            if trigger.on_alert not in monitors:
                yield ("pipelines", pi, "triggers", ti, "on_alert"), _missing("monitor", trigger.on_alert, monitors)
        steps = [s.name for s in pipe.steps]
        for si, step in enumerate(pipe.steps):
            for di, dep in enumerate(step.depends_on or []):
                if dep not in steps[:si]:
                    reason = "a later step" if dep in steps else _missing("step", dep, steps[:si])
                    yield (
                        ("pipelines", pi, "steps", si, "depends_on", di),
                        (f"'{dep}' is {reason}; a step may only depend on steps before it" if dep in steps else reason),
                    )
            if step.model_group and step.model_group not in groups:
                yield ("pipelines", pi, "steps", si, "model_group"), _missing("model group", step.model_group, groups)
            if step.endpoint and step.endpoint not in endpoints:
                yield ("pipelines", pi, "steps", si, "endpoint"), _missing("endpoint", step.endpoint, endpoints)
            if step.batch_job and spec.batch_job(step.batch_job) is None:
                jobs = [b.name for b in spec.batch_jobs]
                yield ("pipelines", pi, "steps", si, "batch_job"), _missing("batch job", step.batch_job, jobs)
    for bi, job in enumerate(spec.batch_jobs):
        for fi, view in enumerate(job.input.feature_views):
            if view not in views:
                yield ("batch_jobs", bi, "input", "feature_views", fi), _missing("feature view", view, views)
    jobs = [b.name for b in spec.batch_jobs]
    for mi, monitor in enumerate(spec.monitors):
        if monitor.batch_job is not None:
            job = spec.batch_job(monitor.batch_job)
            if job is None:
                yield ("monitors", mi, "batch_job"), _missing("batch job", monitor.batch_job, jobs)
            elif not job.captures:
                yield (
                    ("monitors", mi, "batch_job"),
                    f"batch job '{job.name}' does not capture data, so a {monitor.kind} monitor has nothing to read; "
                    "add data_capture (sampling_percent > 0) to the batch job",
                )
            elif monitor.kind == "model_quality":
                yield (
                    ("monitors", mi, "kind"),
                    "model_quality joins labels to an endpoint's answers; watch a batch job with data_drift, "
                    "prediction_drift or data_quality",
                )
            elif any(a.type == "rollback" for a in monitor.actions):
                yield ("monitors", mi, "actions"), "a batch job has no deployment to roll back; alert or retrain"
            continue
        endpoint = spec.endpoint(monitor.endpoint or "")
        if endpoint is None:
            yield ("monitors", mi, "endpoint"), _missing("endpoint", monitor.endpoint or "", endpoints)
        elif not endpoint.captures:
            yield (
                ("monitors", mi, "endpoint"),
                (
                    f"endpoint '{endpoint.name}' does not capture data, so a {monitor.kind} monitor has nothing to "
                    "read; add data_capture (sampling_percent > 0) to the endpoint"
                ),
            )
        for ai, action in enumerate(monitor.actions):
            if action.type == "retrain" and action.pipeline not in pipelines:
                yield ("monitors", mi, "actions", ai, "pipeline"), _missing("pipeline", action.pipeline, pipelines)


def _compute_fits(spec: Spec, cloud: str) -> Iterator[Problem]:
    """Every compute profile must resolve to a SKU on the target (the catalog says why not)."""
    from mlstack.catalog import CatalogError, get_catalog

    catalog = get_catalog()
    profiles: list[tuple[Path, ComputeProfile]] = [(("compute", name), p) for name, p in spec.compute.items()]
    profiles += [(path, ref) for path, ref in _compute_refs(spec) if isinstance(ref, ComputeProfile)]
    for path, compute in profiles:
        try:
            catalog.resolve(cloud, compute)
        except CatalogError as exc:
            yield path, str(exc)


def _strategy_limits(endpoint: Endpoint, path: Path, target: TargetProfile) -> Iterator[Problem]:
    strategy = endpoint.strategy
    spath = (*path, "strategy")
    if strategy.type in target.unsupported_strategies:
        yield (
            (*spath, "type"),
            (f"{strategy.type} is not available on {target.title}: {target.unsupported_strategies[strategy.type]}"),
        )
        return
    if isinstance(strategy, AB):
        total = sum(v.weight for v in strategy.variants)
        if total != 100:
            weights = " + ".join(str(v.weight) for v in strategy.variants)
            yield (*spath, "variants"), f"variant weights must sum to 100, they sum to {total} ({weights})"
    if strategy.type == "canary" and strategy.percent > target.max_canary_percent:
        yield (
            (*spath, "percent"),
            (
                f"canary of {strategy.percent}% is above what {target.title} allows "
                f"({target.max_canary_percent}% of the endpoint's capacity)"
            ),
        )
    if isinstance(strategy, Shadow) and strategy.percent > target.max_shadow_percent:
        yield (
            (*spath, "percent"),
            (
                f"shadow of {strategy.percent}% is above what {target.title} allows "
                f"(mirrored traffic at most {target.max_shadow_percent}%)"
            ),
        )
    if endpoint.serverless and strategy.type in ("shadow", "ab", "canary", "linear"):
        yield (*spath, "type"), f"serverless endpoints serve one variant; {strategy.type} needs instances"
    scaling = endpoint.autoscaling
    if scaling and not scaling.min <= endpoint.instance_count <= scaling.max:
        yield (
            (*path, "instance_count"),
            (
                f"instance_count {endpoint.instance_count} is outside autoscaling "
                f"min..max ({scaling.min}..{scaling.max})"
            ),
        )


def _target_rules(spec: Spec, target: TargetProfile) -> Iterator[Problem]:
    settings = spec.target
    cloud = target.cloud
    if target.needs_region and not settings.region_for(cloud):
        yield ("target", "region"), f"{target.title} needs a region (target.region or target.{cloud}.region)"
    if target.required_settings and getattr(settings, cloud) is None:
        yield ("target",), f"{target.title} needs target.{cloud} with {target.required_settings}"
    key = settings.kms_key_for(cloud)
    if key and not re.fullmatch(target.kms_key_pattern, key):
        where = (
            ("target", cloud, "kms_key")
            if getattr(getattr(settings, cloud, None), "kms_key", None)
            else ("target", "kms_key")
        )
        yield where, f"not a key {target.title} can use; expected e.g. {target.kms_key_example}"

    def named(kind: str, path: Path, name: str) -> Iterator[Problem]:
        rule = target.names.get(kind)
        if rule and (problem := rule.problem(name)):
            yield path, problem

    yield from named("spec", ("name",), spec.name)
    for gi, group in enumerate(spec.registry.model_groups):
        yield from named("model_group", ("registry", "model_groups", gi, "name"), group.name)
    for ni, entity in enumerate(spec.feature_store.entities):
        yield from named("entity", ("feature_store", "entities", ni, "name"), entity.name)
    for vi, view in enumerate(spec.feature_store.views):
        yield from named("feature_view", ("feature_store", "views", vi, "name"), view.name)
    for pi, pipe in enumerate(spec.pipelines):
        yield from named("pipeline", ("pipelines", pi, "name"), pipe.name)
    for name in spec.compute:
        yield from named("compute", ("compute", name), name)
    for ei, endpoint in enumerate(spec.endpoints):
        path = ("endpoints", ei)
        yield from named("endpoint", (*path, "name"), endpoint.name)
        if isinstance(endpoint.strategy, AB):
            for vi, variant in enumerate(endpoint.strategy.variants):
                yield from named("variant", (*path, "strategy", "variants", vi, "name"), variant.name)
        if endpoint.serverless and not target.serverless:
            yield (*path, "serverless"), target.serverless_instead
        if endpoint.async_inference and not target.asynchronous:
            yield (*path, "async"), target.async_instead
        yield from _strategy_limits(endpoint, path, target)
    for bi, job in enumerate(spec.batch_jobs):
        # Batch jobs are named like endpoints: Azure ML batch endpoints share the online endpoints' rule.
        yield from named("endpoint", ("batch_jobs", bi, "name"), job.name)
        if job.input.entities is not None and not target.batch_from_feature_views:
            yield (
                ("batch_jobs", bi, "input", "entities"),
                f"on {target.title} a batch job scores files: materialise the training set of "
                f"{', '.join(job.input.feature_views)} to a file and name it as input.uri (the local emulator "
                "joins feature views itself)",
            )
    for mi, monitor in enumerate(spec.monitors):
        path = ("monitors", mi)
        yield from named("monitor", (*path, "name"), monitor.name)
        if not supports_metric(target, monitor.metric):
            offered = sorted(m for m in _same_kind(monitor.kind) if supports_metric(target, m))
            yield (
                (*path, "metric"),
                (
                    f"{target.title} has no '{monitor.metric}' for {monitor.kind}; it offers: "
                    f"{', '.join(offered) or 'none'}"
                ),
            )
        if problem := schedule_problem(target.schedule_rule, monitor.schedule):
            yield (*path, "schedule"), problem
        if monitor.batch_job is not None and target.batch_monitors:
            yield (*path, "batch_job"), f"{target.title}: {target.batch_monitors}"


def _same_kind(kind: str) -> tuple[str, ...]:
    from mlstack.spec.models import METRICS_BY_KIND

    return METRICS_BY_KIND[kind]


RULES: tuple[Callable[[Spec, str], Iterable[Problem]], ...] = (
    lambda spec, cloud: _all_duplicates(spec),
    _references,
    lambda spec, cloud: _target_rules(spec, profile(cloud)),
    _compute_fits,
    lambda spec, cloud: locations.problems(spec, cloud),
    lambda spec, cloud: governance.problems(spec),
)


def problems(spec: Spec, cloud: str) -> list[Problem]:
    return [p for rule in RULES for p in rule(spec, cloud)]


def check(spec: Spec, doc: Document, cloud: str) -> list[SpecError]:
    return [doc.error(path, message) for path, message in problems(spec, cloud)]
