"""Dynamic provider: one model version in the Vertex Model Registry, uploaded under its group's parent
model, with version aliases (champion, challenger, ...).

Vertex numbers versions itself (1, 2, ...), so each upload carries the labels `mlstack-version` (the
spec's number) and `mlstack-upload` (a hash of what was uploaded); `create` looks for them first, which
makes a create after a partial failure resume instead of uploading twice."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from mlstack.backends.gcp.providers.clients import aiplatform, changed, ignore_missing, types, wait

REPLACE_ON = ("project", "region", "model_id", "version", "artifact_uri", "image_uri", "kms_key")
UPDATE_ON = ("aliases", "labels", "description", "display_name", "metrics")
DEFAULT_ALIAS = "default"  # Vertex's alias for the version served when none is named
# A version's metrics, which beat_champion gates compare with, travel in its version description (the
# registry has no other free-form field per version): declared versions' and trained ones' alike.
METRICS_PREFIX = "mlstack metrics "


def version_description(props: dict[str, Any]) -> str:
    metrics = props.get("metrics") or {}
    return METRICS_PREFIX + json.dumps(metrics, sort_keys=True) if metrics else f"mlstack version {props['version']}"


def described_metrics(text: str) -> dict[str, float]:
    return (
        {k: float(v) for k, v in json.loads(text[len(METRICS_PREFIX) :]).items()}
        if text.startswith(METRICS_PREFIX)
        else {}
    )


def upload_hash(props: dict[str, Any]) -> str:
    what = {key: props.get(key) for key in ("artifact_uri", "image_uri", "kms_key")}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def parent_model(props: dict[str, Any]) -> str:
    return f"projects/{props['project']}/locations/{props['region']}/models/{props['model_id']}"


def _labels(props: dict[str, Any]) -> dict[str, str]:
    return {**props.get("labels", {}), "mlstack-version": str(props["version"]), "mlstack-upload": upload_hash(props)}


def _versions(service: Any, parent: str) -> list[Any]:
    v1 = types()
    found = ignore_missing(lambda: list(service.list_model_versions(request=v1.ListModelVersionsRequest(name=parent))))
    return found or []


def _find(service: Any, props: dict[str, Any]) -> Any | None:
    wanted = _labels(props)
    for model in _versions(service, parent_model(props)):
        if all(model.labels.get(key) == wanted[key] for key in ("mlstack-version", "mlstack-upload")):
            return model
    return None


def _upload(service: Any, props: dict[str, Any]) -> str:
    v1 = types()
    parent = parent_model(props)
    exists = ignore_missing(lambda: service.get_model(request=v1.GetModelRequest(name=parent))) is not None
    model = v1.Model(
        display_name=props["display_name"],
        description=props.get("description", ""),
        version_description=version_description(props),
        artifact_uri=props["artifact_uri"],
        container_spec=v1.ModelContainerSpec(image_uri=props["image_uri"]),
        labels=_labels(props),
    )
    if props.get("kms_key"):
        model.encryption_spec = v1.EncryptionSpec(kms_key_name=props["kms_key"])
    location = f"projects/{props['project']}/locations/{props['region']}"
    request = (
        v1.UploadModelRequest(parent=location, parent_model=parent, model=model)
        if exists
        else v1.UploadModelRequest(parent=location, model_id=props["model_id"], model=model)
    )
    return wait(service.upload_model(request=request)).model_version_id


def set_aliases(service: Any, parent: str, version_id: str, wanted: list[str], dropped: list[str]) -> None:
    """Give this version `wanted` aliases (taking them from any other version first: an alias names one
    version) and remove `dropped` ones."""
    v1 = types()
    versions = _versions(service, parent)
    for other in versions:
        if other.version_id == version_id:
            continue
        taken = [alias for alias in wanted if alias in other.version_aliases]
        if taken:
            service.merge_version_aliases(
                request=v1.MergeVersionAliasesRequest(
                    name=f"{parent}@{other.version_id}", version_aliases=[f"-{alias}" for alias in taken]
                )
            )
    mine = next((v for v in versions if v.version_id == version_id), None)
    held = set(mine.version_aliases) if mine is not None else set()
    update = [a for a in wanted if a not in held] + [f"-{a}" for a in dropped if a in held and a not in wanted]
    if update:
        service.merge_version_aliases(
            request=v1.MergeVersionAliasesRequest(name=f"{parent}@{version_id}", version_aliases=update)
        )


def _outs(props: dict[str, Any], version_id: str) -> dict[str, Any]:
    parent = parent_model(props)
    return {**props, "model": parent, "version_id": version_id, "version_name": f"{parent}@{version_id}"}


class ModelVersionProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        service = aiplatform("ModelServiceClient", props["region"])
        found = _find(service, props)
        version_id = found.version_id if found is not None else _upload(service, props)
        set_aliases(service, parent_model(props), version_id, list(props.get("aliases", [])), [])
        outs = _outs(props, version_id)
        return CreateResult(outs["version_name"], outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = changed(olds, news, REPLACE_ON)
        updates = changed(olds, news, UPDATE_ON)
        return DiffResult(changes=bool(replaces or updates), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        v1 = types()
        service = aiplatform("ModelServiceClient", news["region"])
        version_id = olds["version_id"]
        parent = parent_model(news)
        old_aliases = list(olds.get("aliases", []))
        set_aliases(service, parent, version_id, list(news.get("aliases", [])), old_aliases)
        fields = [
            f
            for f, key in (
                ("labels", "labels"),
                ("description", "description"),
                ("display_name", "display_name"),
                ("version_description", "metrics"),
            )
            if olds.get(key) != news.get(key)
        ]
        if fields:
            model = v1.Model(
                name=f"{parent}@{version_id}",
                display_name=news["display_name"],
                description=news.get("description", ""),
                version_description=version_description(news),
                labels=_labels(news),
            )
            from google.protobuf import field_mask_pb2

            service.update_model(
                request=v1.UpdateModelRequest(model=model, update_mask=field_mask_pb2.FieldMask(paths=fields))
            )
        return UpdateResult(_outs(news, version_id))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        v1 = types()
        service = aiplatform("ModelServiceClient", props["region"])
        parent = parent_model(props)
        versions = _versions(service, parent)
        mine = next((v for v in versions if v.version_id == props["version_id"]), None)
        if mine is None:
            return
        others = [v for v in versions if v.version_id != mine.version_id]
        if not others:
            ignore_missing(lambda: wait(service.delete_model(request=v1.DeleteModelRequest(name=parent))))
            return
        if DEFAULT_ALIAS in mine.version_aliases:
            # Vertex refuses to delete the default version: hand the alias to the newest other version.
            newest = max(others, key=lambda v: int(v.version_id))
            service.merge_version_aliases(
                request=v1.MergeVersionAliasesRequest(
                    name=f"{parent}@{newest.version_id}", version_aliases=[DEFAULT_ALIAS]
                )
            )
        name = f"{parent}@{mine.version_id}"
        ignore_missing(lambda: wait(service.delete_model_version(request=v1.DeleteModelVersionRequest(name=name))))
