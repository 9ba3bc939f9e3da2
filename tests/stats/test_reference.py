"""A reference profile, computed once for many drift runs, gives the very results of the raw
reference: values, bins and counts, for every metric and kind of column, before and after a save."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlstack.stats.drift import drift_metric, drift_table
from mlstack.stats.reference import ReferenceColumn, ReferenceProfile
from mlstack.stats.registry import StatsError

METRICS = ["psi", "jensen_shannon", "wasserstein", "ks", "chi2", "l_infinity"]


def _tables(rows: int, other: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def table(n: int, shift: float) -> pd.DataFrame:
        wide = rng.normal(shift, 1.0, n)
        wide[rng.random(n) < 0.05] = np.nan
        return pd.DataFrame(
            {
                "wide": wide,
                "counts": rng.integers(0, 400, n),  # integers: Sturges' integer widths
                "few": rng.integers(0, 5, n).astype(float),  # numeric with <= 20 values: binned by category
                "city": rng.choice(["paris", "rome", "oslo", None], n),
                "flag": rng.random(n) < 0.3 + shift,
            }
        )

    return table(rows, 0.0), table(other, 0.1)


def _same(reference, current) -> None:
    plain = drift_table(reference, current, METRICS)
    profiled = drift_table(ReferenceProfile.of(reference), current, METRICS)
    assert [r.to_dict() for r in profiled] == [r.to_dict() for r in plain]


@pytest.mark.parametrize(("rows", "other"), [(300, 200), (20_000, 12_000)])  # scipy's exact and asymptotic KS
def test_a_profile_gives_the_results_of_the_raw_reference(rows, other):
    _same(*_tables(rows, other, seed=rows))


def test_a_saved_profile_loads_to_the_same_results(tmp_path):
    reference, current = _tables(2000, 1500, seed=5)
    ReferenceProfile.of(reference).save(tmp_path / "profile.npz")
    loaded = ReferenceProfile.load(tmp_path / "profile.npz")
    plain = drift_table(reference, current, METRICS)
    assert [r.to_dict() for r in drift_table(loaded, current, METRICS)] == [r.to_dict() for r in plain]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(-3, 40) | st.floats(-1e3, 1e3) | st.just(float("nan")), min_size=1, max_size=60),
    st.lists(st.integers(-3, 40) | st.floats(-1e3, 1e3) | st.just(float("nan")), min_size=1, max_size=60),
)
def test_any_numeric_sample_agrees(reference, current):
    ref, cur = np.array(reference, dtype=float), np.array(current, dtype=float)
    for metric in ["psi", "jensen_shannon", "wasserstein", "ks"]:
        profiled = drift_metric(metric, ReferenceColumn.of("value", ref), cur)
        assert profiled.to_dict() == drift_metric(metric, ref, cur).to_dict()


def test_kinds_are_checked_against_the_profile():
    reference, current = _tables(100, 100, seed=1)
    profile = ReferenceProfile.of(reference, kinds={"few": "categorical"})
    with pytest.raises(StatsError, match="profiled as numeric, not categorical"):
        drift_table(profile, current, ["psi"], kinds={"wide": "categorical"})
    with pytest.raises(StatsError, match="numeric in the reference but categorical"):
        drift_table(ReferenceProfile.of(reference), current.assign(wide="x"), ["psi"])
    with pytest.raises(StatsError, match="reference has no column"):
        drift_table(profile, current, ["psi"], columns=["nope"])
    few = [r for r in drift_table(profile, current, ["psi"]) if r.column == "few"]
    assert few and few[0].kind == "categorical"
