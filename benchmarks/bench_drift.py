"""Drift over a wide table: mlstack.stats against Evidently 0.7.23 and a plain numpy/scipy reference.

    python3 benchmarks/bench_drift.py [--rows 1000000] [--features 20] [--repeat 3] [--no-evidently]

Reference and current are seeded normal samples, the current one shifted and stretched by a
different amount per column (some columns not at all), so every metric sees both calm and drifted
columns. For PSI, Jensen-Shannon, Wasserstein and KS it times:

* mlstack as a monitor runs it: the reference summarised once (`ReferenceProfile.of(reference)`, timed
  on its own, as a monitor does it when created), then `drift_table(profile, current, [metric],
  max_workers=1)` on pandas DataFrames, the median of --repeat runs taken half before and half after
  the two baselines of the same metric, so that changes in machine load hit both sides alike; for
  information, one run of `drift_table(reference, current, [metric])` on the raw reference;
* Evidently 0.7.23, its fastest API: a Report of one ValueDrift per column, run once, in its own
  virtualenv under .benchmarks-venv/ (created and pip-installed here when missing, with pandas<3,
  which that release needs), fed the same
  arrays through .npy files; Evidently is a baseline, never a dependency of mlstack;
* the plain numpy/scipy computation, column by column in this process: np.histogram_bin_edges
  ("sturges") on the concatenation, np.histogram, scipy's jensenshannon, wasserstein_distance and
  ks_2samp.

All times are CPU seconds of the process (time.process_time, every thread counted), so a thread pool
cannot help either side. It prints the times, mlstack's speed-up over Evidently (target: at least 20x) and the largest
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
from mlstack.stats.reference import ReferenceProfile  # noqa: E402

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

    reference, current, method = np.load(sys.argv[1]), np.load(sys.argv[2]), sys.argv[3]
    columns = [f"f{i}" for i in range(reference.shape[1])]
    definition = DataDefinition(numerical_columns=columns)

    def dataset(values):
        return Dataset.from_pandas(pd.DataFrame(values, columns=columns), data_definition=definition)

    def run(ref, cur):
        report = Report([ValueDrift(column=c, method=method) for c in columns])
        started = time.process_time()
        snapshot = report.run(cur, ref)
        seconds = time.process_time() - started
        return seconds, [float(m["value"]) for m in snapshot.dict()["metrics"]]

    run(dataset(reference[:1000]), dataset(current[:1000]))  # imports and one-off set-up, untimed
    seconds, values = run(dataset(reference), dataset(current))
    print(json.dumps({"seconds": seconds, "values": values}))
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
    started = time.process_time()
    result = function()
    return time.process_time() - started, result


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


class Evidently:
    """Runs the baseline in the benchmark venv, one metric per subprocess, on arrays saved once."""

    def __init__(self, reference: np.ndarray, current: np.ndarray, workdir: Path) -> None:
        self.python = evidently_python()
        self.paths = [workdir / "reference.npy", workdir / "current.npy"]
        np.save(self.paths[0], reference)
        np.save(self.paths[1], current)
        self.runner = workdir / "run_evidently.py"
        self.runner.write_text(EVIDENTLY_RUNNER)

    def run(self, method: str) -> dict:
        done = subprocess.run(
            [str(self.python), str(self.runner), *map(str, self.paths), method], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"Evidently run failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=4, help="mlstack runs per metric (median taken)")
    parser.add_argument("--no-evidently", action="store_true", help="skip the Evidently baseline")
    args = parser.parse_args()

    reference, current = make_data(args.rows, args.features, args.seed)
    columns = [f"f{i}" for i in range(args.features)]
    ref_frame, cur_frame = pd.DataFrame(reference, columns=columns), pd.DataFrame(current, columns=columns)
    print(f"{args.rows:,} rows x {args.features} numeric features, seed {args.seed}", flush=True)
    drift_table(ReferenceProfile.of(ref_frame.head(1000)), cur_frame.head(1000), list(METRICS))  # imports
    profiling, profile = timed(lambda: ReferenceProfile.of(ref_frame))
    print(f"reference profile, computed once: {profiling:.3f} s", flush=True)

    def ours(metric: str, runs: int) -> list[tuple[float, list]]:
        return [timed(lambda: drift_table(profile, cur_frame, [metric], max_workers=1)) for _ in range(runs)]

    header = f"{'metric':<15}{'mlstack s':>11}{'raw ref s':>11}{'plain s':>10}{'Evidently s':>13}{'speed-up':>10}"
    header += f"{'max |d| plain':>15}{'max |d| Evidently':>19}{'same bins':>11}"
    failures: list[str] = []
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        evidently = None if args.no_evidently else Evidently(reference, current, Path(tmp))
        for metric, evidently_name in METRICS.items():
            print(f"{metric}: mlstack, plain numpy/scipy, Evidently ...", flush=True)
            # mlstack's runs straddle the baselines', so a change in machine load hits both alike.
            runs = ours(metric, (args.repeat + 1) // 2)
            raw_seconds, raw = timed(lambda m=metric: drift_table(ref_frame, cur_frame, [m], max_workers=1))
            assert [r.to_dict() for r in raw] == [r.to_dict() for r in runs[0][1]], "profile and raw differ"
            plain_seconds, (plain_values, plain_bins) = timed(lambda m=metric: plain_reference(m, reference, current))
            baseline = None if evidently is None else evidently.run(evidently_name)
            runs += ours(metric, args.repeat // 2)
            seconds, results = statistics.median(t for t, _ in runs), runs[-1][1]
            lines.append(
                compare(
                    metric, seconds, raw_seconds, results, plain_seconds, plain_values, plain_bins, baseline, failures
                )
            )
    all_four, _ = timed(lambda: drift_table(profile, cur_frame, list(METRICS), max_workers=1))
    print("\n" + header + "\n" + "\n".join(lines))
    print(f"\nall four metrics in one drift_table call: {all_four:.3f} s")
    if args.no_evidently:
        print("\nspeed-up target not checked (--no-evidently)")
    print("\n" + ("\n".join(f"MISSED {f}" for f in failures) if failures else "all checked targets met"))


def compare(
    metric: str,
    seconds: float,
    raw_seconds: float,
    results: list,
    plain_seconds: float,
    plain_values: list[float],
    plain_bins: list,
    baseline: dict | None,
    failures: list[str],
) -> str:
    """One table row; appends any missed target to `failures`."""
    values = np.array([r.value for r in results])
    diff_plain = float(np.max(np.abs(values - np.array(plain_values))))
    # KS and Wasserstein use the raw values: there are no bins to compare.
    same_bins = not plain_bins or all(
        np.array_equal(r.bins.bins.edges, edges) for r, edges in zip(results, plain_bins, strict=True)
    )
    line = f"{metric:<15}{seconds:>11.3f}{raw_seconds:>11.3f}{plain_seconds:>10.2f}"
    if baseline is not None:
        speedup = baseline["seconds"] / seconds
        diff_ev = float(np.max(np.abs(values - np.array(baseline["values"]))))
        line += f"{baseline['seconds']:>13.2f}{speedup:>9.1f}x{diff_plain:>15.1e}{diff_ev:>19.1e}"
        if speedup < SPEEDUP_TARGET:
            failures.append(f"{metric}: {speedup:.1f}x faster than Evidently, target {SPEEDUP_TARGET:.0f}x")
    else:
        line += f"{'-':>13}{'-':>10}{diff_plain:>15.1e}{'-':>19}"
    line += f"{('yes' if same_bins else 'NO') if plain_bins else '-':>11}"
    if diff_plain > TOLERANCE:
        failures.append(f"{metric}: differs from the plain reference by {diff_plain:.1e}")
    if not same_bins:
        failures.append(f"{metric}: bins differ from numpy's")
    return line


if __name__ == "__main__":
    main()
