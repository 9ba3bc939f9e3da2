"""specs/sporadic-scoring.yaml end to end: it runs on the local emulator (a serverless endpoint answering,
an asynchronous one writing its answers to files) and plans on aws with serverless and async configs."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.spec import load
from tests.serving.conftest import apply, wait_for

SPECS = Path(__file__).resolve().parents[2] / "specs"
EXAMPLE = SPECS / "sporadic-scoring.yaml"
ROW = {
    "amount": 120.0,
    "txn_count_24h": 3,
    "txn_amount_mean_7d": 80.0,
    "distinct_merchants_7d": 2,
    "chargeback_rate_30d": 0.01,
}


def test_the_example_runs_on_the_emulator(emulator, tmp_path):
    shutil.copytree(SPECS / "models" / "fraud-model" / "3", tmp_path / "models" / "fraud-model" / "3")
    apply(emulator, tmp_path, EXAMPLE.read_text())
    http = emulator.client.http
    scored = http.post("/endpoints/review-scorer/invocations", json={"instances": [ROW]})
    assert scored.status_code == 200 and len(scored.json()["predictions"]) == 1
    queued = http.post("/endpoints/bulk-scorer/async-invocations", json={"instances": [ROW, ROW]})
    assert queued.status_code == 202
    request_id = queued.json()["id"]
    result = wait_for(
        lambda: (
            (r := http.get(f"/endpoints/bulk-scorer/async-invocations/{request_id}")).status_code == 200 and r.json()
        )
    )
    assert result["status"] == "done" and len(result["result"]["predictions"]) == 2
    assert Path(result["output"]) == tmp_path / "async" / "bulk-scorer" / "results" / f"{request_id}.json"


def test_the_example_plans_on_aws():
    planned = plan(resolve(load(EXAMPLE, target="aws")))
    configs = {
        r.name: r.inputs for r in planned if r.type == "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
    }
    serverless = configs["review-scorer-config"]["productionVariants"][0]["serverlessConfig"]
    assert serverless == {"memorySizeInMb": 2048, "maxConcurrency": 5, "provisionedConcurrency": 1}
    queued = configs["bulk-scorer-config"]["asyncInferenceConfig"]["outputConfig"]
    assert queued["s3OutputPath"] == "s3://sporadic-scoring-data/async/bulk-scorer/results/"
    assert queued["s3FailurePath"] == "s3://sporadic-scoring-data/async/bulk-scorer/failed/"
    targets = [r.inputs for r in planned if r.type == "aws:appautoscaling/target:Target"]
    assert [(t["minCapacity"], t["maxCapacity"]) for t in targets] == [(0, 2)]
