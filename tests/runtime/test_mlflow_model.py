"""A training step's model.joblib written as an MLflow model (what Azure's registration step registers, Z6),
loaded back with MLflow's own pyfunc loader in a fresh process, as a serving container would."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

from mlstack.runtime import mlflow_model

LOAD = textwrap.dedent(
    """
    import sys, pandas as pd, mlflow.pyfunc
    model = mlflow.pyfunc.load_model(sys.argv[1])
    print(list(model.predict(pd.DataFrame({"a": [1.0, 30.0], "b": [0.0, 2.0]}))))
    """
)


def _load_elsewhere(folder: Path, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-c", LOAD, str(folder)], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_scikit_learn_model_becomes_an_mlflow_model_with_its_pinned_dependencies(tmp_path):
    from sklearn.linear_model import LogisticRegression

    x = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 3})
    (tmp_path / "train").mkdir()
    joblib.dump(LogisticRegression().fit(x, (x.a > 20).astype(int)), tmp_path / "train" / "model.joblib")
    assert mlflow_model.main([str(tmp_path / "train"), str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    mlmodel = yaml.safe_load((out / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "pickle"
    requirements = (out / "requirements.txt").read_text().split()
    assert "mlflow-skinny" in requirements
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert any(r.startswith("numpy==") for r in requirements)
    conda = yaml.safe_load((out / "conda.yaml").read_text())
    assert conda["dependencies"][-1] == {"pip": requirements}
    assert _load_elsewhere(out, tmp_path) == "[np.int64(0), np.int64(1)]"


def test_the_steps_own_module_the_model_needs_is_shipped_in_code(tmp_path, monkeypatch):
    image = tmp_path / "image"
    image.mkdir()
    (image / "scorer_rules.py").write_text(
        "class Threshold:\n"
        "    def __init__(self, at):\n        self.at = at\n"
        "    def predict(self, rows):\n        return (rows['a'] > self.at).astype(int).tolist()\n"
    )
    monkeypatch.syspath_prepend(str(image))
    import scorer_rules

    (tmp_path / "train").mkdir()
    joblib.dump(scorer_rules.Threshold(10.0), tmp_path / "train" / "model.joblib")
    mlflow_model.export(tmp_path / "train", tmp_path / "out")
    assert (tmp_path / "out" / "code" / "scorer_rules.py").is_file()
    assert yaml.safe_load((tmp_path / "out" / "MLmodel").read_text())["flavors"]["python_function"]["code"] == "code"
    # loaded from a folder where scorer_rules is not importable: MLflow finds it in code/
    elsewhere = tmp_path / "serving"
    elsewhere.mkdir()
    assert _load_elsewhere(tmp_path / "out", elsewhere) == "[0, 1]"


def test_a_step_that_wrote_no_model_or_no_predictor_is_refused_with_the_reason(tmp_path, capsys):
    (tmp_path / "train").mkdir()
    assert mlflow_model.main([str(tmp_path / "train"), str(tmp_path / "out")]) == 1
    assert "holds no model.joblib" in capsys.readouterr().err
    joblib.dump({"weights": [1, 2]}, tmp_path / "train" / "model.joblib")
    with pytest.raises(mlflow_model.ExportError, match="dict, which has no predict method"):
        mlflow_model.export(tmp_path / "train", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_data_lineage_and_registering_job_travel_in_the_mlmodel_metadata(tmp_path, monkeypatch):
    from mlflow.models import Model
    from sklearn.dummy import DummyClassifier

    from mlstack.runtime.lineage import LINEAGE_FILE

    (tmp_path / "train").mkdir()
    joblib.dump(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), tmp_path / "train" / "model.joblib")
    record = {"data": {"path": "azureml://datastores/raw/paths/x.csv", "sha256": "cd" * 32, "bytes": 3}}
    (tmp_path / "train" / LINEAGE_FILE).write_text(json.dumps(record))
    monkeypatch.setenv("MLFLOW_RUN_ID", "tidy_lamp_01")
    args = [str(tmp_path / p) for p in ("train", "out", "record")]
    assert mlflow_model.main(args) == 0
    expected = {
        "mlstack-data-sha256": "cd" * 32,
        "mlstack-data-uri": "azureml://datastores/raw/paths/x.csv",
        "mlstack-job": "tidy_lamp_01",
    }
    # MLflow's own reader finds it in the model's metadata
    assert Model.load(str(tmp_path / "out")).metadata == expected
    assert json.loads((tmp_path / "out" / LINEAGE_FILE).read_text()) == record
    assert json.loads((tmp_path / "record" / mlflow_model.VERSION_TAGS).read_text()) == expected


def test_a_model_trained_without_data_or_outside_a_job_has_no_lineage_metadata(tmp_path, monkeypatch):
    from sklearn.dummy import DummyClassifier

    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    (tmp_path / "train").mkdir()
    joblib.dump(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), tmp_path / "train" / "model.joblib")
    assert mlflow_model.main([str(tmp_path / p) for p in ("train", "out", "record")]) == 0
    assert "metadata" not in yaml.safe_load((tmp_path / "out" / "MLmodel").read_text())
    assert json.loads((tmp_path / "record" / mlflow_model.VERSION_TAGS).read_text()) == {}
