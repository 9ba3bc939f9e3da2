"""Test training step that logs through the step contract's tracking API: its params, and a loss
per epoch (a time series that falls as 1 / (epoch + 1)), then fits a majority-class model."""

import json
import os

import joblib
from sklearn.dummy import DummyClassifier

from mlstack.runtime import tracking

params = json.loads(os.environ["MLSTACK_PARAMS"])
epochs = int(params.get("epochs", 3))
tracking.log_params({"optimizer": "sgd", "epochs": epochs})
for epoch in range(epochs):
    tracking.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
model = DummyClassifier(strategy="most_frequent").fit([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], [1, 1, 0])
joblib.dump(model, os.environ["MLSTACK_MODEL_FILE"])
