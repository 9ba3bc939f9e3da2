"""`mlstack import --from aws`: a spec (target aws) written from the SageMaker platform in one account
and region, with a report of everything that did not map exactly.

Reading (reader.py) is separate from mapping (registry, endpoints, features, pipelines, monitors), so
the mapping works on plain describe_* answers: the same code runs on a real account, on moto and on
botocore Stubber responses."""

from __future__ import annotations

from typing import Any

from mlstack.migrate import document
from mlstack.migrate.importer.context import Import
from mlstack.migrate.importer.endpoints import endpoint
from mlstack.migrate.importer.features import feature_store
from mlstack.migrate.importer.monitors import monitor
from mlstack.migrate.importer.pipelines import PipelineImport
from mlstack.migrate.importer.reader import Clients, Reader, Snapshot
from mlstack.migrate.importer.registry import Registry
from mlstack.migrate.migrate import Migration, finish
from mlstack.migrate.report import Report

HEADER = "# Imported by `mlstack import --from aws` from SageMaker in {region}{account}.\n# The report lists what did not map exactly.\n"


def build(snapshot: Snapshot, report: Report, name: str, owner: str | None) -> dict[str, Any]:
    """The spec as plain data, in the order a person would write it."""
    ctx = Import(snapshot, report)
    registry = Registry(ctx)
    registry.read()
    endpoints = [e for i, data in enumerate(snapshot.endpoints) if (e := endpoint(ctx, registry, data, i))]
    monitors = [m for i, (s, job, tags) in enumerate(snapshot.monitors) if (m := monitor(ctx, s, job, tags, i))]
    pipelines = PipelineImport(ctx, registry.vendor)
    pipeline_specs = [pipelines.pipeline(p, schedules, i) for i, (p, schedules) in enumerate(snapshot.pipelines)]
    target: dict[str, Any] = {"cloud": "aws", "region": snapshot.region}
    settings: dict[str, Any] = {"account_id": snapshot.account} if snapshot.account else {}
    if monitors:
        # The account runs Model Monitor (closed to new customers): its monitors stay on it.
        settings["model_monitor"] = True
    if settings:
        target["aws"] = settings
    keys = {e.config.get("KmsKeyId") for e in snapshot.endpoints} - {None}
    if len(keys) == 1:
        target["kms_key"] = keys.pop()
    elif keys:
        report.add(
            ("target", "kms_key"),
            "unsupported",
            f"endpoints use {len(keys)} KMS keys",
            "the spec encrypts with one key: choose it",
        )
    spec: dict[str, Any] = {"apiVersion": "mlstack/v1", "name": name, "owner": owner or "unknown"}
    if owner is None:
        report.add(
            ("owner",), "unsupported", "owner", "SageMaker records no owner: name the accountable team (--owner)"
        )
    spec["target"] = target
    sections = {
        "compute": ctx.compute,
        "registry": registry.section() if registry.groups else {},
        "feature_store": feature_store(ctx),
        "pipelines": pipeline_specs,
        "endpoints": endpoints,
        "monitors": monitors,
    }
    spec |= {key: value for key, value in sections.items() if value}
    for what, why in snapshot.unread:
        report.add((), "unsupported", f"could not read {what}", f"{why}; the spec lacks them: check the permissions")
    report.add(
        (),
        "unsupported",
        "pipeline triggers and alarm subscriptions were not read",
        "EventBridge rules that start pipelines and SNS subscriptions stay as they are: add triggers and alert "
        "addresses to the spec to have mlstack manage them",
    )
    return spec


def import_sagemaker(
    region: str | None = None,
    name: str | None = None,
    owner: str | None = None,
    output: str = "<imported>",
    clients: Clients | None = None,
    check_plan: bool = False,
) -> Migration:
    clients = clients or Clients.create(region)
    snapshot = Reader(clients).read()
    spec_name = name or f"sagemaker-{snapshot.region}"
    report = Report(
        title=f"import {spec_name} from SageMaker ({snapshot.region})", source=f"aws:{snapshot.region}", output=output
    )
    data = build(snapshot, report, spec_name, owner)
    root, yaml = document.load(
        HEADER.format(region=snapshot.region, account=f", account {snapshot.account}" if snapshot.account else "")
        + "apiVersion: mlstack/v1\n"
    )
    root.update(data)
    text = document.dump(root, yaml)
    finish(report, text, output, [], check_plan)
    return Migration(text, report)
