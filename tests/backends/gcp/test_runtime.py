"""The pipeline-task runtime: quality gates and registration against the fake Vertex."""

from __future__ import annotations

import json

import pytest

from mlstack.backends.gcp import runtime

MODEL = "projects/p-123456/locations/us-central1/models/fd-ranker"
GATES = json.dumps([{"metric": "auc", "min": 0.9}, {"metric": "auc", "beat_champion": True, "tolerance": 0.002}])


def write_metrics(tmp_path, **metrics) -> str:
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    return str(tmp_path)


def register(tmp_path, name: str, metrics: dict | None = None, *extra: str, approval: str = "auto") -> int:
    out = tmp_path / name
    argv = [
        "register",
        "--project=p-123456",
        "--region=us-central1",
        "--model-id=fd-ranker",
        "--display-name=ranker",
        f"--artifact=gs://runs/{name}/model/",
        "--image=us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-6:latest",
        "--aliases=champion",
        f"--approval={approval}",
        f"--output={out}",
    ]
    if metrics is not None:
        (tmp_path / f"{name}-eval").mkdir()
        argv.append(f"--metrics={write_metrics(tmp_path / f'{name}-eval', **metrics)}")
    return runtime.main([*argv, *extra])


def test_register_numbers_versions_and_keeps_metrics_for_gates(vertex, tmp_path):
    assert register(tmp_path, "run1", {"auc": 0.93}) == 0
    assert register(tmp_path, "run2") == 0
    assert (tmp_path / "run2" / "version.txt").read_text() == f"{MODEL}@2"
    versions = vertex.models[MODEL]
    assert [versions[v].labels["mlstack-version"] for v in ("1", "2")] == ["1", "2"]
    assert list(versions["2"].version_aliases) == ["champion"]
    assert versions["1"].version_description == 'mlstack metrics {"auc": 0.93}'


def test_register_labels_the_version_with_its_lineage(vertex, tmp_path, capsys):
    from google.cloud import aiplatform_v1

    job = "train-fraud-20261203051500-" + "x" * 60  # longer than a label value may be
    lineage = {"mlstack-pipeline": "train-fraud", "mlstack-run": job, "mlstack-features": "stats"}
    assert register(tmp_path, "run1", None, f"--lineage={json.dumps(lineage)}") == 0
    labels = dict(vertex.models[MODEL]["1"].labels)
    assert labels["mlstack-pipeline"] == "train-fraud" and labels["mlstack-features"] == "stats"
    assert labels["mlstack-run"] == job[:63]
    # What Vertex accepts, by its own message type: string labels within the 63-character limit.
    aiplatform_v1.Model(display_name="ranker", labels=labels)
    assert all(len(v) <= 63 for v in labels.values())
    # The decision as a structured record Cloud Logging keeps (jsonPayload.mlstack_audit="v1").
    report, audit = capsys.readouterr().out.splitlines()
    record = json.loads(audit)
    assert (record["mlstack_audit"], record["action"], record["what"]) == ("v1", "mlstack register", "fd-ranker")
    assert record["outcome"] == "succeeded" and record["why"] == report == f"registered {MODEL}@1"


def test_gates_compare_with_min_and_the_champion(vertex, tmp_path, capsys):
    register(tmp_path, "run1", {"auc": 0.95})
    good = write_metrics(tmp_path, auc=0.949)
    assert (
        runtime.main(["gate", f"--metrics={good}", f"--gates={GATES}", "--region=us-central1", f"--model={MODEL}"]) == 0
    )
    bad = write_metrics(tmp_path, auc=0.94)
    assert (
        runtime.main(["gate", f"--metrics={bad}", f"--gates={GATES}", "--region=us-central1", f"--model={MODEL}"]) == 1
    )
    assert "auc = 0.94 does not beat the champion's 0.95" in capsys.readouterr().err


def test_gates_without_a_champion_check_bounds_only(vertex, tmp_path, capsys):
    low = write_metrics(tmp_path, auc=0.8)
    assert (
        runtime.main(["gate", f"--metrics={low}", f"--gates={GATES}", "--region=us-central1", f"--model={MODEL}"]) == 1
    )
    assert "auc = 0.8 is below the minimum 0.9" in capsys.readouterr().err
    good = write_metrics(tmp_path, auc=0.95)
    assert (
        runtime.main(["gate", f"--metrics={good}", f"--gates={GATES}", "--region=us-central1", f"--model={MODEL}"]) == 0
    )
    assert "no champion with that metric yet, so this first model passes" in capsys.readouterr().out


def test_beat_champion_on_a_lower_is_better_metric(vertex, tmp_path, capsys):
    register(tmp_path, "run1", {"rmse": 1.0})
    gates = json.dumps([{"metric": "rmse", "beat_champion": True}])
    better = write_metrics(tmp_path, rmse=0.5)
    argv = ["gate", f"--metrics={better}", f"--gates={gates}", "--region=us-central1", f"--model={MODEL}"]
    assert runtime.main(argv) == 0
    worse = write_metrics(tmp_path, rmse=1.5)
    argv[1] = f"--metrics={worse}"
    assert runtime.main(argv) == 1
    assert "rmse = 1.5 does not beat the champion's 1 (lower is better" in capsys.readouterr().err


def test_missing_metrics_is_a_clear_failure(tmp_path, capsys):
    assert runtime.main(["gate", f"--metrics={tmp_path}", f"--gates={GATES}", "--region=us-central1"]) == 1
    assert "wrote no" in capsys.readouterr().err


def test_deploy_rolls_the_registered_version_out(vertex, tmp_path):
    register(tmp_path, "run1")
    register(tmp_path, "run2")
    strategy = {"type": "canary", "percent": 10, "bake_time": 60, "termination_wait": 0}
    endpoint, argv = _serving_v1(vertex, tmp_path, strategy, accelerator_type="NVIDIA_TESLA_T4", accelerator_count=1)
    assert runtime.main(argv) == 0
    (serving,) = vertex.endpoints[endpoint].deployed_models
    assert serving.model == f"{MODEL}@2"
    assert serving.dedicated_resources.machine_spec.accelerator_count == 1
    assert [dict(r.endpoint.traffic_split)[serving.id] for r in vertex.sent("update_endpoint")[1:]] == [10, 100]


@pytest.mark.parametrize("command", ["gate", "register", "deploy", "replay", "monitor"])
def test_every_command_parses(command):
    assert runtime.parser().parse_args([command, *_required(command)]).command == command


def _required(command: str) -> list[str]:
    actions = runtime.parser()._subparsers._group_actions[0].choices[command]._actions
    return [f"{a.option_strings[0]}=x" for a in actions if a.required]


def test_a_declared_champions_metrics_are_what_the_gate_beats(vertex, tmp_path, capsys):
    """The spec's `metrics` of a declared version reach the registry with it, so beat_champion compares
    with them instead of passing for want of a champion (audit G5)."""
    from google.cloud import aiplatform_v1 as v1

    from mlstack.backends.gcp.providers.model import ModelVersionProvider

    declared = {
        "project": "p-123456",
        "region": "us-central1",
        "model_id": "fd-ranker",
        "display_name": "ranker",
        "version": 3,
        "artifact_uri": "gs://models/ranker/3/",
        "image_uri": "us-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.2-1:latest",
        "aliases": ["champion"],
        "metrics": {"auc": 0.941},
    }
    ModelVersionProvider().create(declared)
    (upload,) = vertex.sent("upload_model")
    assert upload.model.version_description == 'mlstack metrics {"auc": 0.941}'
    argv = ["gate", "", f"--gates={GATES}", "--region=us-central1", f"--model={MODEL}"]
    argv[1] = f"--metrics={write_metrics(tmp_path, auc=0.93)}"
    assert runtime.main(argv) == 1
    assert "auc = 0.93 does not beat the champion's 0.941" in capsys.readouterr().err
    # declared metrics changed in the spec: the version's description follows, in place
    old = {**declared, "version_id": "1"}
    ModelVersionProvider().update("id", old, {**declared, "metrics": {"auc": 0.92}})
    (update,) = vertex.sent("update_model")
    assert "version_description" in update.update_mask.paths
    assert update.model == v1.Model(
        name=f"{MODEL}@1",
        display_name="ranker",
        version_description='mlstack metrics {"auc": 0.92}',
        labels=update.model.labels,
    )
    assert runtime.main(argv) == 0


def test_a_manual_groups_version_is_deployed_only_once_approved(vertex, tmp_path, capsys):
    """Vertex has no approval state: register labels a manual group's version pending, and the deploy task
    leaves the endpoint alone until a person labels it approved (audit G6); a rejected one fails the run."""
    from google.cloud import aiplatform_v1 as v1
    from google.protobuf import field_mask_pb2


    register(tmp_path, "run1")
    register(tmp_path, "run2", approval="manual")
    assert vertex.models[MODEL]["1"].labels["mlstack-approval"] == "approved"
    assert vertex.models[MODEL]["2"].labels["mlstack-approval"] == "pending"
    endpoint, argv = _serving_v1(vertex, tmp_path)
    capsys.readouterr()
    assert runtime.main(argv) == 0
    assert f"unchanged: {MODEL}@2 awaits manual approval" in capsys.readouterr().out
    assert [m.model for m in vertex.endpoints[endpoint].deployed_models] == [f"{MODEL}@1"]

    def label(value: str) -> None:
        labels = {**vertex.models[MODEL]["2"].labels, "mlstack-approval": value}
        service = runtime.aiplatform("ModelServiceClient", "us-central1")
        service.update_model(
            request=v1.UpdateModelRequest(
                model=v1.Model(name=f"{MODEL}@2", labels=labels), update_mask=field_mask_pb2.FieldMask(paths=["labels"])
            )
        )

    label("rejected")
    assert runtime.main(argv) == 1
    assert "is rejected" in capsys.readouterr().err
    label("approved")
    assert runtime.main(argv) == 0
    assert [m.model for m in vertex.endpoints[endpoint].deployed_models] == [f"{MODEL}@2"]


def test_a_later_stage_deploys_only_a_version_promoted_to_it(vertex, tmp_path, capsys):
    """Vertex has no promotion stages: register labels a version with the group's first stage, and a later
    stage's deploy task leaves the endpoint alone until a person sets the label to that stage."""
    from google.cloud import aiplatform_v1 as v1
    from google.protobuf import field_mask_pb2


    register(tmp_path, "run1", None, "--stage=dev")
    register(tmp_path, "run2", None, "--stage=dev")
    assert vertex.models[MODEL]["2"].labels["mlstack-stage"] == "dev"
    endpoint, argv = _serving_v1(vertex, tmp_path)
    argv.append("--stage=prod")
    capsys.readouterr()
    assert runtime.main(argv) == 0
    said = capsys.readouterr().out
    assert f"unchanged: {MODEL}@2 is in stage dev" in said and "set the label mlstack-stage=prod" in said
    assert [m.model for m in vertex.endpoints[endpoint].deployed_models] == [f"{MODEL}@1"]

    labels = {**vertex.models[MODEL]["2"].labels, "mlstack-stage": "prod"}
    runtime.aiplatform("ModelServiceClient", "us-central1").update_model(
        request=v1.UpdateModelRequest(
            model=v1.Model(name=f"{MODEL}@2", labels=labels), update_mask=field_mask_pb2.FieldMask(paths=["labels"])
        )
    )
    assert runtime.main(argv) == 0
    assert [m.model for m in vertex.endpoints[endpoint].deployed_models] == [f"{MODEL}@2"]


def test_register_labels_the_version_with_the_data_the_training_step_read(vertex, tmp_path):
    from google.cloud import aiplatform_v1

    from mlstack.runtime.lineage import LINEAGE_FILE

    trained = tmp_path / "train-output"
    trained.mkdir()
    digest = "ab" * 32
    (trained / LINEAGE_FILE).write_text(json.dumps({"data": {"path": "/gcs/b/t.csv", "sha256": digest, "bytes": 9}}))
    assert register(tmp_path, "run1", None, f"--trained={trained}") == 0
    labels = dict(vertex.models[MODEL]["1"].labels)
    assert labels["mlstack-data-sha256"] == digest[:63]  # a label value holds 63 characters
    aiplatform_v1.Model(display_name="ranker", labels=labels)
    assert register(tmp_path, "run2", None, f"--trained={tmp_path / 'nothing-here'}") == 0
    assert "mlstack-data-sha256" not in vertex.models[MODEL]["2"].labels


def test_register_writes_the_versions_model_card_into_its_artifact_folder(vertex, tmp_path):
    """Vertex has no model card resource: the card (as the emulator renders it) goes with the version's files."""
    from mlstack.runtime.lineage import LINEAGE_FILE

    trained = tmp_path / "train-output"
    trained.mkdir()
    (trained / LINEAGE_FILE).write_text(json.dumps({"data": {"path": "/gcs/b/t.csv", "sha256": "cd" * 32, "bytes": 9}}))
    card = {
        "description": "Ranks offers.",
        "intended_use": "Order the offers shown to signed-in shoppers.",
        "limitations": "",
        "framework": "sklearn",
        "stages": ["dev", "prod"],
    }
    extra = (f"--trained={trained}", f"--card={json.dumps(card)}", "--stage=dev")
    assert register(tmp_path, "run1", {"auc": 0.93}, *extra, approval="manual") == 0
    text = (trained / runtime.CARD_FILE).read_text()
    assert text.startswith("# Model card: ranker v1\n\nRanks offers.")
    assert "Order the offers shown to signed-in shoppers." in text
    assert "set `limitations` on the model group" in text
    assert "| auc | 0.93 |" in text and "| approval | pending |" in text
    assert f"/gcs/b/t.csv (sha256 `{'cd' * 32}`)" in text
    assert "Stages: dev → prod; in dev." in text and "not promoted beyond dev yet" in text

def _serving_v1(vertex, tmp_path, strategy: dict | None = None, **machine: object) -> tuple[str, list[str]]:
    """An endpoint serving v1 of the model on an n1-standard-4 (plus `machine`, e.g. an accelerator), and
    the deploy task's arguments for rolling out the version run2 registered with `strategy` (all at once)."""
    from mlstack.backends.gcp.providers.deployment import DeploymentProvider

    endpoint = "projects/p-123456/locations/us-central1/endpoints/1234567890"
    vertex.add_endpoint(endpoint)
    variant = {
        "name": "primary",
        "weight": 100,
        "model": f"{MODEL}@1",
        "machine_type": "n1-standard-4",
        **machine,
        "min_replicas": 1,
        "max_replicas": 1,
        "autoscaling": [],
        "service_account": "",
    }
    base = {"project": "p-123456", "region": "us-central1", "endpoint": endpoint, "endpoint_id": "1234567890"}
    DeploymentProvider().create({**base, "variants": [variant], "strategy": {"type": "all_at_once"}})
    return endpoint, [
        "deploy",
        f"--endpoint={endpoint}",
        "--region=us-central1",
        f"--strategy={json.dumps(strategy or {'type': 'all_at_once'})}",
        f"--registered={tmp_path / 'run2'}",
    ]
