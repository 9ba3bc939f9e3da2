"""A monitoring run that fails alerts the monitors' recipients (audit X4): Azure Monitor's "Failed Runs" metric
of the workspace, routed through one action group of every monitor's e-mail addresses and webhooks. The
second check reads the planned rule and group as Azure Monitor's own request models (azure-mgmt-monitor)."""

from __future__ import annotations

from typing import Any

import pytest
from azure_specs import monitor_spec

from mlstack.targets.azure import FAILED_RUNS_METRIC, WORKSPACE_METRICS

TWO_MONITORS = """\
- name: drift
  kind: prediction_drift
  endpoint: rank
  baseline: abfss://ml@shopdata.dfs.core.windows.net/predictions/
  metric: psi
  actions:
    - type: alert
      to: [oncall@example.com, "https://hooks.example.com/drift"]
- name: scores
  kind: prediction_drift
  endpoint: rank
  baseline: abfss://ml@shopdata.dfs.core.windows.net/predictions/
  metric: ks
  actions:
    - type: alert
      to: [oncall@example.com, ml@example.com]
"""


def test_a_failed_run_in_the_workspace_alerts_every_monitors_recipients_once(planned):
    plan = planned(monitor_spec(TWO_MONITORS))
    (rule,) = plan.of("MetricAlert")
    assert rule.name == "monitor-runs-failed"
    alert = rule.inputs
    assert alert["scopes"] == [
        "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-shop"
        "/providers/Microsoft.MachineLearningServices/workspaces/shop-ml"
    ]
    (criterion,) = alert["criteria"]["allOf"]
    assert (criterion["metricNamespace"], criterion["metricName"]) == (WORKSPACE_METRICS, "Failed Runs")
    # one failed run in a five-minute window is enough
    assert (criterion["operator"], criterion["threshold"], criterion["timeAggregation"]) == ("GreaterThan", 0, "Total")
    assert alert["evaluationFrequency"] == alert["windowSize"] == "PT5M"
    # Azure's metric cannot name the monitor: the rule says the run may be any job of the workspace
    assert "drift, scores" in alert["description"] and "another job of the workspace" in alert["description"]
    (group,) = plan.of("ActionGroup")
    assert alert["actions"] == [{"actionGroupId": f"{group.name}-id"}]  # the mocks' id of that group
    assert [r["emailAddress"] for r in group.inputs["emailReceivers"]] == ["ml@example.com", "oncall@example.com"]
    assert [r["serviceUri"] for r in group.inputs["webhookReceivers"]] == ["https://hooks.example.com/drift"]
    assert len(group.inputs["groupShortName"]) <= 12


def test_monitors_without_recipients_get_no_failure_alert(planned):
    plan = planned(
        monitor_spec(
            """\
            - name: drift
              kind: prediction_drift
              endpoint: rank
              baseline: abfss://ml@shopdata.dfs.core.windows.net/predictions/
              metric: psi
            """
        )
    )
    assert not plan.of("MetricAlert") and not plan.of("ActionGroup")


def test_the_fraud_spec_alerts_its_oncall_when_a_run_fails(fraud):
    plan = fraud("dev")
    (group,) = plan.of("ActionGroup")
    assert group.inputs["emailReceivers"] == [
        {"name": "email-0", "emailAddress": "fraud-oncall@example.com", "useCommonAlertSchema": True}
    ]
    alert = plan.inputs("MetricAlert", "monitor-runs-failed")
    assert [scope.rsplit("/", 2)[-2:] for scope in alert["scopes"]] == [["workspaces", "fraud-ml-dev"]]


def _rest(inputs: dict[str, Any], envelope: tuple[str, ...]) -> dict[str, Any]:
    """The ARM request body azure-native sends for these inputs: the envelope at the top, the rest under
    `properties`, the criteria's discriminator spelled `odata.type`."""
    properties = {k: v for k, v in inputs.items() if k not in (*envelope, "resourceGroupName")}
    if "criteria" in properties:
        criteria = dict(properties["criteria"])
        criteria["odata.type"] = criteria.pop("odataType")
        properties["criteria"] = criteria
    return {**{k: inputs[k] for k in envelope if k in inputs}, "properties": properties}


@pytest.mark.parametrize(("kind", "name_key"), [("MetricAlert", "ruleName"), ("ActionGroup", "actionGroupName")])
def test_the_rule_and_group_are_azure_monitor_requests(planned, kind, name_key):
    from azure.mgmt.monitor import models

    (resource,) = planned(monitor_spec(TWO_MONITORS)).of(kind)
    body = _rest({k: v for k, v in resource.inputs.items() if k != name_key}, ("location", "tags"))
    model = {"MetricAlert": models.MetricAlertResource, "ActionGroup": models.ActionGroupResource}[kind]
    parsed = model.deserialize(body)
    # every field is one Azure Monitor knows, with a value of its type: the model gives the same body back
    assert parsed.serialize() == body
    if kind == "MetricAlert":
        assert isinstance(parsed.criteria, models.MetricAlertSingleResourceMultipleMetricCriteria)
        assert parsed.criteria.all_of[0].metric_name == FAILED_RUNS_METRIC
        assert parsed.window_size.total_seconds() == 300
    else:
        assert [r.email_address for r in parsed.email_receivers] == ["ml@example.com", "oncall@example.com"]
