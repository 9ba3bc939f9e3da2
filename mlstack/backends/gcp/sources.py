"""Where Vertex reads data from: model artifacts in Cloud Storage, feature sources and request logs in
BigQuery. Checked against the GCP target profile before any resource is declared, so a spec written
for another cloud fails with every offending URI listed, not at deploy time."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlstack.errors import MlstackError
from mlstack.spec.models import Spec
from mlstack.targets import GCP

_BQ = re.compile(r"^bq://([a-z][a-z0-9-]{4,28}[a-z0-9])\.(\w{1,1024})\.([\w$-]{1,1024})$")


@dataclass(frozen=True)
class BigQueryTable:
    project: str
    dataset: str
    table: str

    @property
    def uri(self) -> str:
        return f"bq://{self.project}.{self.dataset}.{self.table}"

    @property
    def sql(self) -> str:
        return f"`{self.project}.{self.dataset}.{self.table}`"


def bigquery_table(uri: str) -> BigQueryTable | None:
    match = _BQ.match(uri)
    return BigQueryTable(*match.groups()) if match else None


def _schemes(schemes: tuple[str, ...]) -> str:
    return " or ".join(f"{s}..." for s in schemes)


def uri_problems(spec: Spec) -> list[str]:
    """Every data location Vertex cannot read. The spec rules (mlstack.spec.locations) and gcp/checks.py
    report these located; this listing guards lowering a spec that did not go through them."""
    problems = []
    for group in spec.registry.model_groups:
        for version in group.versions:
            if not version.artifact.startswith(GCP.artifact_schemes):
                problems.append(
                    f"registry.model_groups[{group.name}] version {version.version}: artifact '{version.artifact}' — "
                    f"Vertex uploads models from Cloud Storage ({_schemes(GCP.artifact_schemes)})"
                )
    for view in spec.feature_store.views:
        if not view.source.uri.startswith(GCP.source_schemes) or bigquery_table(view.source.uri) is None:
            problems.append(
                f"feature_store.views[{view.name}].source.uri '{view.source.uri}' — Vertex feature groups read a "
                "BigQuery table: bq://project.dataset.table"
            )
    for endpoint in spec.endpoints:
        capture = endpoint.data_capture
        if capture and capture.destination and not capture.destination.startswith(GCP.capture_schemes):
            problems.append(
                f"endpoints[{endpoint.name}].data_capture.destination '{capture.destination}' — Vertex logs requests "
                f"and responses to BigQuery ({_schemes(GCP.capture_schemes)})"
            )
    return problems


def check_uris(spec: Spec) -> None:
    if problems := uri_problems(spec):
        listing = "\n  ".join(problems)
        raise MlstackError(f"the spec points at data Vertex AI cannot read:\n  {listing}")
