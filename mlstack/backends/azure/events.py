"""What happens when a monitor alerts, wired through Azure's documented mechanism: Azure ML publishes a
RunStatusChanged event to Event Grid when a monitoring run breaches a threshold, tagged
`azureml_modelmonitor_threshold_breached` with "The signal '<signal>' has failed ..."; signals are named
"<monitor>_<kind>" (mlstack.backends.azure.monitors.signal_names). An Event Grid system topic on the
workspace routes those events, filtered per monitor, to webhooks named in the spec and, for retraining,
to a Logic App that submits the pipeline job with its managed identity."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from mlstack.backends.azure.context import Azure, after
from mlstack.backends.azure.iam import grant
from mlstack.backends.azure.monitors import BREACH_TAG, BuiltMonitor, breach_message, webhooks
from mlstack.backends.azure.pipelines import BuiltPipeline
from mlstack.backends.azure.traffic import ARM, ML_API
from mlstack.backends.naming import physical_name

RUN_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
TRIGGER = "manual"
WORKFLOW_SCHEMA = (
    "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#"
)
# Event Grid retries a failed delivery for a day; a retraining request older than that is stale.
EVENT_TTL_MINUTES = 1440


def workflow_definition(workspace_id: str, job: dict[str, Any]) -> dict[str, Any]:
    """A Logic App that answers Event Grid's subscription handshake and, for a breach event, PUTs a new
    pipeline job (ARM Jobs - Create Or Update) as the Logic App's own managed identity."""
    submit = {
        "type": "Http",
        "inputs": {
            "method": "PUT",
            "uri": f"{ARM}{workspace_id}/jobs/@{{guid()}}?api-version={ML_API}",
            "body": {"properties": job},
            "authentication": {"type": "ManagedServiceIdentity", "audience": f"{ARM}/"},
        },
    }
    return {
        "$schema": WORKFLOW_SCHEMA,
        "contentVersion": "1.0.0.0",
        "triggers": {TRIGGER: {"type": "Request", "kind": "Http", "inputs": {"schema": {"type": "array"}}}},
        "actions": {
            "route": {
                "type": "If",
                "expression": {"and": [{"equals": ["@triggerBody()?[0]?['eventType']", VALIDATION_EVENT]}]},
                "actions": {
                    "handshake": {
                        "type": "Response",
                        "kind": "Http",
                        "inputs": {
                            "statusCode": 200,
                            "body": {"validationResponse": "@triggerBody()?[0]?['data']?['validationCode']"},
                        },
                    }
                },
                "else": {
                    "actions": {
                        "submit-pipeline": submit,
                        "accepted": {
                            "type": "Response",
                            "kind": "Http",
                            "runAfter": {"submit-pipeline": ["Succeeded"]},
                            "inputs": {"statusCode": 202},
                        },
                    }
                },
                "runAfter": {},
            }
        },
    }


def retrain_app(ctx: Azure, pipeline: BuiltPipeline) -> pulumi.Output[str]:
    """The Logic App that runs `pipeline`; returns its trigger's callback URL (a secret)."""
    assert ctx.platform is not None
    definition = pulumi.Output.all(ctx.platform.workspace_id, pipeline.rest).apply(
        lambda args: workflow_definition(args[0], args[1])
    )
    name = ctx.name(pipeline.name, "retrain", max_length=80)
    app = azure_native.logic.Workflow(
        f"{pipeline.name}-retrain",
        workflow_name=name,
        **ctx.in_group(),
        state="Enabled",
        identity=azure_native.logic.ManagedServiceIdentityArgs(type="SystemAssigned"),
        definition=definition,
        tags=ctx.tags,
        opts=pipeline.component.child(),
    )
    grant(
        ctx,
        pipeline.component,
        f"{pipeline.name}-retrain-submits-jobs",
        principal_id=app.identity.apply(lambda identity: identity.principal_id if identity else None),
        role="AzureML Data Scientist",
        scope=ctx.platform.workspace_id,
        scope_key="workspace",
    )
    callback = azure_native.logic.list_workflow_trigger_callback_url_output(
        resource_group_name=ctx.platform.resource_group_name,
        workflow_name=after(app, name),
        trigger_name=TRIGGER,
        opts=pulumi.InvokeOutputOptions(provider=ctx.provider),
    )
    return pulumi.Output.secret(callback.value)


def topic_name(ctx: Azure) -> str:
    return ctx.name("workspace-events", max_length=128)


def _system_topic(ctx: Azure) -> azure_native.eventgrid.SystemTopic:
    assert ctx.platform is not None
    return azure_native.eventgrid.SystemTopic(
        "workspace-events",
        system_topic_name=topic_name(ctx),
        **ctx.in_group(),
        source=ctx.platform.workspace_id,
        topic_type="Microsoft.MachineLearningServices.Workspaces",
        tags=ctx.tags,
        opts=ctx.platform.component.child(),
    )


def breach_filter(built: BuiltMonitor) -> azure_native.eventgrid.EventSubscriptionFilterArgs:
    return azure_native.eventgrid.EventSubscriptionFilterArgs(
        included_event_types=[RUN_STATUS_CHANGED],
        advanced_filters=[
            azure_native.eventgrid.StringContainsAdvancedFilterArgs(
                operator_type="StringContains",
                key=f"data.RunTags.{BREACH_TAG}",
                values=[breach_message(signal) for signal in built.signals],
            )
        ],
    )


def wire(ctx: Azure, monitors: list[BuiltMonitor], pipelines: dict[str, BuiltPipeline]) -> None:
    """Event Grid subscriptions from every monitor to the webhooks and retraining pipelines it names."""
    spec = ctx.resolved.spec
    retrain: dict[str, set[str]] = {m.monitor.name: set() for m in monitors}
    for built in monitors:
        retrain[built.monitor.name] |= {a.pipeline for a in built.monitor.actions if a.type == "retrain"}
    for pipeline in spec.pipelines:
        for trigger in pipeline.triggers:
            retrain.setdefault(trigger.on_alert, set()).add(pipeline.name)
    routes: list[tuple[BuiltMonitor, str, pulumi.Input[str]]] = []
    apps: dict[str, pulumi.Output[str]] = {}
    for built in monitors:
        for url in webhooks(built.monitor):
            routes.append((built, f"webhook-{len(routes)}", url))
        for name in sorted(retrain.get(built.monitor.name, ())):
            if name not in apps:
                apps[name] = retrain_app(ctx, pipelines[name])
            routes.append((built, f"retrain-{name}", apps[name]))
    if not routes:
        return
    topic = _system_topic(ctx)
    assert ctx.platform is not None
    for built, label, url in routes:
        azure_native.eventgrid.SystemTopicEventSubscription(
            f"{built.monitor.name}-{label}",
            event_subscription_name=physical_name(built.monitor.name, label, max_length=64),
            system_topic_name=after(topic, topic_name(ctx)),
            resource_group_name=ctx.platform.resource_group_name,
            destination=azure_native.eventgrid.WebHookEventSubscriptionDestinationArgs(
                endpoint_type="WebHook", endpoint_url=url
            ),
            filter=breach_filter(built),
            retry_policy=azure_native.eventgrid.RetryPolicyArgs(event_time_to_live_in_minutes=EVENT_TTL_MINUTES),
            opts=built.component.child(),
        )
