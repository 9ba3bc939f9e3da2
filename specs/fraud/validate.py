"""Data validation step: the pipeline's rows have the columns the other steps need, some of them,
both classes of the label, and no negative amounts. Writes a small report for the run's lineage."""

import json
import os
import sys
from pathlib import Path

import pandas as pd
from common import LABEL, RAW

data = os.environ["MLSTACK_DATA"]
if not data:
    sys.exit("validate: the pipeline gave no data (MLSTACK_DATA is empty)")
rows = pd.read_parquet(data) if data.endswith(".parquet") else pd.read_csv(data)
problems = [f"missing column {c}" for c in RAW if c not in rows.columns]
if not problems:
    if len(rows) < 100:
        problems.append(f"only {len(rows)} rows")
    if rows[LABEL].nunique() != 2:
        problems.append(f"{LABEL} must hold both classes")
    if (rows["amount"] < 0).any():
        problems.append("negative amounts")
if problems:
    sys.exit("validate: " + "; ".join(problems))
report = {"rows": len(rows), "fraud_rate": float(rows[LABEL].mean()), "columns": list(rows.columns)}
(Path(os.environ["MLSTACK_OUTPUT_DIR"]) / "report.json").write_text(json.dumps(report))
print(json.dumps(report))
