"""The second, independent check: the endpoints, deployments and monitors of the fraud-detection plan built
again with azure-ai-ml's own entities (ManagedOnlineEndpoint, ManagedOnlineDeployment, MonitorSchedule and
its signals) from the resolved spec, in the SDK's vocabulary (seconds, snake_case metric names, auth modes,
percentages), and turned into REST with the SDK's `_to_rest_*`. Every value that both the SDK request and
the planned resource carry must agree."""

from __future__ import annotations

from typing import Any

import pytest
from azure.ai.ml import Input
from azure.ai.ml.entities import (
    AlertNotification,
    BaselineDataRange,
    CategoricalDriftMetrics,
    CronTrigger,
    DataCollector,
    DataDriftMetricThreshold,
    DataDriftSignal,
    DataQualityMetricsCategorical,
    DataQualityMetricsNumerical,
    DataQualityMetricThreshold,
    DataQualitySignal,
    DefaultScaleSettings,
    DeploymentCollection,
    IdentityConfiguration,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    ModelPerformanceClassificationThresholds,
    ModelPerformanceMetricThreshold,
    ModelPerformanceSignal,
    MonitorDefinition,
    MonitoringTarget,
    MonitorSchedule,
    NumericalDriftMetrics,
    OnlineRequestSettings,
    PredictionDriftMetricThreshold,
    PredictionDriftSignal,
    ProbeSettings,
    ProductionData,
    ReferenceData,
    ServerlessSparkCompute,
)

from mlstack.targets import AZURE

# Where the SDK (azure-ai-ml 1.35, which writes the 2023-06-01-preview wire for monitors) and the REST API the
# provider speaks (2025-12-01) name the same thing differently.
SAME = {"trailing": "rolling"}


def agreement(sdk: Any, plan: Any, path: str = "") -> tuple[int, list[str]]:
    """(values compared, disagreements) over everything both trees carry. Enum-like strings compare without
    case: Azure's REST enums are case-insensitive and the SDK writes some in lower case."""
    if isinstance(sdk, dict) and isinstance(plan, dict):
        compared, wrong = 0, []
        for key in sdk.keys() & plan.keys():
            n, w = agreement(sdk[key], plan[key], f"{path}.{key}")
            compared, wrong = compared + n, wrong + w
        return compared, wrong
    if isinstance(sdk, list) and isinstance(plan, list):
        if len(sdk) != len(plan):
            return 1, [f"{path}: {sdk} != {plan}"]
        compared, wrong = 0, []
        for i, (a, b) in enumerate(zip(sdk, plan, strict=True)):
            n, w = agreement(a, b, f"{path}[{i}]")
            compared, wrong = compared + n, wrong + w
        return compared, wrong
    if isinstance(sdk, str) and isinstance(plan, str):
        a, b = sdk.lower(), plan.lower()
        return 1, [] if SAME.get(a, a) == SAME.get(b, b) else [f"{path}: sdk {sdk!r} != plan {plan!r}"]
    return 1, [] if sdk == plan else [f"{path}: sdk {sdk!r} != plan {plan!r}"]


def assert_agree(sdk: dict, plan: dict, at_least: int) -> None:
    compared, wrong = agreement(sdk, plan)
    assert not wrong, "\n".join(wrong)
    assert compared >= at_least, f"only {compared} values in common"


def _seconds(iso: str) -> int:
    assert iso.startswith("PT") and iso.endswith("S")
    return int(iso[2:-1])


@pytest.fixture(scope="module", params=[None, "dev", "prod"])
def plan(request):
    from azure_plans import fraud_plan

    return fraud_plan(request.param)


def test_endpoints_agree_with_managed_online_endpoint(plan):
    for endpoint in plan.resolved.endpoints:
        spec = endpoint.endpoint
        planned = plan.inputs("OnlineEndpoint", spec.name)
        traffic = plan.inputs("Resource", f"{spec.name}-traffic")
        sdk = ManagedOnlineEndpoint(
            name=planned["endpointName"],
            auth_mode="aad_token" if spec.auth == "token" else "key",
            public_network_access="enabled" if spec.public else "disabled",
            identity=IdentityConfiguration(type="system_assigned"),
            traffic=traffic["traffic"],
            mirror_traffic=traffic["mirror_traffic"],
            tags=planned["tags"],
        )._to_rest_online_endpoint(plan.resolved.region)
        rest = sdk.as_dict()
        assert_agree(rest, planned, at_least=8)
        # the split lives on the traffic resource; the SDK carries it on the endpoint
        assert_agree(rest["properties"], {"traffic": traffic["traffic"], "mirrorTraffic": traffic["mirror_traffic"]}, 1)
        weights = {**traffic["traffic"], **traffic["mirror_traffic"]}
        assert sorted(weights.values()) == sorted(v.weight for v in endpoint.variants)


def test_deployments_agree_with_managed_online_deployment(plan):
    for endpoint in plan.resolved.endpoints:
        spec = endpoint.endpoint
        for variant in endpoint.variants:
            planned = plan.inputs("OnlineDeployment", f"{spec.name}-{variant.name}")
            props = planned["properties"]
            probe = props["livenessProbe"]
            collector = None
            if variant.role == "production" and spec.captures:
                collector = DataCollector(
                    collections={c: DeploymentCollection(enabled="true") for c in ("model_inputs", "model_outputs")},
                    sampling_rate=spec.data_capture.sampling_percent / 100,
                    rolling_rate="hour",
                )
            sdk = ManagedOnlineDeployment(
                name=planned["deploymentName"],
                endpoint_name=plan.inputs("OnlineEndpoint", spec.name)["endpointName"],
                model=props["model"],
                instance_type=variant.sku.machine_type,
                instance_count=variant.instance_count,
                data_collector=collector,
                liveness_probe=ProbeSettings(
                    failure_threshold=30,
                    success_threshold=1,
                    timeout=_seconds(probe["timeout"]),
                    period=_seconds(probe["period"]),
                    initial_delay=_seconds(probe["initialDelay"]),
                ),
                readiness_probe=ProbeSettings(
                    failure_threshold=30, success_threshold=1, timeout=2, period=10, initial_delay=10
                ),
                request_settings=OnlineRequestSettings(request_timeout_ms=5000),
                app_insights_enabled=True,
                scale_settings=DefaultScaleSettings(),
            )._to_rest_object(location=plan.resolved.region)
            assert_agree(sdk.as_dict(), planned, at_least=20 if collector else 16)


def _production(uri: str, context: str, window: str) -> ProductionData:
    return ProductionData(
        input_data=Input(path=uri, type="uri_folder"),
        data_context=context,
        data_window=BaselineDataRange(lookback_window_size=window, lookback_window_offset="P0D"),
    )


def _reference(data: dict) -> ReferenceData:
    return ReferenceData(
        input_data=Input(path=data["uri"], type=data["jobInputType"]), data_context=data["dataContext"]
    )


def _sdk_signal(monitor, planned: dict):
    metric = AZURE.metrics[monitor.metric]
    threshold = monitor.threshold
    production = planned["productionData"]
    if isinstance(production, list):  # model performance keeps the preview's list of production data
        (production,) = production
    prod = _production(production["uri"], production["dataContext"], production["windowSize"])
    ref = _reference(planned["referenceData"])
    if monitor.kind == "data_drift":
        return DataDriftSignal(
            production_data=prod,
            reference_data=ref,
            features=monitor.features or None,
            feature_type_override={k: v.lower() for k, v in planned.get("featureDataTypeOverride", {}).items()} or None,
            metric_thresholds=DataDriftMetricThreshold(
                numerical=NumericalDriftMetrics(**{metric: threshold}),
                categorical=CategoricalDriftMetrics(**{metric: threshold}),
            ),
            alert_enabled=True,
        )
    if monitor.kind == "prediction_drift":
        return PredictionDriftSignal(
            production_data=prod,
            reference_data=ref,
            metric_thresholds=PredictionDriftMetricThreshold(
                numerical=NumericalDriftMetrics(**{metric: threshold}),
                categorical=CategoricalDriftMetrics(**{metric: threshold}),
            ),
            alert_enabled=True,
        )
    if monitor.kind == "data_quality":
        return DataQualitySignal(
            production_data=prod,
            reference_data=ref,
            features=monitor.features or "all_features",
            metric_thresholds=DataQualityMetricThreshold(
                numerical=DataQualityMetricsNumerical(**{metric: threshold}),
                categorical=DataQualityMetricsCategorical(**{metric: threshold}),
            ),
            alert_enabled=True,
        )
    return ModelPerformanceSignal(
        production_data=prod,
        reference_data=ref,
        metric_thresholds=ModelPerformanceMetricThreshold(
            classification=ModelPerformanceClassificationThresholds(**{metric: threshold})
        ),
    )


def test_monitors_agree_with_monitor_schedules(plan):
    for monitor in plan.resolved.spec.monitors:
        planned = plan.inputs("Schedule", monitor.name)
        definition = planned["properties"]["action"]["monitorDefinition"]
        (name,) = definition["signals"]
        planned_signal = definition["signals"][name]
        emails = [t for a in monitor.actions if a.type == "alert" for t in a.to if "@" in t]
        schedule = MonitorSchedule(
            name=monitor.name,
            trigger=CronTrigger(expression=monitor.schedule, time_zone="UTC"),
            create_monitor=MonitorDefinition(
                compute=ServerlessSparkCompute(runtime_version="3.4", instance_type="standard_e4s_v3"),
                monitoring_target=MonitoringTarget(
                    ml_task="regression" if monitor.problem_type == "regression" else "classification",
                    endpoint_deployment_id=definition["monitoringTarget"]["deploymentId"],
                ),
                monitoring_signals={name: _sdk_signal(monitor, planned_signal)},
                alert_notification=AlertNotification(emails=emails) if emails else None,
            ),
        )
        rest = schedule._to_rest_object().as_dict()["properties"]
        sdk_signal = rest["action"]["monitorDefinition"]["signals"][name]
        if monitor.kind == "model_quality":
            # azure-ai-ml 1.35 writes a fixed Accuracy 0.9 as metricThreshold and the real thresholds in this property
            sdk_signal.pop("metricThreshold")
        assert_agree(rest, planned["properties"], at_least=18)
        if emails:
            sdk_emails = rest["action"]["monitorDefinition"]["alertNotificationSetting"]["emailNotificationSetting"][
                "emails"
            ]
            assert sdk_emails == definition["alertNotificationSettings"]["emailNotificationSettings"]["emails"]
