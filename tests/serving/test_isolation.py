"""User models run in worker processes, never in the server: a hang costs a process (killed and
replaced), a crash costs a process (a 5xx, then a new one), code a pickle runs on load runs in the
worker, and scikit-learn models saved with skops load without running code."""

from __future__ import annotations

import os
import pickle
import textwrap
import threading
import time
from pathlib import Path

import joblib
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression

from tests.serving.conftest import TIMEOUT, apply

MODELS = """
import os
import time


def sleepy(instances):
    if instances[0][0] == 999:
        time.sleep(30)
    return [2 * row[0] for row in instances]


def fragile(instances):
    if instances[0][0] < 0:
        os._exit(7)
    return [2 * row[0] for row in instances]
"""


class Doubler(BaseEstimator):
    """An estimator skops does not know: its type is not in skops' trusted list."""

    def predict(self, rows):
        return [2 * row[0] for row in rows]


class _RunsCodeOnLoad:
    """Pickles to a call of eval: unpickling writes the loading process's id to `marker`, then
    yields a fitted LinearRegression, as a crafted artifact would."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        model = pickle.dumps(LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0]))
        code = (
            f"(__import__('pathlib').Path({str(self.marker)!r}).write_text(str(__import__('os').getpid())), "
            f"__import__('pickle').loads({model!r}))[1]"
        )
        return (eval, (code,))


def _spec(versions: str, endpoint: str) -> str:
    return textwrap.dedent(
        """
        apiVersion: mlstack/v1
        name: isolation
        owner: tests@example.com
        registry:
          model_groups:
            - name: m
              approval: auto
              versions:
        {versions}
        endpoints:
          - name: ep
            model: {{group: m, version: {endpoint}}}
            compute: {{vcpus: 1}}
        """
    ).format(versions=textwrap.indent(textwrap.dedent(versions).strip(), " " * 16), endpoint=endpoint)


CUSTOM = """
- {version: 1, artifact: custom.bin, framework: custom, entrypoint: "isolated:sleepy"}
- {version: 2, artifact: custom.bin, framework: custom, entrypoint: "isolated:fragile"}
"""


def _custom(served, tmp_path: Path, version: int) -> None:
    (tmp_path / "isolated.py").write_text(MODELS)
    (tmp_path / "custom.bin").write_text("state in code")
    apply(served, tmp_path, _spec(CUSTOM, str(version)))


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_a_hung_model_answers_504_while_health_stays_fast_and_its_worker_is_replaced(served, tmp_path):
    _custom(served, tmp_path, 1)
    http = served.client.http
    assert http.post("/endpoints/ep/invocations", json={"instances": [[1.0]]}).json()["predictions"] == [2.0]
    hung: dict[str, object] = {}
    call = threading.Thread(
        target=lambda: hung.update(answer=http.post("/endpoints/ep/invocations", json={"instances": [[999.0]]}))
    )
    call.start()
    time.sleep(TIMEOUT / 4)  # the prediction is under way in the worker
    health_took = []
    while call.is_alive():
        started = time.perf_counter()
        assert served.client.http.get("/v1/health").status_code == 200
        health_took.append(time.perf_counter() - started)
        time.sleep(0.05)
    answer = hung["answer"]
    assert answer.status_code == 504 and "did not answer within" in answer.json()["error"]
    assert health_took and max(health_took) < 0.5, health_took
    # The one instance's process was killed and replaced: the next request is answered.
    ok = http.post("/endpoints/ep/invocations", json={"instances": [[4.0]]})
    assert ok.status_code == 200 and ok.json()["predictions"] == [8.0]
    (primary,) = served.client.get("/v1/endpoints/ep/traffic")["variants"]
    assert primary["replaced_workers"] == 1 and primary["instances"] == 1


def test_a_model_that_kills_its_process_answers_5xx_and_the_fleet_recovers(served, tmp_path):
    _custom(served, tmp_path, 2)
    http = served.client.http
    crashed = http.post("/endpoints/ep/invocations", json={"instances": [[-1.0]]})
    assert crashed.status_code == 500
    assert "worker process exited while predicting (exit code 7)" in crashed.json()["error"]
    assert crashed.headers["x-mlstack-variant"] == "primary"
    ok = http.post("/endpoints/ep/invocations", json={"instances": [[3.0]]})
    assert ok.status_code == 200 and ok.json()["predictions"] == [6.0]
    assert http.get("/v1/health").status_code == 200


def test_code_a_pickle_runs_on_load_runs_in_a_worker_process_not_the_server(served, tmp_path):
    marker = tmp_path / "loaded-by.pid"
    joblib.dump(_RunsCodeOnLoad(marker), tmp_path / "crafted.joblib")
    apply(served, tmp_path, _spec("- {version: 1, artifact: crafted.joblib}", "1"))
    answer = served.client.http.post("/endpoints/ep/invocations", json={"instances": [[5.0]]})
    assert answer.status_code == 200 and answer.json()["predictions"] == pytest.approx([10.0])
    loader = int(marker.read_text())
    assert loader not in (served.info.pid, os.getpid())
    # The worker is a fork of the server's forkserver: a grandchild of the server.
    assert _parent(_parent(loader)) == served.info.pid


def test_a_scikit_learn_model_saved_with_skops_is_served(served, tmp_path):
    sio.dump(LinearRegression().fit([[0.0], [1.0]], [1.0, 3.0]), tmp_path / "model.skops")
    apply(served, tmp_path, _spec("- {version: 1, artifact: model.skops}", "1"))
    answer = served.client.http.post("/endpoints/ep/invocations", json={"instances": [[2.0]]})
    assert answer.status_code == 200 and answer.json()["predictions"] == pytest.approx([5.0])


def test_a_skops_file_with_an_untrusted_type_is_refused_and_the_old_model_keeps_serving(served, tmp_path):
    sio.dump(LinearRegression().fit([[0.0], [1.0]], [1.0, 3.0]), tmp_path / "good.skops")
    sio.dump(Doubler(), tmp_path / "odd.skops")
    versions = "- {version: 1, artifact: good.skops}\n- {version: 2, artifact: odd.skops}"
    apply(served, tmp_path, _spec(versions, "1"))
    spec = tmp_path / "mlstack.yaml"
    spec.write_text(_spec(versions, "2"))
    result = served.apply(spec)
    assert result["status"] == "failed" and "holds types skops does not trust" in result["message"], result
    assert f"{__name__}.Doubler" in result["message"]
    answer = served.client.http.post("/endpoints/ep/invocations", json={"instances": [[2.0]]})
    assert answer.status_code == 200 and answer.json()["model"] == "m v1"
    assert answer.json()["predictions"] == pytest.approx([5.0])
