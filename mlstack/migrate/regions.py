"""Nearest regions between clouds, as data.

Each row names one region per cloud that sit close together; a region's first row is its best match.
Regions in the same metro area (``METRO``) count as an exact move; any other pairing is the nearest
the table knows and is reported as approximate. A region not in the table is left for the user."""

from __future__ import annotations

from mlstack.migrate.markers import Unmappable
from mlstack.targets import profile

CLOUDS = ("aws", "gcp", "azure")

# (aws, gcp, azure); order matters: the first row holding a region is the one used from it.
ROWS: tuple[tuple[str, str, str], ...] = (
    ("us-east-1", "us-east4", "eastus"),
    ("us-east-1", "us-east4", "eastus2"),
    ("us-east-2", "us-east5", "centralus"),
    ("us-east-2", "us-central1", "centralus"),
    ("us-west-2", "us-west1", "westus2"),
    ("us-west-1", "us-west2", "westus"),
    ("ca-central-1", "northamerica-northeast1", "canadacentral"),
    ("sa-east-1", "southamerica-east1", "brazilsouth"),
    ("eu-west-1", "europe-west1", "northeurope"),
    ("eu-west-1", "europe-west4", "westeurope"),
    ("eu-west-2", "europe-west2", "uksouth"),
    ("eu-central-1", "europe-west3", "germanywestcentral"),
    ("eu-west-3", "europe-west9", "francecentral"),
    ("eu-north-1", "europe-north1", "swedencentral"),
    ("ap-northeast-1", "asia-northeast1", "japaneast"),
    ("ap-northeast-2", "asia-northeast3", "koreacentral"),
    ("ap-east-1", "asia-east2", "eastasia"),
    ("ap-southeast-1", "asia-southeast1", "southeastasia"),
    ("ap-southeast-2", "australia-southeast1", "australiaeast"),
    ("ap-south-1", "asia-south1", "centralindia"),
)

METRO: dict[str, str] = {
    **dict.fromkeys(("us-east-1", "us-east4", "eastus", "eastus2"), "Northern Virginia"),
    **dict.fromkeys(("us-east-2", "us-east5"), "Ohio"),
    **dict.fromkeys(("us-central1", "centralus"), "Iowa"),
    **dict.fromkeys(("us-west-2", "us-west1"), "Oregon"),
    "westus2": "Washington",
    **dict.fromkeys(("us-west-1", "westus"), "Northern California"),
    "us-west2": "Los Angeles",
    **dict.fromkeys(("ca-central-1", "northamerica-northeast1"), "Montréal"),
    "canadacentral": "Toronto",
    **dict.fromkeys(("sa-east-1", "southamerica-east1", "brazilsouth"), "São Paulo"),
    **dict.fromkeys(("eu-west-1", "northeurope"), "Ireland"),
    "europe-west1": "Belgium",
    **dict.fromkeys(("europe-west4", "westeurope"), "Netherlands"),
    **dict.fromkeys(("eu-west-2", "europe-west2", "uksouth"), "London"),
    **dict.fromkeys(("eu-central-1", "europe-west3", "germanywestcentral"), "Frankfurt"),
    **dict.fromkeys(("eu-west-3", "europe-west9", "francecentral"), "Paris"),
    "eu-north-1": "Stockholm",
    "europe-north1": "Finland",
    "swedencentral": "Gävle",
    **dict.fromkeys(("ap-northeast-1", "asia-northeast1", "japaneast"), "Tokyo"),
    **dict.fromkeys(("ap-northeast-2", "asia-northeast3", "koreacentral"), "Seoul"),
    **dict.fromkeys(("ap-east-1", "asia-east2", "eastasia"), "Hong Kong"),
    **dict.fromkeys(("ap-southeast-1", "asia-southeast1", "southeastasia"), "Singapore"),
    **dict.fromkeys(("ap-southeast-2", "australia-southeast1", "australiaeast"), "Sydney"),
    **dict.fromkeys(("ap-south-1", "asia-south1"), "Mumbai"),
    "centralindia": "Pune",
}


def cloud_of(region: str) -> str | None:
    """Which cloud names a region this way (for specs on the local target, which has no regions)."""
    return next((cloud for row in ROWS for cloud, name in zip(CLOUDS, row, strict=True) if name == region), None)


def nearest(cloud: str, region: str, to_cloud: str) -> str:
    if cloud == to_cloud or not profile(to_cloud).needs_region:
        return region
    if not profile(cloud).needs_region:
        cloud = cloud_of(region) or cloud
    if cloud == to_cloud:
        return region
    if cloud not in CLOUDS:
        raise Unmappable(f"'{region}' is not a region the table knows")
    row = next((r for r in ROWS if r[CLOUDS.index(cloud)] == region), None)
    if row is None:
        raise Unmappable(f"the region table has no {to_cloud} counterpart for {cloud} region '{region}'")
    return row[CLOUDS.index(to_cloud)]


def same_metro(a: str, b: str) -> bool:
    return a in METRO and METRO.get(a) == METRO.get(b)
