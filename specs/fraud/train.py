"""Training step: gradient-boosted trees on the features of the build-features step; the latest quarter
of the rows by time is held out for the evaluation step. Parameters (--learning_rate, --max_depth)
arrive as arguments under the mlstack step contract, on every target."""

import argparse
import json
import os
from pathlib import Path

import joblib
import pandas as pd
from common import FEATURES, LABEL, TIME
from sklearn.ensemble import HistGradientBoostingClassifier

parser = argparse.ArgumentParser()
parser.add_argument("--learning_rate", type=float, default=0.05)
parser.add_argument("--max_depth", type=int, default=6)
parser.add_argument("--holdout", type=float, default=0.25)
args, _ = parser.parse_known_args()

inputs = json.loads(os.environ["MLSTACK_INPUTS"])
table = pd.read_csv(Path(inputs["build-features"]) / "features.csv").sort_values(TIME)
cut = int(len(table) * (1 - args.holdout))
train, test = table.iloc[:cut], table.iloc[cut:]
model = HistGradientBoostingClassifier(learning_rate=args.learning_rate, max_depth=args.max_depth, random_state=0)
model.fit(train[FEATURES], train[LABEL])
joblib.dump(model, os.environ["MLSTACK_MODEL_FILE"])
test.to_csv(Path(os.environ["MLSTACK_OUTPUT_DIR"]) / "test.csv", index=False)
print(f"trained on {len(train)} rows, held out {len(test)}")
