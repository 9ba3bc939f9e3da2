"""Monitors against a real emulator: drift on shifted traffic alerts, posts to a local webhook,
starts the retraining pipeline and rolls the endpoint back; model quality once labels arrive;
the HTML report."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score

from mlstack.stats.drift import drift_table
from tests.emulator.conftest import STEPS, cli
from tests.serving.conftest import apply, endpoint_row, wait_for

pytestmark = pytest.mark.slow

PLATFORM = """
apiVersion: mlstack/v1
name: watched
owner: tests@example.com
registry:
  model_groups:
    - name: m
      approval: auto
      versions:
        - {{version: 1, artifact: named-v1.joblib}}
        - {{version: 2, artifact: named-v2.joblib}}
    - name: retrained
      approval: auto
pipelines:
  - name: retrain
    steps:
      - {{name: train, kind: training, entrypoint: {steps}/train.py}}
      - {{name: register, kind: registration, model_group: retrained}}
endpoints:
  - name: ep
    model: {{group: m, version: {version}}}
    compute: {{vcpus: 1}}
    data_capture: {{sampling_percent: 100}}
monitors:
{monitors}
"""


class Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    Hook.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def _platform(folder: Path, version: int, monitors: str) -> str:
    return PLATFORM.format(steps=STEPS, version=version, monitors=monitors)


def _send(emu, rows: pd.DataFrame) -> list[dict]:
    answers = []
    for record in rows.to_dict("records"):
        answer = emu.client.post("/endpoints/ep/invocations", {"instances": [record]})
        answers.append(answer)
    return answers


def test_drift_on_shifted_traffic_alerts_retrains_and_rolls_back(served, tmp_path, webhook):
    rng = np.random.default_rng(7)
    baseline = pd.DataFrame({"f0": rng.normal(0, 1, 400), "f1": rng.normal(5, 2, 400)})
    baseline.to_csv(tmp_path / "baseline.csv", index=False)
    joblib.dump(LinearRegression().fit(baseline, baseline["f0"]), tmp_path / "named-v1.joblib")
    joblib.dump(LinearRegression().fit(baseline, baseline["f0"] + 100), tmp_path / "named-v2.joblib")
    monitors = f"""
  - name: drift
    kind: data_drift
    endpoint: ep
    baseline: baseline.csv
    features: [f0, f1]
    metric: psi
    threshold: 0.2
    # Not the hourly default: a scheduled run at the top of the hour would add to the history this
    # test counts (it failed once that way). Once a year, at 00:00 on 1 January, it stays out of the way.
    schedule: "0 0 1 1 *"
    actions:
      - {{type: alert, to: ["{webhook}", ops@example.com, "https://hooks.example.com/x"]}}
      - {{type: retrain, pipeline: retrain}}
      - {{type: rollback}}
"""
    apply(served, tmp_path, _platform(tmp_path, 1, monitors))
    apply(served, tmp_path, _platform(tmp_path, 2, monitors))  # v2 now; v1 is what a rollback returns to
    spec = str(tmp_path / "mlstack.yaml")
    schedules = {s["job"] for s in served.client.get("/v1/status")["schedules"]}
    assert "monitor/drift" in schedules  # it also runs on its schedule inside the emulator

    steady = pd.DataFrame({"f0": rng.normal(0, 1, 200), "f1": rng.normal(5, 2, 200)})
    _send(served, steady)
    calm = cli("monitor", "run", "drift", "-f", spec)
    assert calm.returncode == 0, calm.stderr
    assert calm.stdout.startswith("monitor drift: ok: psi")

    shifted = pd.DataFrame({"f0": rng.normal(3, 1, 300), "f1": rng.normal(5, 2, 300)})
    answers = _send(served, shifted)
    assert {a["model"] for a in answers} == {"m v2"}
    fired = cli("monitor", "run", "drift", "-f", spec, "--json")
    assert fired.returncode == 0, fired.stderr
    result = json.loads(fired.stdout)
    assert result["status"] == "alert"
    # The value is mlstack.stats' PSI of the baseline against every request of the window.
    expected = drift_table(baseline, pd.concat([steady, shifted]), ["psi"], thresholds={"psi": 0.2})
    assert [(r["column"], r["value"], r["breached"]) for r in result["results"]] == [
        (e.column, pytest.approx(e.value, abs=1e-9), e.breached) for e in expected
    ]
    assert [r["breached"] for r in result["results"]] == [True, False]

    actions = {a["type"]: a for a in result["actions"] if a["type"] != "alert"}
    alerts = {a["to"]: a for a in result["actions"] if a["type"] == "alert"}
    # The local webhook got the alert; an e-mail address and an outside URL are recorded, not reached.
    assert alerts[webhook]["delivered"] is True
    assert alerts["ops@example.com"]["delivered"] is False
    assert "not sent" in alerts["https://hooks.example.com/x"]["message"]
    (posted,) = Hook.received
    assert posted["monitor"] == "drift" and posted["results"][0]["column"] == "f0"
    # Retraining started for real and runs to the end.
    (run_id,) = actions["retrain"]["runs"]
    run = wait_for(lambda: (r := served.client.get(f"/v1/runs/{run_id}"))["status"] != "running" and r, timeout=60)
    assert run["trigger"] == "alert:drift" and run["status"] == "succeeded", run["message"]
    # The endpoint is back on v1.
    assert actions["rollback"]["ok"] is True
    row = endpoint_row(served)
    assert row["status"] == "rolled_back" and "monitor drift" in row["message"]
    assert served.client.post("/endpoints/ep/invocations", {"instances": [{"f0": 1.0, "f1": 5.0}]})["model"] == "m v1"

    history = served.client.get("/v1/monitors/drift/runs")
    assert [h["status"] for h in history] == ["alert", "ok"]

    report = tmp_path / "drift.html"
    written = cli("monitor", "report", "drift", "-f", spec, "--out", str(report))
    assert written.returncode == 0, written.stderr
    html = report.read_text()
    # the metric over both runs and a histogram per feature, drawn with matplotlib
    assert html.count("<svg") == 3 and "<figcaption>f0</figcaption>" in html and "<figcaption>f1</figcaption>" in html
    assert 'aria-label="psi per run over time"' in html and "<li>retrain started (" in html
    assert re.search(r'\b(src|href)="(?!#)', html) is None  # nothing to fetch: the file stands alone
    assert f"{expected[0].value:.4g}" in html and "ALERT" in html


def test_model_quality_once_labels_arrive(served, tmp_path):
    rng = np.random.default_rng(11)
    train = pd.DataFrame({"f0": rng.normal(0, 1, 300), "f1": rng.normal(0, 1, 300)})
    labels = (train["f0"] + 0.5 * train["f1"] > 0).astype(int)
    model = LogisticRegression().fit(train, labels)
    joblib.dump(model, tmp_path / "named-v1.joblib")
    joblib.dump(model, tmp_path / "named-v2.joblib")
    monitors = """
  - {name: accuracy, kind: model_quality, endpoint: ep, metric: accuracy, threshold: 0.99,
     problem_type: binary_classification}
  - {name: auc, kind: model_quality, endpoint: ep, metric: auc, problem_type: binary_classification}
"""
    apply(served, tmp_path, _platform(tmp_path, 1, monitors))
    assert served.client.post("/v1/monitors/accuracy/runs")["status"] == "no_data"

    traffic = pd.DataFrame({"f0": rng.normal(0, 1, 120), "f1": rng.normal(0, 1, 120)})
    answers = _send(served, traffic)
    truth = ((traffic["f0"] + 0.5 * traffic["f1"] + rng.normal(0, 0.5, 120)) > 0).astype(int).tolist()
    ids = [a["correlation_id"] for a in answers]
    # Most labels come from a file through the CLI, the rest over the HTTP ground-truth API.
    pd.DataFrame({"correlation_id": ids[:100], "label": truth[:100]}).to_csv(tmp_path / "labels.csv", index=False)
    sent = cli("feedback", "ep", "--labels", str(tmp_path / "labels.csv"), "-f", str(tmp_path / "mlstack.yaml"))
    assert sent.returncode == 0 and sent.stdout.strip() == "stored 100 labels for endpoint ep", sent.stderr
    rest = [{"correlation_id": c, "label": t} for c, t in zip(ids[100:], truth[100:], strict=True)]
    assert served.client.post("/v1/endpoints/ep/ground-truth", {"labels": rest})["stored"] == 20

    predictions = [a["predictions"][0] for a in answers]
    scores = [a["scores"][0] for a in answers]
    accuracy = served.client.post("/v1/monitors/accuracy/runs")
    assert accuracy["value"] == pytest.approx(accuracy_score(truth, predictions), abs=1e-12)
    assert accuracy["status"] == ("alert" if accuracy["value"] < 0.99 else "ok")
    auc = served.client.post("/v1/monitors/auc/runs")
    assert auc["value"] == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)
    assert auc["status"] == "ok"  # no threshold: model quality is reported, not judged

    bad = served.client.http.post("/v1/endpoints/ep/ground-truth", json={"labels": [{"label": 1}]})
    assert bad.status_code == 400 and "correlation_id" in bad.json()["error"]
    missing = cli("feedback", "ep", "--labels", str(tmp_path / "nope.csv"), "-f", str(tmp_path / "mlstack.yaml"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr


def test_prediction_drift_and_data_quality(served, tmp_path):
    rng = np.random.default_rng(3)
    baseline = pd.DataFrame({"f0": rng.normal(0, 1, 300), "f1": rng.normal(0, 1, 300)})
    baseline.to_csv(tmp_path / "baseline.csv", index=False)
    model = LinearRegression().fit(baseline, baseline["f0"] * 3)
    joblib.dump(model, tmp_path / "named-v1.joblib")
    joblib.dump(model, tmp_path / "named-v2.joblib")
    monitors = """
  - {name: outputs, kind: prediction_drift, endpoint: ep, baseline: baseline.csv, metric: wasserstein}
  - {name: nulls, kind: data_quality, endpoint: ep, baseline: baseline.csv, metric: null_rate, threshold: 0.1}
  - {name: ranges, kind: data_quality, endpoint: ep, baseline: baseline.csv, metric: out_of_range_rate,
     features: [f0]}
"""
    apply(served, tmp_path, _platform(tmp_path, 1, monitors))
    current = pd.DataFrame({"f0": rng.normal(2, 1, 150), "f1": rng.normal(0, 1, 150)})
    answers = _send(served, current)
    broken = [served.client.http.post("/endpoints/ep/invocations", json={"instances": [{"f0": 1.0, "f1": None}]})]
    broken += [
        served.client.http.post("/endpoints/ep/invocations", json={"instances": [{"f0": 0.5, "f1": None}]})
        for _ in range(29)
    ]
    # A null the model cannot take is the client's error (400), not the model's; the request still counts.
    assert {b.status_code for b in broken} == {400}

    outputs = served.client.post("/v1/monitors/outputs/runs")
    # The reference is what the serving model predicts for the baseline's rows (it has no prediction column).
    expected = drift_table(
        pd.DataFrame({"prediction": model.predict(baseline)}),
        pd.DataFrame({"prediction": [a["predictions"][0] for a in answers]}),
        ["wasserstein"],
    )
    assert outputs["value"] == pytest.approx(expected[0].value, abs=1e-9)
    assert outputs["status"] == "alert"  # default threshold 0.1: shifted inputs moved the outputs

    nulls = served.client.post("/v1/monitors/nulls/runs")
    by_column = {r["column"]: r for r in nulls["results"]}
    assert by_column["f1"]["value"] == pytest.approx(30 / 180) and by_column["f1"]["breached"]
    assert by_column["f0"]["value"] == 0 and nulls["status"] == "alert"

    ranges = served.client.post("/v1/monitors/ranges/runs")
    lo, hi = baseline["f0"].min(), baseline["f0"].max()
    sent = pd.concat([current["f0"], pd.Series([1.0] + [0.5] * 29)])
    assert ranges["value"] == pytest.approx(((sent < lo) | (sent > hi)).mean())
    assert ranges["status"] == "ok"  # no threshold given: reported, not judged
