"""Test training step: fits a majority-class model on a tiny table; can be told to wait or fail.

Parameters: marker (a file to write this process's pid to when it starts), sleep (seconds to wait
then), block (wait while this file exists), fail (exit 3)."""

import json
import os
import sys
import time
from pathlib import Path

params = json.loads(os.environ["MLSTACK_PARAMS"])
if params.get("marker"):
    Path(params["marker"]).write_text(str(os.getpid()))
time.sleep(float(params.get("sleep", 0)))
while params.get("block") and Path(params["block"]).exists():
    time.sleep(0.05)
if params.get("fail"):
    print("training failed on purpose: the data is cursed", file=sys.stderr)
    sys.exit(3)

import joblib  # noqa: E402 - after the marker, so a kill test does not wait for the import
from sklearn.dummy import DummyClassifier  # noqa: E402

model = DummyClassifier(strategy="most_frequent").fit([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], [1, 1, 0])
joblib.dump(model, os.environ["MLSTACK_MODEL_FILE"])
print("trained")
