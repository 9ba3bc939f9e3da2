"""Quickstart training step: a logistic regression on the iris measurements.

Follows the mlstack step contract: parameters arrive as --name=value (and in MLSTACK_PARAMS), the
data in MLSTACK_DATA; the model goes to MLSTACK_MODEL_FILE, the held-out rows to the output folder
for the evaluation step."""

import argparse
import os
from pathlib import Path

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

parser = argparse.ArgumentParser()
parser.add_argument("--max_iter", type=int, default=200)
parser.add_argument("--test_size", type=float, default=0.3)
parser.add_argument("--seed", type=int, default=7)
args, _ = parser.parse_known_args()

data = pd.read_csv(os.environ["MLSTACK_DATA"])
features = data.drop(columns="species")
train_x, test_x, train_y, test_y = train_test_split(
    features, data["species"], test_size=args.test_size, random_state=args.seed, stratify=data["species"]
)
model = LogisticRegression(max_iter=args.max_iter).fit(train_x, train_y)
joblib.dump(model, os.environ["MLSTACK_MODEL_FILE"])
test_x.assign(species=test_y).to_csv(Path(os.environ["MLSTACK_OUTPUT_DIR"]) / "test.csv", index=False)
print(f"trained on {len(train_x)} rows, held out {len(test_x)}")
