"""specs/fraud-detection.yaml on the local emulator, through the real CLI, from the files a checkout has:
features, the training pipeline with its gates against the champion and a manual-approval
registration, the canary, shadow and A/B endpoints serving, and a run of each of the four monitors
producing a value from the captured traffic (and ground truth for model quality)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import httpx

from tests.emulator.conftest import REPO, cli

SPECS = REPO / "specs"
# The spec and what it names, relative to its folder (written by specs/fraud/generate.py).
FILES = ["fraud-detection.yaml", "fraud", "customer_txn_stats", "merchant_risk", "models", "baselines"]
MONITORS = ["feature-drift", "score-drift", "input-quality", "scorer-accuracy"]  # one of each kind


def _copy(folder: Path) -> Path:
    for name in FILES:
        source = SPECS / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, folder / name)
    return folder / "fraud-detection.yaml"


def _rows(count: int) -> list[dict[str, float]]:
    with (SPECS / "baselines" / "training.csv").open() as f:
        return [{k: float(v) for k, v in row.items()} for _, row in zip(range(count), csv.DictReader(f), strict=False)]


def test_fraud_detection_runs_the_whole_platform_locally(tmp_path):
    spec = _copy(tmp_path)
    try:
        up = cli("up", str(spec), cwd=tmp_path, timeout=600)
        assert up.returncode == 0, up.stderr
        status = json.loads(cli("status", str(spec), "--json").stdout)
        endpoints = {e["name"]: e for e in status["endpoints"]}
        assert sorted(endpoints) == ["fraud-ab", "fraud-scorer", "fraud-shadow"]
        assert all(e["status"] == "ready" for e in endpoints.values()), endpoints

        # training: features joined point-in-time, gates against the declared champion (auc 0.941),
        # registration pending manual approval, so the deployment step keeps serving the champion
        run = cli("pipeline", "run", "train-fraud", "-f", str(spec), "--wait", timeout=900)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "step evaluate succeeded" in run.stdout and "auc=" in run.stdout
        assert "registered fraud-model v5 (pending), aliases challenger" in run.stdout
        assert "endpoint fraud-scorer: primary: fraud-model v3" in run.stdout
        status = json.loads(cli("status", str(spec), "--json").stdout)
        (trained,) = [r for r in status["runs"] if r["pipeline"] == "train-fraud"]
        assert trained["status"] == "succeeded"
        assert trained["lineage"]["feature_views"] == ["customer-txn-stats", "merchant-risk"]

        token = (tmp_path / ".mlstack" / "token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        rows = _rows(400)
        labels = []
        served = {}
        for name, endpoint in endpoints.items():
            # the scorer captures a fifth of its requests: enough of them for every monitor to have data
            requests = 80 if name == "fraud-scorer" else 10
            models = set()
            for i in range(requests):
                batch = rows[5 * i : 5 * i + 5]
                answer = httpx.post(endpoint["url"], json={"instances": batch}, headers=headers, timeout=60)
                assert answer.status_code == 200, answer.text
                body = answer.json()
                assert len(body["predictions"]) == 5
                models.add(body["model"])
                if name == "fraud-scorer":
                    labels.append((body["correlation_id"], [int(p) for p in body["predictions"]]))
            served[name] = models
        assert served["fraud-scorer"] == {"fraud-model v3"}
        assert served["fraud-shadow"] == {"fraud-model v3"}  # the challenger only sees mirrored requests
        assert served["fraud-ab"] <= {"fraud-model v3", "fraud-rules-model v1"}

        # ground truth for the scorer's answers: one label per instance, here the answer itself with its
        # first instance flipped, so accuracy over whichever answers were captured is 4/5
        label_file = tmp_path / "labels.jsonl"
        label_file.write_text(
            "".join(json.dumps({"correlation_id": c, "label": [1 - p[0], *p[1:]]}) + "\n" for c, p in labels)
        )
        fed = cli("feedback", "fraud-scorer", "--labels", str(label_file), "-f", str(spec))
        assert fed.returncode == 0, fed.stderr

        for monitor in MONITORS:
            result = cli("monitor", "run", monitor, "-f", str(spec), "--json", timeout=300)
            assert result.returncode == 0, result.stdout + result.stderr
            report = json.loads(result.stdout)
            assert report["status"] in ("ok", "alert"), report
            assert report["value"] is not None, report
            if monitor == "scorer-accuracy":
                assert abs(report["value"] - 0.8) < 1e-9, report
    finally:
        cli("down", str(spec), cwd=tmp_path)
