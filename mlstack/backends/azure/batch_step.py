"""`python3 -m mlstack.backends.azure.batch_step ...`: a pipeline's batch_scoring step on Azure ML.

The pipeline job (templates/azureml/pipeline_job.yaml.j2) runs it in mlstack's runtime image on the batch
job's cluster, as the cluster's managed identity (AzureML Data Scientist on the workspace, which may invoke
batch endpoints). It invokes the batch job's endpoint (batch.py: its default deployment scores the declared
model version) with the job's input, its predictions written under `<output>/<scoring job>/`, waits for
the scoring job to end and records it in the step's output; a failed scoring job fails the step."""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlstack.jobs.failures import JobFailed, run

_WORKSPACE = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<workspace>[^/]+)$"
)
RECORD = "batch_run.json"


def invocation(
    endpoint: str, deployment: str, source: str, source_type: str, output: str, job: str
) -> dict[str, Any]:
    """The keyword arguments of `MLClient.batch_endpoints.invoke`: the job's input as the deployment's one
    input, its predictions (the model deployment's `score` output) in `<output>/<job>/`, as every run on
    the other targets writes its own folder or file."""
    from azure.ai.ml import Input, Output

    return {
        "endpoint_name": endpoint,
        "deployment_name": deployment,
        "inputs": {"input": Input(type=source_type, path=source)},
        "outputs": {"score": Output(type="uri_folder", path=f"{output.rstrip('/')}/{job}/")},
        "job_name": job,
    }


def workspace_of(arm_id: str) -> tuple[str, str, str]:
    found = _WORKSPACE.match(arm_id)
    if found is None:
        raise JobFailed(f"not an Azure ML workspace id: {arm_id}")
    return found["subscription"], found["group"], found["workspace"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlstack.backends.azure.batch_step", description=__doc__)
    parser.add_argument("--workspace-id", required=True)
    parser.add_argument("--endpoint", required=True, help="the batch endpoint's name")
    parser.add_argument("--deployment", required=True)
    parser.add_argument("--input", required=True, help="the batch job's input URI")
    parser.add_argument("--input-type", choices=("uri_file", "uri_folder"), required=True)
    parser.add_argument("--output", required=True, help="the folder this run's predictions go to")
    parser.add_argument("--record", required=True, help="the step's output folder")
    return parser


def _client(workspace_id: str) -> Any:
    from azure.ai.ml import MLClient
    from azure.identity import DefaultAzureCredential

    subscription, group, workspace = workspace_of(workspace_id)
    return MLClient(DefaultAzureCredential(), subscription, group, workspace)


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    args = _parser().parse_args(argv)

    def body() -> str:
        from azure.ai.ml.exceptions import JobException

        ml = client or _client(args.workspace_id)
        name = f"{args.endpoint}-{uuid.uuid4().hex[:12]}"
        request = invocation(args.endpoint, args.deployment, args.input, args.input_type, args.output, name)
        job = ml.batch_endpoints.invoke(**request)
        try:
            ml.jobs.stream(job.name)  # returns when the job ends
        except JobException as exc:  # the scoring job failed: its reason
            raise JobFailed(f"batch scoring job {job.name} of {args.endpoint} failed: {exc}") from None
        ended = ml.jobs.get(job.name)
        if ended.status != "Completed":
            raise JobFailed(f"batch scoring job {job.name} of {args.endpoint} ended {ended.status}")
        output = request["outputs"]["score"].path
        record = {"job": job.name, "endpoint": args.endpoint, "input": args.input, "output": output}
        Path(args.record).mkdir(parents=True, exist_ok=True)
        (Path(args.record) / RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
        return f"batch scoring job {job.name} of {args.endpoint} scored {args.input} into {output}"

    return run("batch", body)


if __name__ == "__main__":
    sys.exit(main())
