"""`python3 -m mlstack.backends.azure.deploy_job ...`: a pipeline's deployment step on Azure ML.

The pipeline job (templates/azureml/pipeline_job.yaml.j2) runs it in mlstack's runtime image with the
cluster's managed identity. Like `pulumi up` rolling the endpoint, it never changes the model of a serving
deployment in place; it

0. tags the version the pipeline's registration step just made with its lineage (the data's SHA-256
   and location, the registering job), which that step wrote to its output: Azure registers a job's
   model output after the job ends, so it cannot tag the version itself. The version is the one whose
   `jobName` is that job;
1. picks the newest version of the model group that may be served: under `approval: manual` only one
   tagged `approval=approved` (Azure models have no approval state; mlstack keeps it as a tag, README:
   registry), never a `rejected` one. With nothing newer than what serves, it reports and succeeds: the
   endpoint waits for the approval, as on the other targets;
2. creates a new deployment `<variant>-v<version>` next to the serving one, with its settings and the new
   model, and waits for it;
3. points the endpoint's rollback alert rules at the new deployment and moves traffic in the endpoint's
   own stages (mlstack.backends.azure.rollout, the ones `pulumi up` uses), watching the rules; when one
   fires, the live split and the rules are restored, the new deployment is deleted and the step fails;
4. deletes the deployment an earlier run of this step made (Pulumi's own deployment stays, at no traffic,
   until the next `pulumi up` puts back what the spec declares).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlstack.backends.azure.rollout import Rollout
from mlstack.backends.azure.traffic import Arm, RolloutFailed, apply_split, writable
from mlstack.jobs.failures import JobFailed, run
from mlstack.runtime.mlflow_model import VERSION_TAGS
from mlstack.targets.azure import STAGE_TAG

# The API version each kind of rollback rule is created with (pulumi-azure-native 3.29's).
RULE_APIS = {"metricalerts": "2018-03-01", "scheduledqueryrules": "2025-01-01-preview"}
MAX_NAME = 32  # Azure deployment names
# what a deployment without an environment (no scoring code) can serve (mlstack.backends.azure.registry)
NO_CODE_TYPES = ("mlflow_model", "triton_model")
_MODEL = re.compile(r"/models/(?P<group>[^/]+)/versions/(?P<version>[^/]+)$")


@dataclass(frozen=True)
class Request:
    endpoint_id: str
    model_id: str  # <workspace id>/models/<group>
    variant: str
    approval: str  # manual | auto
    rollout: Rollout
    rules: tuple[str, ...]
    stage: str | None = None  # a later promotion stage's environment: only versions promoted to it
    lineage: dict[str, str] | None = None  # the registration step's lineage tags for the version it made


def servable(versions: list[dict], approval: str, stage: str | None = None) -> int | None:
    """The newest version the approval policy (and, in a later promotion stage, the version's stage tag)
    lets an endpoint serve."""
    allowed = []
    for item in versions:
        props = item.get("properties") or {}
        tags = props.get("tags") or {}
        state = tags.get("approval", "").lower()
        if props.get("isArchived") or state == "rejected" or (approval == "manual" and state != "approved"):
            continue
        if stage is not None and tags.get(STAGE_TAG) != stage:
            continue
        if item["name"].isdigit():
            allowed.append(int(item["name"]))
    return max(allowed, default=None)


def new_name(variant: str, version: int) -> str:
    suffix = f"-v{version}"
    return variant[: MAX_NAME - len(suffix)].rstrip("-") + suffix


def _versions(arm: Arm, model_id: str) -> list[dict]:
    page = arm.get(f"{model_id}/versions")
    items = list(page.get("value") or [])
    while link := page.get("nextLink"):
        path, _, query = link.removeprefix(arm.base_url).partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p and not p.startswith("api-version="))
        page = arm.get(path, **params)
        items += page.get("value") or []
    return items


def tag_lineage(arm: Arm, model_id: str, versions: list[dict], tags: dict[str, str]) -> str:
    """Add the lineage tags to the version the registering job (tags["mlstack-job"]) made; what it did."""
    job = tags.get("mlstack-job")
    made = [v for v in versions if job and (v.get("properties") or {}).get("jobName") == job]
    if not made:
        return f"no version of the model came from job {job or '(unnamed)'}: lineage tags not set"
    version = made[0]
    props = version["properties"]
    current = props.get("tags") or {}
    if all(current.get(k) == v for k, v in tags.items()):
        return f"version {version['name']} already carries its lineage tags"
    body = writable(version)
    body["properties"]["tags"] = {**current, **tags}
    arm.put(f"{model_id}/versions/{version['name']}", body)
    props["tags"] = body["properties"]["tags"]
    return f"tagged version {version['name']} with its lineage ({', '.join(sorted(tags))})"


def _serving(traffic: dict[str, int], variant: str) -> str:
    """The variant's deployment taking traffic now: Pulumi's or one an earlier run of this step made."""
    mine = {n: w for n, w in traffic.items() if w > 0 and (n.startswith(f"{variant}-"))}
    if not mine:
        raise JobFailed(f"no deployment of variant {variant} takes traffic; live split {traffic}")
    return max(sorted(mine), key=lambda n: mine[n])


def _retarget(rule: dict, old: str, new: str) -> dict:
    """A rollback rule's body watching deployment `new` instead of `old` (a copy: the rule as it was is
    what a rollback puts back)."""
    body = writable(copy.deepcopy(rule))
    props = body["properties"]
    props["scopes"] = [re.sub(f"/deployments/{re.escape(old)}$", f"/deployments/{new}", s) for s in props["scopes"]]
    for condition in (props.get("criteria") or {}).get("allOf") or []:
        if "query" in condition:
            condition["query"] = condition["query"].replace(f'DeploymentName == "{old}"', f'DeploymentName == "{new}"')
    return body


def _rule_api(rule_id: str) -> str:
    return RULE_APIS[rule_id.rstrip("/").split("/")[-2].lower()]


def deploy(arm: Arm, request: Request) -> str:
    versions = _versions(arm, request.model_id)
    tagged = [tag_lineage(arm, request.model_id, versions, request.lineage)] if request.lineage else []
    return "; ".join([*tagged, _roll(arm, request, versions)])


def _roll(arm: Arm, request: Request, versions: list[dict]) -> str:
    endpoint = arm.endpoint(request.endpoint_id)
    traffic = dict(endpoint["properties"].get("traffic") or {})
    mirror = dict(endpoint["properties"].get("mirrorTraffic") or {})
    group = request.model_id.rstrip("/").rsplit("/", 1)[-1]
    version = servable(versions, request.approval, request.stage)
    if version is None and request.stage:
        return (
            f"endpoint unchanged: no version of {group} is approved and promoted to {request.stage}; tag one "
            f"{STAGE_TAG}={request.stage}, then run again"
        )
    if version is None:
        return f"endpoint unchanged: no version of {group} is approved to serve; approve one, then run again"
    old = _serving(traffic, request.variant)
    template = arm.get(f"{request.endpoint_id}/deployments/{old}")
    kind = next(v.get("properties") or {} for v in versions if v["name"] == str(version)).get("modelType")
    if not template["properties"].get("environmentId") and kind not in NO_CODE_TYPES:
        raise JobFailed(
            f"{group} version {version} is a {kind or 'model of no type'}, and {old} has no environment: Azure serves "
            f"only {' and '.join(NO_CODE_TYPES)}s without scoring code (the pipeline's registration step writes an "
            "MLflow model; register this one as mlflow_model or give the model group an image)"
        )
    served = _MODEL.search(template["properties"].get("model") or "")
    if served and served["group"] == group and served["version"] == str(version):
        return f"endpoint unchanged: {old} serves {group} version {version}, the newest servable"
    name = new_name(request.variant, version)
    deployment_id = f"{request.endpoint_id}/deployments/{name}"
    body = writable(template)
    body["properties"]["model"] = f"{request.model_id}/versions/{version}"
    body["tags"] = {**(body.get("tags") or {}), "mlstack-deployed-by": "pipeline"}
    arm.put(deployment_id, body)
    arm.wait(deployment_id, "deployment")
    rules = {rule: arm.get(rule, _rule_api(rule)) for rule in request.rules}
    for rule, current in rules.items():
        arm.put(rule, _retarget(current, old, name), _rule_api(rule))
    desired = {(name if n == old else n): w for n, w in traffic.items() if w > 0}
    props = {
        "endpoint_id": request.endpoint_id,
        "traffic": desired,
        "mirror_traffic": mirror,
        "rollout": request.rollout.as_dict(),
        "alert_rule_ids": list(request.rules),
    }
    try:
        apply_split(arm, props)
    except RolloutFailed as failed:
        for rule, current in rules.items():
            arm.put(rule, writable(current), _rule_api(rule))
        arm.delete(deployment_id)
        raise JobFailed(f"{group} version {version} rolled back: {failed}") from failed
    if (template.get("tags") or {}).get("mlstack-deployed-by") == "pipeline":
        arm.delete(f"{request.endpoint_id}/deployments/{old}")
    return f"{group} version {version} serves as {name} ({request.rollout.kind}); was {old}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m mlstack.backends.azure.deploy_job")
    parser.add_argument("--endpoint-id", required=True, help="ARM id of the online endpoint")
    parser.add_argument("--model-id", required=True, help="ARM id of the workspace model: <workspace>/models/<name>")
    parser.add_argument("--variant", required=True, help="the endpoint variant the pipeline rolls")
    parser.add_argument("--approval", choices=("manual", "auto"), required=True)
    parser.add_argument("--rollout", required=True, help="the endpoint's rollout (JSON: backends/azure/rollout.py)")
    parser.add_argument("--alert-rule", action="append", default=[], help="ARM id of a rollback alert rule")
    parser.add_argument("--stage", help=f"serve only versions tagged {STAGE_TAG} with this promotion stage")
    parser.add_argument("--lineage", help=f"the registration step's output folder (its {VERSION_TAGS})")
    parser.add_argument("--output", required=True, help="the step's output folder")
    return parser


def _arm() -> Arm:
    from azure.identity import DefaultAzureCredential

    return Arm(DefaultAzureCredential())


def _lineage_tags(folder: str | None) -> dict[str, str] | None:
    """The registration step's lineage tags, when it wrote any (a model its training step gave no data
    writes none)."""
    found = Path(folder) / VERSION_TAGS if folder else None
    if found is None or not found.is_file():
        return None
    return {str(k): str(v) for k, v in json.loads(found.read_text(encoding="utf-8")).items()} or None


def main(argv: Sequence[str] | None = None, arm: Arm | None = None) -> int:
    args = _parser().parse_args(argv)
    request = Request(
        endpoint_id=args.endpoint_id,
        model_id=args.model_id,
        variant=args.variant,
        approval=args.approval,
        rollout=Rollout.from_dict(json.loads(args.rollout)),
        rules=tuple(args.alert_rule),
        stage=args.stage,
        lineage=_lineage_tags(args.lineage),
    )

    def body() -> str:
        report = deploy(arm or _arm(), request)
        Path(args.output).mkdir(parents=True, exist_ok=True)
        (Path(args.output) / "deployed").write_text(report + "\n", encoding="utf-8")
        return report

    return run("deploy", body)


if __name__ == "__main__":
    sys.exit(main())
