"""Each monitor kind on Azure, with the metric names, feature types, alert routes and data it reads."""

from __future__ import annotations

import pytest
from azure_plans import secret_value
from azure_specs import ab_strategy, endpoint_spec, monitor_spec

from mlstack.errors import SpecInvalid

FEATURES = """\
feature_store:
  entities:
    - name: user
      join_keys: [{name: user_id, dtype: int64}]
  views:
    - name: profile
      entity: user
      source: {uri: profiles, timestamp_field: ts}
      online: false
      sync_schedule: "0 2 * * *"
      features:
        - {name: age, dtype: int32}
        - {name: country, dtype: string}
"""


def _signals(plan, name):
    return plan.inputs("Schedule", name)["properties"]["action"]["monitorDefinition"]["signals"]


def test_data_quality_types_each_feature_from_the_feature_store(planned):
    text = monitor_spec(
        """\
        - name: quality
          kind: data_quality
          endpoint: rank
          baseline: baselines/train.parquet
          features: [age, country]
          metric: type_error_rate
          schedule: "0 6 * * *"
        """
    ).replace("endpoints:\n", FEATURES + "endpoints:\n")
    plan = planned(text)
    signal = _signals(plan, "quality")["quality_data-quality"]
    assert signal["featureDataTypeOverride"] == {"age": "Numerical", "country": "Categorical"}
    assert [(t["dataType"], t["metric"]) for t in signal["metricThresholds"]] == [
        ("Numerical", "DataTypeErrorRate"),
        ("Categorical", "DataTypeErrorRate"),
    ]
    assert all("threshold" not in t for t in signal["metricThresholds"])  # Azure's default when the spec has none
    assert signal["referenceData"]["jobInputType"] == "uri_file"
    assert "notificationTypes" not in signal


@pytest.mark.parametrize(
    ("metric", "azure", "types"),
    [
        ("wasserstein", "NormalizedWassersteinDistance", ["Numerical"]),
        ("ks", "TwoSampleKolmogorovSmirnovTest", ["Numerical"]),
        ("chi2", "PearsonsChiSquaredTest", ["Categorical"]),
        ("psi", "PopulationStabilityIndex", ["Numerical", "Categorical"]),
    ],
)
def test_prediction_drift_metrics_apply_to_the_feature_types_azure_computes_them_for(planned, metric, azure, types):
    plan = planned(
        monitor_spec(
            f"""\
            - name: scores
              kind: prediction_drift
              endpoint: rank
              baseline: abfss://ml@shopdata.dfs.core.windows.net/predictions/
              metric: {metric}
              threshold: 0.3
            """
        )
    )
    signal = _signals(plan, "scores")["scores_prediction-drift"]
    assert [(t["dataType"], t["metric"], t["threshold"]["value"]) for t in signal["metricThresholds"]] == [
        (t, azure, 0.3) for t in types
    ]
    assert signal["productionData"]["dataContext"] == "model_outputs"
    assert signal["productionData"]["uri"].endswith("-model_outputs:1")
    assert signal["referenceData"] == {
        "inputDataType": "Fixed",
        "jobInputType": "uri_folder",
        "uri": "abfss://ml@shopdata.dfs.core.windows.net/predictions/",
        "dataContext": "validation",
    }


def test_regression_model_performance(planned):
    plan = planned(
        monitor_spec(
            """\
            - name: error
              kind: model_quality
              endpoint: rank
              problem_type: regression
              ground_truth: labels/
              metric: rmse
              threshold: 12.5
              schedule: "0 0 * * 0"
              actions:
                - type: alert
                  to: [ml@example.com, https://hooks.example.com/ml]
            """
        )
    )
    definition = plan.inputs("Schedule", "error")["properties"]["action"]["monitorDefinition"]
    signal = definition["signals"]["error_model-quality"]
    assert signal["metricThreshold"] == {
        "modelType": "Regression",
        "metric": "RootMeanSquaredError",
        "threshold": {"value": 12.5},
    }
    assert signal["properties"]["azureml.modelmonitor.model_performance_thresholds"] == (
        '[{"modelType":"regression","metric":"RootMeanSquaredError","threshold":{"value":12.5}}]'
    )
    assert signal["productionData"][0]["windowSize"] == "P7D"
    assert signal["notificationTypes"] == ["AmlNotification"]
    assert definition["monitoringTarget"]["taskType"] == "Regression"
    assert definition["alertNotificationSettings"]["emailNotificationSettings"]["emails"] == ["ml@example.com"]
    hook = plan.inputs("SystemTopicEventSubscription", "error-webhook-0")
    assert hook["destination"] == {
        "endpointType": "WebHook",
        "endpointUrl": "https://hooks.example.com/ml",
        **{k: v for k, v in hook["destination"].items() if k not in ("endpointType", "endpointUrl")},
    }
    assert hook["filter"]["advancedFilters"][0]["values"] == ["The signal 'error_model-quality' has failed"]


def test_a_classification_metric_on_a_regression_model_is_refused(planned):
    text = monitor_spec(
        """\
        - name: wrong
          kind: model_quality
          endpoint: rank
          problem_type: regression
          ground_truth: labels/
          metric: accuracy
        """
    )
    with pytest.raises(SpecInvalid) as raised:  # located by validation, before any resource
        planned(text)
    [error] = raised.value.errors
    assert error.path == ("monitors", 0, "metric") and error.line > 1
    assert "Azure measures mean_absolute_error, root_mean_squared_error for regression" in error.message


def test_an_alert_recipient_azure_cannot_reach_is_refused(planned):
    text = monitor_spec(
        """\
        - name: drift
          kind: data_drift
          endpoint: rank
          baseline: b.csv
          metric: psi
          actions:
            - type: alert
              to: [arn:aws:sns:us-east-1:123456789012:alerts]
        """
    )
    with pytest.raises(SpecInvalid) as raised:  # located by validation, before any resource
        planned(text)
    [error] = raised.value.errors
    assert error.path == ("monitors", 0, "actions", 0, "to", 0) and error.line > 1
    assert "neither an e-mail address nor an https webhook" in error.message


def test_an_ab_endpoint_gets_one_signal_per_serving_deployment(planned):
    strategy = ab_strategy(50, 50)
    monitor = """\
    monitors:
      - name: drift
        kind: data_drift
        endpoint: rank
        baseline: b.csv
        metric: jensen_shannon
        actions:
          - type: retrain
            pipeline: retrain
    pipelines:
      - name: retrain
        image: shop.azurecr.io/train:1
        steps:
          - name: fit
            kind: training
            entrypoint: train.py
    """
    plan = planned(endpoint_spec(strategy, extra="data_capture:\n  sampling_percent: 5\n", tail=monitor))
    signals = _signals(plan, "drift")
    control = plan.inputs("OnlineDeployment", "rank-control")["deploymentName"]
    treatment = plan.inputs("OnlineDeployment", "rank-treatment")["deploymentName"]
    assert signals["drift_data-drift-control"]["productionData"]["uri"].endswith(f"-{control}-model_inputs:1")
    assert signals["drift_data-drift-treatment"]["productionData"]["uri"].endswith(f"-{treatment}-model_inputs:1")
    retrain = plan.inputs("SystemTopicEventSubscription", "drift-retrain-retrain")
    assert retrain["filter"]["advancedFilters"][0]["values"] == [
        "The signal 'drift_data-drift-control' has failed",
        "The signal 'drift_data-drift-treatment' has failed",
    ]
    assert secret_value(retrain["destination"])["endpointType"] == "WebHook"
    # a pipeline without a schedule has no Schedule: the Logic App is what runs it
    assert plan.of("Schedule") == [plan.one("Schedule", "drift")]
    assert plan.inputs("Workflow", "retrain-retrain")["state"] == "Enabled"


def test_an_offline_view_materialises_to_the_offline_store_only_and_needs_no_online_store(planned):
    plan = planned(endpoint_spec("type: all_at_once\n").replace("endpoints:\n", FEATURES + "endpoints:\n"))
    settings = plan.inputs("FeaturesetVersion", "profile-version")["properties"]["materializationSettings"]
    assert settings["storeType"] == "Offline"
    assert "schedule" not in settings  # the sync schedule is for the online store
    assert plan.of("Redis") == [] and plan.of("WorkspaceConnection") == [
        plan.one("WorkspaceConnection", "feature-store-offline-store")
    ]
    assert "onlineStoreConnectionName" not in plan.inputs("Workspace", "feature-store")["featureStoreSettings"]


def test_no_feature_store_no_feature_resources(planned):
    plan = planned(endpoint_spec("type: all_at_once\n"))
    assert plan.of("FeaturesetVersion") == plan.of("Redis") == []
    assert [w.name for w in plan.of("Workspace") if w.type.startswith("azure-native:machinelearningservices")] == [
        "workspace"
    ]


def _azure_breach_tag(signal: str) -> str:
    """The tag Azure's threshold evaluator sets on a breaching monitor run (azureml-assets,
    model_monitor_evaluate_metrics_threshold/evaluate_metrics_threshold.py, _generate_error_message)."""
    return (
        f"The signal '{signal}' has failed due to one or more features violating metric thresholds.\n"
        "The feature names and their corresponding computed metric values violating the threshold are \n[]\n"
    )


def _event_grid_matches(advanced: dict, tags: dict[str, str]) -> bool:
    """Event Grid's StringContains on data.RunTags.<tag>: any value a case-insensitive substring."""
    assert advanced["operatorType"] == "StringContains"
    value = tags.get(advanced["key"].removeprefix("data.RunTags."), "")
    return any(v.lower() in value.lower() for v in advanced["values"])


@pytest.mark.parametrize("strategy", [ab_strategy(50, 50), "type: all_at_once\n"])
def test_a_breach_of_each_signal_reaches_its_own_monitors_subscription_only(planned, strategy):
    """Z3: the retrain filter matches the tag Azure writes for this monitor's signals and no other's."""
    two = """\
        monitors:
          - name: drift
            kind: data_drift
            endpoint: rank
            baseline: b.csv
            metric: psi
            threshold: 0.2
            schedule: "0 0 * * *"
            actions:
              - type: alert
                to: [https://hooks.example.com/drift]
          - name: drift-2
            kind: data_drift
            endpoint: rank
            baseline: b.csv
            metric: psi
            threshold: 0.3
            schedule: "0 0 * * *"
            actions:
              - type: alert
                to: [https://hooks.example.com/drift-2]
    """
    plan = planned(endpoint_spec(strategy, extra="data_capture:\n  sampling_percent: 5\n", tail=two))
    names = {m: set(_signals(plan, m)) for m in ("drift", "drift-2")}
    for monitor, other, hook in (("drift", "drift-2", "drift-webhook-0"), ("drift-2", "drift", "drift-2-webhook-1")):
        (advanced,) = plan.inputs("SystemTopicEventSubscription", hook)["filter"]["advancedFilters"]
        for signal in names[monitor]:
            assert _event_grid_matches(advanced, {"azureml_modelmonitor_threshold_breached": _azure_breach_tag(signal)})
        for signal in names[other]:
            assert not _event_grid_matches(
                advanced, {"azureml_modelmonitor_threshold_breached": _azure_breach_tag(signal)}
            )
