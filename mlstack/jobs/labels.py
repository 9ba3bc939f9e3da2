"""Ground truth in SageMaker's format, joined with the captured answers it labels.

Labels are uploaded as JSON lines under the monitor's `ground_truth` prefix, in the same hour folders as
captured data (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html):

    {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "aaaa-bbbb"},
     "eventVersion": "0"}

`eventId` names the captured answer: its inferenceId when the caller sent one, else its eventId. `data` holds
one label per answered row (a CSV line, or JSON: a value or a list). Labels are written after the answers
they label, so every label file from the window's start on is read; a record that cannot be read is
counted with its reason and skipped, as captured records are."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from mlstack.jobs.capture import CAPTURE_SUFFIX, Row, Unreadable, Window, event_key, payload_text
from mlstack.jobs.s3 import Storage
from mlstack.runtime.monitors import Labelled


def _number(value: Any) -> Any:
    """A CSV label as the number it spells, as pandas reads a label column."""
    if not isinstance(value, str):
        return value
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() else number


def _labels(payload: dict[str, Any]) -> list[Any]:
    kind, text = payload_text(payload)
    if kind == "csv":
        return [_number(v) for line in csv.reader(io.StringIO(text)) for v in line]
    try:
        value = json.loads(text) if text.strip() else None
    except json.JSONDecodeError as exc:
        raise Unreadable(f"invalid JSON ({exc.msg})") from None
    return value if isinstance(value, list) else [value]


def read(location: str, window: Window, storage: Storage, skipped: Counter[str]) -> dict[str, list[Any]]:
    """answer key -> its labels, from every label file that may follow the window's start."""
    found: dict[str, list[Any]] = {}
    since = Window(window.start, None)
    for name in storage.files(location, CAPTURE_SUFFIX):
        if not since.may_hold(name):
            continue
        for line in storage.read(name).decode("utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                key = event_key(record.get("eventMetadata")) if isinstance(record, dict) else None
                truth = record.get("groundTruthData") if isinstance(record, dict) else None
                if key is None or not isinstance(truth, dict):
                    raise Unreadable("no groundTruthData or eventMetadata.eventId")
                found[key] = _labels(truth)
            except json.JSONDecodeError:
                skipped["ground truth: a line that is not JSON"] += 1
            except Unreadable as exc:
                skipped[f"ground truth: {exc}"] += 1
    return found


def _prediction(row: Row) -> Any:
    """The prediction of an answered row: the first value (SageMaker's built-in containers answer with
    the prediction first), or a named row's only value."""
    if isinstance(row, dict):
        return next(iter(row.values())) if len(row) == 1 else row.get("prediction")
    return row[0] if row else None


@dataclass(frozen=True)
class Joined:
    labelled: Labelled
    answers: int  # captured answers in the window
    unlabelled: int  # answers without a label (yet)


def join(answers: list[tuple[str, list[Row]]], labels: dict[str, list[Any]], problem_type: str, cut: float) -> Joined:
    """Each labelled answer row as (label, prediction, score). A binary classifier's answer is read as the
    probability of the positive class and cut at `cut` (a 0/1 answer reads the same), as SageMaker's
    model-quality job reads ProbabilityAttribute with ProbabilityThresholdAttribute."""
    truth: list[Any] = []
    predicted: list[Any] = []
    scores: list[Any] = []
    unlabelled = 0
    for key, rows in answers:
        given = labels.get(key)
        if given is None or len(given) != len(rows):
            unlabelled += 1
            continue
        for label, row in zip(given, rows, strict=True):
            value = _number(_prediction(row))
            if problem_type == "binary_classification" and isinstance(value, int | float):
                scores.append(float(value))
                predicted.append(int(value >= cut))
            else:
                scores.append(None)
                predicted.append(value)
            truth.append(label)
    return Joined(Labelled(truth, predicted, scores), len(answers), unlabelled)
