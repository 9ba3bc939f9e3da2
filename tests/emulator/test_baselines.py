"""A monitor's baseline is read and summarised once, and again only when its file changes."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from mlstack.emulator.monitors import Baselines
from mlstack.stats.drift import drift_table


def test_a_baseline_is_summarised_once_and_again_when_rewritten(tmp_path):
    path = tmp_path / "baseline.csv"
    rng = np.random.default_rng(1)
    pd.DataFrame({"x": rng.normal(size=500), "y": rng.normal(size=500)}).to_csv(path, index=False)
    baselines = Baselines()
    first = baselines.profile(path, ["x"])
    assert baselines.profile(path, ["x"]) is first
    assert baselines.table(path) is baselines.table(path)

    rewritten = pd.DataFrame({"x": rng.normal(3.0, size=400), "y": rng.normal(size=400)})
    rewritten.to_csv(path, index=False)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    second = baselines.profile(path, ["x"])
    assert second is not first and second.column("x").size == 400
    current = pd.DataFrame({"x": rng.normal(size=300)})
    assert [r.to_dict() for r in drift_table(second, current, ["ks"])] == [
        r.to_dict() for r in drift_table(rewritten[["x"]], current, ["ks"])
    ]
