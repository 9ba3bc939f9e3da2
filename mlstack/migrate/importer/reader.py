"""Reading a SageMaker platform with boto3: every describe_* answer the import needs, kept as the SDK
returns it. A call the account (or a fake of it) refuses is noted for the report, and reading goes on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]


@dataclass
class Clients:
    """The boto3 clients the import reads through (tests pass their own)."""

    sagemaker: Any
    autoscaling: Any
    cloudwatch: Any
    scheduler: Any
    sts: Any
    region: str

    @classmethod
    def create(cls, region: str | None = None) -> Clients:
        import boto3

        session = boto3.session.Session(region_name=region)
        if session.region_name is None:
            from mlstack.errors import MlstackError

            raise MlstackError("no AWS region: pass --region or configure one (AWS_REGION, ~/.aws/config)")
        return cls(
            sagemaker=session.client("sagemaker"),
            autoscaling=session.client("application-autoscaling"),
            cloudwatch=session.client("cloudwatch"),
            scheduler=session.client("scheduler"),
            sts=session.client("sts"),
            region=session.region_name,
        )


@dataclass
class Endpoint:
    endpoint: Doc
    config: Doc
    models: dict[str, Doc]  # model name -> DescribeModel (with its tags under "Tags")
    tags: dict[str, str]
    scaling: dict[str, tuple[Doc, Doc | None]]  # variant -> (scalable target, target-tracking policy)


@dataclass
class Snapshot:
    region: str
    account: str | None = None
    groups: list[tuple[Doc, dict[str, str], list[Doc]]] = field(default_factory=list)  # group, tags, packages
    endpoints: list[Endpoint] = field(default_factory=list)
    feature_groups: list[tuple[Doc, dict[str, str]]] = field(default_factory=list)
    pipelines: list[tuple[Doc, list[Doc]]] = field(default_factory=list)  # pipeline, its schedules
    monitors: list[tuple[Doc, Doc | None, dict[str, str]]] = field(default_factory=list)  # schedule, job def, tags
    alarms: list[Doc] = field(default_factory=list)
    unread: list[tuple[str, str]] = field(default_factory=list)  # (what, why) the account would not tell


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Doc]:
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])
    else:
        yield from getattr(client, operation)(**kwargs).get(key, [])


def _tags(clients: Clients, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in clients.sagemaker.list_tags(ResourceArn=arn).get("Tags", [])}


class Reader:
    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self.snapshot = Snapshot(region=clients.region)

    def attempt(self, what: str, read: Any) -> None:
        """Run one part of the reading; a refusal (no permission, not offered) is recorded, not raised."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            read()
        except NoCredentialsError:
            from mlstack.errors import MlstackError

            raise MlstackError("no AWS credentials: configure them (AWS_PROFILE, ~/.aws/credentials, SSO)") from None
        except (ClientError, BotoCoreError, NotImplementedError) as exc:
            self.snapshot.unread.append((what, f"{type(exc).__name__}: {exc}"))

    def read(self) -> Snapshot:
        self.attempt("the account id (sts:GetCallerIdentity)", self._account)
        self.attempt("model package groups", self._groups)
        self.attempt("CloudWatch alarms", self._alarms)
        self.attempt("endpoints", self._endpoints)
        self.attempt("feature groups", self._feature_groups)
        self.attempt("pipelines", self._pipelines)
        self.attempt("monitoring schedules", self._monitors)
        return self.snapshot

    def _account(self) -> None:
        self.snapshot.account = self.clients.sts.get_caller_identity()["Account"]

    def _groups(self) -> None:
        sm = self.clients.sagemaker
        for summary in _pages(sm, "list_model_package_groups", "ModelPackageGroupSummaryList"):
            group = sm.describe_model_package_group(ModelPackageGroupName=summary["ModelPackageGroupName"])
            packages = [
                sm.describe_model_package(ModelPackageName=p["ModelPackageArn"])
                for p in _pages(
                    sm,
                    "list_model_packages",
                    "ModelPackageSummaryList",
                    ModelPackageGroupName=group["ModelPackageGroupName"],
                )
            ]
            self.snapshot.groups.append((group, _tags(self.clients, group["ModelPackageGroupArn"]), packages))

    def _alarms(self) -> None:
        self.snapshot.alarms = list(_pages(self.clients.cloudwatch, "describe_alarms", "MetricAlarms"))

    def _scaling(self, endpoint: str, variants: list[str]) -> dict[str, tuple[Doc, Doc | None]]:
        ids = [f"endpoint/{endpoint}/variant/{v}" for v in variants]
        aas = self.clients.autoscaling
        targets = {
            t["ResourceId"]: t
            for t in aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=ids)["ScalableTargets"]
        }
        found = {}
        for variant, resource in zip(variants, ids, strict=True):
            if resource not in targets:
                continue
            policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)[
                "ScalingPolicies"
            ]
            tracking = next((p for p in policies if p["PolicyType"] == "TargetTrackingScaling"), None)
            found[variant] = (targets[resource], tracking)
        return found

    def _endpoints(self) -> None:
        sm = self.clients.sagemaker
        for summary in _pages(sm, "list_endpoints", "Endpoints"):
            endpoint = sm.describe_endpoint(EndpointName=summary["EndpointName"])
            config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
            variants = [*config.get("ProductionVariants", []), *config.get("ShadowProductionVariants", [])]
            models = {}
            for variant in variants:
                model = sm.describe_model(ModelName=variant["ModelName"])
                models[variant["ModelName"]] = {**model, "Tags": _tags(self.clients, model["ModelArn"])}
            production = [v["VariantName"] for v in config.get("ProductionVariants", [])]
            scaling: dict[str, tuple[Doc, Doc | None]] = {}

            def read_scaling(
                name: str = endpoint["EndpointName"], variants: list[str] = production, into: dict = scaling
            ) -> None:
                into.update(self._scaling(name, variants))

            self.attempt(f"autoscaling of endpoint {endpoint['EndpointName']}", read_scaling)
            self.snapshot.endpoints.append(
                Endpoint(endpoint, config, models, _tags(self.clients, endpoint["EndpointArn"]), scaling)
            )

    def _feature_groups(self) -> None:
        sm = self.clients.sagemaker
        for summary in _pages(sm, "list_feature_groups", "FeatureGroupSummaries"):
            group = sm.describe_feature_group(FeatureGroupName=summary["FeatureGroupName"])
            self.snapshot.feature_groups.append((group, _tags(self.clients, group["FeatureGroupArn"])))

    def _pipelines(self) -> None:
        sm = self.clients.sagemaker
        pipelines = [
            sm.describe_pipeline(PipelineName=p["PipelineName"])
            for p in _pages(sm, "list_pipelines", "PipelineSummaries")
        ]
        schedules: list[Doc] = []
        self.attempt("EventBridge Scheduler schedules", lambda: schedules.extend(self._schedules()))
        for pipeline in pipelines:
            arn = pipeline["PipelineArn"]
            self.snapshot.pipelines.append((pipeline, [s for s in schedules if s.get("Target", {}).get("Arn") == arn]))

    def _schedules(self) -> Iterator[Doc]:
        scheduler = self.clients.scheduler
        for summary in _pages(scheduler, "list_schedules", "Schedules"):
            if summary.get("Target", {}).get("Arn", ":sagemaker:").split(":")[2] == "sagemaker":
                yield scheduler.get_schedule(Name=summary["Name"], GroupName=summary.get("GroupName", "default"))

    def _monitors(self) -> None:
        sm = self.clients.sagemaker
        for summary in _pages(sm, "list_monitoring_schedules", "MonitoringScheduleSummaries"):
            schedule = sm.describe_monitoring_schedule(MonitoringScheduleName=summary["MonitoringScheduleName"])
            config = schedule["MonitoringScheduleConfig"]
            job = None
            name = config.get("MonitoringJobDefinitionName")
            if name:
                describe = {
                    "DataQuality": sm.describe_data_quality_job_definition,
                    "ModelQuality": sm.describe_model_quality_job_definition,
                    "ModelBias": sm.describe_model_bias_job_definition,
                    "ModelExplainability": sm.describe_model_explainability_job_definition,
                }[config.get("MonitoringType", "DataQuality")]
                job = describe(JobDefinitionName=name)
            self.snapshot.monitors.append((schedule, job, _tags(self.clients, schedule["MonitoringScheduleArn"])))
