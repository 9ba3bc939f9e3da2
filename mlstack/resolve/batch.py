"""Batch scoring jobs as every target runs them: the model version, the SKU, the input's shape and how
often the job runs, decided once here (the backends, the emulator and `mlstack diff`'s cost read this)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from mlstack.spec.models import BatchJob, ModelVersion

if TYPE_CHECKING:
    from mlstack.catalog import Sku

# A month of runs is counted over this many days of the job's cron, from a fixed start (so the same
# spec always prices the same) — 30 days, as the catalog's 730-hour month rounds to.
MONTH_DAYS = 30
_EPOCH = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday: weekly crons count the same every time
MAX_COUNTED_RUNS = 50_000  # an every-minute cron is 43,200 runs a month; stop counting well past that

InputKind = Literal["files", "feature_views"]


@dataclass(frozen=True)
class BatchJobPlan:
    job: BatchJob
    version: ModelVersion | None  # None on the local target until a pipeline registers it
    sku: Sku
    input_kind: InputKind
    # Crons of the scheduled pipelines whose batch_scoring steps run this job: their runs are its runs too.
    pipeline_schedules: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def scheduled(self) -> bool:
        return bool(self.job.schedule or self.pipeline_schedules)

    @property
    def runs_per_month(self) -> int:
        """Runs in a month of its schedule and of the scheduled pipelines that run it; 0 for a job run on
        demand only (then not priced)."""
        crons = [*([self.job.schedule] if self.job.schedule else []), *self.pipeline_schedules]
        return sum(runs_per_month(cron) for cron in crons)

    @property
    def instance_hours_per_run(self) -> float:
        return self.job.instance_count * self.job.expected_duration / 3600

    @property
    def instance_hours_per_month(self) -> float:
        return self.runs_per_month * self.instance_hours_per_run

    @property
    def monthly_cost(self) -> float | None:
        """The run hours of a month priced at the SKU's on-demand rate: runs × expected duration × instances;
        None when the catalog does not know the price."""
        if self.sku.price_usd_hour is None:
            return None
        return round(self.instance_hours_per_month * self.sku.price_usd_hour, 2)


def runs_per_month(cron: str) -> int:
    from croniter import croniter

    end = _EPOCH + timedelta(days=MONTH_DAYS)
    it = croniter(cron, _EPOCH - timedelta(seconds=1))  # a run at the very start counts
    count = 0
    while count < MAX_COUNTED_RUNS and it.get_next(datetime) < end:
        count += 1
    return count


def batch_plan(
    job: BatchJob, version: ModelVersion | None, sku: Sku, pipeline_schedules: tuple[str, ...] = ()
) -> BatchJobPlan:
    return BatchJobPlan(job, version, sku, "files" if job.input.uri else "feature_views", pipeline_schedules)
