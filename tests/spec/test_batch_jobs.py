"""Batch jobs in the spec: located errors for bad references and shapes, monitors over a batch job,
and what resolve decides for every target (the SKU, how often it runs, what a month of runs costs)."""

import pytest

from mlstack.resolve import resolve
from mlstack.resolve.batch import runs_per_month
from mlstack.spec import loads
from tests.spec.test_validation import errors_of, spec_text

JOB = """
batch_jobs:
  - name: nightly
    model: {group: recs, alias: champion}
    input: {uri: data/users.csv}
    output: scores/
    compute: cpu
    instance_count: 2
    schedule: "0 3 * * *"
    expected_duration: 90m
    data_capture: {sampling_percent: 20}
"""


def with_job(job: str = JOB, cloud: str = "aws", monitor: str = "") -> str:
    # jensen_shannon: the base spec's drift monitor then validates on every target
    return spec_text(cloud=cloud, metric="jensen_shannon") + monitor + job


def test_a_batch_job_validates_on_every_target():
    for cloud in ("aws", "gcp", "azure", "local"):
        loaded = loads(with_job(), "shop.yaml", target=cloud)
        assert [j.name for j in loaded.spec.batch_jobs] == ["nightly"]


def test_bad_references_are_located_with_suggestions():
    [error] = errors_of(with_job(JOB.replace("group: recs,", "group: rec,")))
    assert "batch_jobs[0].model.group: no model group named 'rec' (did you mean 'recs'?)" in error
    [error] = errors_of(with_job(JOB.replace("compute: cpu", "compute: cpux")))
    assert "batch_jobs[0].compute: no compute profile named 'cpux' (did you mean 'cpu'?)" in error
    line = with_job().splitlines().index("    compute: cpu", 40) + 1
    assert error.startswith(f"shop.yaml:{line}:")
    job = JOB.replace("{uri: data/users.csv}", "{entities: data/users.csv, feature_views: [user-stat]}")
    [error] = errors_of(with_job(job, cloud="local"))
    assert "batch_jobs[0].input.feature_views[0]: no feature view named 'user-stat'" in error
    # the clouds score files: a feature-view input is refused there, saying what to do instead
    errors = errors_of(with_job(job, cloud="aws"))
    assert any("batch_jobs[0].input.entities: on AWS" in e and "materialise the training set" in e for e in errors)


def test_input_names_exactly_one_source():
    [error] = errors_of(with_job(JOB.replace("{uri: data/users.csv}", "{uri: a.csv, entities: b.csv}")))
    assert "batch_jobs[0].input" in error and "exactly one of uri" in error
    [error] = errors_of(with_job(JOB.replace("{uri: data/users.csv}", "{entities: b.csv}")))
    assert "entities need feature_views" in error


def test_schedule_and_duplicates_are_checked():
    [error] = errors_of(with_job(JOB.replace('"0 3 * * *"', '"0 25 * * *"')))
    assert "batch_jobs[0].schedule" in error
    [error] = errors_of(with_job(JOB + JOB.replace("batch_jobs:\n", "")))
    assert "batch_jobs[1].name: duplicate batch job 'nightly'" in error


def test_a_relative_output_needs_the_clouds_data_root():
    text = with_job().replace('  aws: {data_root: "s3://shop-data"}\n', "")
    errors = [e for e in errors_of(text, target="aws") if "batch_jobs" in e]
    assert len(errors) == 2
    assert "batch_jobs[0].input.uri: 'data/users.csv' is relative: set target.aws.data_root" in errors[0]
    assert "batch_jobs[0].output: 'scores/' is relative" in errors[1]


MONITOR = """
  - name: batch-drift
    kind: data_drift
    batch_job: {job}
    baseline: baselines/recs.csv
    metric: ks
"""


def test_monitors_watch_a_batch_job_on_the_emulator_and_clouds_say_what_is_closest():
    text = with_job(monitor=MONITOR.format(job="nightly"), cloud="local")
    assert loads(text, "shop.yaml").spec.monitors[1].batch_job == "nightly"
    [error] = errors_of(with_job(monitor=MONITOR.format(job="nightly")), target="aws")
    assert "monitors[1].batch_job: " in error
    assert "BatchTransformInput is the closest" in error
    [error] = errors_of(with_job(monitor=MONITOR.format(job="nigthly"), cloud="local"))
    assert "monitors[1].batch_job: no batch job named 'nigthly' (did you mean 'nightly'?)" in error
    uncaptured = with_job(
        JOB.replace("    data_capture: {sampling_percent: 20}\n", ""), "local", MONITOR.format(job="nightly")
    )
    [error] = errors_of(uncaptured)
    assert "batch job 'nightly' does not capture data" in error
    both = MONITOR.format(job="nightly").replace("    batch_job:", "    endpoint: recs-api\n    batch_job:")
    [error] = errors_of(with_job(monitor=both, cloud="local"))
    assert "name exactly one of endpoint or batch_job" in error


def test_resolve_prices_a_month_of_runs():
    resolved = resolve(loads(with_job(), "shop.yaml", target="aws"))
    (plan,) = resolved.batch_jobs
    assert plan.version is not None and plan.version.version == 1
    assert plan.sku.cloud == "aws" and plan.sku.vcpus >= 2
    assert plan.runs_per_month == 30
    assert plan.instance_hours_per_run == 3.0  # 2 instances x 90 minutes
    assert plan.instance_hours_per_month == 90.0
    hourly = plan.sku.price_usd_hour  # None while the catalog does not know it: then not estimated
    assert plan.monthly_cost == (None if hourly is None else pytest.approx(90.0 * hourly, abs=0.01))


@pytest.mark.parametrize(
    ("cron", "runs"), [("0 3 * * *", 30), ("0 * * * *", 720), ("0 6 * * 1", 5), ("*/15 * * * *", 2880)]
)
def test_runs_per_month_counts_the_cron(cron, runs):
    assert runs_per_month(cron) == runs
