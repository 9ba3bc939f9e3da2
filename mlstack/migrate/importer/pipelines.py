"""SageMaker Pipelines -> spec pipelines: Processing, Training and RegisterModel steps with their images,
instance types, entrypoints and arguments; Condition steps over an evaluation report as its gates; an
EventBridge Scheduler schedule as the pipeline's cron. Other step types go to the report."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from mlstack.migrate.importer.context import Import, spec_name
from mlstack.migrate.importer.schedules import from_eventbridge
from mlstack.spec.types import format_duration

TRIGGER_PARAMETER = "MlstackTrigger"  # mlstack's own run parameter (schedule, alert:<monitor>, manual)
DEPLOY_JOB = ["python3", "-m", "mlstack.deploy_job"]
DEPLOY_INSTANCE = "ml.t3.medium"
DEFAULT_TIMEOUT = 3600
_CALL = re.compile(r"import importlib; importlib\.import_module\('(?P<module>[^']+)'\)\.(?P<function>\w+)\(\)")


def _flatten(steps: list[dict[str, Any]], after: list[str]) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """Steps in order, with what each waits for; a Condition's IfSteps wait for what the Condition waits for."""
    for step in steps:
        depends = step.get("DependsOn") or []
        if step["Type"] == "Condition":
            yield step, depends
            yield from _flatten(step["Arguments"].get("IfSteps", []), [*depends, step["Name"]])
            yield from _flatten(step["Arguments"].get("ElseSteps", []), [*depends, step["Name"]])
        else:
            yield step, [*after, *depends] if after and not depends else depends


def _entrypoint(command: list[Any]) -> str | None:
    if len(command) == 2 and command[0] in ("python", "python3") and isinstance(command[1], str):
        return command[1]
    if len(command) == 3 and command[:2] == ["python3", "-c"] and (match := _CALL.fullmatch(str(command[2]))):
        return f"{match['module']}:{match['function']}"
    return None


def _pairs(arguments: list[Any]) -> dict[str, Any]:
    """`--name value` pairs; values that are pipeline parameters ({"Get": ...}) are the pipeline's own."""
    found = {}
    for flag, value in zip(arguments[::2], arguments[1::2], strict=False):
        if isinstance(flag, str) and flag.startswith("--") and not isinstance(value, dict):
            found[flag[2:]] = value
    return found


def _gates(condition: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    """(evaluation step whose report the conditions read, the gates they express)."""
    gates: dict[str, dict[str, Any]] = {}
    source = None
    for test in condition["Arguments"].get("Conditions", []):
        left, right = test.get("LeftValue", {}), test.get("RightValue")
        getter = left.get("Std:JsonGet", {}) if isinstance(left, dict) else {}
        path = str(getter.get("Path", ""))
        report = str(getter.get("PropertyFile", {}).get("Get", ""))
        if not path.startswith("metrics.") or not report.startswith("Steps."):
            return None, []
        source = report.split(".")[1]
        gate = gates.setdefault(path.removeprefix("metrics."), {"metric": path.removeprefix("metrics.")})
        if isinstance(right, dict):  # Parameters.champion_<metric>: the champion's value
            gate["beat_champion"] = True
        elif test["Type"] == "GreaterThanOrEqualTo":
            gate["min"] = right
        elif test["Type"] == "LessThanOrEqualTo":
            gate["max"] = right
        else:
            return None, []
    return source, list(gates.values())


class PipelineImport:
    def __init__(self, ctx: Import, groups: dict[str, str]) -> None:
        self.ctx = ctx
        self.groups = groups  # package group name -> spec model group

    def pipeline(self, described: dict[str, Any], schedules: list[dict[str, Any]], index: int) -> dict[str, Any]:
        path = ("pipelines", index)
        vendor = described["PipelineName"]
        definition = json.loads(described["PipelineDefinition"])
        out: dict[str, Any] = {"name": self.ctx.name(vendor, "pipeline", (*path, "name"))}
        if described.get("PipelineDescription"):
            out["description"] = described["PipelineDescription"]
        parameters = {
            p["Name"]: p.get("DefaultValue")
            for p in definition.get("Parameters", [])
            if p["Name"] != TRIGGER_PARAMETER and not p["Name"].startswith("champion_")
        }
        if parameters:
            out["parameters"] = parameters
        steps, jobs = self._steps(definition, path, out)
        for key, values in (
            ("image", {j["image"] for j in jobs.values()}),
            ("instance", {j["instance"] for j in jobs.values()}),
        ):
            if len(values) == 1:
                value = values.pop()
                out[key if key == "image" else "compute"] = value if key == "image" else self.ctx.profile(value)
                for job in jobs.values():
                    job["step"].pop(key if key == "image" else "compute", None)
        out["steps"] = steps
        if schedules:
            self._schedule(out, schedules, path)
        self.ctx.report.add(path, "exact", f"pipeline {vendor}: {len(steps)} steps")
        return out

    def _schedule(self, out: dict[str, Any], schedules: list[dict[str, Any]], path: tuple) -> None:
        expression = schedules[0]["ScheduleExpression"]
        cron = from_eventbridge(expression)
        if cron is None:
            self.ctx.report.add(
                (*path, "schedule"),
                "unsupported",
                f"schedule {expression}",
                "the spec schedules with 5-field cron: write one",
            )
        else:
            out["schedule"] = cron
            self.ctx.report.add((*path, "schedule"), "exact", f"{expression} → '{cron}'")
        for extra in schedules[1:]:
            self.ctx.report.add(
                (*path, "schedule"),
                "unsupported",
                f"another schedule {extra['Name']} ({extra['ScheduleExpression']})",
                "a spec pipeline has one schedule",
            )

    def _steps(self, definition: dict[str, Any], path: tuple, out: dict[str, Any]) -> tuple[list, dict[str, dict]]:
        steps: list[dict[str, Any]] = []
        jobs: dict[str, dict[str, Any]] = {}  # code steps: their image and instance type
        names: dict[str, str] = {}
        for raw, depends in _flatten(definition.get("Steps", []), []):
            where = (*path, "steps", len(steps))
            kind = raw["Type"]
            if kind == "Condition":
                source, gates = _gates(raw)
                target = next((s for s in steps if s["name"] == names.get(source or "")), None)
                if target is None or not gates:
                    self.ctx.report.add(
                        where,
                        "unsupported",
                        f"condition step {raw['Name']}",
                        "the spec's gates test an evaluation report's metrics",
                    )
                else:
                    target["kind"] = "evaluation"
                    target["gates"] = gates
                names[raw["Name"]] = names.get(source or "", "")
                continue
            if kind == "Fail":
                continue
            step = self._step(raw, where, out, jobs)
            if step is None:
                continue
            names[raw["Name"]] = step["name"]
            deps = list(dict.fromkeys(names[d] for d in depends if names.get(d)))
            previous = [steps[-1]["name"]] if steps else []
            if deps != previous:
                step["depends_on"] = deps
            steps.append(step)
        return steps, jobs

    def _step(self, raw: dict[str, Any], where: tuple, out: dict[str, Any], jobs: dict) -> dict[str, Any] | None:
        kind, args = raw["Type"], raw.get("Arguments", {})
        name = self.ctx.name(raw["Name"], "step", (*where, "name"))
        if kind == "RegisterModel":
            group = args.get("ModelPackageGroupName", "")
            step = {"name": name, "kind": "registration", "model_group": self.groups.get(group, spec_name(group))}
            aliases = args.get("CustomerMetadataProperties", {}).get("mlstack:aliases")
            if aliases:
                step["aliases"] = aliases.split(",")
            return step
        if kind == "Processing":
            app = args.get("AppSpecification", {})
            image, command, instance = (
                app.get("ImageUri"),
                app.get("ContainerEntrypoint", []),
                args.get("ProcessingResources", {}).get("ClusterConfig", {}).get("InstanceType"),
            )
            arguments = app.get("ContainerArguments", [])
            if command == DEPLOY_JOB:
                endpoint = _pairs(arguments).get("endpoint", "")
                step = {
                    "name": name,
                    "kind": "deployment",
                    "endpoint": self.ctx.endpoints.get(endpoint, spec_name(endpoint)),
                }
                if instance and instance != DEPLOY_INSTANCE:
                    step["compute"] = self.ctx.profile(instance)
                return step
            step_kind = "evaluation" if raw.get("PropertyFiles") else "processing"
            inputs = [
                i.get("S3Input", {}).get("S3Uri")
                for i in args.get("ProcessingInputs", [])
                if i.get("InputName") == "data"
            ]
        elif kind == "Training":
            spec = args.get("AlgorithmSpecification", {})
            image, command, instance = (
                spec.get("TrainingImage"),
                spec.get("ContainerEntrypoint", []),
                args.get("ResourceConfig", {}).get("InstanceType"),
            )
            arguments = [part for k, v in args.get("HyperParameters", {}).items() for part in (f"--{k}", v)]
            step_kind = "training"
            inputs = [
                c["DataSource"]["S3DataSource"]["S3Uri"]
                for c in args.get("InputDataConfig", [])
                if c.get("ChannelName") == "data"
            ]
        else:
            self.ctx.report.add(
                where,
                "unsupported",
                f"{kind} step {raw['Name']}",
                "the spec's steps are processing, training, evaluation, registration and deployment jobs: re-create it as one",
            )
            return None
        entrypoint = _entrypoint(command)
        if entrypoint is None:
            self.ctx.report.add(
                (*where, "entrypoint"),
                "unsupported",
                f"step {raw['Name']} runs {command}",
                "the spec runs a Python file or module:function in the image: name it",
            )
            entrypoint = " ".join(str(c) for c in command) or "main.py"
        step = {"name": name, "kind": step_kind, "entrypoint": entrypoint}
        if params := _pairs(arguments):
            step["parameters"] = params
        timeout = args.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", DEFAULT_TIMEOUT)
        if timeout != DEFAULT_TIMEOUT:
            step["timeout"] = format_duration(timeout)
        if inputs and isinstance(inputs[0], str):
            out["data"] = inputs[0]
        if image:
            step["image"] = image
        if instance:
            step["compute"] = self.ctx.profile(instance)
        jobs[name] = {"step": step, "image": image, "instance": instance}
        return step
