"""SageMaker data capture read back as request and response rows.

An endpoint with data capture writes one JSON line per sampled request under
`<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`:

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "5.1,3.5", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                        "data": "{\"predictions\": [0.2]}", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "…", "inferenceTime": "2026-11-22T10:15:02Z"}, "eventVersion": "0"}

`encoding` is CSV or JSON for the content types listed in the endpoint's capture config (mlstack lists
text/csv and application/json) and BASE64 for any other. A monitoring job gets the hours around its
window mounted at `dataset_source`, and SageMaker says it "sometimes downloads more than" the window,
so records are kept by their inferenceTime here.

A row is named (a JSON object: feature -> value) or positional (a CSV line, a JSON list). Requests in
JSON are `{"instances": [...]}` or `{"inputs": [...]}`, a list of rows, one row, or rows of the form
`{"features": [...]}` (SageMaker's built-in algorithms); responses are `{"predictions": [...]}` or
`{"outputs": [...]}`, a list with one prediction per request row, or one prediction. A record that
cannot be read is counted with its reason and skipped: one bad request must not stop the monitor.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mlstack.jobs.failures import JobFailed
from mlstack.jobs.s3 import Storage

Row = dict[str, Any] | list[Any]
CAPTURE_SUFFIX = ".jsonl"
# The hour folders SageMaker writes captures into: .../yyyy/mm/dd/hh/<file>.jsonl
_HOUR_FOLDER = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$")
_REQUEST_KEYS = ("instances", "inputs")
_RESPONSE_KEYS = ("predictions", "outputs")


class Unreadable(Exception):
    """One record (or one side of it) that cannot be read; the message is the reason counted."""


def parse_time(text: str, what: str) -> datetime:
    """An ISO 8601 instant (SageMaker's documented example carries stray spaces: '16: 20: 00Z')."""
    try:
        moment = datetime.fromisoformat(text.replace(" ", "").replace("Z", "+00:00"))
    except ValueError:
        raise JobFailed(f"{what} '{text}' is not an ISO 8601 time such as 2026-11-22T10:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """[start, end) of the monitoring period; an open side takes everything on that side."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start >= self.end:
            raise JobFailed(
                f"the window is empty: start {self.start.isoformat()} is not before end {self.end.isoformat()}"
            )

    def contains(self, moment: datetime) -> bool:
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)

    def may_hold(self, location: str) -> bool:
        """Whether a capture file's hour folder can hold records of the window. Records are filed by the
        hour they were written in, which may be a little after their inference time: one hour of margin."""
        match = _HOUR_FOLDER.search(location)
        if not match:
            return True
        hour = datetime(*(int(part) for part in match.groups()), tzinfo=UTC)
        margin = timedelta(hours=1)
        before = self.end is not None and hour >= self.end + margin
        after = self.start is not None and hour + timedelta(hours=1) <= self.start - margin
        return not (before or after)


@dataclass
class Captured:
    """The window's request and response rows, and what could not be read."""

    records: int = 0
    requests: list[Row] = field(default_factory=list)
    responses: list[Row] = field(default_factory=list)
    # (the record's inferenceId, else its eventId; its response rows): what ground truth labels join on
    answers: list[tuple[str, list[Row]]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def payload_text(payload: dict[str, Any]) -> tuple[str, str]:
    """(format, text): format is "csv" or "json"."""
    data = payload.get("data")
    if not isinstance(data, str):
        raise Unreadable("no data")
    encoding = str(payload.get("encoding", "")).upper()
    if encoding in ("CSV", "JSON"):
        return encoding.lower(), data
    if encoding != "BASE64":
        raise Unreadable(f"unknown encoding '{encoding}'")
    content_type = str(payload.get("observedContentType", "")).split(";")[0].strip().lower()
    if content_type == "text/csv":
        kind = "csv"
    elif content_type.endswith("json"):
        kind = "json"
    else:
        raise Unreadable(f"content type '{content_type}' is neither CSV nor JSON")
    try:
        return kind, base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unreadable("BASE64 data that is not UTF-8 text") from None


def _csv_rows(text: str) -> list[Row]:
    # An empty field is a missing value, as in the baseline CSV pandas reads.
    return [[value if value != "" else None for value in line] for line in csv.reader(io.StringIO(text)) if line]


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unreadable(f"invalid JSON ({exc.msg})") from None


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _request_row(item: Any) -> Row:
    if isinstance(item, dict) and set(item) == {"features"} and isinstance(item["features"], list):
        return item["features"]
    return item if not _is_scalar(item) else [item]


def _response_row(item: Any) -> Row:
    return item if not _is_scalar(item) else [item]


def _rows(payload: dict[str, Any], keys: tuple[str, ...], row: Any, scalars_are_one_row: bool) -> list[Row]:
    kind, text = payload_text(payload)
    if kind == "csv":
        return _csv_rows(text)
    value = _json(text)
    if isinstance(value, dict) and (key := next((k for k in keys if k in value), None)):
        value = value[key]
        if isinstance(value, list):
            return [row(item) for item in value]
    elif isinstance(value, list):
        if scalars_are_one_row and all(_is_scalar(item) for item in value):
            return [value]
        return [row(item) for item in value]
    return [row(value)]


def request_rows(payload: dict[str, Any]) -> list[Row]:
    """A bare list of scalars is one request row (its features)."""
    return _rows(payload, _REQUEST_KEYS, _request_row, scalars_are_one_row=True)


def response_rows(payload: dict[str, Any]) -> list[Row]:
    """A bare list of scalars is one prediction per request row, not one row."""
    return _rows(payload, _RESPONSE_KEYS, _response_row, scalars_are_one_row=False)


def event_key(metadata: Any) -> str | None:
    """What a ground truth record names an answer by: the caller's inferenceId when the request carried
    one, else the eventId SageMaker generated (model-monitor-model-quality-merge)."""
    if not isinstance(metadata, dict):
        return None
    key = metadata.get("inferenceId") or metadata.get("eventId")
    return key if isinstance(key, str) and key else None


def _record_time(record: dict[str, Any]) -> datetime | None:
    text = record.get("eventMetadata", {}).get("inferenceTime")
    if not isinstance(text, str):
        return None
    try:
        return parse_time(text, "inferenceTime")
    except JobFailed:
        raise Unreadable("an inferenceTime that is not ISO 8601") from None


def _add(captured: Captured, line: str, window: Window) -> None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        captured.skipped["a line that is not JSON"] += 1
        return
    data = record.get("captureData") if isinstance(record, dict) else None
    if not isinstance(data, dict):
        captured.skipped["a line without captureData"] += 1
        return
    try:
        moment = _record_time(record)
    except Unreadable as exc:
        captured.skipped[str(exc)] += 1
        return
    if moment is not None and not window.contains(moment):
        return
    captured.records += 1
    for side, rows, read in (
        ("endpointInput", captured.requests, request_rows),
        ("endpointOutput", captured.responses, response_rows),
    ):
        if side in data:
            try:
                found = read(data[side])
            except Unreadable as exc:
                captured.skipped[f"{side}: {exc}"] += 1
                continue
            rows.extend(found)
            key = event_key(record.get("eventMetadata", {}))
            if side == "endpointOutput" and key:
                captured.answers.append((key, found))


def read(location: str, window: Window, storage: Storage) -> Captured:
    """The capture records of the window below a local directory or an S3 prefix."""
    captured = Captured()
    for name in storage.files(location, CAPTURE_SUFFIX):
        if not window.may_hold(name):
            continue
        text = storage.read(name).decode("utf-8", errors="replace")
        for line in text.splitlines():
            if line.strip():
                _add(captured, line, window)
    return captured
