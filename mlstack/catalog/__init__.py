"""Compute catalog: GPU and CPU SKUs on SageMaker, Vertex AI and Azure ML, with a cheapest-fit resolver.

Public API (see README.md in this directory for the data, id scheme and semantics):

    get_catalog() -> Catalog                  cached; loads the CSVs in this package with the stdlib only
    Catalog.resolve(cloud, request) -> Sku    cheapest SKU meeting every stated constraint, or the pinned one
    Catalog.lookup(cloud, instance_type, accelerator_type=None, accelerator_count=None) -> Sku
    Catalog.equivalent(cloud, sku_id, to_cloud) -> Equivalence
    Catalog.skus(cloud=None, gpu=None) -> list[Sku]
    Catalog.gpu_names() -> list[str]
    Catalog.check_vertex(machine_type, accelerator_type, accelerator_count)
    monthly_cost(sku, count, hours=730) -> float

Every failure is a CatalogError (an MlstackError) whose message says what is wrong and what would be valid.
"""

from mlstack.catalog.catalog import CLOUDS, Catalog, get_catalog, local_sku
from mlstack.catalog.model import Candidate, CatalogError, Equivalence, Request, Sku, monthly_cost

__all__ = [
    "CLOUDS",
    "Candidate",
    "Catalog",
    "CatalogError",
    "Equivalence",
    "Request",
    "Sku",
    "get_catalog",
    "local_sku",
    "monthly_cost",
]
