"""CloudWatch alarms: the rollback conditions of an endpoint's strategy and the signal of a monitor.

Endpoint alarms watch `AWS/SageMaker` per variant: the 5xx share is metric math over
Invocation5XXErrors and Invocations; p99 latency is ModelLatency's p99, which SageMaker reports in
microseconds."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from mlstack.backends.aws.context import Aws
from mlstack.backends.aws.signals import Signal
from mlstack.backends.components import SpecComponent
from mlstack.spec.models import Rollback

ENDPOINT_NAMESPACE = "AWS/SageMaker"


def period(seconds: int) -> int:
    """CloudWatch alarm periods of a minute or more are whole minutes; alarms look back at most a day."""
    return min(86400, -(-seconds // 60) * 60)


def _alarm(ctx: Aws, logical: str, name: str, component: SpecComponent, **args: Any) -> aws.cloudwatch.MetricAlarm:
    return aws.cloudwatch.MetricAlarm(
        logical,
        name=name,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing_data="notBreaching",
        tags=ctx.tags,
        opts=ctx.child(component),
        **args,
    )


def rollback_alarms(
    ctx: Aws, spec_name: str, endpoint: pulumi.Input[str], variant: str, rollback: Rollback, component: SpecComponent
) -> list[aws.cloudwatch.MetricAlarm]:
    """Alarms that roll a deployment of the endpoint back while SageMaker bakes the new fleet."""
    window = period(rollback.window)
    dimensions = {"EndpointName": endpoint, "VariantName": variant}
    found = []
    if rollback.max_error_rate is not None:

        def metric(query_id: str, name: str) -> dict[str, Any]:
            return {
                "id": query_id,
                "metric": {
                    "metric_name": name,
                    "namespace": ENDPOINT_NAMESPACE,
                    "period": window,
                    "stat": "Sum",
                    "dimensions": dimensions,
                },
            }

        found.append(
            _alarm(
                ctx,
                f"{spec_name}-error-rate",
                ctx.names.alarm(spec_name, "error-rate"),
                component,
                alarm_description=f"Share of 5xx answers of {spec_name}/{variant} above {rollback.max_error_rate}",
                comparison_operator="GreaterThanThreshold",
                threshold=rollback.max_error_rate,
                metric_queries=[
                    metric("errors", "Invocation5XXErrors"),
                    metric("invocations", "Invocations"),
                    {
                        "id": "error_rate",
                        "expression": "IF(invocations > 0, errors / invocations, 0)",
                        "label": "5xx share",
                        "return_data": True,
                    },
                ],
            )
        )
    if rollback.max_p99_latency_ms is not None:
        found.append(
            _alarm(
                ctx,
                f"{spec_name}-p99-latency",
                ctx.names.alarm(spec_name, "p99-latency"),
                component,
                alarm_description=f"p99 model latency of {spec_name}/{variant} above {rollback.max_p99_latency_ms} ms",
                comparison_operator="GreaterThanThreshold",
                threshold=rollback.max_p99_latency_ms * 1000,  # ModelLatency is in microseconds
                namespace=ENDPOINT_NAMESPACE,
                metric_name="ModelLatency",
                extended_statistic="p99",
                period=window,
                dimensions=dimensions,
                unit="Microseconds",
            )
        )
    return found


def signal_alarm(
    ctx: Aws,
    logical: str,
    name: str,
    signal: Signal,
    dimensions: dict[str, pulumi.Input[str]],
    seconds: int,
    actions: list[pulumi.Input[str]],
    description: str,
    component: SpecComponent,
) -> aws.cloudwatch.MetricAlarm:
    """One alarm over a monitor's signal: the metric itself, or the worst of its per-feature metrics."""
    window = period(seconds)
    common: dict[str, Any] = {
        "alarm_description": description,
        "comparison_operator": signal.comparison,
        "threshold": signal.threshold,
        "alarm_actions": actions,
    }
    if len(signal.metric_names) == 1:
        return _alarm(
            ctx,
            logical,
            name,
            component,
            namespace=signal.namespace,
            metric_name=signal.metric_names[0],
            statistic=signal.statistic,
            period=window,
            dimensions=dimensions,
            **common,
        )
    queries: list[dict[str, Any]] = [
        {
            "id": f"m{i}",
            "metric": {
                "metric_name": metric,
                "namespace": signal.namespace,
                "period": window,
                "stat": signal.statistic,
                "dimensions": dimensions,
            },
        }
        for i, metric in enumerate(signal.metric_names)
    ]
    ids = ", ".join(q["id"] for q in queries)
    queries.append({"id": "worst", "expression": f"{signal.combine}([{ids}])", "label": "worst", "return_data": True})
    return _alarm(ctx, logical, name, component, metric_queries=queries, **common)
