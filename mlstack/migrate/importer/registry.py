"""Model package groups and their packages -> registry.model_groups; the models endpoints serve ->
references to versions (a registered package, the version mlstack tagged, or a group of their own)."""

from __future__ import annotations

import re
from typing import Any

from mlstack.migrate.importer.context import Import, spec_name, user_tags

APPROVALS = {"Approved": "approved", "PendingManualApproval": "pending", "Rejected": "rejected"}
FRAMEWORKS = {"XGBOOST": "xgboost", "SKLEARN": "sklearn", "PYTORCH": "pytorch", "TENSORFLOW": "tensorflow"}
# SageMaker's prebuilt serving images by repository name.
IMAGE_FRAMEWORKS = (
    ("sagemaker-xgboost", "xgboost"),
    ("sagemaker-scikit-learn", "sklearn"),
    ("pytorch-inference", "pytorch"),
    ("tensorflow-inference", "tensorflow"),
)
_PACKAGE = re.compile(r"arn:aws[a-z-]*:sagemaker:[^:]*:\d*:model-package/(?P<group>[^/]+)/(?P<version>\d+)$")
_TAGGED = re.compile(r"^(?P<group>[^:@]+)(?::v(?P<version>\d+)|@(?P<alias>.+))$")


def _framework(container: dict[str, Any]) -> str:
    if container.get("Framework") in FRAMEWORKS:
        return FRAMEWORKS[container["Framework"]]
    repository = container.get("Image", "").split("/")[-1]
    return next((f for prefix, f in IMAGE_FRAMEWORKS if repository.startswith(prefix)), "custom")


def _artifact(container: dict[str, Any]) -> str | None:
    source = container.get("ModelDataSource", {}).get("S3DataSource", {})
    return container.get("ModelDataUrl") or source.get("S3Uri")


def _version(number: int, container: dict[str, Any], approval: str = "approved") -> dict[str, Any]:
    version: dict[str, Any] = {
        "version": number,
        "artifact": _artifact(container) or "",
        "framework": _framework(container),
    }
    if container.get("Image"):
        version["image"] = container["Image"]
    if approval != "approved":
        version["approval"] = approval
    return version


class Registry:
    def __init__(self, ctx: Import) -> None:
        self.ctx = ctx
        self.groups: dict[str, dict[str, Any]] = {}  # spec name -> model group
        self.vendor: dict[str, str] = {}  # package group name -> spec name
        self.packages: dict[str, tuple[str, int]] = {}  # package ARN -> (group, version)

    def read(self) -> None:
        for group, tags, packages in self.ctx.snapshot.groups:
            vendor = group["ModelPackageGroupName"]
            index = len(self.groups)
            name = self.ctx.name(vendor, "model group", ("registry", "model_groups", index, "name"))
            entry: dict[str, Any] = {"name": name}
            if group.get("ModelPackageGroupDescription"):
                entry["description"] = group["ModelPackageGroupDescription"]
            entry["approval"] = tags.get("mlstack-approval", "manual")
            if own := user_tags(tags):
                entry["tags"] = own
            entry["versions"] = []
            for package in sorted(packages, key=lambda p: p.get("ModelPackageVersion", 0)):
                self._package(name, entry, package)
            self.groups[name] = entry
            self.vendor[vendor] = name

    def _package(self, group: str, entry: dict[str, Any], package: dict[str, Any]) -> None:
        containers = package.get("InferenceSpecification", {}).get("Containers", [])
        path = ("registry", "model_groups", len(self.groups), "versions", len(entry["versions"]))
        if not containers:
            self.ctx.report.add(
                path, "unsupported", f"{package['ModelPackageArn']} has no inference container", "skipped"
            )
            return
        if len(containers) > 1:
            self.ctx.report.add(
                path,
                "unsupported",
                f"{package['ModelPackageArn']} has {len(containers)} containers",
                "a spec version is one container: the first is imported; serve the pipeline another way",
            )
        approval = APPROVALS.get(package.get("ModelApprovalStatus", "Approved"), "pending")
        version = _version(package["ModelPackageVersion"], containers[0], approval)
        entry["versions"].append(version)
        self.packages[package["ModelPackageArn"]] = (group, version["version"])

    def _group(self, name: str) -> dict[str, Any]:
        if name not in self.groups:
            self.groups[name] = {"name": name, "approval": "manual", "versions": []}
        return self.groups[name]

    def _find_or_add(self, group: str, container: dict[str, Any], number: int | None, alias: str | None) -> int:
        entry = self._group(group)
        versions = entry["versions"]
        same = next(
            (v for v in versions if v["artifact"] == _artifact(container) and v.get("image") == container.get("Image")),
            None,
        )
        if number is not None:
            same = next((v for v in versions if v["version"] == number), same)
        if same is None:
            same = _version(number or max((v["version"] for v in versions), default=0) + 1, container)
            versions.append(same)
        if alias and alias not in same.setdefault("aliases", []):
            for other in versions:  # an alias names one version
                if alias in other.get("aliases", []):
                    other["aliases"].remove(alias)
            same["aliases"].append(alias)
        return same["version"]

    def reference(self, model: dict[str, Any], path: tuple) -> dict[str, Any] | None:
        """The model reference a served SageMaker model becomes."""
        containers = [model["PrimaryContainer"]] if model.get("PrimaryContainer") else model.get("Containers", [])
        if not containers:
            self.ctx.report.add(path, "unsupported", f"model {model['ModelName']} has no container", "serve a version")
            return None
        if len(containers) > 1:
            self.ctx.report.add(
                path,
                "unsupported",
                f"model {model['ModelName']} is a pipeline of {len(containers)} containers",
                "a spec variant serves one container: the first is imported",
            )
        container = containers[0]
        if environment := {k: v for k, v in container.get("Environment", {}).items() if not k.startswith("SAGEMAKER_")}:
            self.ctx.report.add(
                path,
                "unsupported",
                f"model {model['ModelName']} sets container environment {sorted(environment)}",
                "the spec has no container environment: bake it into the image",
            )
        package = container.get("ModelPackageName")
        if package and package in self.packages:
            group, number = self.packages[package]
            return {"group": group, "version": number}
        if package and (match := _PACKAGE.match(package)):
            group = self.vendor.get(match["group"], spec_name(match["group"]))
            return {"group": group, "version": self._find_or_add(group, container, int(match["version"]), None)}
        tagged = _TAGGED.match(model.get("Tags", {}).get("mlstack-model", ""))
        if tagged:
            group = tagged["group"]
            number = self._find_or_add(
                group, container, int(tagged["version"]) if tagged["version"] else None, tagged["alias"]
            )
            return (
                {"group": group, "alias": tagged["alias"]} if tagged["alias"] else {"group": group, "version": number}
            )
        for group, number in self.packages.values():
            version = next(v for v in self.groups[group]["versions"] if v["version"] == number)
            if version["artifact"] == _artifact(container) and version.get("image") == container.get("Image"):
                return {"group": group, "version": number}
        group = spec_name(model["ModelName"])
        number = self._find_or_add(group, container, None, None)
        self.ctx.report.add(
            path,
            "approximate",
            f"model {model['ModelName']} is not in the registry",
            f"imported as model group '{group}' version {number}, which mlstack registers as a package group",
        )
        return {"group": group, "version": number}

    def section(self) -> dict[str, Any]:
        return {"model_groups": list(self.groups.values())}
