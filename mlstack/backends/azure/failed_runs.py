"""A monitor whose run fails measures nothing and tags no breach, so Event Grid hears nothing. Azure's
"Failed Runs" metric counts the workspace's failed runs but cannot tell which schedule a run came from
(mlstack/targets/azure.py), so the workspace gets one metric alert rule on it that notifies every monitor's
alert recipients (their e-mail addresses and https webhooks, in one action group, each once) and says in its
description that the failed run may be another job of the workspace. One rule rather than one per monitor:
each would fire on the same failures, and a recipient of several monitors would hear of each failure several
times."""

from __future__ import annotations

from pulumi_azure_native import monitor as mon

from mlstack.backends.azure.context import Azure
from mlstack.backends.azure.endpoints import above
from mlstack.backends.azure.monitors import BuiltMonitor, alert_emails, webhooks
from mlstack.targets.azure import (
    ALERTS_LOCATION,
    FAILED_RUNS_METRIC,
    FAILED_RUNS_WINDOW,
    WORKSPACE_METRICS,
)

NAME = "monitor-runs-failed"


def description(workspace: str, monitors: list[str]) -> str:
    return (
        f"mlstack: a run in Azure ML workspace {workspace} failed. The monitors {', '.join(monitors)} run there; "
        "Azure's Failed Runs metric does not say which schedule or job a run belongs to, so this may be a "
        "monitor's run (which then measured nothing) or another job of the workspace: the failed job is "
        "listed in Azure ML studio."
    )


def alert_failed_runs(ctx: Azure, monitors: list[BuiltMonitor]) -> None:
    assert ctx.platform is not None
    emails = sorted({to for built in monitors for to in alert_emails(built.monitor)})
    urls = sorted({url for built in monitors for url in webhooks(built.monitor)})
    if not emails and not urls:
        return
    opts = ctx.platform.component.child()
    group = mon.ActionGroup(
        f"{NAME}-recipients",
        action_group_name=ctx.name(NAME, max_length=260),
        group_short_name="mlstack-mon",  # at most 12 characters; Azure shows it in the notices it sends
        resource_group_name=ctx.platform.resource_group_name,
        location=ALERTS_LOCATION,
        enabled=True,
        email_receivers=[
            mon.MicrosoftCommonEmailReceiverArgs(name=f"email-{i}", email_address=to, use_common_alert_schema=True)
            for i, to in enumerate(emails)
        ],
        webhook_receivers=[
            mon.WebhookReceiverArgs(name=f"webhook-{i}", service_uri=url, use_common_alert_schema=True)
            for i, url in enumerate(urls)
        ],
        tags=ctx.tags,
        opts=opts,
    )
    mon.MetricAlert(
        NAME,
        rule_name=ctx.name(NAME, max_length=128),
        resource_group_name=ctx.platform.resource_group_name,
        location=ALERTS_LOCATION,
        description=description(ctx.workspace, [built.monitor.name for built in monitors]),
        severity=2,
        # a developer's copy (its own workspace, monitors paused) would tell the monitors' recipients of
        # every job the developer runs there and that fails
        enabled=not ctx.resolved.development,
        scopes=[ctx.platform.workspace_id],
        evaluation_frequency=FAILED_RUNS_WINDOW,
        window_size=FAILED_RUNS_WINDOW,
        auto_mitigate=True,
        criteria=above("failed-runs", WORKSPACE_METRICS, FAILED_RUNS_METRIC, 0, "Total"),  # one failed run
        actions=[mon.MetricAlertActionArgs(action_group_id=group.id)],
        tags=ctx.tags,
        opts=opts,
    )
