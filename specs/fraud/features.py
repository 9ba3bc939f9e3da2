"""Processing step: the training table, one row per transaction with the model's features and label.

Locally the rows already carry the feature views' values (the emulator's point-in-time join); on a
cloud they are computed here from the raw transactions (common.derive_features)."""

import os
from pathlib import Path

import pandas as pd
from common import FEATURES, LABEL, TIME, with_features

data = os.environ["MLSTACK_DATA"]
rows = pd.read_parquet(data) if data.endswith(".parquet") else pd.read_csv(data)
table = with_features(rows)[[TIME, *FEATURES, LABEL]].fillna(0.0)
table.to_csv(Path(os.environ["MLSTACK_OUTPUT_DIR"]) / "features.csv", index=False)
print(f"features: {len(table)} rows, fraud rate {table[LABEL].mean():.3f}")
