"""Compute clusters (AmlCompute) for pipeline steps: one per catalog SKU the steps use, scaling to zero.

A cluster's VM size cannot change in place, so its name carries a hash of the size: a new size is a new
cluster, and the pipeline moves to it before the old one is deleted."""

from __future__ import annotations

from collections import Counter

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from mlstack.backends.azure.context import Azure, after, iso_duration, revision_name
from mlstack.backends.azure.iam import grant
from mlstack.backends.azure.workspace import Platform
from mlstack.catalog import Sku

# Keep a node for the next step of the same run instead of provisioning it again.
IDLE_BEFORE_SCALE_DOWN = 600
CLUSTER_NAME_LENGTH = 16


def job_roles(platform: Platform) -> tuple[tuple[str, pulumi.Input[str], str], ...]:
    """What pipeline steps may do: use the workspace (register models, roll endpoints), read and write its
    storage, pull its images — nothing else."""
    return (
        ("AzureML Data Scientist", platform.workspace_id, "workspace"),
        ("Storage Blob Data Contributor", platform.storage_account_id, "storage"),
        ("AcrPull", platform.container_registry_id, "registry"),
    )


def _base_name(ref: object, fallback: str) -> str:
    return ref if isinstance(ref, str) else fallback


def cluster_name(base: str, sku: Sku, env: str) -> str:
    return revision_name(base, sku.machine_type, env, max_length=CLUSTER_NAME_LENGTH)


def build_clusters(ctx: Azure) -> dict[str, pulumi.Output[str]]:
    """Clusters keyed by SKU id; each value is the cluster's ARM id (an output, so steps wait for it)."""
    assert ctx.platform is not None
    resolved = ctx.resolved
    steps_per_sku: Counter[str] = Counter()
    names: dict[str, tuple[str, Sku]] = {}
    for pipeline in resolved.spec.pipelines:
        for step in pipeline.steps:
            sku = resolved.step_sku(pipeline.name, step.name)
            if sku is None:
                continue
            steps_per_sku[sku.sku] += 1
            base = _base_name(step.compute or pipeline.compute, "steps")
            if sku.sku not in names or base < names[sku.sku][0]:
                names[sku.sku] = (base, sku)
    for job in resolved.batch_jobs:
        # a batch deployment runs on a cluster; its instances may all run at once
        steps_per_sku[job.sku.sku] += job.job.instance_count
        base = _base_name(job.job.compute, "batch")
        if job.sku.sku not in names or base < names[job.sku.sku][0]:
            names[job.sku.sku] = (base, job.sku)
    platform = ctx.platform
    clusters = {}
    for sku_id, (base, sku) in sorted(names.items()):
        name = cluster_name(base, sku, ctx.env)
        cluster = ml.Compute(
            f"cluster-{sku_id}",
            compute_name=name,
            location=ctx.location,
            # steps run as the cluster's own identity (job identity `managed`): no keys, no shared identity
            identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
            properties=ml.AmlComputeArgs(
                compute_type="AmlCompute",
                description=f"{ctx.spec_name} pipeline steps on {sku.describe()}",
                disable_local_auth=True,
                properties=ml.AmlComputePropertiesArgs(
                    vm_size=sku.machine_type,
                    vm_priority="Dedicated",
                    os_type="Linux",
                    enable_node_public_ip=False,
                    remote_login_port_public_access="Disabled",
                    scale_settings=ml.ScaleSettingsArgs(
                        min_node_count=0,
                        # every step on this size may run at once (independent branches of a pipeline)
                        max_node_count=steps_per_sku[sku_id],
                        node_idle_time_before_scale_down=iso_duration(IDLE_BEFORE_SCALE_DOWN),
                    ),
                ),
            ),
            tags=ctx.tags,
            **ctx.in_workspace(),
            opts=platform.component.child(),
        )
        principal = cluster.identity.apply(lambda identity: identity.principal_id if identity else None)
        ctx.platform.principals[sku_id] = principal
        for role, scope, key in job_roles(platform):
            grant(
                ctx,
                platform.component,
                f"cluster-{sku_id}-{key}",
                principal_id=principal,
                role=role,
                scope=scope,
                scope_key=key,
            )
        clusters[sku_id] = after(cluster, ctx.asset_id("computes", name))
    return clusters
