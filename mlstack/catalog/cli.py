"""`mlstack catalog`: list SKUs and map a SKU to its counterparts on other clouds."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import NoReturn

import typer

from mlstack.catalog.catalog import CLOUDS, get_catalog
from mlstack.catalog.model import CatalogError, Equivalence, Sku
from mlstack.errors import did_you_mean

app = typer.Typer(
    help="GPU and CPU SKUs on SageMaker (aws), Vertex AI (gcp) and Azure ML (azure): prices and counterparts.",
    no_args_is_help=True,
)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _price(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def _gpu(sku: Sku) -> str:
    return f"{sku.gpus}×{sku.gpu}" if sku.gpus else "-"


@app.command("list")
def list_skus(
    cloud: str | None = typer.Option(None, "--cloud", help="aws, gcp or azure."),
    gpu: str | None = typer.Option(None, "--gpu", help="GPU model, family or class, e.g. L4, A100, inference-24gb."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (sorted by cloud, price, id)."),
) -> None:
    """List SKUs with their hardware, on-demand price, and where and when the price was read.

    Example: mlstack catalog list --cloud aws --gpu L4"""
    try:
        skus = get_catalog().skus(cloud=cloud, gpu=gpu)
    except CatalogError as error:
        _fail(str(error))
    if as_json:
        listed = [{**asdict(s), "price_status": "confirmed" if s.price_confirmed else "unknown"} for s in skus]
        typer.echo(json.dumps(listed, indent=2, sort_keys=True, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Column, Table

    regions = sorted({f"{s.cloud} {s.price_region}" for s in skus})
    sources = sorted({f"{s.cloud}: {s.price_source}" for s in skus})
    table = Table(
        "cloud",
        Column("sku", overflow="fold", ratio=3),
        Column("gpu", no_wrap=True),
        "gpu GiB",
        "vCPU",
        "RAM GiB",
        Column("USD/h", no_wrap=True),
        Column("price read", no_wrap=True),
        caption=f"On-demand prices in {', '.join(regions)}, read on {'; '.join(sources)}. "
        "unknown = no figure could be read on the vendor's page (looked for on the date shown): "
        "cost is not estimated.",
    )
    for s in skus:
        table.add_row(
            s.cloud,
            s.sku,
            _gpu(s),
            f"{s.gpu_memory_gb:g}",
            str(s.vcpus),
            f"{s.memory_gb:g}",
            _price(s.price_usd_hour),
            s.price_as_of if s.price_confirmed else f"looked {s.price_as_of}",
        )
    console = Console()
    if not console.is_terminal:  # piped into a file or a program: one row a line, ids never folded
        console = Console(width=10_000)
    console.print(table)


def _source_cloud(sku_id: str) -> str:
    """The one cloud that knows this SKU id (or gcp machine type)."""
    catalog = get_catalog()
    found = []
    for cloud in CLOUDS:
        try:
            catalog.lookup(cloud, sku_id)
        except CatalogError:
            continue
        found.append(cloud)
    if len(found) == 1:
        return found[0]
    if found:
        _fail(f"'{sku_id}' exists on {' and '.join(found)}; say which with --from")
    ids = {s.sku for s in catalog.skus()} | {s.machine_type for s in catalog.skus()}
    _fail(f"unknown SKU '{sku_id}'{did_you_mean(sku_id, ids)}; `mlstack catalog list` lists them")


@app.command("map")
def map_sku(
    sku: str = typer.Argument(..., help="A catalog SKU id, e.g. ml.g5.2xlarge or g2-standard-8/NVIDIA_L4x1."),
    to: str | None = typer.Option(None, "--to", help="Comma-separated target clouds (default: the other clouds)."),
    from_cloud: str | None = typer.Option(None, "--from", help="The SKU's cloud (default: found by its id)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a SKU's closest counterpart on other clouds, with fidelity and price difference.

    Example: mlstack catalog map ml.g6.xlarge --to gcp,azure"""
    catalog = get_catalog()
    source_cloud = from_cloud or _source_cloud(sku)
    targets = [c.strip() for c in to.split(",") if c.strip()] if to else [c for c in CLOUDS if c != source_cloud]
    if not targets:
        _fail("--to names no cloud; write e.g. --to gcp,azure")
    try:
        mapped = [catalog.equivalent(source_cloud, sku, target) for target in targets]
    except CatalogError as error:
        _fail(str(error))
    if as_json:
        typer.echo(json.dumps([m.as_dict() for m in mapped], indent=2, sort_keys=True, ensure_ascii=False))
        return
    _print_mapping(mapped)


def _print_mapping(mapped: list[Equivalence]) -> None:
    from rich.console import Console
    from rich.table import Column, Table

    source = mapped[0].source
    console = Console()
    price = "price unknown" if source.price_usd_hour is None else f"{_price(source.price_usd_hour)} USD/h"
    console.print(f"{source.cloud} {source.sku}: {source.describe()}, {price}")
    table = Table("cloud", Column("counterpart", overflow="fold"), "fidelity", "USD/h", "Δ USD/h", "differences")
    for m in mapped:
        table.add_row(
            m.target.cloud,
            m.target.sku,
            m.fidelity,
            _price(m.target.price_usd_hour),
            "unknown" if m.price_delta_usd_hour is None else f"{m.price_delta_usd_hour:+.4f}",
            "; ".join(m.differences) or "-",
        )
    console.print(table)
