"""Test evaluation step: reports the metrics it is given as parameters (accuracy, auc)."""

import json
import os
from pathlib import Path

params = json.loads(os.environ["MLSTACK_PARAMS"])
assert (Path(os.environ["MLSTACK_INPUT_DIR"]) / "model.joblib").is_file(), "the training output is not visible"
metrics = {name: float(params[name]) for name in ("accuracy", "auc") if name in params}
Path(os.environ["MLSTACK_METRICS_FILE"]).write_text(json.dumps(metrics))
