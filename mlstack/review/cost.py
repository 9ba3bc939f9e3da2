"""Monthly cost of serving, before and after, from the compute catalog: on-demand price × instances ×
730 hours per variant. Autoscaled endpoints cost a range (at the minimum and at the maximum instance
count; asynchronous endpoints scaling to zero cost nothing at the minimum). Scheduled batch jobs are priced
per run hour: runs in a month of their cron (and of the scheduled pipelines whose batch_scoring steps run
them) × their `expected_duration` × instances (mlstack.resolve.batch).
Pipelines and monitor jobs bill per run, batch jobs without a schedule run on demand and serverless endpoints
bill per GB-second: not estimated (the catalog has no serverless prices)."""

from __future__ import annotations

from dataclasses import dataclass

from mlstack.catalog import Sku, monthly_cost
from mlstack.resolve import Resolved
from mlstack.spec.models import Serverless
from mlstack.targets import profile

HOURS = 730
NOT_ESTIMATED = (
    "pipelines and monitor jobs (billed per run), batch jobs without a schedule (run on demand) and serverless "
    "endpoints (billed per GB-second of inference and of provisioned concurrency: the catalog has no serverless "
    "prices)"
)


@dataclass(frozen=True)
class Limits:
    """When a cost increase is a risk: the platform's monthly total grows more than `ratio` times, or by
    more than `increase` dollars, at the minimum or the maximum instance count. High in production,
    medium elsewhere. `mlstack diff --max-cost-ratio/--max-cost-increase` set them."""

    ratio: float = 2.0
    increase: float = 1000.0


@dataclass(frozen=True)
class Cost:
    """One endpoint's monthly cost on one side."""

    low: float  # at the autoscaling minimum (or the fixed count)
    high: float  # at the autoscaling maximum
    shape: str  # e.g. "2–6 × ml.g5.xlarge"


@dataclass(frozen=True)
class CostChange:
    name: str  # the endpoint or batch job, as named on the head side
    base: Cost | None
    head: Cost | None
    kind: str = "endpoint"  # or batch_job

    @property
    def delta_low(self) -> float:
        return round((self.head.low if self.head else 0) - (self.base.low if self.base else 0), 2)

    @property
    def delta_high(self) -> float:
        return round((self.head.high if self.head else 0) - (self.base.high if self.base else 0), 2)


@dataclass(frozen=True)
class Price:
    sku: Sku

    def as_dict(self) -> dict[str, object]:
        s = self.sku
        return {
            "cloud": s.cloud,
            "sku": s.sku,
            "usd_per_hour": s.price_usd_hour,
            "region": s.price_region,
            "source": s.price_source,
            "as_of": s.price_as_of,
            "confirmed": s.price_confirmed,
        }


@dataclass(frozen=True)
class CostReport:
    endpoints: tuple[CostChange, ...]  # the endpoints whose cost changed, by name
    base_total: tuple[float, float]
    head_total: tuple[float, float]
    prices: tuple[Price, ...]  # every priced SKU either side serves on, by cloud and id

    @property
    def delta(self) -> tuple[float, float]:
        return (
            round(self.head_total[0] - self.base_total[0], 2),
            round(self.head_total[1] - self.base_total[1], 2),
        )


def serverless_shape(serverless: Serverless | None) -> str:
    """What a serverless endpoint is billed for, unpriced: the catalog lists instance prices only."""
    if serverless is None:
        return "serverless"
    shape = f"serverless {serverless.memory_gb} GiB × up to {serverless.max_concurrency} concurrent (per GB-second)"
    if serverless.provisioned_concurrency:
        shape += f", {serverless.provisioned_concurrency} provisioned (billed around the clock)"
    return shape


def _counts(endpoint: object) -> tuple[int, int]:
    scaling = getattr(endpoint, "autoscaling", None)
    if scaling is not None:
        return scaling.min, scaling.max
    count = getattr(endpoint, "instance_count", 1)
    return count, count


def _costs(resolved: Resolved | None) -> tuple[dict[str, Cost], list[Sku]]:
    if resolved is None:
        return {}, []
    out, skus = {}, []
    for plan in resolved.endpoints:
        low_count, high_count = _counts(plan.endpoint)
        low = high = 0.0
        shapes = []
        for variant in plan.variants:
            if variant.sku is None:
                shapes.append(serverless_shape(plan.endpoint.serverless))
                continue
            skus.append(variant.sku)
            low += monthly_cost(variant.sku, low_count, HOURS)
            high += monthly_cost(variant.sku, high_count, HOURS)
            counted = f"{low_count}–{high_count}" if low_count != high_count else str(low_count)
            shapes.append(f"{counted} × {variant.sku.sku}")
        out[plan.endpoint.name] = Cost(round(low, 2), round(high, 2), " + ".join(shapes))
    for job in resolved.batch_jobs:
        skus.append(job.sku)
        runs = f"{job.runs_per_month} runs × {job.job.expected_duration / 3600:g} h" if job.scheduled else "on demand"
        out[f"{BATCH}{job.name}"] = Cost(
            job.monthly_cost, job.monthly_cost, f"{runs} × {job.job.instance_count} × {job.sku.sku}"
        )
    return out, skus


BATCH = "batch_job:"  # batch jobs' keys among the costs: an endpoint may share a batch job's name


def _change(key: str, base: Cost | None, head: Cost | None) -> CostChange:
    if key.startswith(BATCH):
        return CostChange(key.removeprefix(BATCH), base, head, "batch_job")
    return CostChange(key, base, head)


def compare(base: Resolved | None, head: Resolved | None, renamed: dict[str, str]) -> CostReport:
    """`renamed` maps a head endpoint name to its base name."""
    before, base_skus = _costs(base)
    after, head_skus = _costs(head)
    old_names = {renamed.get(name, name): name for name in after}
    changes = [_change(name, before.get(renamed.get(name, name)), cost) for name, cost in after.items()]
    changes += [_change(name, cost, None) for name, cost in before.items() if name not in old_names]
    changed = tuple(
        sorted(
            (c for c in changes if c.delta_low or c.delta_high or (c.base is None) != (c.head is None)),
            key=lambda c: c.name,
        )
    )
    priced = {(s.cloud, s.sku): s for s in (*base_skus, *head_skus) if not profile(s.cloud).emulated}
    return CostReport(
        endpoints=changed,
        base_total=(round(sum(c.low for c in before.values()), 2), round(sum(c.high for c in before.values()), 2)),
        head_total=(round(sum(c.low for c in after.values()), 2), round(sum(c.high for c in after.values()), 2)),
        prices=tuple(Price(priced[k]) for k in sorted(priced)),
    )


def money(amount: float, signed: bool = False) -> str:
    sign = ("+" if amount > 0 else "−" if amount < 0 else "±") if signed else ("−" if amount < 0 else "")
    return f"{sign}${abs(amount):,.2f}"


def span(low: float, high: float, signed: bool = False) -> str:
    """ "$1.00", a cost range "$1.00 – $3.00" (at min – at max), or a change of a range that says which end
    moved how: "+$1,644.98 at min, ±$0.00 at max" (a dash between two signed amounts reads as arithmetic)."""
    if low == high:
        return money(low, signed)
    if signed:
        return f"{money(low, signed)} at min, {money(high, signed)} at max"
    return f"{money(low)} – {money(high)}"
