"""Drift over a wide table: mlstack.stats against Evidently 0.7.23 and a plain numpy/scipy reference.

    python3 benchmarks/bench_drift.py [--rows 1000000] [--features 20] [--repeat 3] [--no-evidently]

Reference and current are seeded normal samples, the current one shifted and stretched by a
different amount per column (some columns not at all), so every metric sees both calm and drifted
columns. For PSI, Jensen-Shannon, Wasserstein and KS it times:

* mlstack: `drift_table(reference, current, [metric])` on pandas DataFrames (median of --repeat);
* Evidently 0.7.23, its fastest API: a Report of one ValueDrift per column, run once, in its own
  virtualenv under .benchmarks-venv/ (created and pip-installed here when missing, with pandas<3,
  which that release needs), fed the same
  arrays through .npy files; Evidently is a baseline, never a dependency of mlstack;
* the plain numpy/scipy computation, column by column in this process: np.histogram_bin_edges
  ("sturges") on the concatenation, np.histogram, scipy's jensenshannon, wasserstein_distance and
  ks_2samp.

It prints the times, mlstack's speed-up over Evidently (target: at least 20x) and the largest
absolute difference from the plain reference (target: at most 1e-9, on identical bins) and from
Evidently. Targets are from issue 8."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlstack.stats.drift import drift_table  # noqa: E402

VENV = ROOT / ".benchmarks-venv"
EVIDENTLY = "0.7.23"
# Evidently 0.7.23 imports a pandas-2-only internal (pandas.core.dtypes.common.infer_dtype_from_object).
EVIDENTLY_REQUIREMENTS = [f"evidently=={EVIDENTLY}", "pandas<3"]
# mlstack's metric name -> Evidently's method name
METRICS = {"psi": "psi", "jensen_shannon": "jensenshannon", "wasserstein": "wasserstein", "ks": "ks"}
SPEEDUP_TARGET = 20.0
TOLERANCE = 1e-9

EVIDENTLY_RUNNER = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    reference, current = np.load(sys.argv[1]), np.load(sys.argv[2])
    methods = sys.argv[3].split(",")
    columns = [f"f{i}" for i in range(reference.shape[1])]
    definition = DataDefinition(numerical_columns=columns)

    def dataset(values):
        return Dataset.from_pandas(pd.DataFrame(values, columns=columns), data_definition=definition)

    def run(method, ref, cur):
        report = Report([ValueDrift(column=c, method=method) for c in columns])
        started = time.perf_counter()
        snapshot = report.run(cur, ref)
        seconds = time.perf_counter() - started
        return seconds, [float(m["value"]) for m in snapshot.dict()["metrics"]]

    # A first run on a few rows keeps imports and one-off set-up out of the timings.
    small_ref, small_cur = dataset(reference[:1000]), dataset(current[:1000])
    for method in methods:
        run(method, small_ref, small_cur)
    ref, cur = dataset(reference), dataset(current)
    out = {}
    for method in methods:
        seconds, values = run(method, ref, cur)
        out[method] = {"seconds": seconds, "values": values}
    print(json.dumps(out))
    """
)


def make_data(rows: int, features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    reference = rng.normal(size=(rows, features))
    shift = np.where(np.arange(features) % 4 == 0, 0.0, 0.004 * np.arange(features))
    scale = 1.0 + 0.002 * (np.arange(features) % 3)
    current = rng.normal(size=(rows, features)) * scale + shift
    return reference, current


def plain_reference(metric: str, reference: np.ndarray, current: np.ndarray) -> tuple[list[float], list]:
    """Column by column with numpy and scipy as their documentation shows; returns values and bins."""
    values, bins = [], []
    for j in range(reference.shape[1]):
        r, c = reference[:, j], current[:, j]
        if metric in ("psi", "jensen_shannon"):
            assert np.unique(r[:100]).size > 20  # numeric columns with many values: Sturges bins
            edges = np.histogram_bin_edges(np.concatenate([r, c]), bins="sturges")
            p, q = np.histogram(r, edges)[0] / r.size, np.histogram(c, edges)[0] / c.size
            bins.append(edges)
            if metric == "psi":
                p, q = evidently_fill(p), evidently_fill(q)
                values.append(float(np.sum((p - q) * np.log(p / q))))
            else:
                values.append(float(jensenshannon(p, q)))
        elif metric == "wasserstein":
            values.append(float(stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)))
        else:
            values.append(float(stats.ks_2samp(r, c).pvalue))
    return values, bins


def evidently_fill(shares: np.ndarray) -> np.ndarray:
    out = shares.copy()
    smallest = shares[shares > 0].min()
    out[out == 0] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
    return out


def timed(function: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def evidently_python() -> Path:
    """The benchmark venv's python, with Evidently installed (creating both when missing)."""
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV.relative_to(ROOT)} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = subprocess.run(
        [str(python), "-c", "import evidently; print(evidently.__version__)"], capture_output=True, text=True
    )
    if probe.returncode != 0 or probe.stdout.strip() != EVIDENTLY:
        print(f"installing evidently=={EVIDENTLY} into {VENV.relative_to(ROOT)} ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *EVIDENTLY_REQUIREMENTS], check=True)
    return python


def run_evidently(reference: np.ndarray, current: np.ndarray) -> dict[str, dict]:
    python = evidently_python()
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / "reference.npy", Path(tmp) / "current.npy"]
        np.save(paths[0], reference)
        np.save(paths[1], current)
        runner = Path(tmp) / "run_evidently.py"
        runner.write_text(EVIDENTLY_RUNNER)
        print("running Evidently (one ValueDrift per column, one report per metric) ...", flush=True)
        done = subprocess.run(
            [str(python), str(runner), *map(str, paths), ",".join(METRICS.values())],
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise SystemExit(f"Evidently run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="mlstack runs per metric (median taken)")
    parser.add_argument("--no-evidently", action="store_true", help="skip the Evidently baseline")
    args = parser.parse_args()

    reference, current = make_data(args.rows, args.features, args.seed)
    columns = [f"f{i}" for i in range(args.features)]
    ref_frame, cur_frame = pd.DataFrame(reference, columns=columns), pd.DataFrame(current, columns=columns)
    print(f"{args.rows:,} rows x {args.features} numeric features, seed {args.seed}", flush=True)

    drift_table(ref_frame.head(1000), cur_frame.head(1000), list(METRICS))  # imports, first calls
    ours: dict[str, tuple[float, list]] = {}
    for metric in METRICS:
        runs = [timed(lambda m=metric: drift_table(ref_frame, cur_frame, [m])) for _ in range(args.repeat)]
        ours[metric] = (statistics.median(t for t, _ in runs), runs[-1][1])
    all_four, _ = timed(lambda: drift_table(ref_frame, cur_frame, list(METRICS)))

    plain: dict[str, tuple[float, tuple[list[float], list]]] = {}
    for metric in METRICS:
        print(f"plain numpy/scipy reference: {metric} ...", flush=True)
        plain[metric] = timed(lambda m=metric: plain_reference(m, reference, current))

    evidently = None if args.no_evidently else run_evidently(reference, current)

    header = f"{'metric':<15}{'mlstack s':>11}{'plain s':>10}{'Evidently s':>13}{'speed-up':>10}"
    header += f"{'max |d| plain':>15}{'max |d| Evidently':>19}{'same bins':>11}"
    print("\n" + header)
    failures = []
    for metric, evidently_name in METRICS.items():
        seconds, results = ours[metric]
        values = np.array([r.value for r in results])
        plain_seconds, (plain_values, plain_bins) = plain[metric]
        diff_plain = float(np.max(np.abs(values - np.array(plain_values))))
        # KS and Wasserstein use the raw values: there are no bins to compare.
        same_bins = not plain_bins or all(
            np.array_equal(r.bins.bins.edges, edges) for r, edges in zip(results, plain_bins, strict=True)
        )
        line = f"{metric:<15}{seconds:>11.3f}{plain_seconds:>10.2f}"
        if evidently is not None:
            ev = evidently[evidently_name]
            speedup = ev["seconds"] / seconds
            diff_ev = float(np.max(np.abs(values - np.array(ev["values"]))))
            line += f"{ev['seconds']:>13.2f}{speedup:>9.1f}x{diff_plain:>15.1e}{diff_ev:>19.1e}"
            if speedup < SPEEDUP_TARGET:
                failures.append(f"{metric}: {speedup:.1f}x faster than Evidently, target {SPEEDUP_TARGET:.0f}x")
        else:
            line += f"{'-':>13}{'-':>10}{diff_plain:>15.1e}{'-':>19}"
        line += f"{('yes' if same_bins else 'NO') if plain_bins else '-':>11}"
        print(line)
        if diff_plain > TOLERANCE:
            failures.append(f"{metric}: differs from the plain reference by {diff_plain:.1e}")
        if not same_bins:
            failures.append(f"{metric}: bins differ from numpy's")
    print(f"\nall four metrics in one drift_table call: {all_four:.3f} s")
    if evidently is None:
        print("\nspeed-up target not checked (--no-evidently)")
    print("\n" + ("\n".join(f"MISSED {f}" for f in failures) if failures else "all checked targets met"))


if __name__ == "__main__":
    main()
