"""Monitors as Azure ML model monitoring: a Schedule with a CreateMonitor action per monitor, one signal per
production deployment of the endpoint (DataDrift, PredictionDrift, DataQuality or ModelPerformance),
running on serverless Spark.

Metric names come from the Azure target profile (`mlstack.targets.AZURE.metrics`, azure-ai-ml's names);
the REST API spells them in PascalCase. A metric Azure lacks is absent from that table, so validation
rejects it before anything is planned."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath

from pulumi_azure_native import machinelearningservices as ml

from mlstack.backends.azure.checks import performance_problem, recipient_problem, task_type, window_days
from mlstack.backends.azure.context import Azure, after
from mlstack.backends.azure.endpoints import Deployment, capture_assets, deployment_arm_id
from mlstack.backends.components import SpecComponent
from mlstack.errors import MlstackError
from mlstack.resolve import threshold_of
from mlstack.spec.models import Monitor, Spec
from mlstack.targets import AZURE

SIGNAL_TYPES = {
    "data_drift": "DataDrift",
    "prediction_drift": "PredictionDrift",
    "data_quality": "DataQuality",
    "model_quality": "ModelPerformance",
}
# Which feature types each Azure metric applies to (the REST enums NumericalDataDriftMetric,
# CategoricalDataDriftMetric, ... in pulumi_azure_native.machinelearningservices).
NUMERICAL = "Numerical"
CATEGORICAL = "Categorical"
METRIC_DATA_TYPES = {
    "jensen_shannon_distance": (NUMERICAL, CATEGORICAL),
    "population_stability_index": (NUMERICAL, CATEGORICAL),
    "normalized_wasserstein_distance": (NUMERICAL,),
    "two_sample_kolmogorov_smirnov_test": (NUMERICAL,),
    "pearsons_chi_squared_test": (CATEGORICAL,),
    "null_value_rate": (NUMERICAL, CATEGORICAL),
    "data_type_error_rate": (NUMERICAL, CATEGORICAL),
    "out_of_bounds_rate": (NUMERICAL, CATEGORICAL),
}
CATEGORICAL_DTYPES = ("string", "bool")


@dataclass(frozen=True)
class SignalKind:
    args: type  # the signal's Pulumi args class
    production: str  # the captured collection it watches (also its data context)
    reference: str  # the baseline's data context
    thresholds: tuple[type, type]  # numerical and categorical metric threshold args


SIGNALS = {
    "data_drift": SignalKind(
        ml.DataDriftMonitoringSignalArgs,
        "model_inputs",
        "training",
        (ml.NumericalDataDriftMetricThresholdArgs, ml.CategoricalDataDriftMetricThresholdArgs),
    ),
    "prediction_drift": SignalKind(
        ml.PredictionDriftMonitoringSignalArgs,
        "model_outputs",
        "validation",
        (ml.NumericalPredictionDriftMetricThresholdArgs, ml.CategoricalPredictionDriftMetricThresholdArgs),
    ),
    "data_quality": SignalKind(
        ml.DataQualityMonitoringSignalArgs,
        "model_inputs",
        "training",
        (ml.NumericalDataQualityMetricThresholdArgs, ml.CategoricalDataQualityMetricThresholdArgs),
    ),
}
# The serverless Spark pool monitoring jobs run on (azure-ai-ml's documented defaults).
SPARK_INSTANCE_TYPE = "standard_e4s_v3"
SPARK_RUNTIME = "3.4"
BREACH_TAG = "azureml_modelmonitor_threshold_breached"


def pascal(name: str) -> str:
    """azure-ai-ml's snake_case metric name as the REST enum value (jensen_shannon_distance -> JensenShannonDistance)."""
    return "".join(part.capitalize() for part in name.split("_"))


def azure_metric(monitor: Monitor) -> str:
    try:
        return AZURE.metrics[monitor.metric]
    except KeyError:
        raise MlstackError(f"monitor {monitor.name}: Azure ML has no '{monitor.metric}' metric") from None




def job_input_type(uri: str) -> str:
    """How Azure reads a reference dataset: registered assets as MLTable, files and folders by their URI."""
    if uri.startswith("azureml:") and not uri.startswith("azureml://"):
        return "mltable"
    return "uri_file" if PurePosixPath(uri).suffix else "uri_folder"


def feature_types(spec: Spec, features: list[str]) -> dict[str, str]:
    """Numerical or categorical for the watched features the feature store declares."""
    dtypes = {f.name: f.dtype for view in spec.feature_store.views for f in view.features}
    return {f: CATEGORICAL if dtypes[f] in CATEGORICAL_DTYPES else NUMERICAL for f in features if f in dtypes}


@dataclass(frozen=True)
class Signal:
    name: str
    deployment: Deployment


def signal_names(monitor: Monitor, deployments: list[Deployment]) -> list[Signal]:
    """Signals named "<monitor>_<kind>[-<variant>]": Azure tags a breaching run with the signal's name only,
    so the monitor's name has to be in it for Event Grid to tell monitors apart (how-to-monitor-model-
    performance: "name your signal with both the monitor name and the signal name")."""
    kind = f"{monitor.name}_{monitor.kind.replace('_', '-')}"
    if len(deployments) == 1:
        return [Signal(kind, deployments[0])]
    return [Signal(f"{kind}-{d.variant.name}", d) for d in deployments]


def breach_message(signal: str) -> str:
    """The start of the `azureml_modelmonitor_threshold_breached` tag Azure's threshold evaluator sets on a
    run whose signal breached (azureml-assets model_monitor_evaluate_metrics_threshold): quoting the name
    keeps "drift_data-drift" from matching "drift_data-drift-control"."""
    return f"The signal '{signal}' has failed"


def _production(uri: str, context: str, days: int) -> ml.RollingInputDataArgs:
    return ml.RollingInputDataArgs(
        input_data_type="Rolling",
        job_input_type="uri_folder",
        uri=uri,
        data_context=context,
        window_size=f"P{days}D",
        window_offset="P0D",
    )


def _reference(uri: str, context: str) -> ml.FixedInputDataArgs:
    return ml.FixedInputDataArgs(
        input_data_type="Fixed", job_input_type=job_input_type(uri), uri=uri, data_context=context
    )


def _thresholds(monitor: Monitor, metric: str, numerical_cls: type, categorical_cls: type) -> list:
    value = threshold_of(monitor)
    threshold = ml.MonitoringThresholdArgs(value=value) if value is not None else None
    classes = {NUMERICAL: numerical_cls, CATEGORICAL: categorical_cls}
    return [classes[t](data_type=t, metric=pascal(metric), threshold=threshold) for t in METRIC_DATA_TYPES[metric]]


def performance_signal(monitor: Monitor, production: str, notify: bool, days: int) -> dict:
    """Azure's model performance signal in the wire form azure-ai-ml's ModelPerformanceSignal sends: the
    REST API the provider uses (2025-12-01) does not type it, so it goes as a plain object (README)."""
    metric = azure_metric(monitor)
    task = task_type(monitor)
    if problem := performance_problem(monitor):
        raise MlstackError(problem[1])
    threshold = {"modelType": task, "metric": pascal(metric)}
    value = threshold_of(monitor)
    if value is not None:
        threshold["threshold"] = {"value": value}
    listing = [{"modelType": task.lower(), "metric": pascal(metric), "threshold": {"value": value}}]
    return {
        "signalType": "ModelPerformance",
        "productionData": [
            {
                "inputDataType": "Rolling",
                "jobInputType": "uri_folder",
                "uri": production,
                "dataContext": "model_outputs",
                "windowSize": f"P{days}D",
                "windowOffset": "P0D",
            }
        ],
        "referenceData": {
            "inputDataType": "Fixed",
            "jobInputType": job_input_type(monitor.ground_truth),
            "uri": monitor.ground_truth,
            "dataContext": "ground_truth",
        },
        "metricThreshold": threshold,
        "notificationTypes": ["AmlNotification"] if notify else [],
        "properties": {"azureml.modelmonitor.model_performance_thresholds": json.dumps(listing, separators=(",", ":"))},
    }


def build_signal(ctx: Azure, monitor: Monitor, deployment: Deployment, notify: bool, days: int):
    spec = ctx.resolved.spec
    endpoint = spec.endpoint(monitor.endpoint)
    assert endpoint is not None
    assets = capture_assets(ctx, endpoint, deployment.name)
    notifications = ["AmlNotification"] if notify else None
    if monitor.kind == "model_quality":
        return performance_signal(monitor, assets["model_outputs"], notify, days)
    assert monitor.baseline is not None
    kind = SIGNALS[monitor.kind]
    watches_features = monitor.kind != "prediction_drift"
    features = {}
    if watches_features:
        features = {
            "features": ml.FeatureSubsetArgs(filter_type="FeatureSubset", features=monitor.features)
            if monitor.features
            else ml.AllFeaturesArgs(filter_type="AllFeatures"),
            "feature_data_type_override": feature_types(spec, monitor.features) or None,
        }
    return kind.args(
        signal_type=SIGNAL_TYPES[monitor.kind],
        production_data=_production(assets[kind.production], kind.production, days),
        reference_data=_reference(monitor.baseline, kind.reference),
        metric_thresholds=_thresholds(monitor, azure_metric(monitor), *kind.thresholds),
        notification_types=notifications,
        **features,
    )


def alert_emails(monitor: Monitor) -> list[str]:
    return [to for action in monitor.actions if action.type == "alert" for to in action.to if "@" in to]


@dataclass(frozen=True)
class BuiltMonitor:
    monitor: Monitor
    component: SpecComponent
    signals: list[str]


def build_monitor(ctx: Azure, monitor: Monitor, deployments: dict[str, Deployment]) -> BuiltMonitor:
    assert ctx.platform is not None
    endpoint = ctx.resolved.monitor_plan(monitor).endpoint.endpoint
    if not deployments:
        raise MlstackError(f"monitor {monitor.name}: no endpoint {monitor.endpoint}")
    component = ctx.component("monitor", monitor.name)
    production = [d for d in deployments.values() if d.variant.role == "production"]
    emails = alert_emails(monitor)
    days = window_days(monitor.schedule)
    signals = signal_names(monitor, production)
    target = production[0]
    definition = ml.MonitorDefinitionArgs(
        compute_configuration=ml.MonitorServerlessSparkComputeArgs(
            compute_type="ServerlessSpark",
            instance_type=SPARK_INSTANCE_TYPE,
            runtime_version=SPARK_RUNTIME,
            # serverless Spark has no identity of its own; the workspace issues the run a short-lived token
            compute_identity=ml.AmlTokenComputeIdentityArgs(compute_identity_type="AmlToken"),
        ),
        monitoring_target=ml.MonitoringTargetArgs(
            task_type=task_type(monitor),
            deployment_id=after(target.resource, deployment_arm_id(ctx, endpoint, target.name)),
        ),
        signals={s.name: build_signal(ctx, monitor, s.deployment, bool(emails), days) for s in signals},
        alert_notification_settings=ml.MonitorNotificationSettingsArgs(
            email_notification_settings=ml.MonitorEmailNotificationSettingsArgs(emails=emails)
        )
        if emails
        else None,
    )
    ml.Schedule(
        monitor.name,
        name=monitor.name,
        properties=ml.SchedulePropertiesArgs(
            display_name=f"{monitor.name}: {monitor.kind} of {monitor.endpoint}",
            description=f"{monitor.metric} ({azure_metric(monitor)}) on {monitor.schedule}",
            is_enabled=not ctx.resolved.development,  # paused in a developer's copy
            tags=ctx.tags,
            trigger=ml.CronTriggerArgs(trigger_type="Cron", expression=monitor.schedule, time_zone="UTC"),
            action=ml.CreateMonitorActionArgs(action_type="CreateMonitor", monitor_definition=definition),
        ),
        **ctx.in_workspace(),
        opts=component.child(depends_on=[ctx.platform.spark] if ctx.platform.spark else None),
    )
    component.done({"schedule": monitor.name, "signals": [s.name for s in signals]})
    return BuiltMonitor(monitor, component, [s.name for s in signals])


def webhooks(monitor: Monitor) -> list[str]:
    urls = []
    for action in monitor.actions:
        if action.type != "alert":
            continue
        for to in action.to:
            if problem := recipient_problem(monitor, to):
                raise MlstackError(problem)
            if to.startswith("https://"):
                urls.append(to)
    return urls
