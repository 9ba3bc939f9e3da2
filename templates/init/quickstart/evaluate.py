"""Quickstart evaluation step: accuracy and macro F1 of the trained model on the held-out rows,
written to MLSTACK_METRICS_FILE for the quality gates and the registry."""

import json
import os
from pathlib import Path

import joblib
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

trained = Path(os.environ["MLSTACK_INPUT_DIR"])
model = joblib.load(trained / "model.joblib")
test = pd.read_csv(trained / "test.csv")
predicted = model.predict(test.drop(columns="species"))
metrics = {
    "accuracy": accuracy_score(test["species"], predicted),
    "f1_macro": f1_score(test["species"], predicted, average="macro"),
}
Path(os.environ["MLSTACK_METRICS_FILE"]).write_text(json.dumps(metrics))
print(json.dumps(metrics))
