"""Data and images that live in one cloud. A migration cannot move them: where the destination's profile
restricts a field to URI schemes (model artifacts, feature sources, capture destinations), the URI is
rewritten to a proposed location there and the user is told to copy the data; every other reference
the destination cannot read is listed for the user, kept as written."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ruamel.yaml.comments import CommentedMap

from mlstack.errors import Path
from mlstack.migrate import markers
from mlstack.migrate.context import Context, restored_note
from mlstack.migrate.document import assign, get, items
from mlstack.migrate.markers import Unmappable
from mlstack.migrate.walk import pipelines
from mlstack.targets import profile

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


# Where an object store URI keeps its data: (container, path); Azure containers join their account.
_PARTS: tuple[tuple[str, str], ...] = (
    (r"s3a?://(?P<c>[^/]+)/?(?P<p>.*)", "{c}"),
    (r"gs://(?P<c>[^/]+)/?(?P<p>.*)", "{c}"),
    (r"(abfss?|wasbs?)://(?P<c>[^@/]+)@(?P<a>[^./]+)\.[^/]+/?(?P<p>.*)", "{a}-{c}"),
    (r"https://(?P<a>[a-z0-9]+)\.blob\.core\.windows\.net/(?P<c>[^/]+)/?(?P<p>.*)", "{a}-{c}"),
    (r"bq://[^.]+\.(?P<c>[^.]+)\.(?P<p>.+)", "{c}"),
)


def _parts(uri: str) -> tuple[str, str]:
    for pattern, container in _PARTS:
        if match := re.fullmatch(pattern, uri):
            return container.format(**match.groupdict()), match["p"]
    raise Unmappable(f"'{uri}' is not in an object store mlstack can map; upload it and give its URI")


def relocate(uri: str, scheme: str, project: object) -> str:
    """The same data's proposed home under `scheme`: same bucket/container name and path (the user copies it)."""
    container, path = _parts(uri)
    if scheme == "bq://":
        if not isinstance(project, str):
            raise Unmappable("a BigQuery table needs the GCP project (target.gcp.project)")
        table = next((p for p in reversed(path.split("/")) if p), container).split(".")[0]
        dataset, table = re.sub(r"\W", "_", container), re.sub(r"[^\w-]", "_", table)
        return f"bq://{project}.{dataset}.{table}"
    if scheme in ("gs://", "s3://"):
        bucket = re.sub(r"[^a-z0-9._-]", "-", container.lower()).strip("-.")[:63]
        return f"{scheme}{bucket}/{path}" if path else f"{scheme}{bucket}"
    raise Unmappable(f"mlstack cannot propose a {scheme} location")


def _fields(node: object, path: Path, *keys: str) -> Iterator[tuple[Path, CommentedMap, str]]:
    if isinstance(node, CommentedMap):
        for key in keys:
            if isinstance(node.get(key), str):
                yield (*path, key), node, key


# The spec fields a target profile may restrict to URI schemes (TargetProfile.<kind>_schemes).
Field = tuple[Path, CommentedMap, str]


def data(root: CommentedMap) -> Iterator[tuple[str, Field]]:
    for gi, group in items(get(root, ("registry", "model_groups"))):
        for vi, version in items(group.get("versions")):
            for field in _fields(version, ("registry", "model_groups", gi, "versions", vi), "artifact"):
                yield "artifact", field
    for vi, view in items(get(root, ("feature_store", "views"))):
        for field in _fields(view.get("source"), ("feature_store", "views", vi, "source"), "uri"):
            yield "source", field
    for ei, endpoint in items(root.get("endpoints")):
        for field in _fields(endpoint.get("data_capture"), ("endpoints", ei, "data_capture"), "destination"):
            yield "capture", field


def references(root: CommentedMap) -> Iterator[tuple[Path, str]]:
    """Other references to cloud places: images, pipeline data, baselines, labels, alert targets."""
    for gi, group in items(get(root, ("registry", "model_groups"))):
        for vi, version in items(group.get("versions")):
            for path, node, key in _fields(version, ("registry", "model_groups", gi, "versions", vi), "image"):
                yield path, node[key]
    for ppath, pipeline in pipelines(root):
        for path, node, key in _fields(pipeline, ppath, "image", "data"):
            yield path, node[key]
        for si, step in items(pipeline.get("steps")):
            for path, node, key in _fields(step, (*ppath, "steps", si), "image"):
                yield path, node[key]
    for mi, monitor in items(root.get("monitors")):
        for path, node, key in _fields(monitor, ("monitors", mi), "baseline", "ground_truth"):
            yield path, node[key]
        for ai, action in items(monitor.get("actions")):
            for ti, to in enumerate(action.get("to") or []):
                yield ("monitors", mi, "actions", ai, "to", ti), str(to)


def _foreign(ctx: Context, path: Path, uri: str) -> None:
    found = place(uri)
    if found is None or found[0] == ctx.dest:
        return
    cloud, service = found
    reader = "local files" if ctx.dest == "local" else "its own storage and registries"
    ctx.report.add(
        path,
        "unsupported",
        f"{uri} is in {service} ({cloud})",
        f"{ctx.target.title} reads {reader}: copy it there and change the reference, or grant cross-cloud access",
    )


def _relocate(ctx: Context, kind: str, field: Field) -> None:
    path, node, key = field
    project = get(ctx.root, ("target", "gcp", "project"))

    def derive(_cloud: str, value: object, to: str) -> object:
        schemes = getattr(profile(to), f"{kind}_schemes")
        uri = str(value)
        return uri if not schemes or uri.startswith(schemes) else relocate(uri, schemes[0], project)

    old = str(node[key])
    try:
        outcome = ctx.translate(node, key, derive)
    except Unmappable as exc:
        schemes = " or ".join(getattr(ctx.target, f"{kind}_schemes"))
        ctx.report.add(path, "unsupported", f"{old} cannot be read on {ctx.dest}", f"{exc}; {ctx.dest} reads {schemes}")
        return
    markers.write(node, key, outcome.marker)
    new = str(outcome.value)
    if new == old:
        _foreign(ctx, path, new)
        return
    assign(node, key, new)
    what = f"{old} → {new}"
    if outcome.restored:
        ctx.report.add(path, "exact", what, restored_note(outcome), before=old, after=new)
        _foreign(ctx, path, new)
    else:
        decide = f"{ctx.target.title} reads only {new.split('//')[0]}//: copy the data to {new} (a proposed location) or point at where it lives"
        ctx.report.add(path, "unsupported", what, decide, before=old, after=new)


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
    for kind, field in data(ctx.root):
        _relocate(ctx, kind, field)
    for path, uri in references(ctx.root):
        _foreign(ctx, path, uri)
