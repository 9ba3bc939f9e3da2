"""A pipeline step that runs a batch job (`kind: batch_scoring`): located errors for what it names and
what it may not carry, on every target, and what resolve decides for it (the job's SKU; a scheduled
pipeline's runs counted as the job's runs in its monthly cost)."""

import pytest

from mlstack.resolve import resolve
from mlstack.resolve.batch import runs_per_month
from mlstack.spec import loads
from tests.spec.test_batch_jobs import JOB, with_job
from tests.spec.test_validation import errors_of

PIPELINE = """
pipelines:
  - name: rescore
    schedule: "0 6 * * 1"
    steps:
      - name: score
        kind: batch_scoring
        batch_job: nightly
"""


def with_step(pipeline: str = PIPELINE, cloud: str = "aws") -> str:
    text = with_job(cloud=cloud)
    head, tail = text.split("\nbatch_jobs:", 1)
    return head + pipeline + "batch_jobs:" + tail


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure", "local"])
def test_a_batch_scoring_step_validates_on_every_target(cloud):
    loaded = loads(with_step(cloud=cloud), "shop.yaml", target=cloud)
    (step,) = loaded.spec.pipelines[0].steps
    assert (step.kind, step.batch_job) == ("batch_scoring", "nightly")


def test_an_unknown_batch_job_is_located_with_a_suggestion():
    text = with_step(PIPELINE.replace("batch_job: nightly", "batch_job: nighty"))
    [error] = errors_of(text)
    assert "pipelines[0].steps[0].batch_job: no batch job named 'nighty' (did you mean 'nightly'?)" in error
    line = text.splitlines().index("        batch_job: nighty") + 1
    assert error.startswith(f"shop.yaml:{line}:")


@pytest.mark.parametrize(
    ("step", "fragment"),
    [
        ("kind: batch_scoring", "a batch_scoring step needs batch_job"),
        ("kind: processing\n        entrypoint: x.py\n        batch_job: nightly", "batch_job belongs on a batch_scoring"),
        ("kind: batch_scoring\n        batch_job: nightly\n        compute: cpu", "on the job's compute"),
    ],
)
def test_what_a_batch_scoring_step_may_carry_is_checked(step, fragment):
    pipeline = PIPELINE.replace("kind: batch_scoring\n        batch_job: nightly", step)
    errors = errors_of(with_step(pipeline))
    assert any(fragment in e and "pipelines[0].steps[0]" in e for e in errors), errors


def test_the_step_runs_on_its_jobs_sku_and_its_pipelines_schedule_counts_in_the_jobs_runs():
    resolved = resolve(loads(with_step(), "shop.yaml", target="aws"))
    (job,) = resolved.batch_jobs
    assert resolved.step_sku("rescore", "score") == job.sku
    # the job's own nightly cron plus the pipeline's Mondays, both priced at the job's run hours
    assert job.runs_per_month == runs_per_month("0 3 * * *") + runs_per_month("0 6 * * 1") == 30 + 5
    alone = resolve(loads(with_job(JOB), "shop.yaml", target="aws")).batch_jobs[0]
    assert job.instance_hours_per_month == pytest.approx(alone.instance_hours_per_month * 35 / 30)
    # an unscheduled pipeline runs it on demand: nothing more is counted
    unscheduled = resolve(loads(with_step(PIPELINE.replace('    schedule: "0 6 * * 1"\n', "")), "x.yaml", target="aws"))
    assert unscheduled.batch_jobs[0].runs_per_month == 30


@pytest.mark.parametrize(("cloud", "warned"), [("aws", False), ("local", False), ("gcp", True), ("azure", True)])
def test_data_capture_a_cloud_does_not_apply_is_a_located_warning(cloud, warned):
    from mlstack.resolve.differences import located

    text = with_job(cloud=cloud)
    found = [w for w in located(resolve(loads(text, "shop.yaml", target=cloud))) if "data_capture" in w.render()]
    assert bool(found) == warned
    if warned:
        (warning,) = found
        line = text.splitlines().index("    data_capture: {sampling_percent: 20}") + 1
        assert warning.line == line and "nothing is captured" in warning.render()
