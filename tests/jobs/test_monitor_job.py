"""The monitor job end to end: captured requests or responses against the baseline, the
violations and report files, and the CloudWatch datum the monitor's alarm watches (moto's S3 and
CloudWatch). Expected values come from mlstack.stats on the same numbers, column by column."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES
from job_captures import capture_files, write_captures

from mlstack.jobs.monitor import main
from mlstack.stats.drift import drift_metric
from mlstack.stats.quality import null_rate, type_error_rate

START = datetime(2026, 11, 22, 10, tzinfo=UTC)
END = START + timedelta(hours=1)
NAMESPACE = "mlstack/Monitors"
DIMENSIONS = [{"Name": "Endpoint", "Value": "ranker"}, {"Name": "Monitor", "Value": "shop-drift"}]
COLUMNS = ["amount", "count", "merchant"]


def _baseline(rng: np.random.Generator, rows: int = 400) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": np.round(rng.normal(50, 10, rows), 4),
            "count": rng.integers(0, 10, rows),
            "merchant": rng.choice(["a", "b", "c"], rows),
        }
    )


def _current(rng: np.random.Generator, rows: int = 300) -> pd.DataFrame:
    """Amount shifted, a new merchant; count drawn as in the baseline."""
    return pd.DataFrame(
        {
            "amount": np.round(rng.normal(58, 10, rows), 4),
            "count": rng.integers(0, 10, rows),
            "merchant": rng.choice(["a", "b", "c", "d"], rows),
        }
    )


def _csv_requests(frame: pd.DataFrame, start: datetime) -> list[tuple[datetime, str, str]]:
    return [
        (start + timedelta(seconds=10 * i), ",".join(str(v) for v in row), "0.5")
        for i, row in enumerate(frame.itertuples(index=False))
    ]


def _setup(tmp_path: Path, baseline: pd.DataFrame, records: list) -> tuple[Path, Path]:
    baseline.to_csv(tmp_path / "train.csv", index=False)
    return write_captures(tmp_path / "endpointdata", records), tmp_path / "resultdata"


def environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """What the monitor pipeline's processing step (AWS backend) sets; the window as --start/--end would."""
    env = {
        "MLSTACK_MONITOR": "drift",
        "MLSTACK_KIND": "data_drift",
        "MLSTACK_METRIC": "psi",
        "MLSTACK_FEATURES": "",
        "MLSTACK_BASELINE": str(tmp_path / "train.csv"),
        "MLSTACK_CLOUDWATCH_METRIC": "mlstack_psi",
        "MLSTACK_THRESHOLD": "0.1",
        "MLSTACK_CLOUDWATCH_NAMESPACE": NAMESPACE,
        "MLSTACK_CLOUDWATCH_DIMENSIONS": json.dumps({d["Name"]: d["Value"] for d in DIMENSIONS}),
        "MLSTACK_CAPTURES": str(tmp_path / "endpointdata"),
        "MLSTACK_OUTPUT": str(tmp_path / "resultdata"),
    }
    return {**env, **overrides}


def run(argv: list[str], env: dict[str, str]) -> int:
    """The job over the hour [START, END), as a run scheduled at END passes it."""
    return main([*argv, "--end", END.strftime("%Y-%m-%dT%H:%M:%SZ"), "--hours", "1"], env)


def published(metric: str) -> list[float]:
    cloudwatch = boto3.client("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace=NAMESPACE, MetricName=metric)["Metrics"]
    assert [m["Dimensions"] for m in listed] == [DIMENSIONS]
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=metric,
        Dimensions=DIMENSIONS,
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=10),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    return [p["Maximum"] for p in points]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_data_drift_publishes_the_worst_column_and_lists_the_violations(tmp_path, aws, exit_message, capsys):
    rng = np.random.default_rng(7)
    baseline, current = _baseline(rng), _current(rng)
    late = _current(rng, 50).assign(amount=1000.0)  # after the window: must not count
    records = _csv_requests(current, START) + _csv_requests(late, END + timedelta(minutes=5))
    _, out = _setup(tmp_path, baseline, records)

    assert run(["--monitor", "drift"], environment(tmp_path)) == 0

    expected = {c: drift_metric("psi", baseline[c], current[c], threshold=0.1, column=c).value for c in COLUMNS}
    worst = max(expected, key=expected.get)
    assert published("mlstack_psi") == [pytest.approx(expected[worst], rel=1e-12)]
    violations = read_json(out / "constraint_violations.json")["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [
        (c, "baseline_drift_check") for c in COLUMNS if expected[c] > 0.1
    ]
    assert {"amount", "merchant"} <= {v["feature_name"] for v in violations}
    for violation in violations:
        assert violation["value"] == pytest.approx(expected[violation["feature_name"]], rel=1e-12)
        assert violation["description"].startswith("psi ") and "above the threshold 0.1" in violation["description"]
    report = read_json(out / "mlstack_report.json")
    assert report["captured"] == {"records": 300, "rows": 300, "skipped": {}}
    assert [r["column"] for r in report["results"]] == COLUMNS
    assert report["worst"]["column"] == worst
    assert report["cloudwatch"]["dimensions"] == {"Endpoint": "ranker", "Monitor": "shop-drift"}
    assert report["results"][2]["bins"]["rule"] == "categories"  # the bins each value was computed on
    line, audit = capsys.readouterr().out.splitlines()
    assert line.startswith(f"monitor drift: psi over 300 requests, worst {worst}")
    assert exit_message.read_text() == line
    assert json.loads(audit)["what"] == "monitor drift" and json.loads(audit)["why"] == line


def test_captures_and_baseline_are_read_from_s3_and_a_p_value_alarms_on_its_lowest(tmp_path, aws):
    rng = np.random.default_rng(11)
    baseline, current = _baseline(rng), _current(rng, 200)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="platform")
    s3.put_object(Bucket="platform", Key="baselines/train.csv", Body=baseline.to_csv(index=False).encode())
    prefix = "capture/ranker/"
    for relative, text in capture_files(_csv_requests(current, START + timedelta(minutes=1))).items():
        s3.put_object(Bucket="platform", Key=prefix + relative, Body=text.encode())
    env = environment(
        tmp_path,
        MLSTACK_METRIC="ks",
        MLSTACK_CLOUDWATCH_METRIC="mlstack_ks",
        MLSTACK_THRESHOLD="0.05",
        MLSTACK_BASELINE="s3://platform/baselines/train.csv",
    )
    del env["MLSTACK_CAPTURES"]

    assert run(["--monitor", "drift", "--captures", f"s3://platform/{prefix}"], env) == 0

    numeric = ["amount", "count"]  # ks applies to numbers only
    expected = {c: drift_metric("ks", baseline[c], current[c], column=c).value for c in numeric}
    assert published("mlstack_ks") == [pytest.approx(min(expected.values()), rel=1e-12)]
    report = read_json(tmp_path / "resultdata" / "mlstack_report.json")
    assert [r["column"] for r in report["results"]] == numeric
    assert report["worst"]["direction"] == "higher_is_better"
    violations = read_json(tmp_path / "resultdata" / "constraint_violations.json")["violations"]
    assert [v["feature_name"] for v in violations] == [c for c in numeric if expected[c] < 0.05]
    assert all("below the threshold 0.05" in v["description"] for v in violations)


def test_prediction_drift_compares_the_captured_responses(tmp_path, aws):
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"score": np.round(rng.beta(2, 5, 500), 4)})
    reference.to_csv(tmp_path / "predictions.csv", index=False)
    scores = np.round(rng.beta(3, 4, 120), 4)
    records = [
        (
            START + timedelta(seconds=20 * i),
            json.dumps({"instances": [{"amount": 1.0}]}),
            json.dumps({"predictions": [{"score": float(s)}]}),
        )
        for i, s in enumerate(scores)
    ]
    write_captures(tmp_path / "endpointdata", records, kind="json")
    env = environment(
        tmp_path,
        MLSTACK_MONITOR="score-drift",
        MLSTACK_KIND="prediction_drift",
        MLSTACK_METRIC="jensen_shannon",
        MLSTACK_CLOUDWATCH_METRIC="mlstack_jensen_shannon",
        MLSTACK_BASELINE=str(tmp_path / "predictions.csv"),
        MLSTACK_THRESHOLD="0.15",
        MLSTACK_CLOUDWATCH_NAMESPACE="",
    )

    assert run(["--monitor", "score-drift"], env) == 0

    expected = drift_metric("jensen_shannon", reference["score"], scores, threshold=0.15).value
    report = read_json(tmp_path / "resultdata" / "mlstack_report.json")
    assert report["worst"]["column"] == "score"
    assert report["worst"]["value"] == pytest.approx(expected, rel=1e-12)
    assert report["cloudwatch"] is None
    assert boto3.client("cloudwatch").list_metrics()["Metrics"] == []  # publishing disabled


def test_prediction_drift_reads_the_prediction_column_of_a_training_set(tmp_path, aws):
    rng = np.random.default_rng(4)
    baseline = _baseline(rng).assign(prediction=np.round(rng.uniform(0, 1, 400), 4))
    scores = np.round(rng.uniform(0.3, 1, 90), 4)
    records = [(START + timedelta(seconds=i), "1.0,2,a", f"{s}") for i, s in enumerate(scores)]
    _setup(tmp_path, baseline, records)
    env = environment(
        tmp_path, MLSTACK_KIND="prediction_drift", MLSTACK_METRIC="wasserstein", MLSTACK_CLOUDWATCH_METRIC="mlstack_w"
    )

    assert run([], env) == 0

    expected = drift_metric("wasserstein", baseline["prediction"], scores).value
    assert published("mlstack_w") == [pytest.approx(expected, rel=1e-12)]
    report = read_json(tmp_path / "resultdata" / "mlstack_report.json")
    assert [r["column"] for r in report["results"]] == ["prediction"]


def test_type_error_rate_counts_text_in_a_numeric_column(tmp_path, aws):
    rng = np.random.default_rng(5)
    baseline = _baseline(rng)
    current = _current(rng, 100).astype({"amount": object, "count": object})
    current.loc[[3, 17, 40, 41], "amount"] = "n/a"
    current.loc[[60], "count"] = "many"
    _, out = _setup(tmp_path, baseline, _csv_requests(current, START))
    env = environment(
        tmp_path,
        MLSTACK_KIND="data_quality",
        MLSTACK_METRIC="type_error_rate",
        MLSTACK_CLOUDWATCH_METRIC="mlstack_type_error_rate",
        MLSTACK_FEATURES="amount,count",
        MLSTACK_THRESHOLD="0.02",
    )

    assert run(["--monitor", "drift"], env) == 0

    amount = type_error_rate(current["amount"].astype(str), "float")
    assert amount == 0.04
    assert published("mlstack_type_error_rate") == [pytest.approx(amount)]
    violations = read_json(out / "constraint_violations.json")["violations"]
    assert [(v["feature_name"], v["constraint_check_type"], v["value"]) for v in violations] == [
        ("amount", "data_type_check", pytest.approx(amount))
    ]


def test_a_watched_feature_missing_from_the_requests_is_a_violation(tmp_path, aws):
    rng = np.random.default_rng(9)
    baseline = _baseline(rng).assign(channel="web")
    current = _current(rng, 80)
    current.loc[::8, "count"] = None
    records = [
        (START + timedelta(seconds=i), json.dumps({"instances": [row]}), "0.5")
        for i, row in enumerate(current.astype(object).where(current.notna(), None).to_dict("records"))
    ]
    _setup(tmp_path, baseline, [])
    write_captures(tmp_path / "endpointdata", records, kind="json")
    env = environment(
        tmp_path,
        MLSTACK_KIND="data_quality",
        MLSTACK_METRIC="null_rate",
        MLSTACK_CLOUDWATCH_METRIC="mlstack_null_rate",
        MLSTACK_FEATURES="count,channel",
        MLSTACK_THRESHOLD="0.05",
    )

    assert run(["--monitor", "drift"], env) == 0

    rate = null_rate(current["count"])
    assert rate == 0.125
    assert published("mlstack_null_rate") == [rate]
    violations = read_json(tmp_path / "resultdata" / "constraint_violations.json")["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [
        ("channel", "missing_column_check"),
        ("count", "completeness_check"),
    ]


def test_a_metric_without_a_threshold_is_published_but_flags_nothing(tmp_path, aws):
    baseline = pd.read_csv(FIXTURES / "baseline.csv")
    current = pd.DataFrame({"amount": [0.5, 2.0, 3.0, 9.5], "count": [1, 2, 3, 4], "merchant": ["a", "b", "z", "z"]})
    _setup(tmp_path, baseline, _csv_requests(current, START))
    env = environment(
        tmp_path,
        MLSTACK_KIND="data_quality",
        MLSTACK_METRIC="out_of_range_rate",
        MLSTACK_CLOUDWATCH_METRIC="mlstack_out_of_range_rate",
    )
    del env["MLSTACK_THRESHOLD"]

    assert run([], env) == 0

    assert published("mlstack_out_of_range_rate") == [0.5]  # amount 0.5 and 9.5; merchant z twice
    report = read_json(tmp_path / "resultdata" / "mlstack_report.json")
    assert [(r["column"], r["value"]) for r in report["results"]] == [
        ("amount", 0.5),
        ("count", 0.0),
        ("merchant", 0.5),
    ]
    assert report["threshold"] is None
    assert read_json(tmp_path / "resultdata" / "constraint_violations.json") == {"violations": []}


def test_a_window_without_traffic_publishes_nothing(tmp_path, aws, capsys):
    baseline = pd.read_csv(FIXTURES / "baseline.csv")
    _setup(tmp_path, baseline, _csv_requests(baseline, START - timedelta(hours=3)))

    assert run([], environment(tmp_path)) == 0

    assert boto3.client("cloudwatch").list_metrics()["Metrics"] == []
    assert read_json(tmp_path / "resultdata" / "constraint_violations.json") == {"violations": []}
    assert "no captured requests in the window" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"MLSTACK_KIND": "model_quality"}, "MLSTACK_METRIC=psi is not a model_quality metric"),
        ({"MLSTACK_KIND": "skew"}, "MLSTACK_KIND=skew: this job computes data_drift, prediction_drift"),
        ({"MLSTACK_METRIC": "accuracy"}, "MLSTACK_METRIC=accuracy is not a data_drift metric"),
        ({"MLSTACK_THRESHOLD": "high"}, "MLSTACK_THRESHOLD=high is not a number"),
        ({"MLSTACK_THRESHOLD": "-1"}, "threshold for 'psi' must be between 0.0 and inf"),
        ({"MLSTACK_BASELINE": ""}, "MLSTACK_BASELINE is not set"),
        ({"MLSTACK_BASELINE": "/nowhere/train.csv"}, "/nowhere/train.csv does not exist"),
        ({"MLSTACK_BASELINE": "s3://platform/missing.csv"}, "s3://platform/missing.csv does not exist"),
        ({"MLSTACK_FEATURES": "amount,colour"}, "has no column(s) colour; it has amount, count, merchant"),
        ({"MLSTACK_CAPTURES": "/nowhere/captures"}, "/nowhere/captures does not exist or is not a directory"),
        ({"MLSTACK_CAPTURES": ""}, "MLSTACK_CAPTURES is not set (or pass --captures)"),
        ({"MLSTACK_MONITOR": "other"}, "--monitor drift does not match MLSTACK_MONITOR=other"),
        ({"MLSTACK_CLOUDWATCH_DIMENSIONS": ""}, "MLSTACK_CLOUDWATCH_DIMENSIONS is not set"),
        ({"MLSTACK_CLOUDWATCH_DIMENSIONS": "[1]"}, "MLSTACK_CLOUDWATCH_DIMENSIONS=[1] is not a JSON object"),
    ],
)
def test_bad_input_fails_with_the_reason(tmp_path, aws, exit_message, capsys, change, message):
    boto3.client("s3").create_bucket(Bucket="platform")
    baseline = pd.read_csv(FIXTURES / "baseline.csv")
    _setup(tmp_path, baseline, _csv_requests(baseline, START))

    assert run(["--monitor", "drift"], environment(tmp_path, **change)) == 1

    error = capsys.readouterr().err
    assert error.startswith("mlstack monitor_job: ") and message in error and "Traceback" not in error
    assert exit_message.read_text() == error.strip()


def test_requests_that_never_fit_the_baseline_fail_with_the_reason(tmp_path, aws, capsys):
    baseline = pd.read_csv(FIXTURES / "baseline.csv").assign(label=1)  # the label is not in the requests
    _setup(tmp_path, baseline, _csv_requests(pd.read_csv(FIXTURES / "baseline.csv"), START))

    assert run([], environment(tmp_path)) == 1

    assert "no captured requests could be read: 8 x requests rows of 3 values where the baseline has 4 columns" in (
        capsys.readouterr().err
    )


def test_the_module_runs_as_the_container_entrypoint(tmp_path):
    env = environment(
        tmp_path,
        MLSTACK_BASELINE=str(FIXTURES / "baseline.csv"),
        MLSTACK_CAPTURES=str(FIXTURES / "capture"),
        MLSTACK_CLOUDWATCH_NAMESPACE="",
        PYTHONPATH=os.environ.get("PYTHONPATH", ""),
    )
    window = ["--end", END.strftime("%Y-%m-%dT%H:%M:%SZ"), "--hours", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "mlstack.monitor_job", "--monitor", "drift", *window],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("monitor drift: psi over 8 requests")
    report = read_json(tmp_path / "resultdata" / "mlstack_report.json")
    assert report["captured"]["skipped"] == {
        "a line that is not JSON": 1,
        "endpointInput: content type 'application/x-npy' is neither CSV nor JSON": 1,
    }
    failed = subprocess.run(
        [sys.executable, "-m", "mlstack.monitor_job"], env={}, capture_output=True, text=True, timeout=120
    )
    assert failed.returncode == 1
    assert failed.stderr == "mlstack monitor_job: name the monitor: --monitor NAME\n"
