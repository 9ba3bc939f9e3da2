"""Pipeline runs at once must not share a DuckDB connection ("connection is busy")."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from mlstack.emulator.pipelines import data


def test_data_validation_of_concurrent_runs(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(20_000)))
    with ThreadPoolExecutor(max_workers=4) as pool:
        summaries = list(pool.map(lambda _: data.validate(path), range(8)))
    assert {s.rows for s in summaries} == {20_000}
