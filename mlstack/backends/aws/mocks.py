"""What SageMaker and the rest of AWS would answer, made up deterministically for `mlstack plan` (Pulumi's
mocks): ARNs and ids shaped like the real ones, so references between resources read as values."""

from __future__ import annotations

import re
from typing import Any

ACCOUNT = "123456789012"
# ARN shapes that differ from arn:aws:<service>:<region>:<account>:<resource-type>/<name>
_GLOBAL_SERVICES = {"iam"}
_RESOURCE_TYPES = {"EndpointConfiguration": "endpoint-config", "RolePolicy": "role", "Topic": ""}


def arn(typ: str, name: str, region: str) -> str:
    service = typ.split(":")[1].split("/")[0]
    kind = typ.rsplit(":", 1)[-1]
    if service == "s3":
        return f"arn:aws:s3:::{name}"
    resource = _RESOURCE_TYPES.get(kind, re.sub(r"(?<!^)(?=[A-Z])", "-", kind).lower())
    where = "" if service in _GLOBAL_SERVICES else region
    path = f"{resource}/{name}" if resource else name
    return f"arn:aws:{service}:{where}:{ACCOUNT}:{path}"


def outputs(typ: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """A resource's outputs: its inputs and what AWS adds. `name` is the vendor name."""
    if not typ.startswith("aws:"):
        return {"name": name, **inputs}
    return {"name": name, "arn": arn(typ, name, region), "id": name, **inputs}


def call(token: str, region: str) -> dict[str, Any] | None:
    if token.endswith("getCallerIdentity"):
        return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/mlstack", "userId": "mlstack"}
    if token.endswith("getRegion"):
        return {"name": region, "region": region, "id": region}
    if token.endswith("getPartition"):
        return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
    return None
