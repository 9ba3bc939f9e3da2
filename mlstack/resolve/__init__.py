"""resolve: a validated spec turned into everything a backend needs, decided once for all targets —
compute as the target's SKU (through the catalog), endpoint variants with their traffic roles and
instance counts, the strategy as traffic stages (rollout.py), model versions behind aliases, feature
views with their entity, pipelines as step graphs (pipelines.py) with their gates (gates.py), monitors
with their endpoint and metric, tags, region and key. Backends, the emulator, review and migrate read
these instead of re-deriving them from the raw spec."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from mlstack.resolve.batch import BatchJobPlan, batch_plan
from mlstack.resolve.gates import CHAMPION
from mlstack.resolve.rollout import TrafficPlan, traffic_plan
from mlstack.spec import LoadedSpec
from mlstack.spec.development import is_development, prefix_of
from mlstack.spec.locations import absolutize
from mlstack.spec.models import (
    AB,
    ComputeProfile,
    Endpoint,
    Entity,
    FeatureView,
    ModelRef,
    ModelVersion,
    Monitor,
    Pipeline,
    Shadow,
    Spec,
)

if TYPE_CHECKING:
    from mlstack.catalog import Sku
    from mlstack.stats.registry import MetricSpec

Role = Literal["production", "shadow"]


@dataclass(frozen=True)
class Variant:
    """One model behind an endpoint, as every backend deploys it."""

    name: str
    role: Role
    model: ModelRef
    version: ModelVersion | None  # None on the local target until a pipeline registers it
    sku: Sku | None  # None for serverless endpoints
    instance_count: int
    weight: int  # production: share of live traffic (production weights sum to 100); shadow: mirrored share


@dataclass(frozen=True)
class EndpointPlan:
    endpoint: Endpoint
    variants: tuple[Variant, ...]
    traffic: TrafficPlan

    @property
    def production(self) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if v.role == "production")

    @property
    def shadow(self) -> Variant | None:
        return next((v for v in self.variants if v.role == "shadow"), None)


class Resolved:
    """The spec for one target and environment, with every reference followed."""

    def __init__(self, loaded: LoadedSpec, user: str | None = None) -> None:
        self.loaded = loaded
        # Development mode: a per-user copy, every vendor name starting with this prefix ('' otherwise).
        self.development: bool = is_development(loaded)
        self.prefix: str = prefix_of(loaded, user)
        self.cloud: str = loaded.cloud
        # Backends see every data location absolute for their cloud (mlstack.spec.locations).
        self.spec: Spec = absolutize(loaded.spec, self.cloud, loaded.path.parent)
        self.environment = loaded.environment
        self.production: bool = loaded.production
        self.region: str | None = self.spec.target.region_for(self.cloud)
        self.kms_key: str | None = self.spec.target.kms_key_for(self.cloud)
        self._skus: dict[str, Sku] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    @cached_property
    def tags(self) -> dict[str, str]:
        env_tags = self.spec.environments[self.environment].tags if self.environment else {}
        managed = {"managed-by": "mlstack", "mlstack-spec": self.spec.name}
        if self.environment:
            managed["mlstack-env"] = self.environment
        if self.development:
            managed["mlstack-mode"] = "development"
            managed["mlstack-user"] = self.prefix
        return {**self.spec.tags, **env_tags, **managed}

    def profile(self, ref: str | ComputeProfile) -> ComputeProfile:
        return self.spec.compute[ref] if isinstance(ref, str) else ref

    def sku(self, ref: str | ComputeProfile) -> Sku:
        from mlstack.catalog import get_catalog

        key = ref if isinstance(ref, str) else ref.model_dump_json()
        if key not in self._skus:
            self._skus[key] = get_catalog().resolve(self.cloud, self.profile(ref))
        return self._skus[key]

    def model_version(self, ref: ModelRef) -> ModelVersion | None:
        group = self.spec.model_group(ref.group)
        if group is None:
            return None
        if ref.version is not None:
            return next((v for v in group.versions if v.version == ref.version), None)
        return next((v for v in group.versions if ref.alias in v.aliases), None)

    def _variant(self, name: str, role: Role, model: ModelRef, compute: object, count: int, weight: int) -> Variant:
        sku = self.sku(compute) if compute is not None else None  # type: ignore[arg-type]
        return Variant(name, role, model, self.model_version(model), sku, count, weight)

    def endpoint_plan(self, endpoint: Endpoint) -> EndpointPlan:
        strategy = endpoint.strategy
        count = endpoint.instance_count
        traffic = traffic_plan(strategy)
        if isinstance(strategy, AB):
            variants = tuple(
                self._variant(
                    v.name, "production", v.model, v.compute or endpoint.compute, v.instance_count or count, v.weight
                )
                for v in strategy.variants
            )
            return EndpointPlan(endpoint, variants, traffic)
        assert endpoint.model is not None  # the models guarantee it for every other strategy
        primary = self._variant("primary", "production", endpoint.model, endpoint.compute, count, 100)
        if isinstance(strategy, Shadow):
            shadow = self._variant(
                "shadow",
                "shadow",
                strategy.challenger,
                strategy.compute or endpoint.compute,
                strategy.instance_count or count,
                strategy.percent,
            )
            return EndpointPlan(endpoint, (primary, shadow), traffic)
        return EndpointPlan(endpoint, (primary,), traffic)

    @cached_property
    def endpoints(self) -> tuple[EndpointPlan, ...]:
        return tuple(self.endpoint_plan(e) for e in self.spec.endpoints)

    def step_sku(self, pipeline_name: str, step_name: str) -> Sku | None:
        pipeline = self.spec.pipeline(pipeline_name)
        assert pipeline is not None
        step = next(s for s in pipeline.steps if s.name == step_name)
        if step.batch_job is not None:  # a batch_scoring step runs on its batch job's compute
            job = self.spec.batch_job(step.batch_job)
            assert job is not None  # the rules guarantee it
            return self.sku(job.compute)
        compute = step.compute or pipeline.compute
        return self.sku(compute) if compute is not None else None

    def entity_of(self, view: FeatureView) -> Entity:
        """The entity a feature view is keyed by (the rules guarantee it exists)."""
        return next(e for e in self.spec.feature_store.entities if e.name == view.entity)

    def registered_group(self, pipeline: Pipeline) -> str | None:
        """The model group the pipeline registers into (its first registration step's)."""
        return next((s.model_group for s in pipeline.steps if s.kind == "registration" and s.model_group), None)

    def champion_metrics(self, pipeline: Pipeline) -> dict[str, float]:
        """The declared metrics of the champion of the group the pipeline registers into; empty when
        there is none (gates then have nothing to beat: mlstack.resolve.gates)."""
        group = self.registered_group(pipeline)
        champion = self.model_version(ModelRef(group=group, alias=CHAMPION)) if group else None
        return dict(champion.metrics) if champion else {}

    @cached_property
    def monitors(self) -> tuple[MonitorPlan, ...]:
        plans = {p.endpoint.name: p for p in self.endpoints}
        return tuple(MonitorPlan(m, plans[m.endpoint]) for m in self.spec.monitors if m.endpoint is not None)

    @cached_property
    def batch_jobs(self) -> tuple[BatchJobPlan, ...]:
        def schedules(job: str) -> tuple[str, ...]:
            return tuple(
                p.schedule for p in self.spec.pipelines for s in p.steps if p.schedule and s.batch_job == job
            )

        return tuple(
            batch_plan(j, self.model_version(j.model), self.sku(j.compute), schedules(j.name))
            for j in self.spec.batch_jobs
        )

    def monitor_plan(self, monitor: Monitor) -> MonitorPlan:
        """The monitor with its endpoint followed (the rules guarantee the endpoint exists; a monitor over
        a batch job has none)."""
        return next(p for p in self.monitors if p.monitor.name == monitor.name)


@dataclass(frozen=True)
class MonitorPlan:
    """A monitor with its endpoint followed and its metric read from the statistics registry."""

    monitor: Monitor
    endpoint: EndpointPlan

    @property
    def metric(self) -> MetricSpec:
        return metric_of(self.monitor.metric)

    @property
    def threshold(self) -> float | None:
        return threshold_of(self.monitor)


def metric_of(name: str) -> MetricSpec:
    """A monitor metric's name, direction and default threshold, from the statistics registry."""
    from mlstack.stats.registry import DATA_QUALITY_METRICS, DRIFT_METRICS, MODEL_QUALITY_METRICS, lookup

    return lookup(name, {**DRIFT_METRICS, **DATA_QUALITY_METRICS, **MODEL_QUALITY_METRICS})


def threshold_of(monitor: Monitor) -> float | None:
    """The threshold a monitor alerts past on every target: the spec's, or the metric's default
    (never a vendor's own default, which would make the same spec alert differently per cloud)."""
    return metric_of(monitor.metric).check_threshold(monitor.threshold)


def resolve(loaded: LoadedSpec, user: str | None = None) -> Resolved:
    return Resolved(loaded, user)
