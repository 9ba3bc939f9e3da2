"""Feature store speed: mlstack's local emulator against Feast 0.67's local provider, same data, same run.

    python3 benchmarks/bench_featurestore.py [--entities 100000] [--lookups 2000] [--batches 500] [--rounds 5]

Generates 100,000 entities x 10 float features as Parquet (one row each, event times within the
last 6 days, so every online value is fresh: Feast's online reads do not apply the TTL, mlstack's
do), and 100,000 entity rows at random times from 6 days ago to 8 days ahead for the point-in-time
join, so that some rows precede their entity's features and some outlive the 7-day TTL.

Each store materialises into its SQLite online store (CPU seconds, target 30x). Then, in `--rounds`
alternating rounds (so a busy machine slows both alike), each looks up 1 entity x 10 features for
its share of `--lookups` random keys, then 100 entities x 10 features per call for its share of
`--batches` (the same keys for both; p50 and p99 of the Python API call's wall time, targets 10x
and 25x on p50), and builds the point-in-time training set as a pandas DataFrame (best round,
target 10x). Both must return the same values; the ratios are printed at the end, and the exit
status says whether every target is met.

Feast is a baseline, not a dependency: it runs in its own virtualenv under .benchmarks-venv/feast
(made, and feast==0.67.0 pip-installed, when missing), as a subprocess fed commands on stdin.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FEAST_VENV = ROOT / ".benchmarks-venv" / "feast"
FEAST_VERSION = "0.67.0"
FEATURES = [f"f{i}" for i in range(10)]
TTL_DAYS = 7
TARGET = 10.0  # single lookups and the point-in-time join
BATCH = 100
BATCH_TARGET = 25.0
MATERIALIZE_TARGET = 30.0

FEAST_HALF = r'''"""The Feast half of benchmarks/bench_featurestore.py, run in Feast's own virtualenv.

Sets up a local-provider repository (SQLite online store, file offline store) over the generated
data, materialises, then answers commands read as JSON lines on stdin: "lookup" (time each online
lookup of `batch` keys x 10 features) and "pit" (time the point-in-time training set), one JSON line
each."""

import json
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

import pandas as pd

warnings.filterwarnings("ignore")
answers, sys.stdout = sys.stdout, sys.stderr  # Feast prints progress; answers get the real stdout
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType  # noqa: E402
from feast.types import Float64  # noqa: E402

data, repo, ttl_days = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
features = [f"f{i}" for i in range(10)]
refs = [f"bench:{f}" for f in features]
repo.mkdir(parents=True, exist_ok=True)
(repo / "feature_store.yaml").write_text(
    f"project: bench\nprovider: local\nregistry: {repo / 'registry.db'}\n"
    f"online_store:\n  type: sqlite\n  path: {repo / 'online.db'}\n"
    "offline_store:\n  type: file\nentity_key_serialization_version: 3\n"
)
entity = Entity(name="entity", join_keys=["entity_id"], value_type=ValueType.INT64)
source = FileSource(path=str(data / "features.parquet"), timestamp_field="event_timestamp")
view = FeatureView(
    name="bench",
    entities=[entity],
    ttl=timedelta(days=ttl_days),
    schema=[Field(name=f, dtype=Float64) for f in features],
    source=source,
    online=True,
)
store = FeatureStore(repo_path=str(repo))
store.apply([entity, view])
start = time.process_time()
store.materialize(pd.Timestamp("2000-01-01", tz="UTC").to_pydatetime(), pd.Timestamp.now(tz="UTC").to_pydatetime())
print(json.dumps({"materialize": time.process_time() - start}), file=answers, flush=True)
entities = pd.read_parquet(data / "entities.parquet")

for line in sys.stdin:
    command = json.loads(line)
    if command["do"] == "lookup":
        times, values, keys, size = [], {}, command["keys"], command["batch"]
        for first in range(0, len(keys), size):
            chunk = keys[first : first + size]
            start = time.perf_counter()
            rows = [{"entity_id": key} for key in chunk]
            answer = store.get_online_features(features=refs, entity_rows=rows).to_dict()
            times.append(time.perf_counter() - start)
            for i, key in enumerate(chunk):
                values[str(key)] = [answer[f][i] for f in features]
        print(json.dumps({"times": times, "values": values}), file=answers, flush=True)
    elif command["do"] == "pit":
        start = time.perf_counter()
        frame = store.get_historical_features(entity_df=entities, features=refs).to_df()
        elapsed = time.perf_counter() - start
        frame.sort_values("row")[["row", *features]].to_parquet(repo / "training.parquet")
        print(json.dumps({"seconds": elapsed}), file=answers, flush=True)
'''


def feast_python() -> Path:
    python = FEAST_VENV / "bin" / "python"
    check = [str(python), "-c", f"import feast, sys; sys.exit(feast.__version__ != '{FEAST_VERSION}')"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"installing feast=={FEAST_VERSION} into {FEAST_VENV} (once)", flush=True)
    venv.create(FEAST_VENV, with_pip=True, clear=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"feast=={FEAST_VERSION}"], check=True)
    return python


def generate(folder: Path, entities: int, lookups: int) -> list[int]:
    rng = np.random.default_rng(20261122)
    now = pd.Timestamp.now(tz="UTC").floor("s")
    frame = pd.DataFrame(
        {
            "entity_id": np.arange(entities, dtype=np.int64),
            "event_timestamp": now - pd.to_timedelta(rng.integers(0, 6 * 86400, entities), unit="s"),
        }
    )
    for name in FEATURES:
        frame[name] = rng.normal(size=entities)
    frame.to_parquet(folder / "features.parquet", index=False)
    rows = pd.DataFrame(
        {
            "row": np.arange(entities, dtype=np.int64),
            "entity_id": rng.integers(0, entities, entities),
            "event_timestamp": now + pd.to_timedelta(rng.integers(-6 * 86400, 8 * 86400, entities), unit="s"),
        }
    )
    rows.to_parquet(folder / "entities.parquet", index=False)
    return [int(k) for k in rng.integers(0, entities, lookups)]


class Feast:
    """The Feast half, alive for the whole run in its own virtualenv."""

    def __init__(self, folder: Path) -> None:
        script = folder / "feast_half.py"
        script.write_text(FEAST_HALF)
        self.proc = subprocess.Popen(
            [str(feast_python()), str(script), str(folder), str(folder / "feast-repo"), str(TTL_DAYS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.materialize = self._answer()["materialize"]

    def _answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"the Feast half stopped (exit {self.proc.wait()}); its errors are above")
        return json.loads(line)

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


class Mlstack:
    def __init__(self, folder: Path) -> None:
        from mlstack.emulator.features import FeatureStore, View
        from mlstack.emulator.features.online import OnlineStore

        view = View.from_config(
            {
                "name": "bench",
                "entity": "entity",
                "join_keys": [{"name": "entity_id", "dtype": "int64"}],
                "source": {"uri": str(folder / "features.parquet"), "timestamp_field": "event_timestamp"},
                "features": [{"name": f, "dtype": "float64"} for f in FEATURES],
                "ttl": TTL_DAYS * 86400,
            }
        )
        self.folder = folder
        self.store = FeatureStore(OnlineStore(folder / "mlstack-online.db"), lambda: {"bench": view})
        start = time.process_time()
        self.store.materialize("bench")
        self.materialize = time.process_time() - start
        self.entities = pd.read_parquet(folder / "entities.parquet")

    def lookup(self, keys: list[int], batch: int) -> dict[str, Any]:
        times, values = [], {}
        for first in range(0, len(keys), batch):
            chunk = keys[first : first + batch]
            start = time.perf_counter()
            answers = self.store.get_online_features("bench", [{"entity_id": key} for key in chunk])
            times.append(time.perf_counter() - start)
            for key, answer in zip(chunk, answers, strict=True):
                values[str(key)] = [answer[f] for f in FEATURES]
        return {"times": times, "values": values}

    def pit(self) -> dict[str, Any]:
        start = time.perf_counter()
        frame = self.store.get_historical_features(self.entities, ["bench"]).to_pandas()
        elapsed = time.perf_counter() - start
        frame[["row", *FEATURES]].to_parquet(self.folder / "mlstack-training.parquet")
        return {"seconds": elapsed}


def check_same(folder: Path, theirs: dict[str, list], ours: dict[str, list]) -> None:
    """Both stores must answer alike, or the timings compare different work."""
    for key, values in theirs.items():
        for a, b in zip(values, ours[key], strict=True):
            if not ((a is None and b is None) or (a is not None and b is not None and math.isclose(a, b))):
                sys.exit(f"online values differ for entity {key}: feast {values} vs mlstack {ours[key]}")
    feast = pd.read_parquet(folder / "feast-repo" / "training.parquet").set_index("row")
    mine = pd.read_parquet(folder / "mlstack-training.parquet").set_index("row")
    # Feast's file offline store leaves out entity rows that get no feature value; mlstack keeps
    # every row, with nulls. So: equal values on Feast's rows, and only nulls on the others.
    if not np.allclose(
        feast[FEATURES].to_numpy(float), mine.loc[feast.index, FEATURES].to_numpy(float), equal_nan=True
    ):
        sys.exit("the point-in-time training sets differ between Feast and mlstack")
    if mine.drop(index=feast.index)[FEATURES].notna().to_numpy().any():
        sys.exit("mlstack found feature values for entity rows where Feast found none")


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=500, help=f"lookups of {BATCH} keys each")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-featurestore-") as tmp:
        folder = Path(tmp)
        keys = generate(folder, args.entities, args.lookups)
        batch_keys = [int(k) for k in np.random.default_rng(9).integers(0, args.entities, args.batches * BATCH)]
        feast, ours = Feast(folder), Mlstack(folder)
        times: dict[tuple[str, int], list[float]] = {(n, b): [] for n in ("feast", "mlstack") for b in (1, BATCH)}
        pits: dict[str, list[float]] = {"feast": [], "mlstack": []}
        values: dict[str, dict[str, list]] = {"feast": {}, "mlstack": {}}
        for round_ in range(args.rounds):
            for size, asked in ((1, keys), (BATCH, batch_keys)):
                share = math.ceil(len(asked) / args.rounds / size) * size
                part = asked[round_ * share : (round_ + 1) * share]
                for name, answer in (
                    ("feast", feast.ask(do="lookup", keys=part, batch=size)),
                    ("mlstack", ours.lookup(part, size)),
                ):
                    times[name, size] += answer["times"]
                    values[name].update(answer["values"])
            pits["feast"].append(feast.ask(do="pit")["seconds"])
            pits["mlstack"].append(ours.pit()["seconds"])
        feast.close()
        check_same(folder, values["feast"], values["mlstack"])
    pit = {name: min(samples) for name, samples in pits.items()}
    print(
        f"data: {args.entities:,} entities x {len(FEATURES)} float features; TTL {TTL_DAYS} days; {args.rounds} rounds"
    )
    print(f"{'':44}{'Feast 0.67':>12}{'mlstack':>12}{'ratio':>9}{'target':>9}")
    ratios = []

    def row(label: str, theirs: float, ours_: float, target: float | None) -> None:
        ratio = theirs / ours_
        goal = "" if target is None else f"{target:.0f}x {'ok' if ratio >= target else 'MISSED'}"
        if target is not None:
            ratios.append(ratio >= target)
        print(f"{label:44}{theirs:>12.3f}{ours_:>12.3f}{ratio:>8.1f}x{goal:>9}")

    for size, target in ((1, TARGET), (BATCH, BATCH_TARGET)):
        feast_times, our_times = times["feast", size], times["mlstack", size]
        label = f"online lookup {size} x 10, {len(our_times)} calls"
        row(f"{label}, p50 (ms)", percentile(feast_times, 50) * 1e3, percentile(our_times, 50) * 1e3, target)
        row(f"{label}, p99 (ms)", percentile(feast_times, 99) * 1e3, percentile(our_times, 99) * 1e3, None)
    row(f"point-in-time join, {args.entities:,} rows (s)", pit["feast"], pit["mlstack"], TARGET)
    row("materialize, CPU (s)", feast.materialize, ours.materialize, MATERIALIZE_TARGET)
    met = all(ratios)
    print(f"targets (p50 ratios, the join, materialize): {'met' if met else 'NOT met'}")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
