"""An in-memory Vertex AI behind google.cloud.aiplatform_v1's own service-client interface: the dynamic
providers call these fakes exactly as they call the GAPIC clients, with the same request messages,
and the fakes keep state and enforce the rules the real service does (traffic sums to 100, an alias
names one version, the default version cannot be deleted)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from google.api_core.exceptions import FailedPrecondition, InvalidArgument, NotFound
from google.cloud import aiplatform_v1 as v1


class Operation:
    def __init__(self, result: Any) -> None:
        self._result = result

    def result(self, timeout: float | None = None) -> Any:
        return self._result


class Vertex:
    """Shared state of the fake services, and every request they received, in order."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.models: dict[str, dict[str, v1.Model]] = {}
        self.endpoints: dict[str, v1.Endpoint] = {}
        self.jobs: dict[str, v1.ModelDeploymentMonitoringJob] = {}
        self.batch_jobs: dict[str, v1.BatchPredictionJob] = {}
        self.batch_outcome = v1.JobState.JOB_STATE_SUCCEEDED
        self.fail: dict[str, Exception] = {}  # method -> raised once on its next call
        self.counter = 1000

    def record(self, method: str, request: Any) -> None:
        self.requests.append((method, request))
        if method in self.fail:
            raise self.fail.pop(method)

    def sent(self, method: str) -> list[Any]:
        return [r for m, r in self.requests if m == method]

    def next_id(self) -> str:
        self.counter += 1
        return str(self.counter)

    def add_endpoint(self, name: str) -> None:
        self.endpoints[name] = v1.Endpoint(name=name)

    def clients(self) -> dict[str, Any]:
        return {
            "ModelServiceClient": lambda **_: ModelService(self),
            "EndpointServiceClient": lambda **_: EndpointService(self),
            "JobServiceClient": lambda **_: JobService(self),
        }


def _split_name(name: str) -> tuple[str, str | None]:
    parent, _, selector = name.partition("@")
    return parent, selector or None


class ModelService:
    def __init__(self, vertex: Vertex) -> None:
        self.v = vertex

    def _version(self, name: str) -> v1.Model:
        parent, selector = _split_name(name)
        versions = self.v.models.get(parent)
        if not versions:
            raise NotFound(f"model {parent}")
        for model in versions.values():
            if selector in (None, model.version_id, *model.version_aliases) and (
                selector is not None or "default" in model.version_aliases
            ):
                return model
        raise NotFound(name)

    def get_model(self, request: v1.GetModelRequest) -> v1.Model:
        self.v.record("get_model", request)
        return v1.Model(self._version(request.name))

    def list_model_versions(self, request: v1.ListModelVersionsRequest) -> list[v1.Model]:
        self.v.record("list_model_versions", request)
        if request.name not in self.v.models:
            raise NotFound(request.name)
        return [v1.Model(m) for m in self.v.models[request.name].values()]

    def upload_model(self, request: v1.UploadModelRequest) -> Operation:
        self.v.record("upload_model", request)
        if request.model_id:
            parent = f"{request.parent}/models/{request.model_id}"
            if parent in self.v.models:
                raise InvalidArgument(f"model {parent} exists")
            self.v.models[parent] = {}
        else:
            parent = request.parent_model
        versions = self.v.models[parent]
        version_id = str(len(versions) + 1)
        model = v1.Model(request.model)
        model.name = parent
        model.version_id = version_id
        model.version_aliases = [] if versions else ["default"]
        versions[version_id] = model
        return Operation(v1.UploadModelResponse(model=parent, model_version_id=version_id))

    def merge_version_aliases(self, request: v1.MergeVersionAliasesRequest) -> v1.Model:
        self.v.record("merge_version_aliases", request)
        model = self._version(request.name)
        aliases = list(model.version_aliases)
        for alias in request.version_aliases:
            if alias.startswith("-"):
                aliases = [a for a in aliases if a != alias[1:]]
                continue
            holder = [m for m in self.v.models[model.name].values() if alias in m.version_aliases and m is not model]
            if holder and alias == "default":  # merging "default" is how Vertex changes the default version
                holder[0].version_aliases = [a for a in holder[0].version_aliases if a != "default"]
            elif holder:
                raise InvalidArgument(f"alias {alias} is on version {holder[0].version_id}")
            aliases.append(alias)
        model.version_aliases = aliases
        return v1.Model(model)

    def update_model(self, request: v1.UpdateModelRequest) -> v1.Model:
        self.v.record("update_model", request)
        model = self._version(request.model.name)
        for path in request.update_mask.paths:
            setattr(model, path, getattr(request.model, path))
        return v1.Model(model)

    def delete_model(self, request: v1.DeleteModelRequest) -> Operation:
        self.v.record("delete_model", request)
        if request.name not in self.v.models:
            raise NotFound(request.name)
        del self.v.models[request.name]
        return Operation(None)

    def delete_model_version(self, request: v1.DeleteModelVersionRequest) -> Operation:
        self.v.record("delete_model_version", request)
        model = self._version(request.name)
        if "default" in model.version_aliases:
            raise FailedPrecondition("cannot delete the default version")
        del self.v.models[model.name][model.version_id]
        return Operation(None)


def _check_split(split: dict[str, int], ids: set[str]) -> None:
    if split and sum(split.values()) != 100:
        raise InvalidArgument(f"traffic split {dict(split)} does not sum to 100")
    unknown = set(split) - ids
    if unknown:
        raise InvalidArgument(f"traffic split names unknown deployed models {sorted(unknown)}")


class EndpointService:
    def __init__(self, vertex: Vertex) -> None:
        self.v = vertex

    def _endpoint(self, name: str) -> v1.Endpoint:
        if name not in self.v.endpoints:
            raise NotFound(name)
        return self.v.endpoints[name]

    def get_endpoint(self, request: v1.GetEndpointRequest) -> v1.Endpoint:
        self.v.record("get_endpoint", request)
        return v1.Endpoint(self._endpoint(request.name))

    def deploy_model(self, request: v1.DeployModelRequest) -> Operation:
        self.v.record("deploy_model", request)
        endpoint = self._endpoint(request.endpoint)
        deployed = v1.DeployedModel(request.deployed_model)
        deployed.id = self.v.next_id()
        ids = {m.id for m in endpoint.deployed_models} | {deployed.id}
        split = {deployed.id if k == "0" else k: v for k, v in request.traffic_split.items()}
        _check_split(split, ids)
        endpoint.deployed_models.append(deployed)
        if split:
            endpoint.traffic_split = split
        return Operation(v1.DeployModelResponse(deployed_model=deployed))

    def update_endpoint(self, request: v1.UpdateEndpointRequest) -> v1.Endpoint:
        self.v.record("update_endpoint", request)
        endpoint = self._endpoint(request.endpoint.name)
        assert list(request.update_mask.paths) == ["traffic_split"]
        _check_split(dict(request.endpoint.traffic_split), {m.id for m in endpoint.deployed_models})
        endpoint.traffic_split = dict(request.endpoint.traffic_split)
        return v1.Endpoint(endpoint)

    def undeploy_model(self, request: v1.UndeployModelRequest) -> Operation:
        self.v.record("undeploy_model", request)
        endpoint = self._endpoint(request.endpoint)
        remaining = [m for m in endpoint.deployed_models if m.id != request.deployed_model_id]
        if len(remaining) == len(endpoint.deployed_models):
            raise NotFound(request.deployed_model_id)
        split = (
            dict(request.traffic_split)
            if request.traffic_split
            else {k: v for k, v in endpoint.traffic_split.items() if k != request.deployed_model_id}
        )
        if remaining and endpoint.traffic_split.get(request.deployed_model_id):
            _check_split(split, {m.id for m in remaining})
        del endpoint.deployed_models[:]
        endpoint.deployed_models.extend(remaining)
        endpoint.traffic_split = split if remaining else {}
        return Operation(v1.UndeployModelResponse())


class JobService:
    def __init__(self, vertex: Vertex) -> None:
        self.v = vertex

    def create_batch_prediction_job(self, request: v1.CreateBatchPredictionJobRequest) -> v1.BatchPredictionJob:
        self.v.record("create_batch_prediction_job", request)
        job = v1.BatchPredictionJob(request.batch_prediction_job)
        job.name = f"{request.parent}/batchPredictionJobs/{self.v.next_id()}"
        job.state = v1.JobState.JOB_STATE_PENDING
        self.v.batch_jobs[job.name] = job
        return v1.BatchPredictionJob(job)

    def get_batch_prediction_job(self, request: v1.GetBatchPredictionJobRequest) -> v1.BatchPredictionJob:
        """Each look moves the job one state on: pending, running, then `batch_outcome`."""
        self.v.record("get_batch_prediction_job", request)
        job = self.v.batch_jobs[request.name]
        job.state = (
            v1.JobState.JOB_STATE_RUNNING if job.state == v1.JobState.JOB_STATE_PENDING else self.v.batch_outcome
        )
        if job.state == v1.JobState.JOB_STATE_SUCCEEDED:
            job.output_info.gcs_output_directory = f"{job.output_config.gcs_destination.output_uri_prefix}run-1"
        return v1.BatchPredictionJob(job)

    def create_model_deployment_monitoring_job(
        self, request: v1.CreateModelDeploymentMonitoringJobRequest
    ) -> v1.ModelDeploymentMonitoringJob:
        self.v.record("create_model_deployment_monitoring_job", request)
        if any(j.endpoint == request.model_deployment_monitoring_job.endpoint for j in self.v.jobs.values()):
            raise FailedPrecondition("the endpoint has a monitoring job already")
        job = v1.ModelDeploymentMonitoringJob(request.model_deployment_monitoring_job)
        job.name = f"{request.parent}/modelDeploymentMonitoringJobs/{self.v.next_id()}"
        self.v.jobs[job.name] = job
        return v1.ModelDeploymentMonitoringJob(job)

    def list_model_deployment_monitoring_jobs(
        self, request: v1.ListModelDeploymentMonitoringJobsRequest
    ) -> list[v1.ModelDeploymentMonitoringJob]:
        self.v.record("list_model_deployment_monitoring_jobs", request)
        return [v1.ModelDeploymentMonitoringJob(j) for j in self.v.jobs.values()]

    def update_model_deployment_monitoring_job(
        self, request: v1.UpdateModelDeploymentMonitoringJobRequest
    ) -> Operation:
        self.v.record("update_model_deployment_monitoring_job", request)
        job = self.v.jobs[request.model_deployment_monitoring_job.name]
        for path in request.update_mask.paths:
            setattr(job, path, getattr(request.model_deployment_monitoring_job, path))
        return Operation(v1.ModelDeploymentMonitoringJob(job))

    def pause_model_deployment_monitoring_job(self, request: v1.PauseModelDeploymentMonitoringJobRequest) -> None:
        self.v.record("pause_model_deployment_monitoring_job", request)
        self.v.jobs[request.name].state = v1.JobState.JOB_STATE_PAUSED

    def resume_model_deployment_monitoring_job(self, request: v1.ResumeModelDeploymentMonitoringJobRequest) -> None:
        self.v.record("resume_model_deployment_monitoring_job", request)
        self.v.jobs[request.name].state = v1.JobState.JOB_STATE_RUNNING

    def delete_model_deployment_monitoring_job(
        self, request: v1.DeleteModelDeploymentMonitoringJobRequest
    ) -> Operation:
        self.v.record("delete_model_deployment_monitoring_job", request)
        if request.name not in self.v.jobs:
            raise NotFound(request.name)
        del self.v.jobs[request.name]
        return Operation(None)


class Metrics:
    """Cloud Monitoring's MetricServiceClient: per deployed model, the values each metric returns."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], float] = defaultdict(float)
        self.requests: list[Any] = []

    def client(self, **_: Any) -> Metrics:
        return self

    def list_time_series(self, request: Any) -> list[Any]:
        from google.cloud import monitoring_v3 as m

        self.requests.append(request)
        metric = request.filter.split('"')[1]
        deployed = request.filter.rsplit('"', 2)[-2]
        value = self.values.get((metric, deployed))
        if value is None:
            return []
        return [m.TimeSeries(points=[m.Point(value=m.TypedValue(double_value=value))])]
