"""`mlstack catalog list|map` through typer's CliRunner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mlstack.catalog import monthly_cost
from mlstack.catalog.cli import app

runner = CliRunner()
ORDER = {"aws": 0, "gcp": 1, "azure": 2}


def test_list_json_is_sorted_and_stable(rows):
    first = runner.invoke(app, ["list", "--json"])
    second = runner.invoke(app, ["list", "--json"])
    assert first.exit_code == 0 and first.output == second.output
    listed = json.loads(first.output)
    assert len(listed) == len(rows)
    size = ("gpus", "gpu_memory_gb", "vcpus", "memory_gb", "sku")
    keys = [
        (ORDER[s["cloud"]], s["price_usd_hour"] is None, s["price_usd_hour"] or 0, *map(s.get, size)) for s in listed
    ]
    assert keys == sorted(keys)
    assert list(listed[0]) == sorted(listed[0])
    for s in listed:  # every row says where its price is published and when it was read (or looked for)
        assert s["price_source"].startswith("https://") and s["price_as_of"]
        assert s["price_status"] == ("confirmed" if s["price_usd_hour"] is not None else "unknown")


def test_list_filters_by_cloud_and_gpu_name_or_class():
    listed = json.loads(runner.invoke(app, ["list", "--cloud", "azure", "--gpu", "inference-24gb", "--json"]).output)
    assert {s["sku"] for s in listed} == {"Standard_NV36ads_A10_v5", "Standard_NV72ads_A10_v5"}
    a100 = json.loads(runner.invoke(app, ["list", "--gpu", "a100", "--json"]).output)
    assert {s["gpu"] for s in a100} == {"A100-40GB", "A100-80GB"}


def test_list_table_shows_prices_their_source_and_date():
    result = runner.invoke(app, ["list", "--cloud", "gcp", "--gpu", "L4"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    listed = json.loads(runner.invoke(app, ["list", "--cloud", "gcp", "--gpu", "L4", "--json"]).output)
    [row] = [line for line in result.output.splitlines() if " g2-standard-4/NVIDIA_L4x1 " in line]
    [sku] = [s for s in listed if s["sku"] == "g2-standard-4/NVIDIA_L4x1"]
    assert _price_cell(sku) in row and sku["price_as_of"] in row
    assert "https://cloud.google.com/vertex-ai/pricing" in result.output


def test_list_into_a_file_keeps_every_row_on_one_line(rows):
    """Not a terminal (CliRunner, like `> file`): no 80-column folding of SKU names, whatever COLUMNS says."""
    result = runner.invoke(app, ["list"], env={"COLUMNS": "60"})
    assert result.exit_code == 0
    lines = result.output.splitlines()
    for sku in json.loads(runner.invoke(app, ["list", "--json"]).output):
        [line] = [line for line in lines if f" {sku['sku']} " in line]
        assert f" {sku['cloud']} " in line and _price_cell(sku) in line


def _price_cell(sku: dict) -> str:
    if sku["price_usd_hour"] is None:
        return " unknown "
    return f" {sku['price_usd_hour']:.4f}".rstrip("0").rstrip(".")


def test_map_shows_counterparts_grades_and_prices():
    result = runner.invoke(app, ["map", "ml.g5.2xlarge", "--to", "gcp,azure"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "g2-standard-8/NVIDIA_L4x1" in result.output and "Standard_NV36ads_A10_v5" in result.output
    assert "same_class" in result.output
    source = json.loads(runner.invoke(app, ["list", "--cloud", "aws", "--json"]).output)
    [price] = [s["price_usd_hour"] for s in source if s["sku"] == "ml.g5.2xlarge"]
    assert ("price unknown" if price is None else f"{price:g} USD/h") in result.output.splitlines()[0]


def test_map_finds_the_source_cloud_and_prints_json():
    mapped = json.loads(runner.invoke(app, ["map", "g2-standard-8", "--json"]).output)
    assert [m["to"]["cloud"] for m in mapped] == ["aws", "azure"]
    assert mapped[0]["to"]["sku"] == "ml.g6.2xlarge" and mapped[0]["fidelity"] == "exact"


def test_bad_input_exits_1_with_one_line_and_no_traceback():
    for args in (
        ["map", "ml.g5.2xlarg", "--to", "gcp"],
        ["list", "--gpu", "L5"],
        ["list", "--cloud", "gpc"],
        ["map", "ml.g5.xlarge", "--to", "gpc"],
        ["map", "ml.g5.xlarge", "--from", "azure"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, args
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
    typo = runner.invoke(app, ["map", "ml.g5.2xlarg"])
    assert "did you mean 'ml.g5.2xlarge'" in typo.stderr


def test_monthly_cost(catalog):
    from dataclasses import replace

    sku = replace(catalog.lookup("aws", "ml.g5.xlarge"), price_usd_hour=1.408)
    assert monthly_cost(sku, 2) == round(1.408 * 2 * 730, 2)
    assert monthly_cost(sku, 1, hours=10) == 14.08
    assert monthly_cost(replace(sku, price_usd_hour=None), 2) is None  # not estimated, not $0
