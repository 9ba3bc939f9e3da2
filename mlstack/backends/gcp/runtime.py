"""What mlstack's own pipeline tasks run on Vertex (`python3 -m mlstack.backends.gcp.runtime <command>`):

- register: upload a trained model as a new version of its group, moving aliases (providers/model.py);
  the evaluation metrics travel in the version description for later gates;
- gate: check an evaluation's metrics.json against the step's gates (min, max, beat the champion);
- deploy: roll a registered version out on an endpoint with its strategy (providers/deployment.py), once
  approved: register labels a manual group's versions pending (mlstack.targets.gcp.APPROVAL_LABEL);
- replay: send the shadow share of the last hours' logged requests to the shadow endpoint;
- batch: create a batch job's Vertex batch prediction job on the version its model reference names now,
  and wait for it (mlstack.backends.gcp.batch);
- monitor: compute a monitor's metric (every kind, by mlstack.runtime.monitors, as the emulator and the
  SageMaker job do) over the request-response log and, past the threshold, log an alert line and
  publish to the monitor's alert topic.
Each exits non-zero with a one-line reason on failure, which fails the pipeline task."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from mlstack.backends.gcp.providers.clients import aiplatform, types
from mlstack.runtime import audit_log
from mlstack.runtime.lineage import LINEAGE_FILE
from mlstack.targets.gcp import APPROVAL_LABEL, APPROVAL_ON_REGISTER, APPROVED, REJECTED, STAGE_LABEL

LABEL_MAX = 63  # characters in a GCP label value
CARD_FILE = "model_card.md"  # a version's model card, in its artifact folder
BATCH_POLL_SECONDS = 30


class TaskFailed(Exception):
    pass


def read_metrics(directory: str | None) -> dict[str, float]:
    if not directory:
        return {}
    path = Path(directory) / "metrics.json"
    if not path.exists():
        raise TaskFailed(f"the evaluation step wrote no {path}")
    return {k: float(v) for k, v in json.loads(path.read_text()).items()}


def champion_metrics(model: str, region: str) -> dict[str, float]:
    from google.api_core.exceptions import NotFound

    try:
        champion = aiplatform("ModelServiceClient", region).get_model(
            request=types().GetModelRequest(name=f"{model}@champion")
        )
    except NotFound:
        return {}
    from mlstack.backends.gcp.providers.model import described_metrics

    return described_metrics(champion.version_description)


def gate(args: argparse.Namespace) -> str:
    """The gates as every target reads them (mlstack.resolve.gates): direction-aware, and a first model
    with no champion to beat passes and says so."""
    from mlstack.resolve.gates import check

    metrics = read_metrics(args.metrics)
    champion = champion_metrics(args.model, args.region) if args.model else {}
    verdict = check(json.loads(args.gates), metrics, champion)
    if verdict.failures:
        raise TaskFailed("quality gates failed: " + "; ".join(verdict.failures))
    return "; ".join(["quality gates passed", *verdict.notes])


def _lineage_labels(text: str | None, trained: str | None = None) -> dict[str, str]:
    """The plan's lineage labels (pipeline, run, feature views), clean but for the run's name, which
    Vertex fills in when the task starts: a pipeline job name is already lower-case letters, digits and
    '-', so it only needs cutting to a label's 63 characters. With the training step's output, the data
    it read too (its SHA-256, cut to a label's length), from the step adapter's lineage file."""
    labels = {key: str(value)[:LABEL_MAX] for key, value in json.loads(text or "{}").items()}
    found = Path(trained) / LINEAGE_FILE if trained else None
    if found is not None and found.is_file():
        labels["mlstack-data-sha256"] = json.loads(found.read_text())["data"]["sha256"][:LABEL_MAX]
    return labels


def register(args: argparse.Namespace) -> str:
    from mlstack.backends.gcp.providers.model import ModelVersionProvider, parent_model

    props: dict[str, Any] = {
        "project": args.project,
        "region": args.region,
        "model_id": args.model_id,
        "display_name": args.display_name,
        "artifact_uri": args.artifact,
        "image_uri": args.image,
        "aliases": [a for a in args.aliases.split(",") if a],
        "labels": {
            "managed-by": "mlstack",
            APPROVAL_LABEL: APPROVAL_ON_REGISTER[args.approval],
            **({STAGE_LABEL: args.stage} if args.stage else {}),
            **_lineage_labels(args.lineage, args.trained),
        },
        "kms_key": args.kms_key,
    }
    metrics = read_metrics(args.metrics)
    service = aiplatform("ModelServiceClient", args.region)
    from mlstack.backends.gcp.providers.model import _versions

    numbers = [int(m.labels.get("mlstack-version", 0)) for m in _versions(service, parent_model(props))]
    props["version"] = max(numbers, default=0) + 1
    props["description"] = ""
    props["metrics"] = metrics
    if args.card and args.trained:
        _write_card(args, props, metrics)
    outs = ModelVersionProvider().create(props).outs or {}
    Path(args.output).mkdir(parents=True, exist_ok=True)
    (Path(args.output) / "version.txt").write_text(outs["version_name"])
    return f"registered {outs['version_name']}"


def _write_card(args: argparse.Namespace, props: dict[str, Any], metrics: dict[str, float]) -> None:
    """Vertex has no model card resource: the version's card (mlstack.cards, as the emulator renders it)
    goes into its artifact folder, the training step's output that the version is uploaded from."""
    from mlstack.cards import render

    group = json.loads(args.card)  # what the spec says of the group (backends/gcp/pipelines.py)
    trained = Path(args.trained)
    lineage_file = trained / LINEAGE_FILE
    data = json.loads(lineage_file.read_text())["data"] if lineage_file.is_file() else {}
    labels = props["labels"]
    card = {
        "group": args.display_name,
        "version": props["version"],
        "description": group["description"],
        "intended_use": group["intended_use"],
        "limitations": group["limitations"],
        "framework": group["framework"],
        "created_at": time.time(),
        "source": f"run:{labels.get('mlstack-run', '')}",
        "approval": labels[APPROVAL_LABEL],
        "aliases": props["aliases"],
        "metrics": metrics,
        "params": {},
        "run": None,
        "lineage": {"data_uri": data.get("path"), "data_sha256": data.get("sha256")},
        "promotion": {
            "policy": {"stages": group["stages"]} if group["stages"] else None,
            "stages": [args.stage] if args.stage else [],
            "promotions": [],
        },
    }
    (trained / CARD_FILE).write_text(render(card), encoding="utf-8")


def live_variant(endpoint: Any, name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The variant as deployed now (props for the deployment provider) and its {id, key}."""
    deployed = [m for m in endpoint.deployed_models if m.display_name.rsplit("-", 1)[0] == name]
    if len(deployed) != 1:
        raise TaskFailed(f"endpoint {endpoint.name} serves {len(deployed)} deployments of '{name}', not one")
    model = deployed[0]
    resources = model.dedicated_resources
    variant: dict[str, Any] = {
        "name": name,
        "weight": 100,
        "model": model.model,
        "machine_type": resources.machine_spec.machine_type,
        "min_replicas": resources.min_replica_count,
        "max_replicas": resources.max_replica_count,
        "autoscaling": [{"metric_name": s.metric_name, "target": s.target} for s in resources.autoscaling_metric_specs],
        "service_account": model.service_account,
    }
    if resources.machine_spec.accelerator_count:
        variant["accelerator_type"] = resources.machine_spec.accelerator_type.name
        variant["accelerator_count"] = resources.machine_spec.accelerator_count
    return variant, {"id": model.id, "key": model.display_name.rsplit("-", 1)[1]}


def deploy(args: argparse.Namespace) -> str:
    from mlstack.backends.gcp.providers.deployment import DeploymentProvider, Endpoint

    version = (Path(args.registered) / "version.txt").read_text().strip()
    labels = (
        aiplatform("ModelServiceClient", args.region).get_model(request=types().GetModelRequest(name=version)).labels
    )
    approval = labels.get(APPROVAL_LABEL, APPROVED)  # versions registered before approval labels were kept
    if approval == REJECTED:
        raise TaskFailed(f"{version} is rejected ({APPROVAL_LABEL}={REJECTED}): it is never deployed")
    if approval != APPROVED:
        # Like SageMaker's deploy step: the run succeeds and the endpoint waits for a person.
        return (
            f"endpoint {args.endpoint} unchanged: {version} awaits manual approval ({APPROVAL_LABEL}={approval}); set the label "
            f"{APPROVAL_LABEL}={APPROVED}, then run the pipeline's deployment again"
        )
    if args.stage and labels.get(STAGE_LABEL) != args.stage:
        return (
            f"endpoint {args.endpoint} unchanged: {version} is in stage {labels.get(STAGE_LABEL) or 'none'}, and this "
            f"environment deploys only versions promoted to {args.stage}; promote it (set the label "
            f"{STAGE_LABEL}={args.stage}), then run the pipeline's deployment again"
        )
    props = {
        "project": args.endpoint.split("/")[1],
        "region": args.region,
        "endpoint": args.endpoint,
        "endpoint_id": args.endpoint.rsplit("/", 1)[-1],
        "strategy": json.loads(args.strategy),
    }
    current, deployed = live_variant(Endpoint(props).get(), "primary")
    olds = {**props, "variants": [current], "deployed": {"primary": deployed}}
    news = {**props, "variants": [{**current, "model": version}]}
    DeploymentProvider().update(args.endpoint, olds, news)
    return f"{version} serves {args.endpoint}"


def batch(args: argparse.Namespace) -> str:
    """Create the batch prediction job of a batch job's run, on the model version its reference names now,
    and wait for it to end."""
    from mlstack.backends.gcp.providers.model import _versions

    v1 = types()

    request = json.loads(args.request)
    parent = request["model"]
    if args.alias:
        request["model"] = f"{parent}@{args.alias}"
    else:
        models = aiplatform("ModelServiceClient", args.region)
        found = [m for m in _versions(models, parent) if m.labels.get("mlstack-version") == args.version]
        if not found:
            raise TaskFailed(f"{parent} has no version labelled mlstack-version={args.version}")
        request["model"] = f"{parent}@{found[0].version_id}"
    jobs = aiplatform("JobServiceClient", args.region)
    location = parent.rsplit("/models/", 1)[0]
    created = jobs.create_batch_prediction_job(
        request=v1.CreateBatchPredictionJobRequest(parent=location, batch_prediction_job=v1.BatchPredictionJob(request))
    )
    states = v1.JobState
    done = {states.JOB_STATE_SUCCEEDED, states.JOB_STATE_FAILED, states.JOB_STATE_CANCELLED, states.JOB_STATE_EXPIRED}
    while (
        job := jobs.get_batch_prediction_job(request=v1.GetBatchPredictionJobRequest(name=created.name))
    ).state not in done:
        time.sleep(BATCH_POLL_SECONDS)
    if job.state != states.JOB_STATE_SUCCEEDED:
        raise TaskFailed(f"{job.name} {job.state.name}: {job.error.message}")
    return f"{job.name} scored {request['input_config']['gcs_source']['uris'][0]} into {job.output_info.gcs_output_directory}"


def _bigquery() -> Any:
    from google.cloud import bigquery

    return bigquery.Client()


def logged_requests(table: str, hours: int, share: float) -> list[dict[str, Any]]:
    """Logged request payloads of the last `hours`, a deterministic `share` of them (by request id)."""
    from google.cloud import bigquery

    query = (
        f"SELECT request_id, request_payload, response_payload FROM `{table}` "
        "WHERE logging_time >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL @hours HOUR) "
        "AND MOD(ABS(FARM_FINGERPRINT(request_id)), 10000) < @cut"
    )
    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter("hours", "INT64", hours),
            bigquery.ScalarQueryParameter("cut", "INT64", round(share * 10000)),
        ]
    )
    return [dict(row) for row in _bigquery().query(query, job_config=config).result()]


def replay(args: argparse.Namespace) -> str:
    from google.api import httpbody_pb2

    service = aiplatform("PredictionServiceClient", args.region)
    rows = logged_requests(args.table, int(args.hours), float(args.share))
    for row in rows:
        instances = [json.loads(p) for p in row["request_payload"]]
        body = httpbody_pb2.HttpBody(
            content_type="application/json", data=json.dumps({"instances": instances}).encode()
        )
        service.raw_predict(request=types().RawPredictRequest(endpoint=args.endpoint, http_body=body))
    return f"replayed {len(rows)} requests to {args.endpoint}"


def _payloads(rows: list[dict[str, Any]], column: str) -> list[Any]:
    return [json.loads(value) for row in rows for value in row[column]]


def _query_rows(table: str) -> list[dict[str, Any]]:
    return [dict(row) for row in _bigquery().query(f"SELECT * FROM `{table}`").result()]


def read_baseline(location: str) -> Any:
    """A monitor's baseline as a DataFrame: a BigQuery table (bq://) or a gs:// CSV or JSONL file."""
    import pandas as pd

    if location.startswith("bq://"):
        return pd.DataFrame.from_records(_query_rows(location.removeprefix("bq://")))
    if location.startswith("gs://") and location.endswith((".csv", ".jsonl")):
        from google.cloud import storage

        bucket, _, name = location.removeprefix("gs://").partition("/")
        text = storage.Client().bucket(bucket).blob(name).download_as_text()
        if location.endswith(".csv"):
            import io

            return pd.read_csv(io.StringIO(text))
        return pd.DataFrame.from_records([json.loads(line) for line in text.splitlines() if line.strip()])
    raise TaskFailed(f"baseline {location}: this runtime reads bq:// tables and gs:// CSV or JSONL files")


def _frame(instances: list[Any], names: list[str]) -> Any:
    """Logged instances as a table: named features as they are, positional ones named after the monitor's
    features or the baseline's columns, whichever has their width."""
    import pandas as pd

    if not instances or isinstance(instances[0], dict):
        return pd.DataFrame.from_records(instances)
    width = len(instances[0])
    if len(names) != width:
        raise TaskFailed(f"requests carry {width} positional features; name them in the monitor's features")
    return pd.DataFrame(instances, columns=names)


def _prediction(value: Any) -> Any:
    return next(iter(value.values())) if isinstance(value, dict) else value


def _labelled(spec: dict[str, Any], rows: list[dict[str, Any]]) -> Any:
    """Logged answers joined on request_id with the labels of the monitor's ground_truth table
    (bq://project.dataset.table with request_id and label: one label, or a list, per request)."""
    from mlstack.runtime.monitors import Labelled

    where = spec.get("ground_truth") or ""
    if not where.startswith("bq://"):
        raise TaskFailed(f"ground_truth {where or '(none)'}: this runtime reads labels from a bq:// table")
    labels = {r["request_id"]: r["label"] for r in _query_rows(where.removeprefix("bq://"))}
    truth: list[Any] = []
    predicted: list[Any] = []
    for row in rows:
        if row["request_id"] not in labels:
            continue
        label = labels[row["request_id"]]
        label = json.loads(label) if isinstance(label, str) and label[:1] in "[{" else label
        answers = [_prediction(json.loads(v)) for v in row["response_payload"]]
        given = label if isinstance(label, list) else [label]
        if len(given) == len(answers):  # a label per instance, or the request cannot be joined
            truth.extend(given)
            predicted.extend(answers)
    return Labelled(truth, predicted)


def monitor(args: argparse.Namespace) -> str:
    """Every monitor kind, by the evaluator all targets run (mlstack.runtime.monitors)."""
    from mlstack.runtime.monitors import PREDICTION, measure, worst

    spec = json.loads(args.monitor)
    name, kind, metric = spec["name"], spec["kind"], spec["metric"]
    rows = logged_requests(args.table, int(args.hours), 1.0)
    if not rows:
        return f"monitor {name}: no logged requests in the last {args.hours} h"
    if kind == "model_quality":
        labelled = _labelled(spec, rows)
        if not labelled.labels:
            return f"monitor {name}: no logged answer of the last {args.hours} h has a label yet"
        results = measure(
            kind, metric, threshold=spec.get("threshold"), labelled=labelled, problem_type=spec.get("problem_type")
        )
    else:
        reference = read_baseline(spec["baseline"])
        if kind == "prediction_drift":
            column = PREDICTION if PREDICTION in reference.columns else reference.columns[0]
            reference = reference[[column]].set_axis([PREDICTION], axis=1)
            current = _frame([[_prediction(p)] for p in _payloads(rows, "response_payload")], [PREDICTION])
            columns = [PREDICTION]
        else:
            features = list(spec.get("features") or [])
            current = _frame(_payloads(rows, "request_payload"), features or list(reference.columns))
            columns = features or [c for c in reference.columns if c in set(current.columns)]
        results = measure(
            kind, metric, threshold=spec.get("threshold"), reference=reference, current=current, columns=columns
        )
    found = worst(results)
    if found is None:
        return f"monitor {name}: {metric} has no value over the last {args.hours} h"
    where = f" on {found.column}" if found.column else ""
    if any(r.breached for r in results):
        assert found.threshold is not None  # only a result with a threshold breaches
        alert(name, args.topic, found.value, found.threshold)
        return f"monitor {name}: {metric} {found.value:g}{where} past {found.threshold:g}, alerted"
    limit = f" within {found.threshold:g}" if found.threshold is not None else " (no threshold: reported only)"
    return f"monitor {name}: {metric} {found.value:g}{where}{limit}"


def alert(name: str, topic: str, value: float, threshold: float) -> None:
    """The log line the alert policy matches, and a message on the alert topic (retrain, rollback)."""
    import base64

    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    event = {"event": "mlstack-monitor-alert", "monitor": name, "value": value, "threshold": threshold}
    print(json.dumps({**event, "severity": "WARNING"}), flush=True)
    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/pubsub"])
    data = base64.b64encode(json.dumps(event).encode()).decode()
    response = AuthorizedSession(credentials).post(
        f"https://pubsub.googleapis.com/v1/{topic}:publish", json={"messages": [{"data": data}]}
    )
    response.raise_for_status()


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python3 -m mlstack.backends.gcp.runtime")
    commands = main.add_subparsers(dest="command", required=True)
    g = commands.add_parser("gate")
    g.add_argument("--metrics", required=True)
    g.add_argument("--gates", required=True)
    g.add_argument("--region", required=True)
    g.add_argument("--model")
    r = commands.add_parser("register")
    for name in ("project", "region", "model-id", "display-name", "artifact", "image", "output"):
        r.add_argument(f"--{name}", required=True)
    r.add_argument("--aliases", default="")
    r.add_argument("--approval", choices=sorted(APPROVAL_ON_REGISTER), default="auto")
    r.add_argument("--metrics")
    r.add_argument("--kms-key")
    r.add_argument("--lineage", help="JSON object of lineage labels for the version")
    r.add_argument("--stage", help="the promotion stage a new version starts in (the group's first)")
    r.add_argument("--trained", help="the training step's output folder (its lineage file)")
    r.add_argument("--card", help="JSON: what the spec says of the group, for the version's model card")
    d = commands.add_parser("deploy")
    for name in ("endpoint", "region", "strategy", "registered"):
        d.add_argument(f"--{name}", required=True)
    d.add_argument("--stage", help="deploy only a version promoted to this stage (label mlstack-stage)")
    p = commands.add_parser("replay")
    for name in ("table", "endpoint", "region", "share"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--hours", default="1")
    b = commands.add_parser("batch")
    b.add_argument("--request", required=True)
    b.add_argument("--region", required=True)
    which = b.add_mutually_exclusive_group(required=True)
    which.add_argument("--alias")
    which.add_argument("--version")
    m = commands.add_parser("monitor")
    for name in ("monitor", "table", "topic", "features"):
        m.add_argument(f"--{name}", required=True)
    m.add_argument("--hours", default="1")
    return main


COMMANDS = {"gate": gate, "register": register, "deploy": deploy, "replay": replay, "monitor": monitor, "batch": batch}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    what = next(
        (str(getattr(args, k)) for k in ("endpoint", "model_id", "monitor", "model") if getattr(args, k, None)), ""
    )
    try:
        report = COMMANDS[args.command](args)
    except TaskFailed as exc:
        print(f"mlstack {args.command}: {exc}", file=sys.stderr, flush=True)
        audit_log.record(f"mlstack {args.command}", what, "failed", str(exc))
        return 1
    print(report, flush=True)
    audit_log.record(f"mlstack {args.command}", what, "succeeded", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
