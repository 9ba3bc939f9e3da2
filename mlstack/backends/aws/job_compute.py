"""Instance types for SageMaker processing and training jobs.

The catalog prices SageMaker's real-time inference instances; jobs accept most but not all of them
(the SageMaker API's ProcessingInstanceType and TrainingInstanceType enums, botocore 1.43). A neutral
compute profile resolves, with the catalog's own fitting, among the instances the job accepts; a pinned
instance type the job refuses is a spec error (checks.py). Pure: validation may import it."""

from __future__ import annotations

from typing import Literal

from mlstack.spec.models import ComputeProfile

JobKind = Literal["processing", "training"]

_INFERENTIA = frozenset({"ml.inf2.xlarge", "ml.inf2.8xlarge", "ml.inf2.24xlarge", "ml.inf2.48xlarge"})
NOT_FOR_JOBS: dict[JobKind, frozenset[str]] = {
    "processing": _INFERENTIA | {"ml.c5.large", "ml.p4d.24xlarge", "ml.p5.48xlarge"},
    "training": _INFERENTIA | {"ml.c5.large"},
}
DEFAULT = "ml.m5.xlarge"


def job_kind(step_kind: str) -> JobKind:
    return "training" if step_kind == "training" else "processing"


def instance_type(profile: ComputeProfile | None, kind: JobKind) -> str:
    if profile is None:
        return DEFAULT
    if profile.instance_type:
        return profile.instance_type
    from mlstack.catalog import get_catalog
    from mlstack.catalog.resolve import resolve

    catalog = get_catalog()
    accepted = [s for s in catalog.skus("aws") if s.machine_type not in NOT_FOR_JOBS[kind]]
    return resolve("aws", accepted, profile, catalog.gpus).machine_type
