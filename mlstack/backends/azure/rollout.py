"""How an endpoint's traffic moves from what Azure serves now to what the spec asks for, stage by stage.

Pure data, shared by the plan (what the backend declares) and the traffic provider (what it does at
deploy time). Canary, linear and blue/green are sequences of traffic settings with waits in between;
during each wait the rollback alarms are watched while the previous deployment still exists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from mlstack.resolve.rollout import TrafficPlan
from mlstack.targets import AZURE

Traffic = dict[str, int]


@dataclass(frozen=True)
class Rollout:
    kind: str = "all_at_once"  # all_at_once | blue_green | canary | linear
    first_percent: int = 100  # canary: share of traffic the new deployment takes first
    step_percent: int = 100  # linear: share shifted at each step
    wait_seconds: int = 0  # canary bake time or linear interval, between partial stages
    watch_seconds: int = 0  # after the final shift: alarms watched while the old deployment still exists
    settle_seconds: int = 0  # added to each watched wait: until a log alert has judged the wait's last requests

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Rollout:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Stage:
    traffic: Traffic
    wait_seconds: int


def rollout_of(plan: TrafficPlan) -> Rollout:
    """The endpoint's traffic stages (mlstack.resolve.rollout) in the form the traffic provider keeps.
    Shadow and A/B endpoints set their split at once: their strategy is the split itself."""
    if not plan.shifts or (plan.kind == "all_at_once" and plan.rollback is None):
        return Rollout()
    partial = plan.partial
    first = partial[0].percent if partial else 100
    step = first if plan.kind == "linear" else 100
    wait = partial[0].wait if partial else 0
    logged = plan.rollback is not None and plan.rollback.max_error_rate is not None
    settle = AZURE.rollback_log_settle_seconds if logged else 0
    return Rollout(plan.kind, first, step, wait, plan.final.wait, settle)


def split(total: int, weights: Mapping[str, int]) -> Traffic:
    """`total` percent shared in proportion to `weights`, in whole percents (largest remainder)."""
    weight_sum = sum(weights.values())
    if total == 0 or weight_sum == 0:
        return {name: 0 for name in weights}
    exact = {name: total * w / weight_sum for name, w in weights.items()}
    shares = {name: int(value) for name, value in exact.items()}
    left = total - sum(shares.values())
    for name in sorted(exact, key=lambda n: (shares[n] - exact[n], n))[:left]:
        shares[name] += 1
    return shares


def mix(live: Mapping[str, int], desired: Mapping[str, int], new_share: int) -> Traffic:
    """The new deployments take `new_share` percent in their desired proportions; the deployments serving
    now keep the rest in theirs."""
    old = {name: weight for name, weight in live.items() if weight > 0 and name not in desired}
    traffic = {**split(100 - new_share, old), **split(new_share, desired)}
    return {name: share for name, share in traffic.items() if share > 0 or name in desired}


def stages(live: Mapping[str, int], desired: Mapping[str, int], rollout: Rollout) -> list[Stage]:
    """The traffic settings to apply in order, each followed by a wait (alarms watched meanwhile)."""
    serving = {name for name, weight in live.items() if weight > 0}
    leaving = serving - set(desired)
    if not serving or not leaving:
        # a first deployment, or the same deployments re-weighted: nothing to move away from
        return [Stage(dict(desired), 0)]
    partial: list[int] = []
    if rollout.kind == "canary":
        partial = [rollout.first_percent]
    elif rollout.kind == "linear":
        partial = list(range(rollout.step_percent, 100, rollout.step_percent))
    def watched(wait: int) -> int:
        return wait + rollout.settle_seconds if wait else 0

    return [Stage(mix(live, desired, share), watched(rollout.wait_seconds)) for share in partial] + [
        Stage(dict(desired), watched(rollout.watch_seconds))
    ]
