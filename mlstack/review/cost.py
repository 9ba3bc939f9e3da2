"""Monthly cost of serving, before and after, from the compute catalog: on-demand price × instances ×
730 hours per variant. Autoscaled endpoints cost a range (at the minimum and at the maximum instance
count; asynchronous endpoints scaling to zero cost nothing at the minimum). Scheduled batch jobs are priced
per run hour: runs in a month of their cron (and of the scheduled pipelines whose batch_scoring steps run
them) × their `expected_duration` × instances (mlstack.resolve.batch).
Pipelines and monitor jobs bill per run, batch jobs without a schedule run on demand and serverless endpoints
bill per GB-second: not estimated (the catalog has no serverless prices). An endpoint or batch job on a SKU whose
price the catalog does not know (not read on the vendor's page) is not estimated either (None), and neither is a
total that would include it: a partial sum would read as the whole."""

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
    """One endpoint's monthly cost on one side; low and high are None when a variant's price is unknown."""

    low: float | None  # at the autoscaling minimum (or the fixed count)
    high: float | None  # at the autoscaling maximum
    shape: str  # e.g. "2–6 × ml.g5.xlarge"
    # instances at the minimum and at the maximum (a batch job: its instance-hours a month, both ends)
    counts: tuple[float, float] = (0, 0)
    skus: tuple[str, ...] = ()  # the priced SKU of every dedicated variant, in order
    unpriced: tuple[str, ...] = ()  # those whose price is unknown


def _minus(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else round(after - before, 2)


@dataclass(frozen=True)
class CostChange:
    name: str  # the endpoint or batch job, as named on the head side
    base: Cost | None
    head: Cost | None
    kind: str = "endpoint"  # or batch_job

    @property
    def delta_low(self) -> float | None:
        return _minus(self.head.low if self.head else 0, self.base.low if self.base else 0)

    @property
    def delta_high(self) -> float | None:
        return _minus(self.head.high if self.head else 0, self.base.high if self.base else 0)

    def ratios(self) -> tuple[float, float] | None:
        """How many times the cost grows at the minimum and at the maximum, known even when the price is not:
        both sides run the same SKUs, so the cost scales with the instance count whatever the price.
        None when the SKUs differ (or a side is absent)."""
        if self.base is None or self.head is None or not self.base.skus or self.base.skus != self.head.skus:
            return None
        if 0 in self.base.counts:
            return None
        return (self.head.counts[0] / self.base.counts[0], self.head.counts[1] / self.base.counts[1])


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
            "status": "confirmed" if s.price_confirmed else "unknown",
        }


@dataclass(frozen=True)
class CostReport:
    endpoints: tuple[CostChange, ...]  # the endpoints whose cost (or shape) changed, by name
    base_total: tuple[float | None, float | None]  # None: an endpoint on that side is not estimated
    head_total: tuple[float | None, float | None]
    prices: tuple[Price, ...]  # every priced SKU either side serves on, by cloud and id

    @property
    def delta(self) -> tuple[float | None, float | None]:
        """The change of the totals; with a total not estimated, the sum of the changed endpoints' deltas
        (an unchanged endpoint adds nothing whatever its price), None when one of those is unknown."""
        if None not in (*self.base_total, *self.head_total):
            return (_minus(self.head_total[0], self.base_total[0]), _minus(self.head_total[1], self.base_total[1]))
        return (_sum([c.delta_low for c in self.endpoints]), _sum([c.delta_high for c in self.endpoints]))

    @property
    def unpriced(self) -> tuple[str, ...]:
        """The SKUs either side serves on whose price is unknown, by cloud and id."""
        return tuple(p.sku.sku for p in self.prices if not p.sku.price_confirmed)


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
        lows, highs, shapes, priced = [], [], [], []
        for variant in plan.variants:
            if variant.sku is None:
                shapes.append(serverless_shape(plan.endpoint.serverless))
                continue
            skus.append(variant.sku)
            priced.append(variant.sku)
            lows.append(monthly_cost(variant.sku, low_count, HOURS))
            highs.append(monthly_cost(variant.sku, high_count, HOURS))
            counted = f"{low_count}–{high_count}" if low_count != high_count else str(low_count)
            shapes.append(f"{counted} × {variant.sku.sku}")
        out[plan.endpoint.name] = Cost(
            _sum(lows),
            _sum(highs),
            " + ".join(shapes),
            (low_count, high_count),
            tuple(s.sku for s in priced),
            tuple(s.sku for s in priced if not s.price_confirmed),
        )
    for job in resolved.batch_jobs:
        skus.append(job.sku)
        runs = f"{job.runs_per_month} runs × {job.job.expected_duration / 3600:g} h" if job.scheduled else "on demand"
        hours = job.instance_hours_per_month
        out[f"{BATCH}{job.name}"] = Cost(
            job.monthly_cost,
            job.monthly_cost,
            f"{runs} × {job.job.instance_count} × {job.sku.sku}",
            (hours, hours),
            (job.sku.sku,),
            () if job.sku.price_confirmed else (job.sku.sku,),
        )
    return out, skus


BATCH = "batch_job:"  # batch jobs' keys among the costs: an endpoint may share a batch job's name


def _change(key: str, base: Cost | None, head: Cost | None) -> CostChange:
    if key.startswith(BATCH):
        return CostChange(key.removeprefix(BATCH), base, head, "batch_job")
    return CostChange(key, base, head)


def _sum(amounts: list[float | None]) -> float | None:
    """To the cent; None when any part is not estimated."""
    if any(a is None for a in amounts):
        return None
    return round(sum(a for a in amounts if a is not None), 2)


def compare(base: Resolved | None, head: Resolved | None, renamed: dict[str, str]) -> CostReport:
    """`renamed` maps a head endpoint name to its base name."""
    before, base_skus = _costs(base)
    after, head_skus = _costs(head)
    old_names = {renamed.get(name, name): name for name in after}
    changes = [_change(name, before.get(renamed.get(name, name)), cost) for name, cost in after.items()]
    changes += [_change(name, cost, None) for name, cost in before.items() if name not in old_names]
    changed = tuple(sorted((c for c in changes if _changed(c)), key=lambda c: c.name))
    priced = {(s.cloud, s.sku): s for s in (*base_skus, *head_skus) if not profile(s.cloud).emulated}
    return CostReport(
        endpoints=changed,
        base_total=(_sum([c.low for c in before.values()]), _sum([c.high for c in before.values()])),
        head_total=(_sum([c.low for c in after.values()]), _sum([c.high for c in after.values()])),
        prices=tuple(Price(priced[k]) for k in sorted(priced)),
    )


def _changed(change: CostChange) -> bool:
    """Added, removed, or costing differently — or, when a price is unknown, serving on another shape."""
    if change.base is None or change.head is None:
        return change.base is not change.head
    if None in (change.delta_low, change.delta_high):
        return change.base.shape != change.head.shape
    return bool(change.delta_low or change.delta_high)


NOT_PRICED = "not estimated"


def money(amount: float, signed: bool = False) -> str:
    sign = ("+" if amount > 0 else "−" if amount < 0 else "±") if signed else ("−" if amount < 0 else "")
    return f"{sign}${abs(amount):,.2f}"


def span(low: float | None, high: float | None, signed: bool = False) -> str:
    """ "$1.00", a cost range "$1.00 – $3.00" (at min – at max), or a change of a range that says which end
    moved how: "+$1,644.98 at min, ±$0.00 at max" (a dash between two signed amounts reads as arithmetic);
    "not estimated" when a price is unknown."""
    if low is None or high is None:
        return NOT_PRICED
    if low == high:
        return money(low, signed)
    if signed:
        return f"{money(low, signed)} at min, {money(high, signed)} at max"
    return f"{money(low)} – {money(high)}"
