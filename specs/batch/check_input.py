"""Data validation step before batch scoring: the rows to score are there, have the columns the model
reads and no negative amounts. Standard library only, so it runs in a plain Python image."""

import csv
import json
import os
import sys
from pathlib import Path

REQUIRED = ("amount",)

data = os.environ["MLSTACK_DATA"]
if not data:
    sys.exit("check-input: the pipeline gave no data (MLSTACK_DATA is empty)")
with open(data, newline="") as handle:
    rows = list(csv.DictReader(handle))
problems = [] if rows else ["no rows to score"]
if rows:
    problems += [f"missing column {c}" for c in REQUIRED if c not in rows[0]]
if not problems:
    negative = sum(1 for r in rows if float(r["amount"]) < 0)
    if negative:
        problems.append(f"{negative} rows with a negative amount")
if problems:
    sys.exit("check-input: " + "; ".join(problems))
report = {"rows": len(rows), "columns": list(rows[0])}
(Path(os.environ["MLSTACK_OUTPUT_DIR"]) / "report.json").write_text(json.dumps(report))
print(json.dumps(report))
