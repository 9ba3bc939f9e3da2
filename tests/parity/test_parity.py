"""The parity table, in the style of sqlglot's `validate_all`: for each capability of the spec reference,
what every target makes of one spec (tests/parity/parity.yaml, planned offline for each target) and
that the target's runtime does it — the rollout functions each target runs on the planned strategy,
the gate evaluators on the planned gates, the monitor evaluator on each metric.

A row passes when every target means what the resolved model says, or when the target declares the
difference (mlstack.resolve.differences, reported by validate, plan and migrate). A target that means
something else silently fails its row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlstack.plan import PlannedResource, plan
from mlstack.resolve import Resolved, resolve
from mlstack.resolve.differences import Difference, differences
from mlstack.spec import load
from mlstack.spec.models import CLOUDS, STRATEGIES

SPEC = Path(__file__).parent / "parity.yaml"
CHAMPION = {"rmse": 1.0, "auc": 0.9}  # the champion's declared metrics in parity.yaml


class Target:
    def __init__(self, cloud: str) -> None:
        self.cloud = cloud
        self.resolved: Resolved = resolve(load(SPEC, target=cloud))
        self.resources: list[PlannedResource] = plan(self.resolved)
        self.differences: list[Difference] = differences(self.resolved)

    def find(self, typ: str, name: str | None = None) -> list[dict[str, Any]]:
        return [r.inputs for r in self.resources if r.type == typ and (name is None or r.name == name)]

    def one(self, typ: str, name: str) -> dict[str, Any]:
        (found,) = self.find(typ, name)
        return found

    def declares(self, capability: str, path_prefix: tuple) -> bool:
        return any(d.capability == capability and d.path[: len(path_prefix)] == path_prefix for d in self.differences)


@pytest.fixture(scope="module")
def targets() -> dict[str, Target]:
    return {cloud: Target(cloud) for cloud in CLOUDS}


def validate_all(targets: dict[str, Target], capability: str, path: tuple, expected: Any, produced) -> None:
    """Every target produces `expected` (what `produced(target)` reads from its plan and runtime), or
    declares a difference for `capability` at `path`."""
    silent = {}
    for cloud, target in targets.items():
        got = produced(target)
        if got != expected and not target.declares(capability, path):
            silent[cloud] = got
    assert not silent, f"{capability}: expected {expected!r}; these targets differ without saying so: {silent}"


# --- strategies: the traffic stages an update moves through --------------------------------------


def _aws_stages(target: Target, endpoint: str) -> list[tuple[int, int]]:
    """SageMaker's deployment config as (share of traffic, hold) stages: instances are shares of the fleet."""
    config = target.one("aws:sagemaker/endpoint:Endpoint", endpoint).get("deploymentConfig")
    if config is None:
        return [(100, 0)]
    policy = config["blueGreenUpdatePolicy"]
    routing, termination = policy["trafficRoutingConfiguration"], policy["terminationWaitInSeconds"]
    if routing["type"] == "ALL_AT_ONCE":
        return [(100, routing["waitIntervalInSeconds"] + termination)]
    size = routing.get("canarySize") or routing["linearStepSize"]
    assert size["type"] == "INSTANCE_COUNT"
    (variant,) = target.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration", f"{endpoint}-config")[
        "productionVariants"
    ]
    fleet = variant["initialInstanceCount"]
    wait = routing["waitIntervalInSeconds"]
    if routing["type"] == "CANARY":
        return [(round(100 * size["value"] / fleet), wait), (100, termination)]
    shares = range(size["value"], fleet, size["value"])
    return [(round(100 * n / fleet), wait) for n in shares] + [(100, termination)]


def _gcp_stages(target: Target, endpoint: str) -> list[tuple[int, int]]:
    from mlstack.backends.gcp.providers.rollout import stages

    strategy = target.one("pulumi-python:dynamic/vertex:Deployment", f"{endpoint}-deployment")["strategy"]
    return [(s.percent, s.watch) for s in stages(strategy)]


def _azure_stages(target: Target, endpoint: str) -> list[tuple[int, int]]:
    from mlstack.backends.azure.rollout import Rollout, stages

    rollout = Rollout.from_dict(target.one("pulumi-python:dynamic:Resource", f"{endpoint}-traffic")["rollout"])
    # what the traffic provider does when a new deployment replaces the serving one
    return [(s.traffic.get("new", 0), s.wait_seconds) for s in stages({"old": 100}, {"new": 100}, rollout)]


def _local_config(target: Target, name: str) -> dict[str, Any]:
    found = [
        r["config"]
        for r in target.find("pulumi-python:dynamic/local:EmulatorResource", name)
        if r["kind"] in ("endpoint", "pipeline", "feature_view")
    ]
    (config,) = found
    return config


def _local_stages(target: Target, endpoint: str) -> list[tuple[int, int]]:
    from mlstack.emulator.rollout import steps_for

    return [(s.percent, int(s.hold)) for s in steps_for(_local_config(target, endpoint)["strategy"])]


STAGES = {"aws": _aws_stages, "gcp": _gcp_stages, "azure": _azure_stages, "local": _local_stages}
SHIFTING = {"all_at_once": "all-at-once", "blue_green": "blue-green", "canary": "canary", "linear": "linear"}


@pytest.mark.parametrize("kind", list(SHIFTING))
def test_strategy_moves_traffic_through_the_resolved_stages(targets, kind):
    endpoint = SHIFTING[kind]
    index = next(i for i, e in enumerate(targets["local"].resolved.spec.endpoints) if e.name == endpoint)
    plans = {cloud: t.resolved.endpoints[index] for cloud, t in targets.items()}
    traffic = plans["local"].traffic
    expected = [(s.percent, s.wait) for s in traffic.stages]
    assert all(p.traffic == traffic for p in plans.values())  # one reading of the strategy
    validate_all(
        targets,
        f"strategy:{kind}",
        ("endpoints", index, "strategy"),
        expected,
        lambda t: STAGES[t.cloud](t, endpoint),
    )


def test_sagemaker_canary_is_declared_with_its_effective_share(targets):
    (found,) = [d for d in targets["aws"].differences if d.capability == "strategy:canary" and d.path[-1] == "percent"]
    assert "1 of 2 instances ≈ 50% of traffic" in found.message
    assert _aws_stages(targets["aws"], "canary")[0][0] == 50


def test_sagemaker_rollback_alarms_are_declared_to_see_both_fleets(targets):
    """Audit A12: during a SageMaker rollout old and new fleets report under one variant, so the canary's
    error rate reaches the alarm diluted by its share; no other target says so."""
    found = [d for d in targets["aws"].differences if d.path[-2:] == ("rollback", "max_error_rate")]
    assert found and all(d.capability in ("strategy:canary", "strategy:linear") for d in found)
    canary = next(d for d in found if d.capability == "strategy:canary")
    assert "≈50% of traffic on the new model" in canary.message and "set max_error_rate" in canary.message
    for cloud in ("gcp", "azure", "local"):
        others = targets[cloud].differences
        assert not [d for d in others if d.path[-2:] == ("rollback", "max_error_rate") and "as one variant" in d.message]


def _shadow(target: Target) -> tuple[str, int, int]:
    """(how requests reach the challenger, the share, the challenger's instances)."""
    if target.cloud == "aws":
        config = target.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "shadow-config")
        (primary,), (shadow,) = config["productionVariants"], config["shadowProductionVariants"]
        share = round(100 * shadow["initialVariantWeight"] / primary["initialVariantWeight"])
        return "live", share, shadow["initialInstanceCount"]
    if target.cloud == "gcp":
        companion = target.one("pulumi-python:dynamic/vertex:Deployment", "shadow-shadow-deployment")
        (variant,) = companion["variants"]
        replay = target.one("gcp:colab/schedule:Schedule", "shadow-replay-schedule")
        return "replayed" if replay else "live", 25, variant["min_replicas"]
    if target.cloud == "azure":
        mirror = target.one("pulumi-python:dynamic:Resource", "shadow-traffic")["mirror_traffic"]
        ((name, share),) = mirror.items()
        deployments = target.find("azure-native:machinelearningservices:OnlineDeployment")
        capacity = next(d["sku"]["capacity"] for d in deployments if d["deploymentName"] == name)
        return "live", share, capacity
    config = _local_config(target, "shadow")
    return "live", config["shadow"]["percent"], config["shadow"].get("instance_count", config["instance_count"])


def test_shadow_mirrors_the_share_to_its_own_challenger_fleet(targets):
    validate_all(targets, "strategy:shadow", ("endpoints", 4, "strategy"), ("live", 25, 1), _shadow)


def _ab(target: Target) -> dict[str, tuple[int, int]]:
    """variant -> (share of traffic, instances)."""
    if target.cloud == "aws":
        config = target.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "ab-test-config")
        return {
            v["variantName"]: (round(v["initialVariantWeight"]), v["initialInstanceCount"])
            for v in config["productionVariants"]
        }
    if target.cloud == "gcp":
        deployment = target.one("pulumi-python:dynamic/vertex:Deployment", "ab-test-deployment")
        return {v["name"]: (v["weight"], v["min_replicas"]) for v in deployment["variants"]}
    if target.cloud == "azure":
        traffic = target.one("pulumi-python:dynamic:Resource", "ab-test-traffic")["traffic"]
        deployments = target.find("azure-native:machinelearningservices:OnlineDeployment")
        capacity = {d["deploymentName"]: d["sku"]["capacity"] for d in deployments}
        return {name.rsplit("-", 1)[0]: (share, capacity[name]) for name, share in traffic.items()}
    config = _local_config(target, "ab-test")
    return {v["name"]: (v["weight"], v.get("instance_count", config["instance_count"])) for v in config["variants"]}


def test_ab_splits_traffic_by_weight_on_each_variants_own_fleet(targets):
    validate_all(targets, "strategy:ab", ("endpoints", 5), {"champ": (70, 3), "chall": (30, 1)}, _ab)


def test_every_strategy_has_a_row():
    covered = {*SHIFTING, "shadow", "ab"}
    assert covered == set(STRATEGIES)


# --- gates: direction and champion ----------------------------------------------------------------


def _aws_gate(target: Target) -> Any:
    definition = json.loads(target.one("aws:sagemaker/pipeline:Pipeline", "train-ranker")["pipelineDefinition"])
    parameters = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    (condition,) = [s for s in definition["Steps"] if s["Type"] == "Condition"]

    def passes(metrics: dict[str, float]) -> bool:
        for c in condition["Arguments"]["Conditions"]:
            metric = c["LeftValue"]["Std:JsonGet"]["Path"].removeprefix("metrics.")
            right = c["RightValue"]
            bound = parameters[right["Get"].removeprefix("Parameters.")] if isinstance(right, dict) else right
            value = metrics[metric]
            if (value < bound) if c["Type"] == "GreaterThanOrEqualTo" else (value > bound):
                return False
        return True

    return passes


def _azure_gate(target: Target) -> Any:
    from mlstack.backends.azure.pipelines import _gates

    pipeline = target.resolved.spec.pipelines[0]
    bounds = _gates(type("Ctx", (), {"resolved": target.resolved})(), pipeline, pipeline.steps[2].gates)

    def passes(metrics: dict[str, float]) -> bool:  # what the gate component's script checks
        return not [
            g
            for g in bounds
            if (g["min"] is not None and metrics[g["metric"]] < g["min"])
            or (g["max"] is not None and metrics[g["metric"]] > g["max"])
        ]

    return passes


def _runtime_gate(gates: list[dict[str, Any]]) -> Any:
    from mlstack.resolve.gates import check

    return lambda metrics: check(gates, metrics, CHAMPION).passed


def _gcp_gate(target: Target) -> Any:
    """The Vertex gate task (runtime `gate`) run on the gates the plan passes it."""
    from mlstack.backends.gcp import runtime

    step = target.resolved.spec.pipelines[0].steps[2]
    argv = json.dumps([g.model_dump() for g in step.gates], sort_keys=True)

    def passes(metrics: dict[str, float]) -> bool:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(runtime, "champion_metrics", lambda *_: dict(CHAMPION))
            patch.setattr(runtime, "read_metrics", lambda _: dict(metrics))
            args = runtime.parser().parse_args(["gate", "--metrics=m", f"--gates={argv}", "--region=r", "--model=m"])
            try:
                runtime.gate(args)
            except runtime.TaskFailed:
                return False
            return True

    return passes


def _local_gate(target: Target) -> Any:
    (step,) = [s for s in _local_config(target, "train-ranker")["steps"] if s["kind"] == "evaluation"]
    return _runtime_gate(step["gates"])


GATES = {"aws": _aws_gate, "gcp": _gcp_gate, "azure": _azure_gate, "local": _local_gate}
CASES = {
    "better on both": {"rmse": 0.5, "auc": 0.95},
    "rmse worse than the champion's (lower is better)": {"rmse": 1.5, "auc": 0.95},
    "auc within the tolerance": {"rmse": 0.9, "auc": 0.895},
    "auc below the champion less the tolerance": {"rmse": 0.9, "auc": 0.885},
}
EXPECTED = {
    "better on both": True,
    "rmse worse than the champion's (lower is better)": False,
    "auc within the tolerance": True,
    "auc below the champion less the tolerance": False,
}


def test_gates_beat_the_champion_in_each_metrics_direction(targets):
    validate_all(
        targets,
        "gates:direction",
        ("pipelines", 0, "steps", 2, "gates"),
        EXPECTED,
        lambda t: {case: GATES[t.cloud](t)(metrics) for case, metrics in CASES.items()},
    )


def test_with_no_champion_the_first_model_passes_and_is_told_so():
    from mlstack.resolve.gates import check

    verdict = check([{"metric": "rmse", "beat_champion": True}], {"rmse": 3.0}, None)
    assert verdict.passed and "first model passes" in verdict.notes[0]


# --- pipelines: default step dependencies ---------------------------------------------------------


def _dependencies(target: Target) -> dict[str, list[str]]:
    if target.cloud == "aws":
        definition = json.loads(target.one("aws:sagemaker/pipeline:Pipeline", "train-ranker")["pipelineDefinition"])
        steps = _all_steps(definition)
        return {s["Name"]: s.get("DependsOn", []) for s in steps if s["Name"] in ("prep", "train", "evaluate")}
    if target.cloud == "gcp":
        from mlstack.resolve.pipelines import graph

        return {k: v for k, v in graph(target.resolved.spec.pipelines[0]).items() if k != "register"}
    if target.cloud == "azure":
        from mlstack.backends.azure.pipelines import dependencies

        pipeline = target.resolved.spec.pipelines[0]
        return {s.name: dependencies(pipeline, i) for i, s in enumerate(pipeline.steps) if s.name != "register"}
    steps = _local_config(target, "train-ranker")["steps"]
    return {s["name"]: s["depends_on"] for s in steps if s["name"] != "register"}


def test_steps_wait_for_the_step_before_them_by_default(targets):
    expected = {"prep": [], "train": ["prep"], "evaluate": ["train"]}
    validate_all(targets, "pipelines:depends_on", ("pipelines", 0), expected, _dependencies)


# --- feature views, autoscaling, capture, approval -------------------------------------------------


def _view_keys(target: Target) -> list[str]:
    if target.cloud == "aws":
        return [target.one("aws:sagemaker/featureGroup:FeatureGroup", "customer-stats")["recordIdentifierFeatureName"]]
    if target.cloud == "gcp":
        return target.one("gcp:vertex/aiFeatureGroup:AiFeatureGroup", "customer-stats")["bigQuery"]["entityIdColumns"]
    if target.cloud == "azure":
        import yaml

        (blob,) = target.find("pulumi-python:dynamic:Resource", "customer-stats-spec")
        return [c["name"] for c in yaml.safe_load(blob["text"])["index_columns"]]
    return [k["name"] for k in _local_config(target, "customer-stats")["join_keys"]]


def test_a_feature_view_is_keyed_by_its_entitys_join_keys(targets):
    validate_all(targets, "features:entity", ("feature_store", "views", 0), ["customer_id"], _view_keys)


def _scaling(target: Target) -> tuple[int, int]:
    if target.cloud == "aws":
        found = target.find("aws:appautoscaling/target:Target")
        (scaling,) = found
        return scaling["minCapacity"], scaling["maxCapacity"]
    if target.cloud == "gcp":
        (variant,) = target.one("pulumi-python:dynamic/vertex:Deployment", "canary-deployment")["variants"]
        return variant["min_replicas"], variant["max_replicas"]
    if target.cloud == "azure":
        (setting,) = target.find("azure-native:monitor:AutoscaleSetting")
        (profile,) = setting["profiles"]
        return int(profile["capacity"]["minimum"]), int(profile["capacity"]["maximum"])
    scaling = _local_config(target, "canary")["autoscaling"]
    return scaling["min"], scaling["max"]


def test_autoscaling_keeps_the_fleet_between_its_bounds(targets):
    validate_all(targets, "endpoints:autoscaling", ("endpoints", 2, "autoscaling"), (2, 4), _scaling)


def _capture(target: Target) -> int:
    if target.cloud == "aws":
        config = target.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "canary-config")
        return config["dataCaptureConfig"]["initialSamplingPercentage"]
    if target.cloud == "gcp":
        endpoint = target.one("gcp:vertex/aiEndpoint:AiEndpoint", "canary")
        return round(100 * endpoint["predictRequestResponseLoggingConfig"]["samplingRate"])
    if target.cloud == "azure":
        deployment = target.one("azure-native:machinelearningservices:OnlineDeployment", "canary-primary")
        collections = deployment["properties"]["dataCollector"]["collections"]
        return round(100 * collections["model_inputs"]["samplingRate"])
    return _local_config(target, "canary")["capture_percent"]


def test_data_capture_samples_its_share_of_requests(targets):
    validate_all(targets, "endpoints:capture", ("endpoints", 2, "data_capture"), 50, _capture)


_AZURE_COMPONENT = "azure-native:machinelearningservices:ComponentVersion"


def _approval(target: Target) -> str:
    """Whether a manual group's new versions wait for approval before they are served."""
    if target.cloud == "aws":
        definition = json.loads(target.one("aws:sagemaker/pipeline:Pipeline", "train-ranker")["pipelineDefinition"])
        (register,) = [s for s in _all_steps(definition) if s["Type"] == "RegisterModel"]
        return "held" if register["Arguments"]["ModelApprovalStatus"] == "PendingManualApproval" else "served"
    if target.cloud == "local":
        (group,) = [
            r["config"]
            for r in target.find("pulumi-python:dynamic/local:EmulatorResource")
            if r["kind"] == "model_group"
        ]
        return "held" if group["approval"] == "manual" else "served"  # the emulator's registry blocks it
    if target.cloud == "gcp":
        # Vertex has none: the register task labels the version and the deploy task waits for "approved"
        # (tests/backends/gcp/test_runtime.py runs both against the aiplatform fakes).
        from mlstack.targets.gcp import APPROVAL_ON_REGISTER

        spec = target.one("gcp:storage/bucketObject:BucketObject", "train-ranker-spec")["content"]
        if isinstance(spec, dict) and "value" in spec:  # a secret input: Pulumi's {sig, value} wrapper
            spec = spec["value"]
        executors = (json.loads(spec) if isinstance(spec, str) else spec)["deploymentSpec"]["executors"]
        (register,) = [e["container"]["args"] for e in executors.values() if e["container"]["args"][0] == "register"]
        manual = "--approval=manual" in register and APPROVAL_ON_REGISTER["manual"] != "approved"
        return "held" if manual else "served"
    if target.cloud == "azure":
        # nothing serves a registered version but a deployment step, and mlstack's serves only versions
        # tagged approved (mlstack.backends.azure.deploy_job, tests/backends/azure/test_deploy_job.py)
        commands = [r["properties"]["componentSpec"]["command"] for r in target.find(_AZURE_COMPONENT)]
        deploys = [c for c in commands if c.startswith("python -m mlstack.backends.azure.deploy_job")]
        return "held" if all("--approval manual" in c for c in deploys) else "served"
    return "served"


def _all_steps(definition: dict[str, Any]) -> list[dict[str, Any]]:
    steps = list(definition["Steps"])
    for step in list(steps):
        steps += step.get("Arguments", {}).get("IfSteps", [])
    return steps


def test_manual_approval_holds_new_versions(targets):
    validate_all(targets, "registry:approval", ("registry", "model_groups", 0, "approval"), "held", _approval)


# --- monitors: every kind x metric is computed, natively or by mlstack's evaluator ----------------


def _drift_threshold(target: Target) -> float:
    """What the amount-drift monitor (no threshold in the spec) alerts past."""
    if target.cloud == "aws":
        return target.one("aws:cloudwatch/metricAlarm:MetricAlarm", "amount-drift-alarm")["threshold"]
    if target.cloud == "gcp":
        return target.one("pulumi-python:dynamic/vertex:ModelDeploymentMonitoringJob", "canary-monitoring")[
            "skew_thresholds"
        ]["amount_mean"]
    if target.cloud == "azure":
        schedule = target.one("azure-native:machinelearningservices:Schedule", "amount-drift")
        signal = schedule["properties"]["action"]["monitorDefinition"]["signals"]["amount-drift_data-drift"]
        (value,) = {t["threshold"]["value"] for t in signal["metricThresholds"]}
        return value
    from mlstack.runtime.monitors import measure

    (config,) = [r["config"] for r in target.find("pulumi-python:dynamic/local:EmulatorResource", "amount-drift")]
    frame = {"amount_mean": [0.1, 0.2, 0.3]}
    (result,) = measure(
        "data_drift",
        config["metric"],
        threshold=config.get("threshold"),
        reference=frame,
        current=frame,
        columns=["amount_mean"],
    )
    return result.threshold  # what the emulator's evaluation compares with


def test_a_monitor_without_a_threshold_alerts_past_the_metrics_default(targets):
    validate_all(targets, "monitors:threshold", ("monitors", 0, "threshold"), 0.1, _drift_threshold)


def test_every_monitor_metric_is_vendor_native_computed_by_the_shared_evaluator_or_rejected():
    import pandas as pd

    from mlstack.errors import SpecInvalid
    from mlstack.runtime.monitors import Labelled, measure
    from mlstack.spec import loads
    from mlstack.spec.models import METRICS_BY_KIND
    from mlstack.targets import profile, supports_metric

    reference = pd.DataFrame({"x": [0.1, 0.2, 0.3, 0.4] * 5, "c": list("abab") * 5})
    current = pd.DataFrame({"x": [0.2, 0.3, 0.4, 0.5] * 5, "c": list("abba") * 5})
    labelled = Labelled([1, 0, 1, 1], [1, 0, 0, 1], [0.9, 0.2, 0.4, 0.8])
    base = SPEC.read_text()
    rows = {}
    for kind, metrics in METRICS_BY_KIND.items():
        for metric in metrics:
            column = "c" if metric in ("chi2", "l_infinity") else "x"
            results = measure(
                kind,
                metric,
                reference=reference,
                current=current,
                columns=[column],
                labelled=labelled,
                problem_type="binary_classification",
            )
            assert results and results[0].metric == metric  # the runtime every target schedules computes it
            monitor = (  # appended to the spec's monitors list
                f"  - {{name: m, kind: {kind}, endpoint: canary, metric: {metric}, baseline: baselines/training.csv, "
                f"problem_type: binary_classification, ground_truth: labels}}\n"
            )
            for cloud in CLOUDS:
                dialect = profile(cloud)
                try:
                    loads(base + monitor, file=str(SPEC), target=cloud)
                    accepted = True
                except SpecInvalid as exc:
                    accepted = False
                    said = " ".join(e.message for e in exc.errors if e.path[:1] == ("monitors",))
                    assert metric in said, (cloud, kind, metric, said)  # rejected, located, naming the metric
                rows[cloud, kind, metric] = accepted
                assert accepted == supports_metric(dialect, metric) or not accepted, (cloud, kind, metric)
    assert all(rows["local", k, m] for k, ms in METRICS_BY_KIND.items() for m in ms)
