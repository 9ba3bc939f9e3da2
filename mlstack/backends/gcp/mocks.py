"""What Google Cloud would answer, made up deterministically for `mlstack plan` (Pulumi's mocks)."""

from __future__ import annotations

import hashlib
from typing import Any


def outputs(typ: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """A resource's outputs: its inputs and what Google Cloud adds. `name` is the vendor name."""
    if typ.endswith(":ModelDeploymentMonitoringJob"):  # Vertex names a job by a number it picks
        number = int(hashlib.sha256(name.encode()).hexdigest()[:15], 16)
        job = f"projects/{PROJECT_NUMBER}/locations/{region}/modelDeploymentMonitoringJobs/{number}"
        return {**inputs, "name": job}
    if not typ.startswith("gcp:"):
        return {"name": name, **inputs}
    found = {"name": name, "id": f"projects/mock/locations/{region}/{name}", **inputs}
    if typ == "gcp:serviceaccount/account:Account":  # the address Google gives every service account
        found["email"] = f"{inputs['accountId']}@{inputs.get('project', 'mock')}.iam.gserviceaccount.com"
    if typ == "gcp:logging/projectSink:ProjectSink" and inputs.get("uniqueWriterIdentity"):
        found["writerIdentity"] = f"serviceAccount:service-{PROJECT_NUMBER}@gcp-sa-logging.iam.gserviceaccount.com"
    return found


PROJECT_NUMBER = "123456789012"


def call(token: str, region: str) -> dict[str, Any] | None:
    """No invoke of the gcp backend needs a made-up answer (Pulumi's mocks answer the others empty)."""
    return None
