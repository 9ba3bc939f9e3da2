"""The Azure facts the backend relies on, checked against the vendors' own types: metric names against the
REST enums in pulumi_azure_native and azure-ai-ml, feature set specifications against azure-ai-ml's schema,
cron schedules as recurrences, and the URIs Azure can read."""

from __future__ import annotations

import inspect

import pulumi_azure_native.machinelearningservices as ml
import pytest
import yaml
from azure.ai.ml._schema._feature_set.featureset_spec_metadata_schema import FeaturesetSpecMetadataSchema
from azure.ai.ml.constants._common import BASE_PATH_CONTEXT_KEY
from azure.ai.ml.entities import ModelPerformanceClassificationThresholds, ModelPerformanceRegressionThresholds
from azure_plans import FRAUD
from azure_specs import monitor_spec

from mlstack.backends.azure.checks import PERFORMANCE_METRICS, pullable
from mlstack.backends.azure.feature_sources import FeatureSource
from mlstack.backends.azure.features import COLUMN_TYPES, featureset_spec, lookback
from mlstack.backends.azure.monitors import METRIC_DATA_TYPES, job_input_type, pascal, window_days
from mlstack.backends.azure.schedules import Recurrence, recurrence
from mlstack.errors import MlstackError, SpecInvalid, format_path
from mlstack.resolve import resolve
from mlstack.spec import load, loads
from mlstack.spec.models import METRICS_BY_KIND
from mlstack.spec.yaml_loader import parse
from mlstack.targets import AZURE
from mlstack.validate import check

ENUMS = {
    ("data_drift", "Numerical"): ml.NumericalDataDriftMetric,
    ("data_drift", "Categorical"): ml.CategoricalDataDriftMetric,
    ("prediction_drift", "Numerical"): ml.NumericalPredictionDriftMetric,
    ("prediction_drift", "Categorical"): ml.CategoricalPredictionDriftMetric,
    ("data_quality", "Numerical"): ml.NumericalDataQualityMetric,
    ("data_quality", "Categorical"): ml.CategoricalDataQualityMetric,
}


def _params(cls: type) -> set[str]:
    return set(inspect.signature(cls.__init__).parameters) - {"self"}


@pytest.mark.parametrize("kind", ["data_drift", "prediction_drift", "data_quality"])
def test_every_mapped_metric_is_an_azure_rest_enum_value_for_its_feature_types(kind):
    for spec_metric in METRICS_BY_KIND[kind]:
        if spec_metric not in AZURE.metrics:
            continue
        name = AZURE.metrics[spec_metric]
        for data_type in ("Numerical", "Categorical"):
            values = {m.value for m in ENUMS[(kind, data_type)]}
            assert (pascal(name) in values) is (data_type in METRIC_DATA_TYPES[name]), (kind, name, data_type)


def test_model_quality_metrics_are_those_of_azures_model_performance_signal():
    mapped = {AZURE.metrics[m] for m in METRICS_BY_KIND["model_quality"] if m in AZURE.metrics}
    sdk = _params(ModelPerformanceClassificationThresholds) | {"mean_absolute_error", "root_mean_squared_error"}
    assert mapped <= sdk
    assert set(PERFORMANCE_METRICS["Classification"]) == _params(ModelPerformanceClassificationThresholds)
    regression = {"mean_absolute_error", "mean_squared_error", "root_mean_squared_error"}
    assert _params(ModelPerformanceRegressionThresholds) == regression
    assert set(PERFORMANCE_METRICS["Regression"]) <= regression


@pytest.mark.parametrize(
    ("kind", "metric"), [("data_drift", "l_infinity"), ("model_quality", "f1"), ("model_quality", "auc")]
)
def test_metrics_azure_lacks_are_rejected_by_validation(kind, metric):
    extra = (
        "  problem_type: binary_classification\n  ground_truth: labels/\n"
        if kind == "model_quality"
        else "  baseline: b.csv\n"
    )
    text = monitor_spec(f"- name: watch\n  kind: {kind}\n  endpoint: rank\n  metric: {metric}\n{extra}")
    with pytest.raises(SpecInvalid) as error:
        loads(text, target="azure")
    assert f"Azure Machine Learning has no '{metric}' for {kind}" in str(error.value)


@pytest.mark.parametrize("view", ["customer-txn-stats", "merchant-risk"])
def test_featureset_specifications_load_with_azure_ai_ml(view):
    spec = resolve(load(FRAUD, target="azure")).spec
    feature_view = next(v for v in spec.feature_store.views if v.name == view)
    entity = next(e for e in spec.feature_store.entities if e.name == feature_view.entity)
    source = FeatureSource(feature_view.source.uri, None)
    loaded = FeaturesetSpecMetadataSchema(context={BASE_PATH_CONTEXT_KEY: "."}).load(
        yaml.safe_load(featureset_spec(feature_view, entity, source))
    )
    assert loaded.source.type == "parquet" and loaded.source.path == source.path
    assert loaded.source.timestamp_column.name == feature_view.source.timestamp_field
    assert [(f.name, f.data_type) for f in loaded.features] == [
        (f.name, COLUMN_TYPES[f.dtype]) for f in feature_view.features
    ]
    assert [(c.name, c.type.value) for c in loaded.index_columns] == [
        (k.name, COLUMN_TYPES[k.dtype]) for k in entity.join_keys
    ]
    assert loaded.temporal_join_lookback.days == feature_view.ttl // 86400


def test_feature_column_types_are_azure_feature_data_types():
    assert {t.capitalize() for t in COLUMN_TYPES.values()} <= {m.value for m in ml.FeatureDataType}


@pytest.mark.parametrize(
    ("seconds", "parts"),
    [(None, {}), (3600, {"hours": 1}), (7 * 86400 + 90 * 60, {"days": 7, "hours": 1, "minutes": 30})],
)
def test_ttl_as_lookback(seconds, parts):
    assert lookback(seconds) == parts


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("*/15 * * * *", Recurrence("Minute", 15)),
        ("0 * * * *", Recurrence("Day", 1, tuple(range(24)), (0,))),
        ("30 2 * * *", Recurrence("Day", 1, (2,), (30,))),
        ("0,30 */6 * * *", Recurrence("Day", 1, (0, 6, 12, 18), (0, 30))),
        ("0 6 * * 1-5", Recurrence("Week", 1, (6,), (0,), ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"))),
        ("15 8 * * 0,7", Recurrence("Week", 1, (8,), (15,), ("Sunday",))),
        ("0 9-17/4 * * *", Recurrence("Day", 1, (9, 13, 17), (0,))),
    ],
)
def test_cron_as_recurrence(cron, expected):
    assert recurrence(cron) == expected


@pytest.mark.parametrize("cron", ["0 0 1 * *", "0 0 * 6 *", "* * * * *", "0 25 * * *", "0 * * *", "x * * * *"])
def test_cron_without_a_recurrence_form_is_a_clear_error(cron):
    with pytest.raises(MlstackError, match="has no Azure recurrence form"):
        recurrence(cron)


@pytest.mark.parametrize(
    ("cron", "days"), [("0 * * * *", 1), ("0 4 * * *", 1), ("0 3 * * 1", 7), ("0 0 1 * *", 31), ("0 6 * * 1,4", 4)]
)
def test_monitor_windows_cover_the_time_between_runs(cron, days):
    assert window_days(cron) == days


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("azureml:baseline:3", "mltable"),
        ("azureml://datastores/blob/paths/x/train.csv", "uri_file"),
        ("abfss://c@a.dfs.core.windows.net/labels/", "uri_folder"),
    ],
)
def test_reference_data_input_types(uri, kind):
    assert job_input_type(uri) == kind


def test_foreign_job_data_and_images_are_located_warnings_of_validate():
    text = (
        FRAUD.read_text()
        .replace("baseline: baselines/training.csv", "baseline: s3://bucket/training.csv")
        .replace("image: fraud-train:1.4.0", "image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.0")
    )
    report = check(parse(text, str(FRAUD)), target="azure")
    assert report.errors == []
    unreadable = [(format_path(w.path), w.message) for w in report.warnings if "would fail" in w.message]
    assert unreadable == [
        ("pipelines[0].image", AnyStr("pulls images from Azure Container Registry")),
        ("monitors[0].baseline", AnyStr("'s3://bucket/training.csv' would fail when it runs")),
        ("monitors[2].baseline", AnyStr("'s3://bucket/training.csv' would fail when it runs")),
    ]
    assert all(w.line > 1 for w in report.warnings)
    clean = check(parse(FRAUD.read_text(), str(FRAUD)), target="azure")
    assert [w for w in clean.warnings if "would fail" in w.message] == []


class AnyStr(str):
    """Equal to any string containing it."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and str(self) in other

    __hash__ = str.__hash__


def test_model_artifacts_azure_cannot_read_are_rejected_by_validation():
    text = FRAUD.read_text().replace("artifact: models/fraud-model/3/", "artifact: gs://bucket/fraud/3/")
    with pytest.raises(SpecInvalid, match="reads model artifacts from azureml: or abfss://"):
        loads(text, file=str(FRAUD), target="azure")


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        ("shop.azurecr.io/x:1", True),
        ("mcr.microsoft.com/azure-cli:2.67.0", True),
        ("python:3.11", True),
        ("gcr.io/p/x:1", False),
    ],
)
def test_pullable_images(image, ok):
    assert pullable(image) is ok


def test_variants_on_an_instance_type_azure_calls_too_small_are_warned_where_their_compute_is_named():
    """Audit Z12: the flagship's cpu-small (2 vCPUs, 4 GiB) resolves to Standard_F2s_v2 on Azure, which
    Azure's SKU list cautions may be too small; a larger profile does not warn."""
    report = check(parse(FRAUD.read_text(), str(FRAUD)), target="azure")
    small = [(format_path(w.path), w.message) for w in report.warnings if "may be too small" in w.message]
    assert ("endpoints[2].compute", AnyStr("variant rules is served on Standard_F2s_v2")) in small
    assert all(path.endswith(".compute") for path, _ in small)
    bigger = FRAUD.read_text().replace("  cpu-small:\n    vcpus: 2\n    memory_gb: 4\n", "  cpu-small:\n    vcpus: 4\n    memory_gb: 16\n")
    assert bigger != FRAUD.read_text()
    report = check(parse(bigger, str(FRAUD)), target="azure")
    assert not [w for w in report.warnings if "may be too small" in w.message]


def test_a_monitor_running_more_often_than_its_whole_day_window_says_what_it_rereads():
    """Audit Z11: Azure's monitoring window is whole days, so the flagship's hourly monitors read each day 24
    times; a daily schedule does not warn."""
    report = check(parse(FRAUD.read_text(), str(FRAUD)), target="azure")
    rereads = {format_path(w.path): w.message for w in report.warnings if "Spark jobs a day" in w.message}
    assert rereads["monitors[0].schedule"] == AnyStr("'0 * * * *' reads the past 1 day again: 24 serverless")
    assert rereads["monitors[1].schedule"] == AnyStr("4 serverless Spark jobs a day")
    daily = FRAUD.read_text().replace('schedule: "0 * * * *"', 'schedule: "0 6 * * *"')
    daily = daily.replace('schedule: "0 */6 * * *"', 'schedule: "0 6 * * *"')
    report = check(parse(daily, str(FRAUD)), target="azure")
    assert [w for w in report.warnings if "Spark jobs a day" in w.message] == []
