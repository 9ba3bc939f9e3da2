"""fraud-detection on Vertex under Pulumi's mocks: the inputs of every resource kind."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from conftest import FRAUD, fraud_text, plan_text
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from mlstack.catalog import Request, get_catalog
from mlstack.errors import SpecInvalid

ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
DEPLOYMENT = "pulumi-python:dynamic/vertex:Deployment"
SCHEDULE = "gcp:colab/schedule:Schedule"
KEY = "projects/fraud-platform-prod/locations/us-central1/keyRings/mlstack/cryptoKeys/platform"


def test_components_mirror_the_spec(fraud):
    assert fraud.names("mlstack:registry:Registry") == ["fraud-model", "fraud-rules-model"]
    assert fraud.names("mlstack:feature_view:FeatureView") == ["customer-txn-stats", "merchant-risk"]
    assert fraud.names("mlstack:endpoint:Endpoint") == ["fraud-ab", "fraud-scorer", "fraud-shadow"]
    assert fraud.names("mlstack:monitor:Monitor") == [
        "feature-drift",
        "input-quality",
        "score-drift",
        "scorer-accuracy",
    ]
    assert fraud.names("mlstack:pipeline:Pipeline") == ["train-fraud"]
    assert fraud.one(ENDPOINT, "fraud-scorer").parent == "mlstack:endpoint:Endpoint::fraud-scorer"


def test_model_versions_carry_artifact_image_and_aliases(fraud):
    v3 = fraud.inputs("pulumi-python:dynamic/vertex:ModelVersion", "fraud-model-v3")
    assert v3["model_id"] == "fraud-detection-fraud-model"
    assert v3["artifact_uri"] == "gs://fraud-platform-data/models/fraud-model/3/"
    assert v3["image_uri"] == "us-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.2-1:latest"
    assert v3["aliases"] == ["champion"] and v3["version"] == 3
    assert v3["labels"]["owner"] == "risk" and v3["labels"]["cost-center"] == "cc-1234"
    rules = fraud.inputs("pulumi-python:dynamic/vertex:ModelVersion", "fraud-rules-model-v1")
    assert rules["image_uri"].endswith("/sklearn-cpu.1-6:latest")


def test_endpoint_is_private_and_logs_its_capture_share(fraud):
    scorer = fraud.inputs(ENDPOINT, "fraud-scorer")
    assert scorer["privateServiceConnectConfig"] == {
        "enablePrivateServiceConnect": True,
        "projectAllowlists": ["fraud-platform-prod"],
        "pscAutomationConfigs": [
            {"projectId": "fraud-platform-prod", "network": "projects/fraud-platform-prod/global/networks/fraud-vpc"}
        ],
    }
    assert scorer["predictRequestResponseLoggingConfig"] == {
        "enabled": True,
        "samplingRate": 0.2,
        "bigqueryDestination": {"outputUri": "bq://fraud-platform-prod.fraud_detection.fraud_scorer_requests"},
    }
    assert scorer["name"].isdigit() and len(scorer["name"]) == 10
    assert fraud.one(ENDPOINT, "fraud-scorer").options["ignoreChanges"] == ["trafficSplit"]
    assert "encryptionSpec" not in scorer


def test_canary_deployment_uses_the_catalog_sku(fraud):
    deployment = fraud.inputs(DEPLOYMENT, "fraud-scorer-deployment")
    assert (
        deployment["endpoint"]
        == f"projects/fraud-platform-prod/locations/us-central1/endpoints/{fraud.inputs(ENDPOINT, 'fraud-scorer')['name']}"
    )
    (primary,) = deployment["variants"]
    # an XGBoost model: Vertex's XGBoost image is CPU-only, so the flagship serves it on CPUs
    cpu = get_catalog().resolve("gcp", Request(**yaml.safe_load(fraud_text())["compute"]["cpu-small"]))
    assert primary["machine_type"] == cpu.machine_type and "accelerator_type" not in primary
    assert (primary["min_replicas"], primary["max_replicas"], primary["weight"]) == (2, 6, 100)
    assert primary["autoscaling"] == [
        {"metric_name": "aiplatform.googleapis.com/prediction/online/request_count", "target": 200}
    ]
    assert deployment["strategy"] == {
        "type": "canary",
        "percent": 10,
        "bake_time": 600,
        "termination_wait": 300,
        "rollback": {"max_error_rate": 0.02, "max_p99_latency_ms": 250, "window": 300},
    }


def test_ab_variants_keep_their_weights(fraud):
    variants = fraud.inputs(DEPLOYMENT, "fraud-ab-deployment")["variants"]
    assert [(v["name"], v["weight"], v["machine_type"]) for v in variants] == [
        ("boosted", 80, "e2-standard-2"),
        ("rules", 20, "e2-standard-2"),
    ] or all("accelerator_type" not in v for v in variants)
    assert sum(v["weight"] for v in variants) == 100


def test_shadow_is_a_companion_endpoint_fed_by_a_replay(fraud):
    shadow = fraud.inputs(ENDPOINT, "fraud-shadow-shadow")
    assert shadow["predictRequestResponseLoggingConfig"]["samplingRate"] == 1
    main = fraud.inputs(ENDPOINT, "fraud-shadow")
    assert main["predictRequestResponseLoggingConfig"]["samplingRate"] == 0.25  # max(capture 10%, shadow 25%)
    (challenger,) = fraud.inputs(DEPLOYMENT, "fraud-shadow-shadow-deployment")["variants"]
    assert challenger["name"] == "shadow" and challenger["weight"] == 100
    replay = fraud.inputs(SCHEDULE, "fraud-shadow-replay-schedule")
    args = _only_task(replay)["args"]
    assert args[0] == "replay" and "--share=1.0000" in args
    assert f"--endpoint=projects/fraud-platform-prod/locations/us-central1/endpoints/{shadow['name']}" in args


def _json(value: str | dict) -> dict:
    """A JSON string input (the plan's records may already hold it parsed)."""
    if isinstance(value, dict) and "value" in value:  # a secret input: Pulumi's {sig, value} wrapper
        value = value["value"]
    return value if isinstance(value, dict) else json.loads(value)


def _spec(schedule: dict) -> dict:
    return _json(schedule["createPipelineJobRequest"]["pipelineJob"]["pipelineSpec"])


def _only_task(schedule: dict) -> dict:
    (executor,) = _spec(schedule)["deploymentSpec"]["executors"].values()
    return executor["container"]


def test_training_pipeline_is_a_valid_kfp_spec_with_gates(fraud):
    schedule = fraud.inputs(SCHEDULE, "train-fraud-schedule")
    assert schedule["cron"] == "0 3 * * 1" and schedule["location"] == "us-central1"
    job = schedule["createPipelineJobRequest"]["pipelineJob"]
    assert job["runtimeConfig"] == {
        "gcsOutputDirectory": "gs://fraud-detection-fraud-platform-prod/pipelines/train-fraud/runs"
    }
    spec = _spec(schedule)
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())  # KFP's own type, unknown fields rejected
    tasks = spec["root"]["dag"]["tasks"]
    assert list(tasks) == [
        "build-features",
        "deploy",
        "evaluate",
        "evaluate-gates",
        "register",
        "train",
        "validate-data",
    ]
    assert tasks["register"]["dependentTasks"] == ["evaluate", "evaluate-gates"]
    executors = spec["deploymentSpec"]["executors"]
    train = executors["exec-train"]["container"]
    # the step's image with mlstack's step adapter added, built by the stack into its Artifact Registry repository
    assert train["image"].startswith("us-central1-docker.pkg.dev/fraud-platform-prod/fraud-detection-mlstack:step-")
    assert train["command"] == ["python3", "-m", "mlstack.runtime.step", "fraud/train.py"]
    assert "--input=build-features={{$.inputs.artifacts['build-features'].path}}" in train["args"]
    assert "--data=/gcs/fraud-platform-data/fraud/transactions.csv" in train["args"]  # Cloud Storage FUSE
    system = executors["exec-evaluate-gates"]["container"]
    assert system["command"] == ["python3", "-m", "mlstack.backends.gcp.runtime"]
    assert system["image"].startswith("us-central1-docker.pkg.dev/fraud-platform-prod/fraud-detection-mlstack:runtime-")
    assert train["resources"] == {
        "cpuLimit": 4.0,
        "memoryLimit": 16.0,
        "resourceCpuLimit": "4",
        "resourceMemoryLimit": "16G",
        "accelerator": {"type": "NVIDIA_L4", "count": "1", "resourceType": "NVIDIA_L4", "resourceCount": "1"},
    }
    # both forms, as the KFP SDK writes them, are fields of KFP's ResourceSpec (audit G10)
    parsed = json_format.ParseDict(
        train["resources"], pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec()
    )
    assert (parsed.cpu_limit, parsed.memory_limit, parsed.accelerator.count) == (4.0, 16.0, 1)
    assert (parsed.accelerator.type, parsed.resource_cpu_limit) == ("NVIDIA_L4", "4")
    assert "--learning_rate={{$.inputs.parameters['learning_rate']}}" in train["args"]
    assert spec["root"]["inputDefinitions"]["parameters"]["max_depth"] == {
        "parameterType": "NUMBER_INTEGER",
        "defaultValue": 6,
    }
    register = executors["exec-register"]["container"]["args"]
    assert register[0] == "register" and "--aliases=challenger" in register
    assert "--approval=manual" in register  # fraud-model's approval: the deploy task waits for a person
    assert "--artifact={{$.inputs.artifacts['train'].uri}}" in register
    lineage = json.loads(next(a for a in register if a.startswith("--lineage="))[len("--lineage=") :])
    assert lineage == {
        "mlstack-pipeline": "train-fraud",
        "mlstack-run": "{{$.pipeline_job_name}}",  # Vertex fills it in when the task runs
        "mlstack-features": "customer-txn-stats_merchant-risk",
    }
    gates = executors["exec-evaluate-gates"]["container"]["args"]
    assert json.loads(next(a for a in gates if a.startswith("--gates="))[len("--gates=") :])[1]["beat_champion"]
    deploy = executors["exec-deploy"]["container"]["args"]
    assert json.loads(next(a for a in deploy if a.startswith("--strategy="))[len("--strategy=") :])["type"] == "canary"
    stored = fraud.inputs("gcp:storage/bucketObject:BucketObject", "train-fraud-spec")
    assert _json(stored["content"]) == spec and stored["name"] == "pipelines/train-fraud/pipeline.json"


def test_feature_store_groups_views_and_sync(fraud):
    store = fraud.inputs("gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore", "online-store")
    assert store["name"] == "fraud_detection" and store["optimized"] == {}
    assert store["dedicatedServingEndpoint"]["privateServiceConnectConfig"]["enablePrivateServiceConnect"]
    group = fraud.inputs("gcp:vertex/aiFeatureGroup:AiFeatureGroup", "customer-txn-stats")
    assert group["name"] == "fraud_detection_customer_txn_stats"
    assert group["bigQuery"] == {
        "bigQuerySource": {"inputUri": "bq://fraud-platform-prod.fraud_detection.customer_txn_stats_source"},
        "entityIdColumns": ["customer_id"],
    }
    assert group["labels"]["mlstack-ttl-seconds"] == "604800"
    source = fraud.inputs("gcp:bigquery/table:Table", "customer-txn-stats-source")
    assert source["view"]["query"] == (
        "SELECT *, CAST(`event_ts` AS TIMESTAMP) AS feature_timestamp "
        "FROM `fraud-platform-prod.fraud_features.customer_txn_stats`"
    )
    feature = fraud.inputs("gcp:vertex/aiFeatureGroupFeature:AiFeatureGroupFeature", "merchant-risk-merchant_category")
    assert feature["versionColumnName"] == "merchant_category" and feature["labels"]["mlstack-dtype"] == "string"
    online = fraud.inputs(
        "gcp:vertex/aiFeatureOnlineStoreFeatureview:AiFeatureOnlineStoreFeatureview", "customer-txn-stats-online"
    )
    assert online["syncConfig"] == {"cron": "0 * * * *"} and online["name"] == "customer_txn_stats"
    assert online["featureRegistrySource"]["featureGroups"][0]["featureIds"] == [
        "txn_count_24h",
        "txn_amount_mean_7d",
        "distinct_merchants_7d",
    ]


def test_drift_monitor_is_the_endpoint_monitoring_job(fraud):
    job = fraud.inputs("pulumi-python:dynamic/vertex:ModelDeploymentMonitoringJob", "fraud-scorer-monitoring")
    assert job["skew_thresholds"] == {"txn_count_24h": 0.1, "txn_amount_mean_7d": 0.1, "distinct_merchants_7d": 0.1}
    assert job["interval_hours"] == 1 and job["sample_rate"] == 0.2
    assert job["training_dataset"] == {"format": "csv", "gcs": "gs://fraud-platform-data/baselines/training.csv"}
    assert job["emails"] == ["fraud-oncall@example.com"]
    # no Pub/Sub channel to the alert topic: Vertex would send it its notice of a failed run too, and the topic
    # starts retraining (audit X4); the job's anomaly log entries reach the topic through a Logging sink
    assert job["notification_channels"] == []
    sink = fraud.inputs("gcp:logging/projectSink:ProjectSink", "feature-drift-anomalies")
    topic = fraud.inputs("gcp:pubsub/topic:Topic", "feature-drift-alerts")["name"]
    assert sink["destination"] == f"pubsub.googleapis.com/projects/fraud-platform-prod/topics/{topic}"
    assert sink["uniqueWriterIdentity"] is True
    # the sink's own writer identity (what Logging reports for it) may publish to that topic only (audit G8)
    publisher = fraud.inputs("gcp:pubsub/topicIAMMember:TopicIAMMember", "feature-drift-alerts-publisher")
    assert publisher["member"] == "serviceAccount:service-123456789012@gcp-sa-logging.iam.gserviceaccount.com"
    assert (publisher["topic"], publisher["role"]) == (topic, "roles/pubsub.publisher")


def test_array_instances_get_an_instance_schema_naming_the_features_in_order(fraud):
    """The prebuilt XGBoost image takes array instances; without a schema Vertex names the features itself and
    the named thresholds never match (audit G3). The schema lists them in the monitor's order."""
    job = fraud.inputs("pulumi-python:dynamic/vertex:ModelDeploymentMonitoringJob", "fraud-scorer-monitoring")
    stored = fraud.inputs("gcp:storage/bucketObject:BucketObject", "fraud-scorer-instance-schema")
    assert job["analysis_instance_schema_uri"].endswith("/" + stored["name"])
    assert re.fullmatch(r"monitoring/fraud-scorer/instance-schema-[0-9a-f]{8}\.yaml", stored["name"])
    schema = _json(stored["content"])  # JSON, which is YAML
    order = ["txn_count_24h", "txn_amount_mean_7d", "distinct_merchants_7d"]
    assert schema == {"type": "array", "properties": {f: {"type": "number"} for f in order}, "required": order}
    assert set(job["skew_thresholds"]) == set(order)  # the names the thresholds are keyed by


def test_retrain_is_topic_eventarc_workflow(fraud):
    import yaml

    trigger = fraud.inputs("gcp:eventarc/trigger:Trigger", "feature-drift-retrain-trigger")
    assert trigger["matchingCriterias"] == [
        {"attribute": "type", "value": "google.cloud.pubsub.topic.v1.messagePublished"}
    ]
    workflow = fraud.inputs("gcp:workflows/workflow:Workflow", "feature-drift-retrain")
    steps = yaml.safe_load(workflow["sourceContents"])["main"]["steps"]
    read, start = steps[0]["read_spec"], steps[1]["start_run"]
    assert read["args"] == {
        "bucket": "fraud-detection-fraud-platform-prod",
        "object": "pipelines%2Ftrain-fraud%2Fpipeline.json",
        "alt": "media",
    }
    assert start["call"] == "googleapis.aiplatform.v1.projects.locations.pipelineJobs.create"
    assert start["args"]["body"]["pipelineSpec"] == "${spec}"
    rollback = yaml.safe_load(
        fraud.inputs("gcp:workflows/workflow:Workflow", "scorer-accuracy-rollback")["sourceContents"]
    )
    assert rollback["main"]["steps"][-2]["switch_traffic"]["args"]["updateMask"] == "trafficSplit"


def test_quality_monitors_run_as_scheduled_pipelines_with_log_alerts(fraud):
    schedule = fraud.inputs(SCHEDULE, "input-quality-schedule")
    assert schedule["cron"] == "0 * * * *"
    args = _only_task(schedule)["args"]
    assert args[0] == "monitor" and "--table=fraud-platform-prod.fraud_detection.fraud_scorer_requests" in args
    assert json.loads(next(a for a in args if a.startswith("--monitor="))[10:])["metric"] == "null_rate"
    policy = fraud.inputs("gcp:monitoring/alertPolicy:AlertPolicy", "input-quality-alert")
    assert policy["conditions"][0]["conditionMatchedLog"]["filter"] == (
        'jsonPayload.event="mlstack-monitor-alert" AND jsonPayload.monitor="input-quality"'
    )
    email = fraud.inputs("gcp:monitoring/notificationChannel:NotificationChannel", "input-quality-email-0")
    assert email["labels"] == {"email_address": "fraud-oncall@example.com"}


def test_iam_uses_narrow_roles_at_narrow_scopes(fraud):
    project_roles = sorted(r.inputs["role"] for r in fraud.of("gcp:projects/iAMMember:IAMMember"))
    assert project_roles == [
        "roles/aiplatform.user",
        "roles/aiplatform.user",
        "roles/aiplatform.user",  # monitors: its monitoring pipeline jobs run as it
        "roles/bigquery.jobUser",
        "roles/bigquery.jobUser",
        "roles/eventarc.eventReceiver",
        "roles/workflows.invoker",
    ]
    every_role = [r.inputs.get("role", "") for r in fraud.resources]
    assert not any(role in ("roles/owner", "roles/editor") or role.endswith(".admin") for role in every_role)
    bucket = fraud.inputs("gcp:storage/bucket:Bucket", "bucket")
    assert bucket["publicAccessPrevention"] == "enforced" and bucket["uniformBucketLevelAccess"] is True


def test_prod_encrypts_with_the_key(plan_spec):
    prod = plan_spec(fraud_text(), env="prod")
    assert prod.inputs(ENDPOINT, "fraud-scorer")["encryptionSpec"] == {"kmsKeyName": KEY}
    assert prod.inputs("gcp:storage/bucket:Bucket", "bucket")["encryption"] == {"defaultKmsKeyName": KEY}
    assert prod.inputs("gcp:bigquery/dataset:Dataset", "dataset")["defaultEncryptionConfiguration"] == {
        "kmsKeyName": KEY
    }
    assert prod.inputs("gcp:pubsub/topic:Topic", "feature-drift-alerts")["kmsKeyName"] == KEY
    assert prod.inputs("pulumi-python:dynamic/vertex:ModelVersion", "fraud-model-v3")["kms_key"] == KEY
    job = prod.inputs(SCHEDULE, "train-fraud-schedule")["createPipelineJobRequest"]["pipelineJob"]
    assert job["encryptionSpec"] == {"kmsKeyName": KEY}
    grants = prod.of("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert sorted(g.name for g in grants) == [
        *("kms-aiplatform", "kms-artifactregistry", "kms-bigquery", "kms-pubsub", "kms-storage")
    ]
    # the runtime image repository is encrypted with the key, after the Artifact Registry agent may use it
    images = prod.inputs("gcp:artifactregistry/repository:Repository", "runtime-images")
    assert images["kmsKeyName"] == KEY and images["format"] == "DOCKER"
    assert {g.inputs["role"] for g in grants} == {"roles/cloudkms.cryptoKeyEncrypterDecrypter"}
    assert (
        prod.inputs("pulumi-python:dynamic/vertex:ModelDeploymentMonitoringJob", "fraud-scorer-monitoring")[
            "skew_thresholds"
        ]["txn_count_24h"]
        == 0.08
    )


def test_dev_overrides_reach_the_resources(plan_spec):
    dev = plan_spec(fraud_text(), env="dev")
    deployment = dev.inputs(DEPLOYMENT, "fraud-scorer-deployment")
    assert deployment["strategy"]["type"] == "all_at_once"
    (primary,) = deployment["variants"]
    assert (primary["min_replicas"], primary["max_replicas"]) == (1, 2)
    assert dev.inputs(SCHEDULE, "train-fraud-schedule")["cron"] == "0 6 * * *"
    assert dev.inputs("gcp:storage/bucket:Bucket", "bucket")["name"] == "fraud-detection-dev-fraud-platform-prod"
    assert dev.inputs(ENDPOINT, "fraud-scorer")["labels"]["mlstack-env"] == "dev"


def test_a_spec_pinned_to_aws_data_fails_validation_with_every_uri_named():
    text = (
        FRAUD.read_text()
        .replace("artifact: models/fraud-model/3/", "artifact: s3://fraud-models/fraud-model/3/model.tar.gz")
        .replace("uri: merchant_risk", "uri: s3://fraud-data/features/merchant_risk/")
    )
    with pytest.raises(SpecInvalid) as error:
        plan_text(text)
    message = str(error.value)
    assert "s3://fraud-models/fraud-model/3/model.tar.gz: Google Vertex AI reads model artifacts from gs://" in message
    assert "s3://fraud-data/features/merchant_risk/: Google Vertex AI reads feature view sources from bq://" in message


def test_private_endpoints_are_reached_from_the_specs_network_and_the_shadow_companion_by_the_replay(fraud):
    """Vertex creates each private endpoint's PSC forwarding rule in target.gcp.network (PSC automation, as an
    aiplatform_v1 Endpoint takes it); the online store's rule, which Vertex does not automate, is the plan's own,
    from an internal address in target.gcp.subnet to the store's service attachment. The shadow companion,
    called only by the replay task through the regional API, is not a PSC endpoint (audit G4)."""
    from google.cloud import aiplatform_v1

    from mlstack.validate import check_file

    network = "projects/fraud-platform-prod/global/networks/fraud-vpc"
    endpoints = {r.name: r.inputs for r in fraud.of(ENDPOINT)}
    for name in ("fraud-scorer", "fraud-shadow", "fraud-ab"):
        psc = dict(endpoints[name]["privateServiceConnectConfig"])
        psc["projectAllowlist"] = psc.pop("projectAllowlists")  # the provider's plural of the API's field
        request = json_format.ParseDict({"privateServiceConnectConfig": psc}, aiplatform_v1.Endpoint()._pb)
        (automation,) = request.private_service_connect_config.psc_automation_configs
        assert (automation.project_id, automation.network) == ("fraud-platform-prod", network)
        assert list(request.private_service_connect_config.project_allowlist) == ["fraud-platform-prod"]
    assert "privateServiceConnectConfig" not in endpoints["fraud-shadow-shadow"]
    replay = fraud.inputs(SCHEDULE, "fraud-shadow-replay-schedule")
    args = _only_task(replay)["args"]
    assert any(a.startswith("--endpoint=") and a.endswith(endpoints["fraud-shadow-shadow"]["name"]) for a in args)

    address = fraud.inputs("gcp:compute/address:Address", "online-store-psc-address")
    assert address["addressType"] == "INTERNAL" and address["region"] == "us-central1"
    assert address["subnetwork"] == "projects/fraud-platform-prod/regions/us-central1/subnetworks/ml-private-endpoints"
    rule = fraud.one("gcp:compute/forwardingRule:ForwardingRule", "online-store-psc")
    assert rule.inputs["network"] == network and rule.inputs["loadBalancingScheme"] == ""
    assert rule.parent == fraud.one("gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore", "online-store").parent

    # what is left to the network's administrator is said where the network is named
    report = check_file(FRAUD, target="gcp")
    (policy,) = [w for w in report.warnings if "service connection policy" in w.message]
    assert ".".join(map(str, policy.path)) == "target.gcp.network"
    assert not report.errors


def test_private_endpoints_nothing_could_reach_are_refused_with_what_is_missing():
    """Without a network, a PSC endpoint has no forwarding rule anywhere: an error at each private endpoint
    and at the online store's privacy, naming the field to set (audit G4)."""
    text = fraud_text().replace("    network: fraud-vpc\n", "").replace("    subnet: ml-private-endpoints\n", "")
    with pytest.raises(SpecInvalid) as raised:
        plan_text(text)
    found = {".".join(map(str, e.path)): e.message for e in raised.value.errors}
    assert set(found) >= {"endpoints.0.public", "endpoints.1.public", "endpoints.2.public"}
    assert "nothing could reach it" in found["endpoints.0.public"]
    assert "target.gcp.network" in found["endpoints.0.public"] and "public: true" in found["endpoints.0.public"]
    store = found["target.network.private_endpoints"]
    assert "target.gcp.network and target.gcp.subnet" in store and "private_endpoints: false" in store
    # a network without a subnet: only the online store lacks something
    with pytest.raises(SpecInvalid) as raised:
        plan_text(fraud_text().replace("    subnet: ml-private-endpoints\n", ""))
    (only,) = raised.value.errors
    assert ".".join(map(str, only.path)) == "target.network.private_endpoints" and "Set target.gcp.subnet" in only.message


def test_a_step_timeout_vertex_cannot_enforce_is_said_where_it_is_set():
    """Vertex has no per-task timeout (audit G13): validation says so at the one step that sets one."""
    from mlstack.validate import check_file

    text = FRAUD.read_text()
    report = check_file(FRAUD, target="gcp")
    (warning,) = [w for w in report.warnings if "per-task timeout" in w.message]
    assert warning.path[-1] == "timeout" and warning.line == text.splitlines().index("        timeout: 2h") + 1


def test_a_gpu_endpoint_gets_vertex_gpu_image_or_a_located_error(plan_spec):
    scorer = "    compute: cpu-small\n    instance_count: 2\n"
    on_gpu = fraud_text().replace(scorer, scorer.replace("cpu-small", "gpu-inference"))
    with pytest.raises(SpecInvalid) as caught:
        plan_spec(on_gpu)
    (error,) = caught.value.errors
    assert error.path == ("registry", "model_groups", 0, "versions", 0, "framework")
    assert error.message.startswith(
        "endpoint 'fraud-scorer' serves fraud-model@champion on g2-standard-4/NVIDIA_L4x1 (1 L4 GPU): Vertex AI "
        "publishes no GPU serving image for xgboost"
    )
    everywhere = re.sub(r"(?m)^    compute: cpu-small$", "    compute: gpu-inference", on_gpu)
    with pytest.raises(SpecInvalid) as caught:
        plan_spec(everywhere)
    assert "Vertex AI publishes no GPU serving image for xgboost" in caught.value.errors[0].message
    planned = plan_spec(re.sub(r"framework: (xgboost|sklearn)", "framework: pytorch", everywhere))
    v3 = planned.inputs("pulumi-python:dynamic/vertex:ModelVersion", "fraud-model-v3")
    assert v3["image_uri"] == "us-docker.pkg.dev/vertex-ai/prediction/pytorch-gpu.2-4:latest"
