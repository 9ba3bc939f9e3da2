"""Where a target cannot mean exactly what the spec says: the declared differences, each located in
the spec with the effective behaviour. They come from the target's dialect (mlstack.targets), so a
difference is data, not a code path; `validate`, `plan` and `migrate` report them as warnings.

A target that does something else than the spec says without a difference here is a defect: the
parity test (tests/parity) fails on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mlstack.errors import Path, SpecError
from mlstack.resolve import Resolved
from mlstack.resolve.gates import ResolvedGate, no_champion_note
from mlstack.resolve.rollout import exact_fleet, in_instances
from mlstack.targets import profile


@dataclass(frozen=True)
class Difference:
    path: Path
    message: str
    capability: str  # the parity table's row: "strategy:canary", "gates:beat_champion", ...


def differences(resolved: Resolved) -> list[Difference]:
    return [
        *_strategies(resolved),
        *_gates(resolved),
        *_approval(resolved),
        *_paused_monitors(resolved),
        *_batch_capture(resolved),
    ]


def _batch_capture(resolved: Resolved) -> Iterator[Difference]:
    gap = profile(resolved.cloud).batch_capture_gap
    if gap is None:
        return
    for bi, job in enumerate(resolved.spec.batch_jobs):
        if job.captures:
            yield Difference(("batch_jobs", bi, "data_capture"), f"batch job {job.name}: {gap}", "batch:data_capture")


def _paused_monitors(resolved: Resolved) -> Iterator[Difference]:
    gap = profile(resolved.cloud).paused_monitor_gap
    if not resolved.development or gap is None:
        return
    for mi, monitor in enumerate(resolved.spec.monitors):
        yield Difference(("monitors", mi, "schedule"), f"{monitor.name}: {gap}", "development:paused-monitors")


def _blended_rollback(resolved: Resolved, ei: int) -> Iterator[Difference]:
    """An error-rate rollback of a stepped rollout, where the target's alarms see both fleets as one: the
    new model's errors reach the alarm scaled by the share of traffic it takes in the first step."""
    dialect = profile(resolved.cloud)
    plan = resolved.endpoints[ei]
    endpoint, traffic = plan.endpoint, plan.traffic
    rollback = getattr(endpoint.strategy, "rollback", None)
    if not (dialect.blended_rollback_alarms and traffic.partial and rollback and rollback.max_error_rate):
        return
    first = traffic.partial[0].percent
    share = first
    if dialect.traffic_sizing == "instances" and not endpoint.serverless:
        share = in_instances(first, plan.production[0].instance_count, dialect.max_canary_percent).effective
    limit = rollback.max_error_rate
    yield Difference(
        ("endpoints", ei, "strategy", "rollback", "max_error_rate"),
        f"{endpoint.name}: on {dialect.title} the rollback alarm sees the old and the new fleet as one variant: with "
        f"≈{share:.0f}% of traffic on the new model in the first step, a new model failing {limit:.1%} of requests "
        f"shows as ≈{limit * share / 100:.2%}; to roll back at {limit:.1%} on the new model, set max_error_rate "
        f"{round(limit * share / 100, 6):g} (stricter once all traffic has moved)",
        f"strategy:{traffic.kind}",
    )


def _approval(resolved: Resolved) -> Iterator[Difference]:
    gap = profile(resolved.cloud).approval_gap
    if gap is None:
        return
    for gi, group in enumerate(resolved.spec.registry.model_groups):
        if group.approval == "manual":
            yield Difference(
                ("registry", "model_groups", gi, "approval"),
                f"{group.name}: manual approval is not enforced on {profile(resolved.cloud).title}: {gap}",
                "registry:approval",
            )


def _strategies(resolved: Resolved) -> Iterator[Difference]:
    dialect = profile(resolved.cloud)
    for ei, plan in enumerate(resolved.endpoints):
        endpoint = plan.endpoint
        path: Path = ("endpoints", ei, "strategy")
        traffic = plan.traffic
        if dialect.traffic_sizing == "instances" and traffic.partial and not endpoint.serverless:
            count = plan.production[0].instance_count
            first = traffic.partial[0].percent
            sized = in_instances(first, count, dialect.max_canary_percent)
            what = f"canary {first}%" if traffic.kind == "canary" else f"linear steps of {first}%"
            field = "percent" if traffic.kind == "canary" else "step_percent"
            if count < 2:
                yield Difference(
                    (*path, field),
                    f"{endpoint.name}: {what} on {dialect.title} is sized in instances and no part of a fleet of 1 "
                    f"is at most half of it: all traffic moves at once, then bakes {traffic.partial[0].wait}s with "
                    f"the alarms watched; use instance_count {_multiple(exact_fleet(first), 2)} for exactly {first}%",
                    f"strategy:{traffic.kind}",
                )
            elif not sized.exact:
                yield Difference(
                    (*path, field),
                    f"{endpoint.name}: {what} on {dialect.title} is sized in instances: {sized.instances} of "
                    f"{count} instances ≈ {sized.effective:.0f}% of traffic; use instance_count "
                    f"{_multiple(exact_fleet(first), count)} for exactly {first}%",
                    f"strategy:{traffic.kind}",
                )
        rollback = traffic.rollback
        settle = dialect.rollback_log_settle_seconds
        if settle and rollback is not None and rollback.max_error_rate is not None and traffic.shifts:
            watched = ", ".join(f"{s.percent}% for {s.wait + settle}s" for s in traffic.stages if s.wait)
            yield Difference(
                (*path, "rollback", "max_error_rate"),
                f"{endpoint.name}: on {dialect.title} the error-rate rollback is a log alert, which judges a request "
                f"minutes after it is answered: each watched stage lasts {settle}s longer so that its last requests "
                f"count ({watched})",
                f"strategy:{traffic.kind}",
            )
        yield from _blended_rollback(resolved, ei)
        shadow = plan.shadow
        if shadow is not None and dialect.shadow_replay_cron is not None:
            yield Difference(
                path,
                f"{endpoint.name}: shadow {shadow.weight}% on {dialect.title} is not live mirroring: the challenger "
                f"runs on a companion endpoint and a replay ('{dialect.shadow_replay_cron}') sends it that share of "
                "the past hour's logged requests, so it sees them up to an hour late",
                "strategy:shadow",
            )


def _multiple(fleet: int, count: int) -> int:
    """The smallest multiple of `fleet` at least `count`: a fleet size on which the share is exact."""
    return fleet * max(1, -(-count // fleet))


def _gates(resolved: Resolved) -> Iterator[Difference]:
    dialect = profile(resolved.cloud)
    if dialect.champion_source != "declared":
        return
    for pi, pipeline in enumerate(resolved.spec.pipelines):
        champion = resolved.champion_metrics(pipeline)
        for si, step in enumerate(pipeline.steps):
            for gi, gate in enumerate(step.gates):
                if not gate.beat_champion:
                    continue
                path: Path = ("pipelines", pi, "steps", si, "gates", gi, "beat_champion")
                resolved_gate = ResolvedGate.of(gate)
                if gate.metric not in champion:
                    yield Difference(path, f"{pipeline.name}: {no_champion_note(gate.metric)}", "gates:beat_champion")
                    continue
                side = "at most" if resolved_gate.lower_is_better else "at least"
                yield Difference(
                    path,
                    f"{pipeline.name}: on {dialect.title} beat_champion compares {gate.metric} with the champion "
                    f"declared in the registry when deployed ({gate.metric} {side} "
                    f"{resolved_gate.champion_bound(champion[gate.metric]):g}), not the champion when the run starts",
                    "gates:beat_champion",
                )


def located(resolved: Resolved) -> list[SpecError]:
    """The differences as located warnings (file:line:col, field path, message), in file order."""
    doc = resolved.loaded.doc
    found = [doc.error(d.path, d.message) for d in differences(resolved)]
    return sorted(found, key=lambda e: (e.line, e.column))
