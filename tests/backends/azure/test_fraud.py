"""specs/fraud-detection.yaml on Azure ML, base, dev and prod: the inputs of every kind of resource."""

from __future__ import annotations

import pytest
from azure_plans import secret_value

from mlstack.backends.azure.context import compact_name
from mlstack.backends.azure.iam import ROLES
from mlstack.backends.azure.rollout import Rollout
from mlstack.targets.azure import LOG_ALERT_SETTLE_SECONDS

SUB = "00000000-1111-2222-3333-444444444444"
WS = f"/subscriptions/{SUB}/resourceGroups/rg-fraud/providers/Microsoft.MachineLearningServices/workspaces/fraud-ml"


def workspace_id(plan) -> str:
    """The workspace of the plan's environment (dev has its own)."""
    azure = plan.resolved.spec.target.azure
    return (
        f"/subscriptions/{SUB}/resourceGroups/{azure.resource_group}/providers/"
        f"Microsoft.MachineLearningServices/workspaces/{azure.workspace}"
    )


ENVS = [None, "dev", "prod"]


@pytest.mark.parametrize("env", ENVS)
def test_every_resource_sits_under_a_spec_component_with_the_stack_provider(fraud, env):
    plan = fraud(env)
    components = {r.key for r in plan.resources if r.type.startswith("mlstack:")}
    kinds = {r.type for r in plan.resources if r.type.startswith("mlstack:")}
    assert kinds == {
        "mlstack:platform:Platform",
        "mlstack:registry:Registry",
        "mlstack:entity:Entity",
        "mlstack:feature_view:FeatureView",
        "mlstack:pipeline:Pipeline",
        "mlstack:endpoint:Endpoint",
        "mlstack:monitor:Monitor",
    }
    for resource in plan.resources:
        if resource.custom and not resource.type.startswith("pulumi:providers"):
            assert resource.parent in components, resource.key
    (provider,) = plan.of("azure-native")
    assert provider.inputs["location"] == "eastus"
    assert provider.inputs["subscriptionId"] == SUB


@pytest.mark.parametrize("env", ENVS)
def test_tags_carry_the_spec_and_environment(fraud, env):
    plan = fraud(env)
    expected = plan.resolved.tags
    tagged = [r for r in plan.resources if "tags" in r.inputs and r.type.startswith("azure-native")]
    assert len(tagged) > 20
    for resource in tagged:
        if resource.type.endswith(("Schedule", "ModelVersion", "ComponentVersion")):
            continue  # tags live inside properties there
        assert expected.items() <= resource.inputs["tags"].items(), resource.key
    assert expected.get("mlstack-env") == env


def test_new_workspace_is_private_by_identity_and_keeps_keys_out(fraud):
    plan = fraud(None)
    workspace = plan.inputs("Workspace", "workspace")
    assert workspace["workspaceName"] == "fraud-ml"
    assert workspace["kind"] == "Default"
    assert workspace["identity"] == {"type": "SystemAssigned"}
    assert workspace["systemDatastoresAuthMode"] == "Identity"
    # the spec asks for private endpoints: no public workspace, outbound only to approved destinations
    assert workspace["publicNetworkAccess"] == "Disabled"
    assert workspace["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert "encryption" not in workspace
    storage_name = compact_name("st", "fraud-detection", "", SUB, max_length=24)
    assert workspace["storageAccount"].endswith(f"/Microsoft.Storage/storageAccounts/{storage_name}")
    storage = plan.inputs("StorageAccount", "storage")
    assert storage["accountName"] == storage_name and len(storage_name) <= 24
    assert storage["allowBlobPublicAccess"] is False
    assert storage["allowSharedKeyAccess"] is False
    assert storage["minimumTlsVersion"] == "TLS1_2"
    assert storage["publicNetworkAccess"] == "Disabled"
    vault = plan.inputs("Vault", "key-vault")["properties"]
    assert vault["enableRbacAuthorization"] is True
    # a vault's name outlives it by its soft-delete retention, which purge protection makes unbreakable: only
    # production keeps both, so a destroyed development stack can come up again (audit Z13)
    assert "enablePurgeProtection" not in vault and vault["softDeleteRetentionInDays"] == 7
    assert plan.one("Vault", "key-vault").options["ignoreChanges"] == ["properties.softDeleteRetentionInDays"]
    production = fraud("prod").inputs("Vault", "key-vault")["properties"]
    assert production["enablePurgeProtection"] is True and production["softDeleteRetentionInDays"] == 90
    assert vault["publicNetworkAccess"] == "Disabled"
    registry = plan.inputs("Registry", "registry")
    assert registry["adminUserEnabled"] is False and registry["anonymousPullEnabled"] is False
    assert registry["sku"] == {"name": "Premium"}
    insights = plan.inputs("Component", "insights")
    assert insights["workspaceResourceId"].endswith("/Microsoft.OperationalInsights/workspaces/fraud-detection-logs")
    assert plan.inputs("ResourceGroup", "resource-group")["resourceGroupName"] == "rg-fraud"


def test_prod_encrypts_with_the_customer_key_through_a_user_assigned_identity(fraud):
    plan = fraud("prod")
    key = "https://fraud-kv.vault.azure.net/keys/mlstack/0123456789abcdef0123456789abcdef"
    vault_id = f"/subscriptions/{SUB}/resourceGroups/rg-fraud/providers/Microsoft.KeyVault/vaults/fraud-kv"
    workspace = plan.inputs("Workspace", "workspace")
    encryption = workspace["encryption"]
    assert encryption["status"] == "Enabled"
    assert encryption["keyVaultProperties"] == {"keyIdentifier": key, "keyVaultArmId": vault_id}
    assert encryption["identity"]["userAssignedIdentity"] == "cmk-id"
    assert workspace["identity"]["type"] == "SystemAssigned,UserAssigned"
    storage = plan.inputs("StorageAccount", "storage")["encryption"]
    assert storage["keySource"] == "Microsoft.Keyvault"
    assert storage["keyVaultProperties"] == {
        "keyName": "mlstack",
        "keyVaultUri": "https://fraud-kv.vault.azure.net/",
        "keyVersion": "0123456789abcdef0123456789abcdef",
    }
    offline = plan.inputs("StorageAccount", "offline-store")["encryption"]
    assert (
        offline["keySource"] == "Microsoft.Keyvault" and offline["keyVaultProperties"] == storage["keyVaultProperties"]
    )
    registry = plan.inputs("Registry", "registry")["encryption"]
    assert registry["status"] == "enabled" and registry["keyVaultProperties"]["keyIdentifier"] == key
    grant = plan.inputs("RoleAssignment", "cmk-key-access")
    assert grant["scope"] == vault_id
    assert grant["roleDefinitionId"].endswith(ROLES["Key Vault Crypto Service Encryption User"])
    assert plan.inputs("StorageAccount", "storage")["sku"] == {"name": "Standard_ZRS"}


@pytest.mark.parametrize("env", ENVS)
def test_role_assignments_are_narrow_built_in_roles_on_single_resources(fraud, env):
    plan = fraud(env)
    grants = plan.of("RoleAssignment")
    assert grants
    allowed = {f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{r}" for r in ROLES.values()}
    for grant in grants:
        inputs = grant.inputs
        assert inputs["roleDefinitionId"] in allowed, grant.name
        scope = inputs["scope"]
        # a resource, never the subscription or a whole resource group
        assert "/providers/" in scope, (grant.name, scope)
        assert len(inputs["roleAssignmentName"]) == 36


def test_the_clusters_running_steps_with_feature_views_may_read_the_feature_store(fraud):
    """Audit Z8: each cluster a code step of train-fraud (feature_views) runs on gets the consumer roles of the
    feature store: AzureML Data Scientist on its workspace, Storage Blob Data Reader on its offline store."""
    plan = fraud(None)
    resolved = plan.resolved
    pipeline = resolved.spec.pipelines[0]
    kinds = ("data_validation", "processing", "training", "evaluation")
    code = {resolved.step_sku(pipeline.name, s.name).sku for s in pipeline.steps if s.kind in kinds}
    assert len(code) >= 2  # cpu-small and the training cluster
    store = plan.inputs("Workspace", "feature-store")["workspaceName"]
    offline = plan.inputs("StorageAccount", "offline-store")["accountName"]
    for sku_id in code:
        workspace = plan.inputs("RoleAssignment", f"cluster-{sku_id}-feature-store")
        assert workspace["roleDefinitionId"].endswith(ROLES["AzureML Data Scientist"])
        assert workspace["scope"].endswith(f"/Microsoft.MachineLearningServices/workspaces/{store}")
        data = plan.inputs("RoleAssignment", f"cluster-{sku_id}-offline-store")
        assert data["roleDefinitionId"].endswith(ROLES["Storage Blob Data Reader"])
        assert data["scope"].endswith(f"/Microsoft.Storage/storageAccounts/{offline}")
    readers = {
        g.name for g in plan.of("RoleAssignment") if g.name.startswith("cluster-") and g.name.endswith("-feature-store")
    }
    assert readers == {f"cluster-{s}-feature-store" for s in code}


@pytest.mark.parametrize("env", ENVS)
def test_compute_clusters_follow_the_catalog_and_scale_to_zero(fraud, env):
    plan = fraud(env)
    resolved = plan.resolved
    pipeline = resolved.spec.pipelines[0]
    skus = [resolved.step_sku(pipeline.name, s.name) for s in pipeline.steps]
    expected = {s.machine_type for s in skus if s}
    clusters = plan.of("Compute")
    assert {c.inputs["properties"]["properties"]["vmSize"] for c in clusters} == expected
    for cluster in clusters:
        props = cluster.inputs["properties"]
        assert props["computeType"] == "AmlCompute" and props["disableLocalAuth"] is True
        inner = props["properties"]
        steps_on_it = sum(1 for s in skus if s and s.machine_type == inner["vmSize"])
        assert inner["scaleSettings"] == {
            "minNodeCount": 0,
            "maxNodeCount": steps_on_it,
            "nodeIdleTimeBeforeScaleDown": "PT10M",
        }
        assert inner["enableNodePublicIp"] is False and inner["remoteLoginPortPublicAccess"] == "Disabled"
        assert cluster.inputs["identity"] == {"type": "SystemAssigned"}
        assert len(cluster.inputs["computeName"]) <= 16


def test_models_are_registered_as_mlflow_models_with_absolute_artifacts(fraud):
    plan = fraud(None)
    version = plan.inputs("ModelVersion", "fraud-model-v3")
    assert version["name"] == "fraud-model" and version["version"] == "3"
    props = version["properties"]
    assert props["modelUri"] == "azureml://datastores/workspaceblobstore/paths/fraud/models/fraud-model/3/"
    assert props["modelType"] == "mlflow_model"
    assert props["tags"] == {"owner": "risk", "framework": "xgboost", "approval": "approved", "aliases": "champion"}
    assert props["properties"] == {"metric.auc": "0.941"}
    container = plan.inputs("ModelContainer", "fraud-rules-model")["properties"]
    assert container["tags"] == {"approval-policy": "auto"}


def test_base_canary_endpoint_rolls_out_in_stages_guarded_by_alarms(fraud):
    plan = fraud(None)
    spec = plan.resolved.spec.endpoint("fraud-scorer")
    endpoint = plan.inputs("OnlineEndpoint", "fraud-scorer")
    assert endpoint["endpointName"] == "fraud-scorer-" + endpoint["endpointName"].rsplit("-", 1)[1]
    assert endpoint["properties"]["authMode"] == "AADToken"
    assert endpoint["properties"]["publicNetworkAccess"] == "Disabled"
    deployment = plan.inputs("OnlineDeployment", "fraud-scorer-primary")
    name = deployment["deploymentName"]
    assert name.startswith("primary-") and len(name) <= 32
    assert deployment["sku"] == {"name": "Default", "capacity": spec.instance_count}
    assert plan.one("OnlineDeployment", "fraud-scorer-primary").options == {"ignoreChanges": ["sku.capacity"]}
    traffic = plan.inputs("Resource", "fraud-scorer-traffic")
    assert traffic["traffic"] == {name: 100} and traffic["mirror_traffic"] == {}
    # the error-rate rule is a log alert: each watched wait lasts until it has judged the wait's last requests
    assert Rollout.from_dict(traffic["rollout"]) == Rollout("canary", 10, 100, 600, 300, LOG_ALERT_SETTLE_SECONDS)
    assert traffic["endpoint_id"] == f"{WS}/onlineEndpoints/{endpoint['endpointName']}"
    assert traffic["alert_rule_ids"] == ["fraud-scorer-primary-p99-latency-id", "fraud-scorer-primary-error-rate-id"]
    latency = plan.inputs("MetricAlert", "fraud-scorer-primary-p99-latency")
    (criterion,) = latency["criteria"]["allOf"]
    assert criterion["metricName"] == "RequestLatency_P99" and criterion["threshold"] == 250
    assert latency["windowSize"] == "PT5M"
    assert latency["scopes"] == [f"{traffic['endpoint_id']}/deployments/{name}"]
    errors = plan.inputs("ScheduledQueryRule", "fraud-scorer-primary-error-rate")
    (condition,) = errors["criteria"]["allOf"]
    assert condition["threshold"] == 0.02 and condition["metricMeasureColumn"] == "ErrorRate"
    assert f'DeploymentName == "{name}"' in condition["query"]
    assert errors["evaluationFrequency"] == "PT1M" and errors["windowSize"] == "PT5M"  # audit Z10
    log = plan.inputs("DiagnosticSetting", "fraud-scorer-traffic-log")
    assert log["logs"] == [{"category": "AmlOnlineEndpointTrafficLog", "enabled": True}]


@pytest.mark.parametrize(("env", "low", "high", "default"), [(None, 2, 6, 2), ("dev", 1, 2, 1), ("prod", 2, 6, 2)])
def test_autoscale_uses_azure_monitor_on_requests_per_instance(fraud, env, low, high, default):
    plan = fraud(env)
    setting = plan.inputs("AutoscaleSetting", "fraud-scorer-primary-autoscale")
    (profile,) = setting["profiles"]
    assert profile["capacity"] == {"minimum": str(low), "maximum": str(high), "default": str(default)}
    out, scale_in = profile["rules"]
    assert out["metricTrigger"]["metricName"] == "RequestsPerMinute"
    assert out["metricTrigger"]["dividePerInstance"] is True
    assert (out["metricTrigger"]["operator"], out["metricTrigger"]["threshold"]) == ("GreaterThan", 200)
    assert (scale_in["metricTrigger"]["operator"], scale_in["metricTrigger"]["threshold"]) == ("LessThan", 100)
    assert out["scaleAction"]["cooldown"] == "PT1M" and scale_in["scaleAction"]["cooldown"] == "PT5M"
    deployment = plan.inputs("OnlineDeployment", "fraud-scorer-primary")["deploymentName"]
    assert setting["targetResourceUri"].endswith(f"/deployments/{deployment}")


@pytest.mark.parametrize("env", ENVS)
def test_shadow_mirrors_a_quarter_and_ab_splits_eighty_twenty(fraud, env):
    plan = fraud(env)
    primary = plan.inputs("OnlineDeployment", "fraud-shadow-primary")["deploymentName"]
    shadow = plan.inputs("OnlineDeployment", "fraud-shadow-shadow")
    mirror = plan.inputs("Resource", "fraud-shadow-traffic")
    assert mirror["traffic"] == {primary: 100}
    assert mirror["mirror_traffic"] == {shadow["deploymentName"]: 25}
    assert shadow["properties"]["model"] == f"{workspace_id(plan)}/models/fraud-model/versions/4"
    assert "dataCollector" not in shadow["properties"]
    boosted = plan.inputs("OnlineDeployment", "fraud-ab-boosted")["deploymentName"]
    rules = plan.inputs("OnlineDeployment", "fraud-ab-rules")
    assert plan.inputs("Resource", "fraud-ab-traffic")["traffic"] == {boosted: 80, rules["deploymentName"]: 20}
    assert rules["properties"]["model"] == f"{workspace_id(plan)}/models/fraud-rules-model/versions/1"


@pytest.mark.parametrize("env", ENVS)
def test_deployments_take_the_catalog_sku_and_capture_the_spec_share(fraud, env):
    plan = fraud(env)
    for endpoint in plan.resolved.endpoints:
        spec = endpoint.endpoint
        for variant in endpoint.variants:
            props = plan.inputs("OnlineDeployment", f"{spec.name}-{variant.name}")["properties"]
            assert props["instanceType"] == variant.sku.machine_type
            assert props["endpointComputeType"] == "Managed"
            assert props["scaleSettings"] == {"scaleType": "Default"}
            assert props["livenessProbe"]["failureThreshold"] == 30
            assert props["readinessProbe"]["period"] == "PT10S"
            if variant.role == "production":
                rate = spec.data_capture.sampling_percent / 100
                assert props["dataCollector"]["collections"]["model_inputs"]["samplingRate"] == rate
                assert props["dataCollector"]["collections"]["model_outputs"]["samplingRate"] == rate


@pytest.mark.parametrize(("env", "threshold"), [(None, 0.1), ("dev", 0.1), ("prod", 0.08)])
def test_monitors_become_schedules_with_azure_signals(fraud, env, threshold):
    plan = fraud(env)
    drift = plan.inputs("Schedule", "feature-drift")["properties"]
    assert drift["trigger"] == {"triggerType": "Cron", "expression": "0 * * * *", "timeZone": "UTC"}
    definition = drift["action"]["monitorDefinition"]
    assert definition["computeConfiguration"]["computeIdentity"] == {"computeIdentityType": "AmlToken"}
    assert definition["alertNotificationSettings"]["emailNotificationSettings"]["emails"] == [
        "fraud-oncall@example.com"
    ]
    signal = definition["signals"]["feature-drift_data-drift"]
    assert signal["signalType"] == "DataDrift"
    assert {(t["dataType"], t["metric"], t["threshold"]["value"]) for t in signal["metricThresholds"]} == {
        ("Numerical", "JensenShannonDistance", threshold),
        ("Categorical", "JensenShannonDistance", threshold),
    }
    assert signal["features"]["features"] == ["txn_count_24h", "txn_amount_mean_7d", "distinct_merchants_7d"]
    assert set(signal["featureDataTypeOverride"].values()) == {"Numerical"}
    deployment = plan.inputs("OnlineDeployment", "fraud-scorer-primary")["deploymentName"]
    assert signal["productionData"]["uri"].endswith(f"-{deployment}-model_inputs:1")
    assert signal["productionData"]["windowSize"] == "P1D"
    assert signal["referenceData"] == {
        "inputDataType": "Fixed",
        "jobInputType": "uri_file",
        "uri": "azureml://datastores/workspaceblobstore/paths/fraud/baselines/training.csv",
        "dataContext": "training",
    }
    quality = plan.inputs("Schedule", "input-quality")["properties"]["action"]["monitorDefinition"]["signals"]
    assert {t["metric"] for t in quality["input-quality_data-quality"]["metricThresholds"]} == {"NullValueRate"}
    score = plan.inputs("Schedule", "score-drift")["properties"]
    assert score["trigger"]["expression"] == "0 */6 * * *"
    assert score["action"]["monitorDefinition"]["signals"]["score-drift_prediction-drift"]["signalType"] == "PredictionDrift"
    accuracy = plan.inputs("Schedule", "scorer-accuracy")["properties"]["action"]["monitorDefinition"]
    performance = accuracy["signals"]["scorer-accuracy_model-quality"]
    assert performance["signalType"] == "ModelPerformance"
    assert performance["metricThreshold"] == {
        "modelType": "Classification",
        "metric": "Accuracy",
        "threshold": {"value": 0.9},
    }
    assert performance["referenceData"]["uri"] == "azureml://datastores/workspaceblobstore/paths/fraud/labels/"
    assert accuracy["monitoringTarget"]["taskType"] == "Classification"


@pytest.mark.parametrize("env", ENVS)
def test_drift_alert_starts_the_retraining_pipeline_through_event_grid(fraud, env):
    plan = fraud(env)
    topic = plan.inputs("SystemTopic", "workspace-events")
    assert topic["topicType"] == "Microsoft.MachineLearningServices.Workspaces"
    assert topic["source"] == workspace_id(plan)
    subscription = plan.inputs("SystemTopicEventSubscription", "feature-drift-retrain-train-fraud")
    assert subscription["filter"]["includedEventTypes"] == ["Microsoft.MachineLearningServices.RunStatusChanged"]
    (advanced,) = subscription["filter"]["advancedFilters"]
    assert advanced == {
        "operatorType": "StringContains",
        "key": "data.RunTags.azureml_modelmonitor_threshold_breached",
        "values": ["The signal 'feature-drift_data-drift' has failed"],
    }
    # the Logic App's callback URL carries a signature: it stays a secret
    assert secret_value(subscription["destination"])["endpointType"] == "WebHook"
    app = plan.inputs("Workflow", "train-fraud-retrain")
    assert app["identity"] == {"type": "SystemAssigned"}
    submit = app["definition"]["actions"]["route"]["else"]["actions"]["submit-pipeline"]["inputs"]
    assert submit["method"] == "PUT" and submit["uri"].startswith(
        f"https://management.azure.com{workspace_id(plan)}/jobs/"
    )
    assert submit["body"]["properties"]["jobType"] == "Pipeline"
    assert set(submit["body"]["properties"]["jobs"]) == {
        "validate_data",
        "build_features",
        "train",
        "evaluate",
        "register",
        "deploy",
    }
    grant = plan.inputs("RoleAssignment", "train-fraud-retrain-submits-jobs")
    assert grant["scope"] == workspace_id(plan) and grant["roleDefinitionId"].endswith(ROLES["AzureML Data Scientist"])


@pytest.mark.parametrize(("env", "cron"), [(None, "0 3 * * 1"), ("dev", "0 6 * * *"), ("prod", "0 3 * * 1")])
def test_pipeline_schedule_runs_the_rendered_job_on_its_components(fraud, env, cron):
    plan = fraud(env)
    schedule = plan.inputs("Schedule", "train-fraud-schedule")["properties"]
    assert schedule["trigger"]["expression"] == cron
    job = schedule["action"]["jobDefinition"]
    assert job["jobType"] == "Pipeline" and job["experimentName"] == "fraud-detection-train-fraud"
    assert job["inputs"] == {
        # the pipeline's data under target.azure.data_root, mounted read-only for every code step
        "data": {
            "jobInputType": "uri_file",
            "mode": "ReadOnlyMount",
            "uri": "azureml://datastores/workspaceblobstore/paths/fraud/fraud/transactions.csv",
        },
        "learning_rate": {"jobInputType": "literal", "value": "0.05"},
        "max_depth": {"jobInputType": "literal", "value": "6"},
    }
    versions = {(v.inputs["name"], v.inputs["version"]) for v in plan.of("ComponentVersion")}
    clusters = {c.inputs["computeName"] for c in plan.of("Compute")}
    for node in job["jobs"].values():
        name, version = node["componentId"].rsplit("/components/", 1)[1].split("/versions/")
        assert (name, version) in versions
        assert node["computeId"].rsplit("/", 1)[1] in clusters
    register = job["jobs"]["register"]
    assert register["outputs"]["model"] == {"job_output_type": "mlflow_model", "name": "fraud-model"}
    assert register["inputs"]["model"]["value"] == "${{parent.jobs.train.outputs.output}}"
    evaluate = next(v for v in plan.of("ComponentVersion") if v.inputs["name"].endswith("_evaluate"))
    # gates: auc >= 0.9 and auc >= champion 0.941 - 0.002
    assert '"min": 0.939' in evaluate.inputs["properties"]["componentSpec"]["command"]


@pytest.mark.parametrize("env", ENVS)
def test_feature_store_workspace_entities_and_feature_sets(fraud, env):
    plan = fraud(env)
    store = plan.inputs("Workspace", "feature-store")
    assert store["kind"] == "FeatureStore"
    assert store["featureStoreSettings"] == {
        "computeRuntime": {"sparkRuntimeVersion": "3.4"},
        "offlineStoreConnectionName": "offline-store",
        "onlineStoreConnectionName": "online-store",
    }
    offline = plan.inputs("StorageAccount", "offline-store")
    assert offline["isHnsEnabled"] is True and offline["allowSharedKeyAccess"] is False
    connection = plan.inputs("WorkspaceConnection", "feature-store-offline-store")["properties"]
    assert connection["authType"] == "ManagedIdentity" and connection["category"] == "ADLSGen2"
    assert set(connection["credentials"]) == {"clientId", "resourceId"}  # the materialisation identity
    redis = plan.inputs("Redis", "online-store")
    assert redis["disableAccessKeyAuthentication"] is True and redis["enableNonSslPort"] is False
    entity = plan.inputs("FeaturestoreEntityVersion", "customer-version")["properties"]
    assert entity["indexColumns"] == [{"columnName": "customer_id", "dataType": "Long"}]
    view = plan.inputs("FeaturesetVersion", "customer-txn-stats-version")
    customer = plan.inputs("FeaturestoreEntityVersion", "customer-version")["version"]
    props = view["properties"]
    assert props["entities"] == [f"azureml:customer:{customer}"]
    settings = props["materializationSettings"]
    assert settings["storeType"] == "OnlineAndOffline"
    assert settings["schedule"] == {
        "triggerType": "Recurrence",
        "frequency": "Day",
        "interval": 1,
        "timeZone": "UTC",
        "schedule": {"hours": list(range(24)), "minutes": [0]},
    }
    assert props["specification"]["path"].endswith(f".dfs.core.windows.net/customer-txn-stats/{view['version']}")
    merchant = plan.inputs("FeaturesetVersion", "merchant-risk-version")["properties"]["materializationSettings"]
    assert "schedule" not in merchant
