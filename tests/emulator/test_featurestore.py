"""The feature store: point-in-time training sets checked against hand-computed values and a
brute-force reference, materialisation and online lookups over HTTP and the Python API."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlstack.emulator.errors import BadRequest, NotFound
from mlstack.emulator.features import FeatureStore, View
from mlstack.emulator.features.online import OnlineStore
from tests.emulator.conftest import cli, write_spec

DAY = 86400


def _view(name: str, source: Path, key: str, dtype: str, features: list[str], ttl: int | None, created: str | None):
    return View.from_config(
        {
            "name": name,
            "entity": key,
            "join_keys": [{"name": key, "dtype": dtype}],
            "source": {"uri": str(source), "timestamp_field": "ts", "created_timestamp_field": created},
            "features": [{"name": f, "dtype": "float64"} for f in features],
            "ttl": ttl,
        }
    )


def _store(tmp_path: Path, *views: View, fast: bool = True) -> FeatureStore:
    store = FeatureStore(OnlineStore(tmp_path / "online.db"), lambda: {v.name: v for v in views})
    store.offline.fast = fast
    return store


# Point-in-time joins run through NumPy for a single integer key and DuckDB otherwise; both must agree.
BOTH_PATHS = pytest.mark.parametrize("fast", [True, False], ids=["numpy", "duckdb"])


def _values(column) -> list:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in column]


@pytest.fixture(params=[True, False], ids=["numpy", "duckdb"])
def hand_made(tmp_path: Path, request: pytest.FixtureRequest) -> FeatureStore:
    ts = pd.to_datetime
    pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 1],
            "ts": ts(
                ["2024-01-01 00:00", "2024-01-03 00:00", "2024-01-03 00:00", "2024-01-02 12:00", "2024-01-10 00:00"]
            ),
            "created": ts(
                ["2024-01-01 00:00", "2024-01-03 00:00", "2024-01-04 00:00", "2024-01-02 12:00", "2024-01-10 00:00"]
            ),
            "spend": [10.0, 30.0, 31.0, 20.0, 100.0],
        }
    ).to_parquet(tmp_path / "customers.parquet")
    (tmp_path / "merchants.csv").write_text(
        "merchant_id,ts,risk\na,2023-12-01 00:00:00,0.5\na,2024-01-05 00:00:00,0.9\nb,2024-01-02 00:00:00,0.1\n"
    )
    customers = _view(
        "customer-stats", tmp_path / "customers.parquet", "customer_id", "int64", ["spend"], 2 * DAY, "created"
    )
    merchants = _view("merchant-risk", tmp_path / "merchants.csv", "merchant_id", "string", ["risk"], None, None)
    return _store(tmp_path, customers, merchants, fast=request.param)


def test_point_in_time_join_matches_hand_computed_values(hand_made):
    entities = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2, 3, 2],
            "merchant_id": ["a", "a", "b", "a", "b", "c", "a"],
            "event_timestamp": pd.to_datetime(
                [
                    "2024-01-01 00:00",  # exactly at the first row: included
                    "2024-01-02 23:59",  # one day 23:59 old: within the 2-day TTL
                    "2024-01-03 00:00",  # two rows at this time: the later-created correction wins
                    "2024-01-06 00:00",  # newest customer row is 3 days old: past the TTL
                    "2024-01-02 11:59",  # customer 2's only row is 1 minute in the future
                    "2024-01-05 00:00",  # unknown keys
                    "2024-01-04 12:00",  # exactly 2 days old: still fresh; merchant's 01-05 row is future
                ]
            ),
            "label": [0, 1, 0, 1, 0, 1, 0],
        }
    )
    table = hand_made.get_historical_features(entities, ["customer-stats:spend", "merchant-risk"]).to_pandas()
    assert list(table.columns) == ["customer_id", "merchant_id", "event_timestamp", "label", "spend", "risk"]
    assert table["label"].tolist() == [0, 1, 0, 1, 0, 1, 0]  # input order kept
    assert _values(table["spend"]) == [10.0, 10.0, 31.0, None, None, None, 20.0]
    assert _values(table["risk"]) == [0.5, 0.5, 0.1, 0.9, 0.1, None, 0.5]


def test_feature_names_shared_by_two_views_are_prefixed(tmp_path):
    for name in ("a", "b"):
        pd.DataFrame(
            {"k": [1], "ts": pd.to_datetime(["2024-01-01"]), "score": [1.0 if name == "a" else 2.0]}
        ).to_parquet(tmp_path / f"{name}.parquet")
    store = _store(tmp_path, *(_view(n, tmp_path / f"{n}.parquet", "k", "int64", ["score"], None, None) for n in "ab"))
    rows = pd.DataFrame({"k": [1], "event_timestamp": pd.to_datetime(["2024-02-01"])})
    table = store.get_historical_features(rows, ["a", "b"]).to_pandas()
    assert table[["a__score", "b__score"]].values.tolist() == [[1.0, 2.0]]
    with pytest.raises(BadRequest, match="has no feature 'scor'"):
        store.get_historical_features(rows, ["a:scor"])
    with pytest.raises(BadRequest, match="need a 'event_timestamp' column"):
        store.get_historical_features(pd.DataFrame({"k": [1]}), ["a"])


def _reference(source: pd.DataFrame, entities: pd.DataFrame, ttl: pd.Timedelta) -> list:
    """Row by row: the latest source row at or before the entity time (ties: latest created),
    dropped when older than the TTL."""
    out = []
    for _, row in entities.iterrows():
        past = source[(source["k"] == row["k"]) & (source["ts"] <= row["event_timestamp"])]
        if past.empty:
            out.append(None)
            continue
        best = past.sort_values(["ts", "created"]).iloc[-1]
        out.append(best["f"] if best["ts"] >= row["event_timestamp"] - ttl else None)
    return out


@BOTH_PATHS
def test_point_in_time_join_matches_a_brute_force_reference(tmp_path, fast):
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2024-01-01")
    source = pd.DataFrame(
        {
            "k": rng.integers(0, 20, 400),
            "ts": start + pd.to_timedelta(rng.integers(0, 30 * 24, 400), unit="h"),
            "created": start + pd.to_timedelta(rng.integers(0, 10**6, 400), unit="s"),
            "f": rng.normal(size=400),
        }
    )
    source.to_parquet(tmp_path / "s.parquet")
    entities = pd.DataFrame(
        {
            "k": rng.integers(0, 22, 300),
            "event_timestamp": start + pd.to_timedelta(rng.integers(0, 32 * 24, 300), unit="h"),
        }
    )
    store = _store(tmp_path, _view("v", tmp_path / "s.parquet", "k", "int64", ["f"], 3 * DAY, "created"), fast=fast)
    got = _values(store.get_historical_features(entities, ["v:f"]).to_pandas()["f"])
    assert got == _reference(source, entities, pd.Timedelta(days=3))
    assert sum(v is None for v in got) not in (0, len(got))  # the data exercises both outcomes


@pytest.fixture
def online_spec(tmp_path: Path) -> Path:
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3],
            "ts": [now - pd.Timedelta(hours=5), now - pd.Timedelta(hours=1), now - pd.Timedelta(days=10), now],
            "spend": [1.0, 2.0, 3.0, 4.0],
            "visits": [10, 20, 30, 40],
        }
    ).to_parquet(tmp_path / "stats.parquet")
    pd.DataFrame({"customer_id": [1, 2], "event_timestamp": [now, now], "churned": [0, 1]}).to_parquet(
        tmp_path / "labels.parquet"
    )
    return write_spec(
        tmp_path,
        """
        apiVersion: mlstack/v1
        name: features
        owner: tests@example.com
        feature_store:
          entities:
            - name: customer
              join_keys: [{name: customer_id, dtype: int64}]
          views:
            - name: stats
              entity: customer
              ttl: 1d
              sync_schedule: "*/10 * * * *"
              source: {uri: stats.parquet, timestamp_field: ts}
              features:
                - {name: spend, dtype: float64}
                - {name: visits, dtype: int64}
        pipelines:
          - name: p
            data: labels.parquet
            feature_views: [stats]
            steps:
              - name: look
                kind: processing
                entrypoint: {steps}/record.py
        """,
    )


def test_materialize_then_online_lookups_over_http_and_python(emulator, online_spec):
    assert emulator.apply(online_spec)["status"] == "succeeded"
    op = emulator.client.post("/v1/features/stats/materialize", {})
    done = emulator.client.follow(op["id"], lambda event: None)
    result = done["result"]
    # Customers 1 and 3 changed within the 1-day TTL; customer 2's row is 10 days old.
    assert {k: result[k] for k in ("view", "rows", "online", "fresh", "ttl")} == {
        "view": "stats",
        "rows": 3,
        "online": 3,
        "fresh": 2,
        "ttl": 86400,
    }
    (job,) = emulator.client.get("/v1/status")["schedules"]
    assert job["job"] == "feature_view/stats" and job["next"] % 600 == 0
    entities = {"entities": [{"customer_id": 1}, {"customer_id": 2}, {"customer_id": 9}]}
    values = emulator.client.post("/v1/features/stats/online", entities)["values"]
    # Customer 1: the newest of its rows; 2: older than the 1-day TTL; 9: unknown.
    assert values == [
        {"spend": 2.0, "visits": 20},
        {"spend": None, "visits": None},
        {"spend": None, "visits": None},
    ]
    pushed = emulator.client.post(
        "/v1/features/stats/push",
        {
            "rows": [
                {"customer_id": 1, "spend": 7.5, "visits": 21},
                {"customer_id": 3, "spend": 0.0, "visits": 0, "event_timestamp": "2020-01-01T00:00:00"},
            ]
        },
    )
    assert pushed == {"written": 2}
    store = FeatureStore.open(emulator.state.root)  # the Python API, beside the running server
    now = store.get_online_features("stats", [{"customer_id": 1}, {"customer_id": 3}], ["spend"])
    assert now == [{"spend": 7.5}, {"spend": 4.0}]  # an older pushed value never replaces a newer one
    with pytest.raises(BadRequest, match="lacks join key"):
        store.get_online_features("stats", [{"id": 1}])
    store.close()


def test_training_sets_over_http_and_in_pipelines(emulator, online_spec):
    assert emulator.apply(online_spec)["status"] == "succeeded"
    labels = online_spec.parent / "labels.parquet"
    made = emulator.client.post("/v1/features/training-set", {"entities": str(labels), "features": ["stats:spend"]})
    assert made["rows"] == 2
    table = pq.read_table(made["path"]).to_pandas()
    assert _values(table["spend"]) == [2.0, None]

    started = emulator.client.post("/v1/pipelines/p/runs", {})
    emulator.client.follow(started["operation"]["id"], lambda event: None)
    run = emulator.client.get(f"/v1/runs/{started['run_id']}")
    assert run["status"] == "succeeded", run["message"]
    seen = json.loads((emulator.state.runs / run["id"] / "look" / "output" / "seen.json").read_text())
    training = pq.read_table(seen["env"]["MLSTACK_DATA"]).to_pandas()
    assert list(training.columns) == ["customer_id", "event_timestamp", "churned", "spend", "visits"]
    assert _values(training["visits"]) == [20, None]
    assert len(run["lineage"]["training_set_sha256"]) == 64


def test_python_api_needs_a_state_directory(tmp_path):
    with pytest.raises(NotFound, match="not an mlstack state directory"):
        FeatureStore.open(tmp_path / "nowhere")


def test_materialize_writes_the_latest_value_of_every_entity(tmp_path):
    now = pd.Timestamp.now()
    keys = np.arange(1000)
    pd.DataFrame(
        {
            "k": np.concatenate([keys, keys]),
            "ts": [now] * 1000 + [now - pd.Timedelta(hours=1)] * 1000,
            "f": np.concatenate([keys * 1.0, keys * -1.0]),
        }
    ).to_parquet(tmp_path / "x.parquet")
    store = _store(tmp_path, _view("x", tmp_path / "x.parquet", "k", "int64", ["f"], None, None))
    assert store.materialize("x") == 1000
    assert store.get_online_features("x", [{"k": 999}, {"k": 5}]) == [{"f": 999.0}, {"f": 5.0}]
    assert store.online.count("x") == 1000


def test_a_batch_lookup_answers_each_entity_in_order_across_query_chunks(tmp_path):
    now = pd.Timestamp.now()
    keys = np.arange(1200)
    pd.DataFrame({"k": keys, "ts": [now] * 1200, "f": keys * 2.0}).to_parquet(tmp_path / "x.parquet")
    store = _store(tmp_path, _view("x", tmp_path / "x.parquet", "k", "int64", ["f"], None, None))
    store.materialize("x")
    # more keys than one IN (...) query takes, repeated and missing ones among them, in no order
    asked = [int(k) for k in np.random.default_rng(3).permutation(1500)] + [7, 7, -1]
    answers = store.get_online_features("x", [{"k": k} for k in asked])
    assert answers == [{"f": k * 2.0 if 0 <= k < 1200 else None} for k in asked]
    with pytest.raises(BadRequest, match="lacks join key 'k'"):
        store.get_online_features("x", [{"k": 1}, {"other": 2}])


def test_the_numpy_path_covers_integer_keys_and_leaves_the_rest_to_duckdb():
    from mlstack.emulator.features import asof

    times = pa.chunked_array([pa.array([1_000_000, 2_000_000], pa.timestamp("us"))])
    ints = pa.chunked_array([pa.array([1, 2])])
    strings = pa.chunked_array([pa.array(["a", "b"])])
    assert asof.positions(ints, times, ints, times, None, None).tolist() == [0, 1]
    assert asof.positions(strings, times, strings, times, None, None) is None
    with_null = pa.chunked_array([pa.array([1, None])])
    assert asof.positions(with_null, times, ints, times, None, None) is None


def test_gather_lays_misses_over_any_column_type():
    from mlstack.emulator.features.offline import gather

    positions = np.array([2, -1, 0, 2])
    assert gather(pa.chunked_array([[1.5, 2.5, 3.5]]), positions).to_pylist() == [3.5, None, 1.5, 3.5]
    assert gather(pa.chunked_array([["a"], ["b", "c"]]), positions).to_pylist() == ["c", None, "a", "c"]
    with_nulls = pa.chunked_array([[1, None, 3]])  # the source's own nulls stay null
    assert gather(with_nulls, np.array([1, -1, 2])).to_pylist() == [None, None, 3]
    assert gather(pa.chunked_array([[True, False]]), np.array([1, 0])).to_pylist() == [False, True]


def test_materialize_and_get_through_the_cli(emulator, online_spec):
    assert emulator.apply(online_spec)["status"] == "succeeded"
    done = cli("features", "materialize", "stats", "-f", str(online_spec))
    assert done.returncode == 0, done.stderr
    assert "wrote 3 rows of stats; 2 of 3 online rows are within the ttl (86400s) and served" in done.stdout
    assert "lookups return nulls for the other 1" in done.stdout
    got = cli(
        "features",
        "get",
        "stats",
        "--entity",
        "customer_id=1",
        "--entity",
        "customer_id=2",
        "-f",
        str(online_spec),
        "--json",
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == [
        {"customer_id": "1", "spend": 2.0, "visits": 20},
        {"customer_id": "2", "spend": None, "visits": None},
    ]
    table = cli("features", "get", "stats", "--entity", "customer_id=1", "--feature", "visits", "-f", str(online_spec))
    assert table.returncode == 0, table.stderr
    assert table.stdout.split() == ["customer_id", "visits", "1", "20"]
    wrong = cli("features", "get", "stats", "--entity", "id=1", "-f", str(online_spec))
    assert wrong.returncode == 1 and "lacks join key" in wrong.stderr and "Traceback" not in wrong.stderr
    unknown = cli("features", "get", "stat", "--entity", "customer_id=1", "-f", str(online_spec))
    assert unknown.returncode == 1 and "did you mean 'stats'" in unknown.stderr
    bad = cli("features", "get", "stats", "--entity", "customer_id", "-f", str(online_spec))
    assert bad.returncode == 1 and "--entity takes key=value" in bad.stderr
