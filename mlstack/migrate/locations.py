"""Data and images that live in one cloud. A migration cannot move them: where the destination's profile
restricts a field to URI schemes (model artifacts, feature sources, capture destinations), the URI is
rewritten to a proposed location there and the user is told to copy the data; every other reference
the destination cannot read is listed for the user, kept as written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from fnmatch import fnmatch

from ruamel.yaml.comments import CommentedMap

from mlstack.errors import Path
from mlstack.migrate.context import Context
from mlstack.migrate.document import get, items, plain
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


def relocate(uri: str, scheme: str, settings: dict) -> str:
    """The same data's proposed home under `scheme`: under the cloud's data root when it has one, else a
    bucket (container, dataset) of the same name; the user copies the data there."""
    container, path = _parts(uri)
    leaf = next((p for p in reversed(path.split("/")) if p), container).rsplit(".", 1)[0]
    if scheme == "bq://":
        table = re.sub(r"[^\w-]", "_", leaf)
        if settings.get("feature_dataset"):
            return f"bq://{settings['feature_dataset']}.{table}"
        if not settings.get("project"):
            raise Unmappable("a BigQuery table needs the GCP project (target.gcp.project)")
        return f"bq://{settings['project']}.{re.sub(r'[^A-Za-z0-9_]', '_', container)}.{table}"
    tail = f"{container}/{path}".rstrip("/")
    root = settings.get("data_root")
    if isinstance(root, str) and root.startswith(scheme):
        return f"{root.rstrip('/')}/{tail}"
    if scheme in ("gs://", "s3://"):
        bucket = re.sub(r"[^a-z0-9._-]", "-", container.lower()).strip("-.")[:63]
        return f"{scheme}{bucket}/{path}" if path else f"{scheme}{bucket}"
    if scheme.startswith("azureml:"):  # every Azure ML workspace has this blob datastore
        return f"azureml://datastores/workspaceblobstore/paths/{tail}"
    raise Unmappable(f"mlstack cannot propose a {scheme} location without target data_root")


def _fields(node: object, path: Path, *keys: str) -> Iterator[tuple[Path, CommentedMap, str]]:
    if isinstance(node, CommentedMap):
        for key in keys:
            if isinstance(node.get(key), str):
                yield (*path, key), node, key


Field = tuple[Path, CommentedMap, str]

def reads(cloud: str, kind: str) -> tuple[str, ...]:
    """What the cloud's backend reads for a kind of data, as fnmatch patterns in order of preference."""
    target = profile(cloud)
    declared = getattr(target, f"{kind}_schemes", ())
    return tuple(f"{scheme}*" for scheme in declared) or target.migration_reads.get(kind, ())


def data(root: CommentedMap) -> Iterator[tuple[str, Field]]:
    """The data a cloud must be able to read, by kind."""
    for gi, group in items(get(root, ("registry", "model_groups"))):
        for vi, version in items(group.get("versions")):
            for field in _fields(version, ("registry", "model_groups", gi, "versions", vi), "artifact"):
                yield "artifact", field
    for vi, view in items(get(root, ("feature_store", "views"))):
        for field in _fields(view.get("source"), ("feature_store", "views", vi, "source"), "uri"):
            yield "source", field
    for pi, pipeline in items(root.get("pipelines")):
        for field in _fields(pipeline, ("pipelines", pi), "data"):
            yield "data", field
    for ei, endpoint in items(root.get("endpoints")):
        for field in _fields(endpoint.get("data_capture"), ("endpoints", ei, "data_capture"), "destination"):
            yield "capture", field
    for mi, monitor in items(root.get("monitors")):
        for field in _fields(monitor, ("monitors", mi), "baseline"):
            yield "baseline", field
        for field in _fields(monitor, ("monitors", mi), "ground_truth"):
            yield "labels", field


def references(root: CommentedMap) -> Iterator[tuple[Path, str]]:
    """Other references to cloud places: images, pipeline data, baselines, labels, alert targets."""
    for gi, group in items(get(root, ("registry", "model_groups"))):
        for vi, version in items(group.get("versions")):
            for path, node, key in _fields(version, ("registry", "model_groups", gi, "versions", vi), "image"):
                yield path, node[key]
    for ppath, pipeline in pipelines(root):
        for path, node, key in _fields(pipeline, ppath, "image"):
            yield path, node[key]
        for si, step in items(pipeline.get("steps")):
            for path, node, key in _fields(step, (*ppath, "steps", si), "image"):
                yield path, node[key]
    for mi, monitor in items(root.get("monitors")):
        for ai, action in items(monitor.get("actions")):
            for ti, to in enumerate(action.get("to") or []):
                yield ("monitors", mi, "actions", ai, "to", ti), str(to)


def _foreign(ctx: Context, path: Path, uri: str) -> None:
    found = place(uri)
    if found is None or found[0] == ctx.dest:
        return
    cloud, service = found
    reader = "local files" if ctx.target.emulated else "its own storage and registries"
    ctx.report.add(
        path,
        "unsupported",
        f"{uri} is in {service} ({cloud})",
        f"{ctx.target.title} reads {reader}: copy it there and change the reference, or grant cross-cloud access",
    )


def propose(uri: str, patterns: tuple[str, ...], settings: dict) -> str:
    """`uri` itself when a pattern accepts it (or it is relative to the data root, so it moves with the
    spec), else its proposed home under the first pattern that can take it."""
    if not patterns or "://" not in uri or any(fnmatch(uri, p) for p in patterns):
        return uri
    problems = []
    for pattern in patterns:
        try:
            candidate = relocate(uri, re.sub(r"\*.*$", "", pattern), settings)
        except Unmappable as exc:
            problems.append(str(exc))
            continue
        if fnmatch(candidate, pattern):
            return candidate
    raise Unmappable(problems[0] if problems else f"'{uri}' has no counterpart mlstack can propose")


def _relocate(ctx: Context, kind: str, field: Field) -> None:
    path, node, key = field
    old = str(node[key])

    def derive(_cloud: str, value: object, to: str) -> object:
        settings = plain(get(ctx.root, ("target", to)))
        return propose(str(value), reads(to, kind), settings if isinstance(settings, dict) else {})

    try:
        outcome = ctx.translate(node, key, derive)
    except Unmappable as exc:
        accepted = " or ".join(reads(ctx.dest, kind))
        ctx.report.add(
            path, "unsupported", f"{old} cannot be read on {ctx.dest}", f"{exc}; {ctx.dest} reads {accepted}"
        )
        return
    ctx.settle(node, key, outcome)
    new = str(outcome.value)
    if new == old:
        _foreign(ctx, path, new)
        return
    what = f"{old} → {new}"
    if outcome.restored:
        ctx.restored(path, what, outcome, before=old, after=new)
        _foreign(ctx, path, new)
    else:
        decide = (
            f"{ctx.target.title} reads {' or '.join(reads(ctx.dest, kind))} here: copy the data to {new} "
            "(a proposed location) or point at where it lives"
        )
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
