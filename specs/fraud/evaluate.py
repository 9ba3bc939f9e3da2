"""Evaluation step: AUC and accuracy of the trained model on the held-out rows, as the flat
metrics.json the quality gates read on every target."""

import json
import os
from pathlib import Path

import joblib
import pandas as pd
from common import FEATURES, LABEL
from sklearn.metrics import accuracy_score, roc_auc_score

trained = Path(os.environ["MLSTACK_INPUT_DIR"])
model = joblib.load(trained / "model.joblib")
test = pd.read_csv(trained / "test.csv")
scores = model.predict_proba(test[FEATURES])[:, 1]
metrics = {
    "auc": roc_auc_score(test[LABEL], scores),
    "accuracy": accuracy_score(test[LABEL], scores >= 0.5),
}
Path(os.environ["MLSTACK_METRICS_FILE"]).write_text(json.dumps(metrics))
print(json.dumps(metrics))
