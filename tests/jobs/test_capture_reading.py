"""SageMaker data capture files read back as rows: every encoding and payload shape, the window, and the
table the monitor compares with the baseline."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from datetime import UTC, datetime

import pytest
from conftest import FIXTURES

from mlstack.jobs import capture, tables
from mlstack.jobs.failures import JobFailed
from mlstack.jobs.s3 import Storage

HOUR = capture.Window(datetime(2026, 11, 22, 10, tzinfo=UTC), datetime(2026, 11, 22, 11, tzinfo=UTC))
REQUESTS = [
    ["1.5", "2", "a"],  # CSV
    ["2.5", "3", "b"],  # a CSV batch of two lines, the second with an empty field
    ["3.5", None, "c"],
    {"amount": 4.5, "count": 5, "merchant": "a"},  # {"instances": [{...}]}
    [5.5, 6, "b"],  # {"instances": [[...], [...]]}
    [6.5, 7, "c"],
    [7.5, 8, "a"],  # {"instances": [{"features": [...]}]}
    ["8.5", "9", "b"],  # BASE64 of text/csv
]
RESPONSES = [["0.12"], ["0.2"], ["0.3"], {"score": 0.4}, [0.5], [0.6], [0.7], [0.8], ["0.9"]]


def test_every_capture_format_is_read_and_only_the_window_kept():
    captured = capture.read(str(FIXTURES / "capture"), HOUR, Storage())
    # Seven records in 10:00-11:00; 09:59:59 and 11:00:00 are outside, one line is not JSON.
    assert captured.records == 7
    assert captured.requests == REQUESTS
    assert captured.responses == RESPONSES
    assert captured.skipped == Counter(
        {
            "a line that is not JSON": 1,
            "endpointInput: content type 'application/x-npy' is neither CSV nor JSON": 1,
        }
    )


def test_without_a_window_every_record_counts():
    captured = capture.read(str(FIXTURES / "capture"), capture.Window(), Storage())
    assert captured.records == 9
    assert captured.requests == [["98", "98", "y"], *REQUESTS, ["99", "99", "z"]]  # files in folder order


def test_hour_folders_far_from_the_window_are_not_read(tmp_path):
    root = tmp_path / "capture"
    shutil.copytree(FIXTURES / "capture", root)
    far = root / "ranker/primary/2026/11/20/03/old.jsonl"
    far.parent.mkdir(parents=True)
    far.write_text("this file is never opened\n")
    assert capture.read(str(root), HOUR, Storage()).skipped["a line that is not JSON"] == 1
    assert capture.read(str(root), capture.Window(), Storage()).skipped["a line that is not JSON"] == 2


@pytest.mark.parametrize(
    ("hour", "kept"),
    [("08", False), ("09", True), ("10", True), ("11", True), ("12", False)],
)
def test_hour_folders_within_an_hour_of_the_window_may_hold_its_records(hour, kept):
    assert HOUR.may_hold(f"s3://b/capture/ranker/ranker/primary/2026/11/22/{hour}/f.jsonl") is kept


def test_times_in_sagemakers_documented_form_are_read():
    assert capture.parse_time("2019-12-01T16: 20: 00Z", "end_time") == datetime(2019, 12, 1, 16, 20, tzinfo=UTC)


def test_a_bad_time_or_an_empty_window_is_refused():
    with pytest.raises(JobFailed, match="start time 'yesterday' is not an ISO 8601 time"):
        capture.parse_time("yesterday", "start time")
    with pytest.raises(JobFailed, match="the window is empty"):
        capture.Window(HOUR.end, HOUR.start)


def test_rows_become_a_table_named_and_typed_like_the_baseline():
    skipped: Counter[str] = Counter()
    rows = [*REQUESTS, ["9.5", "x", "c"], ["1", "2"]]
    table = tables.frame(rows, ["amount", "count", "merchant"], skipped, "requests")
    assert list(table.columns) == ["amount", "count", "merchant"]
    assert table["amount"].tolist() == [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5]
    assert table["amount"].dtype.kind == "f"
    # "x" is not a number: the column stays as captured, for type_error_rate to count.
    assert table["count"].tolist() == ["2", "3", None, 5, 6, 7, 8, "9", "x"]
    assert table["merchant"].tolist() == ["a", "b", "c", "a", "b", "c", "a", "b", "c"]
    assert skipped == Counter({"requests rows of 2 values where the baseline has 3 columns": 1})


def test_a_numeric_column_with_gaps_stays_numeric():
    table = tables.frame(REQUESTS[:3], ["amount", "count", "merchant"], Counter(), "requests")
    assert table["count"].dtype.kind == "f"
    assert table["count"].iloc[:2].tolist() == [2.0, 3.0] and math.isnan(table["count"].iloc[2])


def test_the_baseline_is_read_from_csv_or_parquet(tmp_path):
    csv = tables.read_baseline(str(FIXTURES / "baseline.csv"), Storage())
    assert list(csv.columns) == ["amount", "count", "merchant"] and len(csv) == 8
    csv.to_parquet(tmp_path / "baseline.parquet")
    parquet = tables.read_baseline(str(tmp_path / "baseline.parquet"), Storage())
    assert parquet.equals(csv)


def test_a_missing_or_empty_baseline_is_refused(tmp_path):
    with pytest.raises(JobFailed, match=r"nowhere\.csv does not exist"):
        tables.read_baseline(str(tmp_path / "nowhere.csv"), Storage())
    (tmp_path / "empty.csv").write_text("amount,count\n")
    with pytest.raises(JobFailed, match="has no rows"):
        tables.read_baseline(str(tmp_path / "empty.csv"), Storage())


def _json_payload(value: object) -> dict:
    return {"observedContentType": "application/json", "data": json.dumps(value), "encoding": "JSON"}


@pytest.mark.parametrize(
    ("request_body", "rows"),
    [
        ([1.5, 2, "a"], [[1.5, 2, "a"]]),  # a bare list of features is one row
        ([[1.5, 2, "a"], [2.5, 3, "b"]], [[1.5, 2, "a"], [2.5, 3, "b"]]),
        ({"amount": 1.5}, [{"amount": 1.5}]),
        ({"inputs": [{"amount": 1.5}, {"amount": 2.5}]}, [{"amount": 1.5}, {"amount": 2.5}]),
        ({"instances": [1.5, 2.5]}, [[1.5], [2.5]]),  # two instances of one feature
        (3.5, [[3.5]]),
    ],
)
def test_json_request_shapes(request_body, rows):
    assert capture.request_rows(_json_payload(request_body)) == rows


@pytest.mark.parametrize(
    ("response_body", "rows"),
    [
        ([0.2, 0.7], [[0.2], [0.7]]),  # one prediction per request row
        ([[0.1, 0.9], [0.8, 0.2]], [[0.1, 0.9], [0.8, 0.2]]),
        ({"outputs": [{"score": 0.2}]}, [{"score": 0.2}]),
        ({"predictions": 0.3}, [[0.3]]),
        ({"label": 1, "score": 0.9}, [{"label": 1, "score": 0.9}]),
    ],
)
def test_json_response_shapes(response_body, rows):
    assert capture.response_rows(_json_payload(response_body)) == rows
