"""`mlstack catalog`: the compute catalog (list SKUs, map a SKU to other clouds)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from mlstack.catalog.cli import app as catalog_app

    app.add_typer(catalog_app, name="catalog")
