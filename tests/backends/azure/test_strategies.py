"""Each strategy on Azure: deployments, their names across changes, and the traffic they get."""

from __future__ import annotations

import pytest
from azure_specs import ab_strategy, endpoint_spec

from mlstack.backends.azure.rollout import Rollout

ROLLBACK = "rollback:\n  max_error_rate: 0.05\n  window: 2m\n"


def _deployment(plan, variant="primary"):
    return plan.inputs("OnlineDeployment", f"rank-{variant}")


def _traffic(plan):
    return plan.inputs("Resource", "rank-traffic")


@pytest.mark.parametrize(
    ("strategy", "rollout"),
    [
        ("type: all_at_once\n", Rollout()),
        # the error-rate rule is a log alert: the watch lasts until it has judged the last requests (Z10)
        ("type: all_at_once\n" + ROLLBACK, Rollout("all_at_once", watch_seconds=120, settle_seconds=240)),
        ("type: blue_green\ntermination_wait: 10m\n", Rollout("blue_green", watch_seconds=600)),
        ("type: canary\npercent: 20\nbake_time: 15m\ntermination_wait: 1m\n", Rollout("canary", 20, 100, 900, 60)),
        ("type: linear\nstep_percent: 25\ninterval: 5m\ntermination_wait: 2m\n", Rollout("linear", 25, 25, 300, 120)),
    ],
)
def test_single_model_strategies_send_all_traffic_to_one_deployment_in_stages(planned, strategy, rollout):
    plan = planned(endpoint_spec(strategy))
    name = _deployment(plan)["deploymentName"]
    traffic = _traffic(plan)
    assert traffic["traffic"] == {name: 100}
    assert traffic["mirror_traffic"] == {}
    assert Rollout.from_dict(traffic["rollout"]) == rollout
    assert [d.name for d in plan.of("OnlineDeployment")] == ["rank-primary"]


def test_shadow_mirrors_to_its_own_deployment_and_never_serves(planned):
    plan = planned(
        endpoint_spec("type: shadow\nchallenger:\n  group: ranker\n  alias: challenger\npercent: 40\ncompute: big\n")
    )
    primary, shadow = _deployment(plan), _deployment(plan, "shadow")
    assert shadow["properties"]["instanceType"] == plan.resolved.sku("big").machine_type
    assert primary["properties"]["instanceType"] == plan.resolved.sku("small").machine_type
    traffic = _traffic(plan)
    assert traffic["traffic"] == {primary["deploymentName"]: 100}
    assert traffic["mirror_traffic"] == {shadow["deploymentName"]: 40}


def test_ab_weights_are_the_split(planned):
    plan = planned(endpoint_spec(ab_strategy(70, 30, treatment_compute="big")))
    control, treatment = _deployment(plan, "control"), _deployment(plan, "treatment")
    assert _traffic(plan)["traffic"] == {control["deploymentName"]: 70, treatment["deploymentName"]: 30}
    assert treatment["properties"]["model"].endswith("/models/ranker/versions/2")
    assert treatment["properties"]["instanceType"] == plan.resolved.sku("big").machine_type


@pytest.mark.parametrize("strategy", ["type: all_at_once\n", "type: canary\npercent: 10\n", "type: blue_green\n"])
def test_a_new_instance_type_is_a_new_deployment_next_to_the_old(planned, strategy):
    small, big = planned(endpoint_spec(strategy)), planned(endpoint_spec(strategy, compute="big"))
    before, after = _deployment(small), _deployment(big)
    # same logical resource (Pulumi replaces it), a new Azure name (the old one serves until traffic moves)
    assert before["deploymentName"] != after["deploymentName"]
    assert before["deploymentName"].split("-")[0] == after["deploymentName"].split("-")[0] == "primary"
    assert _traffic(big)["traffic"] == {after["deploymentName"]: 100}
    assert small.one("OnlineDeployment", "rank-primary").options.get("deleteBeforeReplace") is None


@pytest.mark.parametrize(
    ("strategy", "renamed"), [("type: all_at_once\n", False), ("type: linear\nstep_percent: 50\n", True)]
)
def test_a_new_model_is_a_new_deployment_only_where_traffic_must_move(planned, strategy, renamed):
    champion = planned(endpoint_spec(strategy))
    challenger = planned(endpoint_spec(strategy, alias="challenger"))
    before, after = _deployment(champion), _deployment(challenger)
    assert before["properties"]["model"].endswith("/versions/1") and after["properties"]["model"].endswith(
        "/versions/2"
    )
    assert (before["deploymentName"] != after["deploymentName"]) is renamed


def test_rollback_alarms_watch_the_new_deployment_for_the_window(planned):
    plan = planned(
        endpoint_spec("type: blue_green\n" + ROLLBACK.replace("window: 2m", "max_p99_latency_ms: 80\n  window: 2m"))
    )
    name = _deployment(plan)["deploymentName"]
    errors = plan.inputs("ScheduledQueryRule", "rank-primary-error-rate")
    latency = plan.inputs("MetricAlert", "rank-primary-p99-latency")
    assert errors["windowSize"] == latency["windowSize"] == "PT2M"
    assert errors["criteria"]["allOf"][0]["threshold"] == 0.05
    assert latency["criteria"]["allOf"][0]["threshold"] == 80
    assert latency["scopes"][0].endswith(f"/deployments/{name}")
    assert _traffic(plan)["alert_rule_ids"] == ["rank-primary-p99-latency-id", "rank-primary-error-rate-id"]


def test_no_rollback_no_alarms(planned):
    plan = planned(endpoint_spec("type: canary\npercent: 5\n"))
    assert plan.of("MetricAlert") == plan.of("ScheduledQueryRule") == plan.of("DiagnosticSetting") == []
    assert _traffic(plan)["alert_rule_ids"] == []


def test_public_key_endpoint_when_asked(planned):
    plan = planned(endpoint_spec("type: all_at_once\n", extra="public: true\nauth: key\n"))
    props = plan.inputs("OnlineEndpoint", "rank")["properties"]
    assert props == {**props, "authMode": "Key", "publicNetworkAccess": "Enabled"}


@pytest.mark.parametrize(
    ("metric", "azure", "per_instance"),
    [("cpu_utilization", "CpuUtilizationPercentage", False), ("gpu_utilization", "GpuUtilizationPercentage", False)],
)
def test_utilisation_autoscaling(planned, metric, azure, per_instance):
    scaling = f"instance_count: 2\nautoscaling:\n  min: 1\n  max: 4\n  metric: {metric}\n  target: 70\n  scale_in_cooldown: 10m\n"
    plan = planned(endpoint_spec("type: all_at_once\n", extra=scaling))
    (profile,) = plan.inputs("AutoscaleSetting", "rank-primary-autoscale")["profiles"]
    assert profile["capacity"] == {"minimum": "1", "maximum": "4", "default": "2"}
    out, scale_in = profile["rules"]
    assert out["metricTrigger"]["metricName"] == scale_in["metricTrigger"]["metricName"] == azure
    assert out["metricTrigger"]["dividePerInstance"] is per_instance
    assert (out["metricTrigger"]["threshold"], scale_in["metricTrigger"]["threshold"]) == (70, 35)
    assert (out["scaleAction"]["direction"], scale_in["scaleAction"]["direction"]) == ("Increase", "Decrease")
    assert scale_in["scaleAction"]["cooldown"] == "PT10M"
    assert _deployment(plan)["sku"]["capacity"] == 2


def test_without_autoscaling_the_instance_count_is_fixed(planned):
    plan = planned(endpoint_spec("type: all_at_once\n", extra="instance_count: 3\n"))
    assert plan.of("AutoscaleSetting") == []
    assert _deployment(plan)["sku"] == {"name": "Default", "capacity": 3}
    assert plan.one("OnlineDeployment", "rank-primary").options == {}


def test_capture_to_a_destination_registers_one_data_asset_per_collection(planned):
    capture = (
        "data_capture:\n  sampling_percent: 30\n  destination: abfss://capture@shopdata.dfs.core.windows.net/rank\n"
    )
    plan = planned(endpoint_spec("type: all_at_once\n", extra=capture))
    collections = _deployment(plan)["properties"]["dataCollector"]["collections"]
    for collection, asset in (("model_inputs", "rank-model-inputs"), ("model_outputs", "rank-model-outputs")):
        data = plan.inputs("DataVersion", asset)
        assert data["properties"]["dataUri"] == f"abfss://capture@shopdata.dfs.core.windows.net/rank/{collection}"
        assert collections[collection]["dataId"].endswith(f"/data/{asset}/versions/1")
        assert collections[collection]["samplingRate"] == 0.3


def test_no_capture_no_collector(planned):
    plan = planned(endpoint_spec("type: all_at_once\n"))
    assert "dataCollector" not in _deployment(plan)["properties"]


def test_a_serving_image_becomes_an_environment_with_the_serving_routes(planned):
    text = endpoint_spec("type: all_at_once\n").replace(
        "          aliases: [champion]\n",
        "          aliases: [champion]\n          image: shopml.azurecr.io/ranker:1\n",
    )
    plan = planned(text)
    props = _deployment(plan)["properties"]
    (version,) = plan.of("EnvironmentVersion")
    assert version.inputs["properties"]["image"] == "shopml.azurecr.io/ranker:1"
    routes = version.inputs["properties"]["inferenceConfig"]
    assert routes["scoringRoute"] == {"path": "/invocations", "port": 8080}
    assert props["environmentId"].endswith(f"/environments/{version.inputs['name']}/versions/1")
    assert plan.inputs("ModelVersion", "ranker-v1")["properties"]["modelType"] == "custom_model"


def test_a_shared_registry_holds_the_models(planned):
    plan = planned(endpoint_spec("type: all_at_once\n", registry_extra="  shared: true\n"))
    assert plan.of("ModelVersion") == [] and plan.of("ModelContainer") == []
    registry = plan.inputs("Registry", "model-registry")
    (region,) = registry["regionDetails"]
    assert region["location"] == "westeurope"
    assert region["storageAccountDetails"][0]["systemCreatedStorageAccount"]["allowBlobPublicAccess"] is False
    version = plan.inputs("RegistryModelVersion", "ranker-v1")
    assert version["registryName"] == registry["registryName"] and version["modelName"] == "ranker"
    assert (
        _deployment(plan)["properties"]["model"]
        == f"azureml://registries/{registry['registryName']}/models/ranker/versions/1"
    )


def test_an_existing_workspace_is_referenced_not_created(planned):
    plan = planned(endpoint_spec("type: all_at_once\n", azure_extra="    create_workspace: false\n"))
    types = {r.type for r in plan.resources}
    made_elsewhere = {
        "azure-native:machinelearningservices:Workspace",
        "azure-native:storage:StorageAccount",
        "azure-native:keyvault:Vault",
        "azure-native:containerregistry:Registry",
        "azure-native:resources:ResourceGroup",
    }
    assert not types & made_elsewhere
    assert _deployment(plan)["workspaceName"] == "shop-ml" and _deployment(plan)["resourceGroupName"] == "rg-shop"


def test_a_public_workspace_without_a_network(planned):
    plan = planned(endpoint_spec("type: all_at_once\n"))
    workspace = plan.inputs("Workspace", "workspace")
    assert workspace["publicNetworkAccess"] == "Enabled"
    assert workspace["managedNetwork"]["isolationMode"] == "AllowInternetOutbound"
    # endpoints stay private unless the spec says public
    assert plan.inputs("OnlineEndpoint", "rank")["properties"]["publicNetworkAccess"] == "Disabled"
    assert plan.of("PrivateEndpoint") == []
