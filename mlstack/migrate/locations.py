"""Data and images that live in one cloud: a migration cannot move them, so each one the destination
cannot read is listed for the user (the spec keeps the URI as written)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ruamel.yaml.comments import CommentedMap

from mlstack.errors import Path
from mlstack.migrate.context import Context
from mlstack.migrate.document import get, items
from mlstack.migrate.walk import pipelines

# (cloud, pattern, what it is) — checked in order against each URI or image reference.
PLACES: tuple[tuple[str, str, str], ...] = (
    ("aws", r"s3a?://", "Amazon S3"),
    ("aws", r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/", "Amazon ECR"),
    ("aws", r"arn:aws[a-z-]*:", "an AWS resource"),
    ("gcp", r"gs://", "Cloud Storage"),
    ("gcp", r"bq://", "BigQuery"),
    ("gcp", r"([a-z0-9-]+-docker\.pkg\.dev|([a-z]+\.)?gcr\.io)/", "Artifact Registry"),
    ("azure", r"(azureml|abfss?|wasbs?)://", "Azure storage"),
    ("azure", r"https://[a-z0-9]+\.blob\.core\.windows\.net/", "Azure Blob Storage"),
    ("azure", r"[a-z0-9]+\.azurecr\.io/", "Azure Container Registry"),
)


def place(uri: str) -> tuple[str, str] | None:
    """(cloud, service) of a URI or image, or None for local paths, public images and the like."""
    for cloud, pattern, service in PLACES:
        if re.match(pattern, uri):
            return cloud, service
    return None


def _fields(node: object, path: Path, *keys: str) -> Iterator[tuple[Path, str]]:
    if isinstance(node, CommentedMap):
        for key in keys:
            if isinstance(node.get(key), str):
                yield (*path, key), node[key]


def uris(root: CommentedMap) -> Iterator[tuple[Path, str]]:
    for gi, group in items(get(root, ("registry", "model_groups"))):
        for vi, version in items(group.get("versions")):
            yield from _fields(version, ("registry", "model_groups", gi, "versions", vi), "artifact", "image")
    for vi, view in items(get(root, ("feature_store", "views"))):
        yield from _fields(view.get("source"), ("feature_store", "views", vi, "source"), "uri")
    for path, pipeline in pipelines(root):
        yield from _fields(pipeline, path, "image", "data")
        for si, step in items(pipeline.get("steps")):
            yield from _fields(step, (*path, "steps", si), "image")
    for ei, endpoint in items(root.get("endpoints")):
        yield from _fields(endpoint.get("data_capture"), ("endpoints", ei, "data_capture"), "destination")
    for mi, monitor in items(root.get("monitors")):
        yield from _fields(monitor, ("monitors", mi), "baseline", "ground_truth")
        for ai, action in items(monitor.get("actions")):
            for ti, to in enumerate(action.get("to") or []):
                yield ("monitors", mi, "actions", ai, "to", ti), str(to)


def migrate_locations(ctx: Context) -> None:
    if ctx.dest != ctx.source:
        for gi, group in items(get(ctx.root, ("registry", "model_groups"))):
            if group.get("share_with"):
                ctx.report.add(
                    ("registry", "model_groups", gi, "share_with"),
                    "unsupported",
                    f"model group '{group.get('name')}' is shared with {ctx.source} accounts",
                    f"accounts, projects and workspaces are per cloud: name the {ctx.dest} ones to share with",
                )
    for path, uri in uris(ctx.root):
        found = place(uri)
        if found is None or found[0] == ctx.dest:
            continue
        cloud, service = found
        reader = "local files" if ctx.dest == "local" else "its own storage and registries"
        ctx.report.add(
            path,
            "unsupported",
            f"{uri} is in {service} ({cloud})",
            f"{ctx.target.title} reads {reader}: copy it there and change the reference, or grant cross-cloud access",
        )
