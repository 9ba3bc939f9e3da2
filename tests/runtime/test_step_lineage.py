"""The step adapter records the data a step read (path, SHA-256, size) in its output, where a cloud's
register job finds it; a step without data gets no lineage file."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from mlstack.runtime.lineage import LINEAGE_FILE

REPO = Path(__file__).resolve().parents[2]
TRAIN = """
    import joblib, os
    from sklearn.dummy import DummyClassifier
    joblib.dump(DummyClassifier().fit([[0], [1]], [0, 1]), os.environ["MLSTACK_MODEL_FILE"])
"""


def _train(tmp_path: Path, *extra: str) -> Path:
    (tmp_path / "train.py").write_text(textwrap.dedent(TRAIN))
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "mlstack.runtime.step", "train.py", "--kind=training", "--pipeline=p", "--step=train"]
    done = subprocess.run(
        [*argv, f"--output={out}", *extra],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return out


def test_a_step_given_data_records_its_hash_and_size(tmp_path):
    folder = tmp_path / "mount"  # a mounted data folder holding the one data file, as on Azure and SageMaker
    folder.mkdir()
    data = folder / "labels.csv"
    data.write_text("x,y\n0,0\n1,1\n")
    out = _train(tmp_path, f"--data={folder}")
    lineage = json.loads((out / LINEAGE_FILE).read_text())
    assert lineage == {
        "data": {"path": str(folder), "sha256": hashlib.sha256(data.read_bytes()).hexdigest(), "bytes": 12}
    }


def test_a_step_without_data_writes_no_lineage(tmp_path):
    assert not (_train(tmp_path) / LINEAGE_FILE).exists()
