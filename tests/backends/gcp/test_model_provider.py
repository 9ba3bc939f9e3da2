"""The registry's dynamic provider against the fake Vertex: requests built with aiplatform_v1 types."""

from __future__ import annotations

import pytest
from google.api_core.exceptions import ServiceUnavailable
from google.cloud import aiplatform_v1 as v1

from mlstack.backends.gcp.providers.model import ModelVersionProvider, upload_hash

LOCATION = "projects/p-123456/locations/us-central1"
PARENT = f"{LOCATION}/models/fd-fraud-model"


def props(version: int, aliases: list[str], artifact: str | None = None) -> dict:
    return {
        "project": "p-123456",
        "region": "us-central1",
        "model_id": "fd-fraud-model",
        "display_name": "fraud-model",
        "description": "fraud",
        "version": version,
        "artifact_uri": artifact or f"gs://models/fraud/{version}/",
        "image_uri": "us-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.2-1:latest",
        "aliases": aliases,
        "labels": {"team": "risk"},
        "kms_key": "projects/p-123456/locations/us-central1/keyRings/r/cryptoKeys/k",
    }


def test_first_version_creates_the_parent_model(vertex):
    result = ModelVersionProvider().create(props(3, ["champion"]))
    (upload,) = vertex.sent("upload_model")
    p = props(3, ["champion"])
    assert upload == v1.UploadModelRequest(
        parent=LOCATION,
        model_id="fd-fraud-model",
        model=v1.Model(
            display_name="fraud-model",
            description="fraud",
            version_description="mlstack version 3",
            artifact_uri="gs://models/fraud/3/",
            container_spec=v1.ModelContainerSpec(image_uri=p["image_uri"]),
            labels={"team": "risk", "mlstack-version": "3", "mlstack-upload": upload_hash(p)},
            encryption_spec=v1.EncryptionSpec(kms_key_name=p["kms_key"]),
        ),
    )
    assert vertex.sent("merge_version_aliases") == [
        v1.MergeVersionAliasesRequest(name=f"{PARENT}@1", version_aliases=["champion"])
    ]
    assert result.id == f"{PARENT}@1"
    assert result.outs["version_id"] == "1"


def test_later_version_goes_under_the_parent_and_takes_the_alias(vertex):
    provider = ModelVersionProvider()
    provider.create(props(3, ["champion"]))
    provider.create(props(4, ["champion", "challenger"]))
    upload = vertex.sent("upload_model")[1]
    assert upload.parent_model == PARENT and not upload.model_id
    merges = vertex.sent("merge_version_aliases")[1:]
    assert merges == [
        v1.MergeVersionAliasesRequest(name=f"{PARENT}@1", version_aliases=["-champion"]),
        v1.MergeVersionAliasesRequest(name=f"{PARENT}@2", version_aliases=["champion", "challenger"]),
    ]
    assert list(vertex.models[PARENT]["2"].version_aliases) == ["champion", "challenger"]
    assert list(vertex.models[PARENT]["1"].version_aliases) == ["default"]


def test_create_after_a_partial_failure_resumes_without_a_second_upload(vertex):
    vertex.fail["merge_version_aliases"] = ServiceUnavailable("try again")
    provider = ModelVersionProvider()
    with pytest.raises(ServiceUnavailable):
        provider.create(props(3, ["champion"]))
    result = provider.create(props(3, ["champion"]))
    assert len(vertex.sent("upload_model")) == 1
    assert result.outs["version_id"] == "1"
    assert "champion" in vertex.models[PARENT]["1"].version_aliases


def test_diff_replaces_on_a_new_artifact_and_updates_aliases_in_place():
    provider = ModelVersionProvider()
    old = props(3, ["champion"])
    moved = provider.diff("id", old, {**old, "aliases": []})
    assert moved.changes and moved.replaces == []
    replaced = provider.diff("id", old, {**old, "artifact_uri": "gs://models/fraud/3b/"})
    assert replaced.replaces == ["artifact_uri"]
    assert provider.diff("id", old, dict(old)).changes is False


def test_update_moves_aliases_and_relabels(vertex):
    provider = ModelVersionProvider()
    created = provider.create(props(3, ["champion"])).outs
    news = {**props(3, ["retired"]), "labels": {"team": "fraud"}}
    provider.update(created["version_name"], created, news)
    assert vertex.sent("merge_version_aliases")[-1] == v1.MergeVersionAliasesRequest(
        name=f"{PARENT}@1", version_aliases=["retired", "-champion"]
    )
    (update,) = vertex.sent("update_model")
    assert list(update.update_mask.paths) == ["labels"]
    assert update.model.labels["team"] == "fraud" and update.model.name == f"{PARENT}@1"


def test_delete_the_only_version_deletes_the_model_and_twice_is_fine(vertex):
    provider = ModelVersionProvider()
    outs = provider.create(props(3, [])).outs
    provider.delete(outs["version_name"], outs)
    assert PARENT not in vertex.models
    provider.delete(outs["version_name"], outs)  # already gone: NotFound is success


def test_delete_the_default_version_hands_default_on_first(vertex):
    provider = ModelVersionProvider()
    first = provider.create(props(3, [])).outs
    provider.create(props(4, []))
    provider.delete(first["version_name"], first)
    assert list(vertex.models[PARENT]) == ["2"]
    assert "default" in vertex.models[PARENT]["2"].version_aliases
