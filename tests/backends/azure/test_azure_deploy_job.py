"""The pipeline's deployment step on Azure (Z6, X2): the command the fraud plan's deploy component runs,
run as it is written against a server on 127.0.0.1 that answers like Azure Resource Manager (model
versions, online endpoint and deployments with provisioning states, rollback rules, fired alerts)."""

from __future__ import annotations

import json
import shlex
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from azure.ai.ml._restclient.arm_ml_service.models import ModelVersion as RestModelVersion
from azure.ai.ml._restclient.arm_ml_service.models import OnlineDeployment as RestOnlineDeployment
from azure.ai.ml.entities import ManagedOnlineDeployment, Model, OnlineDeployment
from azure.core.credentials import AccessToken
from azure_plans import fraud_plan

from mlstack.backends.azure import deploy_job
from mlstack.backends.azure.rollout import Rollout
from mlstack.backends.azure.traffic import ML_API, Arm
from mlstack.runtime import mlflow_model


@dataclass
class FakeAzure:
    """One workspace's model versions, one endpoint, its deployments and rollback rules."""

    endpoint_id: str
    model_id: str
    versions: dict[str, dict[str, str]]  # version -> tags
    deployments: dict[str, dict]
    traffic: dict[str, int]
    rules: dict[str, dict] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)  # version -> modelType (default mlflow_model)
    jobs: dict[str, str] = field(default_factory=dict)  # version -> jobName (the job whose output it is)
    version_puts: list[dict] = field(default_factory=list)
    fire_after_checks: int | None = None
    alert_checks: int = 0
    splits: list[dict[str, int]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def endpoint(self) -> dict:
        return {
            "id": self.endpoint_id,
            "name": self.endpoint_id.rsplit("/", 1)[-1],
            "location": "eastus",
            "properties": {"traffic": dict(self.traffic), "mirrorTraffic": {}, "provisioningState": "Succeeded"},
        }


def _handler(state: FakeAzure):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def _reply(self, code: int, body: dict | None = None) -> None:
            data = json.dumps(body or {}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict:
            return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            state.calls.append(("GET", url.path))
            if url.path == f"{state.model_id}/versions" and query["api-version"] == [ML_API]:
                items = [
                    {
                        "id": f"{state.model_id}/versions/{v}",
                        "name": v,
                        "type": "Microsoft.MachineLearningServices/workspaces/models/versions",
                        "properties": {
                            "tags": tags,
                            "modelType": state.types.get(v, "mlflow_model"),
                            "modelUri": f"azureml://jobs/{state.jobs.get(v, 'other')}/outputs/model",
                            "flavors": {"python_function": {"data": {"loader_module": "mlflow.sklearn"}}},
                            **({"jobName": state.jobs[v]} if v in state.jobs else {}),
                            "provisioningState": "Succeeded",
                        },
                    }
                    for v, tags in state.versions.items()
                ]
                return self._reply(200, {"value": items})
            if url.path == state.endpoint_id:
                return self._reply(200, state.endpoint())
            if url.path.startswith(f"{state.endpoint_id}/deployments/"):
                name = url.path.rsplit("/", 1)[-1]
                if name in state.deployments:
                    return self._reply(200, state.deployments[name])
            if url.path in state.rules:
                assert query["api-version"] == [deploy_job._rule_api(url.path)]
                return self._reply(200, state.rules[url.path])
            if url.path.endswith("/providers/Microsoft.AlertsManagement/alerts"):
                state.alert_checks += 1
                fired = state.fire_after_checks is not None and state.alert_checks >= state.fire_after_checks
                return self._reply(200, {"value": [{"id": "alert-1"}] if fired else []})
            return self._reply(404, {"error": {"code": "NotFound", "message": url.path}})

        def do_PUT(self) -> None:
            url = urlparse(self.path)
            body = self._body()
            state.calls.append(("PUT", url.path))
            if url.path == state.endpoint_id:
                state.traffic = body["properties"]["traffic"]
                state.splits.append(dict(state.traffic))
                return self._reply(200, state.endpoint())
            if url.path.startswith(f"{state.endpoint_id}/deployments/"):
                name = url.path.rsplit("/", 1)[-1]
                body["properties"]["provisioningState"] = "Succeeded"
                state.deployments[name] = {"id": url.path, "name": name, **body}
                return self._reply(201, state.deployments[name])
            if url.path in state.rules:
                state.rules[url.path] = {"id": url.path, **body}
                return self._reply(200, state.rules[url.path])
            if url.path.startswith(f"{state.model_id}/versions/"):
                version = url.path.rsplit("/", 1)[-1]
                state.version_puts.append(body)
                state.versions[version] = body["properties"]["tags"]
                return self._reply(200, {"id": url.path, "name": version, **body})
            return self._reply(404, {"error": {"code": "NotFound", "message": url.path}})

        def do_DELETE(self) -> None:
            url = urlparse(self.path)
            state.calls.append(("DELETE", url.path))
            state.deployments.pop(url.path.rsplit("/", 1)[-1], None)
            self._reply(202)

    return Handler


class Token:
    def get_token(self, *scopes: str) -> AccessToken:
        return AccessToken("token-1", int(time.time()) + 3600)


def _command_args(fraud_plan) -> list[str]:
    """The arguments of `python -m mlstack.backends.azure.deploy_job` exactly as the plan's component has them."""
    (component,) = [
        r.inputs
        for r in fraud_plan.of("ComponentVersion")
        if r.inputs["name"] == "fraud_detection_train_fraud_deploy"
    ]
    words = shlex.split(component["properties"]["componentSpec"]["command"])
    assert words[:3] == ["python", "-m", "mlstack.backends.azure.deploy_job"]
    return words[3:]


def _arg(args: list[str], name: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == name]


@pytest.fixture(scope="module")
def plan_args() -> tuple[object, list[str]]:
    plan = fraud_plan(None)
    return plan, _command_args(plan)


def _serving_deployment(endpoint_id: str, model: str, name: str) -> dict:
    return {
        "id": f"{endpoint_id}/deployments/{name}",
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
        "location": "eastus",
        "kind": "Managed",
        "sku": {"name": "Default", "capacity": 2},
        "tags": {"mlstack": "fraud-detection"},
        "properties": {
            "endpointComputeType": "Managed",
            "model": model,
            "instanceType": "Standard_NV36ads_A10_v5",
            "scaleSettings": {"scaleType": "Default"},
            "provisioningState": "Succeeded",
        },
    }


@pytest.fixture
def azure(plan_args) -> Iterator[tuple[FakeAzure, Arm, list[str]]]:
    plan, args = plan_args
    endpoint_id = _arg(args, "--endpoint-id")[0]
    model_id = _arg(args, "--model-id")[0]
    primary = plan.inputs("OnlineDeployment", "fraud-scorer-primary")["deploymentName"]
    rules = {}
    for rule in _arg(args, "--alert-rule"):
        query = {"query": f'AmlOnlineEndpointTrafficLog\n| where DeploymentName == "{primary}"'}
        rules[rule] = {
            "id": rule,
            "location": "eastus",
            "properties": {
                "scopes": [f"{endpoint_id}/deployments/{primary}"],
                "criteria": {"allOf": [query]},
            },
        }
    state = FakeAzure(
        endpoint_id=endpoint_id,
        model_id=model_id,
        versions={"3": {"approval": "approved"}, "4": {"approval": "approved"}, "5": {}},
        deployments={primary: _serving_deployment(endpoint_id, f"{model_id}/versions/3", primary)},
        traffic={primary: 100},
        rules=rules,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    arm = Arm(Token(), base_url=f"http://127.0.0.1:{server.server_port}", poll_seconds=0.02)
    yield state, arm, args
    server.shutdown()
    server.server_close()


def _fast(args: list[str], tmp_path) -> list[str]:
    """The plan's arguments with the bake shortened to a second (everything else as planned)."""
    rollout = Rollout.from_dict(json.loads(_arg(args, "--rollout")[0]))
    short = json.dumps({**rollout.as_dict(), "wait_seconds": 1, "watch_seconds": 0, "settle_seconds": 0})
    out = list(args)
    out[out.index("--rollout") + 1] = short
    out[out.index("--output") + 1] = str(tmp_path / "out")
    return out


def _registration_command(fraud_plan) -> list[str]:
    """The registration component's command words, as the plan has them."""
    (component,) = [
        r.inputs
        for r in fraud_plan.of("ComponentVersion")
        if r.inputs["name"] == "fraud_detection_train_fraud_register"
    ]
    return shlex.split(component["properties"]["componentSpec"]["command"])


def test_the_plan_gives_the_endpoints_own_canary_rules_and_approval(plan_args):
    plan, args = plan_args
    rollout = Rollout.from_dict(json.loads(_arg(args, "--rollout")[0]))
    assert (rollout.kind, rollout.first_percent, rollout.wait_seconds) == ("canary", 10, 600)
    assert _arg(args, "--approval") == ["manual"] and _arg(args, "--variant") == ["primary"]
    planned_rules = {
        r.inputs["ruleName"] for r in [*plan.of("MetricAlert"), *plan.of("ScheduledQueryRule")]
        if r.name.startswith("fraud-scorer-primary-")
    }
    assert {rule.rsplit("/", 1)[-1] for rule in _arg(args, "--alert-rule")} == planned_rules
    assert len(planned_rules) == 2


def test_the_newest_approved_version_rolls_out_in_canary_stages(azure, tmp_path):
    state, arm, args = azure
    (old,) = state.traffic
    assert deploy_job.main(_fast(args, tmp_path), arm=arm) == 0
    # v5 has no approval: v4, the newest approved one, is what rolls out
    new = deploy_job.new_name("primary", 4)
    assert state.deployments[new]["properties"]["model"] == f"{state.model_id}/versions/4"
    assert state.deployments[new]["properties"]["instanceType"] == "Standard_NV36ads_A10_v5"
    assert state.splits == [{old: 90, new: 10}, {new: 100}]
    assert state.alert_checks >= 5  # watched through the bake
    for rule in state.rules.values():
        assert rule["properties"]["scopes"] == [f"{state.endpoint_id}/deployments/{new}"]
        assert f'DeploymentName == "{new}"' in rule["properties"]["criteria"]["allOf"][0]["query"]
    # Pulumi's deployment stays (at no traffic) for the next `pulumi up`
    assert old in state.deployments
    assert "version 4" in (tmp_path / "out" / "deployed").read_text()
    # what the job PUT is an online deployment azure-ai-ml reads back
    entity = OnlineDeployment._from_rest_object(RestOnlineDeployment(state.deployments[new]))
    assert isinstance(entity, ManagedOnlineDeployment) and entity.name == new
    assert entity.model.endswith("/models/fraud-model/versions/4") and entity.instance_type == "Standard_NV36ads_A10_v5"


def test_nothing_approved_newer_leaves_the_endpoint_as_it_is(azure, tmp_path):
    state, arm, args = azure
    state.versions = {"3": {"approval": "approved"}, "4": {"approval": "pending"}, "5": {"approval": "rejected"}}
    before = dict(state.traffic)
    assert deploy_job.main(_fast(args, tmp_path), arm=arm) == 0
    assert state.traffic == before and not [c for c in state.calls if c[0] != "GET"]
    assert "serves fraud-model version 3" in (tmp_path / "out" / "deployed").read_text()


def test_an_alarm_during_the_bake_restores_split_and_rules_and_fails_the_step(azure, tmp_path, capsys):
    state, arm, args = azure
    (old,) = state.traffic
    rules_before = json.dumps(state.rules, sort_keys=True)
    state.fire_after_checks = 2
    assert deploy_job.main(_fast(args, tmp_path), arm=arm) == 1
    new = deploy_job.new_name("primary", 4)
    assert state.splits == [{old: 90, new: 10}, {old: 100}]
    assert new not in state.deployments
    for rule, body in json.loads(rules_before).items():
        assert state.rules[rule]["properties"] == body["properties"]
    assert "rolled back" in capsys.readouterr().err


def test_auto_approval_serves_the_newest_version_that_is_not_rejected():
    versions = [
        {"name": "3", "properties": {"tags": {"approval": "approved"}}},
        {"name": "4", "properties": {"tags": {}}},
        {"name": "5", "properties": {"tags": {"approval": "rejected"}}},
    ]
    assert deploy_job.servable(versions, "auto") == 4
    assert deploy_job.servable(versions, "manual") == 3
    assert deploy_job.servable(versions[1:], "manual") is None


def test_new_deployment_names_fit_azures_limit():
    name = deploy_job.new_name("a" * 40, 12345)
    assert len(name) <= 32 and name.endswith("-v12345")


def test_the_deployment_steps_cluster_may_retarget_the_rules_and_read_their_alerts(plan_args):
    plan, args = plan_args
    grants = {
        r.name: r.inputs for r in plan.of("RoleAssignment") if r.name.startswith("train-fraud-deploy-")
    }
    contributor = [g for g in grants.values() if g["roleDefinitionId"].endswith("749f88d5-cbae-40b8-bcfc-e573ddc772fa")]
    reader = [g for g in grants.values() if g["roleDefinitionId"].endswith("43d0d8ad-25c7-4714-9337-8ba259a9fe05")]
    assert len(contributor) == len(_arg(args, "--alert-rule")) == 2
    assert {g["scope"] for g in reader} >= {_arg(args, "--endpoint-id")[0]}
    assert len(reader) == 2


def test_a_version_no_code_deployment_cannot_serve_fails_the_step_before_anything_changes(azure, tmp_path, capsys):
    state, arm, args = azure
    state.types = {"4": "custom_model"}
    before = dict(state.traffic)
    assert deploy_job.main(_fast(args, tmp_path), arm=arm) == 1
    assert state.traffic == before and not [c for c in state.calls if c[0] != "GET"]
    assert "fraud-model version 4 is a custom_model" in capsys.readouterr().err


def test_the_deployment_step_tags_the_version_the_registration_step_made_with_its_lineage(
    azure, plan_args, tmp_path, monkeypatch
):
    """The registration command as planned writes the version's lineage tags to its output, which the plan
    hands the deployment step; that step tags the version Azure registered from that job's output."""
    import joblib
    from sklearn.dummy import DummyClassifier

    from mlstack.runtime.lineage import LINEAGE_FILE

    state, arm, args = azure
    register = _registration_command(plan_args[0])
    assert register[:3] == ["python", "-m", "mlstack.runtime.mlflow_model"]
    assert register[3:6] == ["${{inputs.model}}", "${{outputs.model}}", "${{outputs.output}}"]
    assert _arg(args, "--lineage") == ["${{inputs.in_register}}"]
    trained = tmp_path / "train"
    trained.mkdir()
    joblib.dump(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), trained / "model.joblib")
    record = {"data": {"path": "azureml://datastores/raw/paths/fraud.csv", "sha256": "ab" * 32, "bytes": 9}}
    (trained / LINEAGE_FILE).write_text(json.dumps(record))
    monkeypatch.setenv("MLFLOW_RUN_ID", "calm_wheel_5x2")  # what Azure ML sets in the registration job
    registered = tmp_path / "register-output"
    assert mlflow_model.main([str(trained), str(tmp_path / "model"), str(registered)]) == 0
    # Azure registered the registration job's output as version 5 (pending approval)
    state.jobs = {"5": "calm_wheel_5x2", "4": "older_job"}
    deploy_args = _fast(args, tmp_path)
    deploy_args[deploy_args.index("--lineage") + 1] = str(registered)
    assert deploy_job.main(deploy_args, arm=arm) == 0
    assert state.versions["5"] == {
        "mlstack-data-sha256": "ab" * 32,
        "mlstack-data-uri": "azureml://datastores/raw/paths/fraud.csv",
        "mlstack-job": "calm_wheel_5x2",
    }
    assert state.versions["4"] == {"approval": "approved"}  # no other version is touched
    # the PUT body is a model version azure-ai-ml reads back, with its type and location kept
    (body,) = state.version_puts
    entity = Model._from_rest_object(RestModelVersion({"id": f"{state.model_id}/versions/5", "name": "5", **body}))
    assert entity.tags["mlstack-data-sha256"] == "ab" * 32 and entity.type == "mlflow_model"
    report = (tmp_path / "out" / "deployed").read_text()
    assert "tagged version 5 with its lineage" in report and "version 4 serves" in report
    # a second run finds the tags already there and PUTs nothing more
    assert deploy_job.main(deploy_args, arm=arm) == 0
    assert len(state.version_puts) == 1


def test_a_version_no_job_of_this_run_made_is_not_tagged_and_the_step_says_so(azure, tmp_path):
    state, arm, args = azure
    (tmp_path / "reg").mkdir()
    (tmp_path / "reg" / mlflow_model.VERSION_TAGS).write_text(json.dumps({"mlstack-job": "gone_job"}))
    deploy_args = _fast(args, tmp_path)
    deploy_args[deploy_args.index("--lineage") + 1] = str(tmp_path / "reg")
    assert deploy_job.main(deploy_args, arm=arm) == 0
    assert not state.version_puts
    assert "no version of the model came from job gone_job" in (tmp_path / "out" / "deployed").read_text()
