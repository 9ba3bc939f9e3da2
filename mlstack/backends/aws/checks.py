"""What SageMaker would refuse at deploy time, checked before any resource is declared.

Each check yields (spec path, message); the backend raises them all at once as located SpecErrors. The
module imports no Pulumi or AWS SDK, so spec validation can run the same checks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from mlstack.backends import serving_images
from mlstack.backends.aws import images, job_compute, signals
from mlstack.backends.aws.cron import eventbridge_cron
from mlstack.errors import MlstackError, Path
from mlstack.resolve import Resolved
from mlstack.resolve.pipelines import ancestors
from mlstack.runtime.contract import CODE_KINDS
from mlstack.spec.models import Linear, Spec
from mlstack.targets import aws as dialect
from mlstack.targets.aws import LINEAR_STEP, MAX_ROLLBACK_ALARMS
from mlstack.targets.schedules import interval_hours

Problem = tuple[Path, str]

RESERVED_FEATURES = frozenset({"is_deleted", "write_time", "api_invocation_time"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TOPIC = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}")
_ACCOUNT = re.compile(r"\d{12}")
_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,256}")
_FEATURE_NAME = re.compile(r"[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}")
_BAD_FEATURE = "SageMaker feature names are 1-64 letters, digits, - and _, starting and ending with a letter or digit"
FEATURE_GROUP_DESCRIPTION = 128


def _s3(uri: str | None) -> bool:
    return uri is None or uri.startswith("s3://")


def served_versions(resolved: Resolved) -> Iterator[tuple[int, int]]:
    """(group index, version index) of every declared version an endpoint serves, once each."""
    groups = resolved.spec.registry.model_groups
    served = {id(v.version) for plan in resolved.endpoints for v in plan.variants if v.version is not None}
    for gi, group in enumerate(groups):
        for vi, version in enumerate(group.versions):
            if id(version) in served:
                yield gi, vi


def _models(resolved: Resolved) -> Iterator[Problem]:
    spec = resolved.spec
    for gi, vi in served_versions(resolved):
        version = spec.registry.model_groups[gi].versions[vi]
        path: Path = ("registry", "model_groups", gi, "versions", vi)
        if not _s3(version.artifact):
            yield (*path, "artifact"), "SageMaker loads model artifacts from S3: give an s3:// URI"
        if version.image and images.ecr_repository(version.image) is None:
            yield (*path, "image"), _not_ecr(version.image)
    if resolved.region in images.REGIONS:
        yield from serving_images.problems(resolved, images.TABLE)
    for gi, group in enumerate(spec.registry.model_groups):
        for ai, account in enumerate(group.share_with):
            if not _ACCOUNT.fullmatch(account):
                yield (
                    ("registry", "model_groups", gi, "share_with", ai),
                    f"'{account}' is not an AWS account id (12 digits); SageMaker shares model groups with accounts",
                )


def _not_ecr(image: str) -> str:
    return (
        f"'{image}' is not an Amazon ECR image; SageMaker runs images from ECR "
        "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>)"
    )


def _features(spec: Spec) -> Iterator[Problem]:
    for ni, entity in enumerate(spec.feature_store.entities):
        bad = [ki for ki, key in enumerate(entity.join_keys) if not _FEATURE_NAME.fullmatch(key.name)]
        for ki in bad:
            yield ("feature_store", "entities", ni, "join_keys", ki, "name"), _BAD_FEATURE
        if not bad and not _FEATURE_NAME.fullmatch("__".join(k.name for k in entity.join_keys)):
            yield (
                ("feature_store", "entities", ni, "join_keys"),
                "the keys joined with __ name SageMaker's record identifier, which is then too long (64 at most)",
            )
    for vi, view in enumerate(spec.feature_store.views):
        path: Path = ("feature_store", "views", vi)
        if not view.online and not view.offline:
            yield (*path, "online"), "a SageMaker feature group needs an online or an offline store (or both)"
        if len(view.description) > FEATURE_GROUP_DESCRIPTION:
            yield (
                (*path, "description"),
                f"SageMaker feature group descriptions are {FEATURE_GROUP_DESCRIPTION} characters at most",
            )
        if not _FEATURE_NAME.fullmatch(view.source.timestamp_field):
            yield (*path, "source", "timestamp_field"), _BAD_FEATURE
        for fi, feature in enumerate(view.features):
            if feature.name in RESERVED_FEATURES:
                yield (*path, "features", fi, "name"), f"'{feature.name}' is reserved by SageMaker Feature Store"
            elif not _FEATURE_NAME.fullmatch(feature.name):
                yield (*path, "features", fi, "name"), _BAD_FEATURE


def _pipelines(spec: Spec) -> Iterator[Problem]:
    for pi, pipeline in enumerate(spec.pipelines):
        path: Path = ("pipelines", pi)
        if pipeline.image and images.ecr_repository(pipeline.image) is None:
            yield (*path, "image"), _not_ecr(pipeline.image)
        if not _s3(pipeline.data):
            yield (*path, "data"), "SageMaker pipeline steps read data from S3: give an s3:// URI"
        if pipeline.schedule:
            try:
                eventbridge_cron(pipeline.schedule)
            except MlstackError as exc:
                yield (*path, "schedule"), str(exc)
        for name in pipeline.parameters:
            if not _PARAMETER.fullmatch(name):
                yield (*path, "parameters", name), "SageMaker pipeline parameter names are letters, digits, - and _"
        monitors = {m.name: m for m in spec.monitors}
        for ti, trigger in enumerate(pipeline.triggers):
            monitor = monitors.get(trigger.on_alert)
            if monitor is not None and signals.signal(monitor, signals.model_monitor(spec)) is None:
                yield (
                    (*path, "triggers", ti, "on_alert"),
                    f"monitor '{monitor.name}' has no threshold, so it never alarms: give it one to trigger on",
                )
        for si, step in enumerate(pipeline.steps):
            if step.image and images.ecr_repository(step.image) is None:
                yield (*path, "steps", si, "image"), _not_ecr(step.image)
            compute = step.compute or (pipeline.compute if step.kind != "deployment" else None)
            pinned = spec.compute[compute] if isinstance(compute, str) else compute
            kind = job_compute.job_kind(step.kind)
            if pinned and pinned.instance_type in job_compute.NOT_FOR_JOBS[kind]:
                yield (
                    (*path, "steps", si, "compute"),
                    f"SageMaker {kind} jobs do not run on {pinned.instance_type}; pin another instance type",
                )
            if step.kind == "registration" and not any(
                pipeline.steps[j].kind == "training" for j in ancestors(pipeline, si)
            ):
                yield (
                    (*path, "steps", si, "kind"),
                    "a registration step on SageMaker registers a training step's model: make it depend on one",
                )


def _endpoints(spec: Spec) -> Iterator[Problem]:
    rollback_monitors: dict[str, int] = {}
    for monitor in spec.monitors:
        if any(a.type == "rollback" for a in monitor.actions):
            rollback_monitors[monitor.endpoint] = rollback_monitors.get(monitor.endpoint, 0) + 1
    network = spec.target.network
    for ei, endpoint in enumerate(spec.endpoints):
        path: Path = ("endpoints", ei)
        strategy = endpoint.strategy
        if isinstance(strategy, Linear) and not LINEAR_STEP[0] <= strategy.step_percent <= LINEAR_STEP[1]:
            yield (
                (*path, "strategy", "step_percent"),
                f"SageMaker shifts {LINEAR_STEP[0]}-{LINEAR_STEP[1]}% of capacity per linear step",
            )
        if endpoint.autoscaling and endpoint.autoscaling.min < 1 and not endpoint.async_inference:
            yield (*path, "autoscaling", "min"), (
                "SageMaker real-time endpoint variants scale between 1 and max instances; only asynchronous "
                "endpoints (async) scale to zero"
            )
        if queued := endpoint.async_inference:
            for field in ("output", "failures"):
                if not _s3(getattr(queued, field)):
                    yield (*path, "async", field), "SageMaker writes asynchronous results to S3: give an s3:// URI"
            for field in ("success", "error"):
                topic = getattr(queued.notifications, field) if queued.notifications else None
                if topic and not _TOPIC.fullmatch(topic):
                    yield (*path, "async", "notifications", field), f"'{topic}' is not an SNS topic ARN"
            if strategy.type == "shadow":
                yield (*path, "strategy", "type"), (
                    "SageMaker asynchronous endpoints have no shadow variants; the closest: a second async "
                    "endpoint fed the same requests"
                )
        if endpoint.auth == "key":
            yield (*path, "auth"), "SageMaker endpoints authenticate callers with IAM (SigV4) only: use auth: token"
        if endpoint.serverless and endpoint.captures:
            yield (*path, "data_capture"), "SageMaker serverless endpoints cannot capture data"
        if endpoint.serverless and network and network.subnets:
            yield (*path, "serverless"), "SageMaker serverless endpoints cannot run in a VPC (target.network)"
        if endpoint.data_capture and not _s3(endpoint.data_capture.destination):
            yield (*path, "data_capture", "destination"), "SageMaker captures data to S3: give an s3:// URI"
        rollback = getattr(strategy, "rollback", None)
        alarms = (
            (rollback.max_error_rate is not None) + (rollback.max_p99_latency_ms is not None) if rollback else 0
        ) + rollback_monitors.get(endpoint.name, 0)
        if alarms > MAX_ROLLBACK_ALARMS:
            yield (
                (*path, "strategy"),
                f"SageMaker auto-rollback takes at most {MAX_ROLLBACK_ALARMS} alarms; this endpoint has {alarms}",
            )


def _monitors(spec: Spec) -> Iterator[Problem]:
    for mi, monitor in enumerate(spec.monitors):
        path: Path = ("monitors", mi)
        if not _s3(monitor.baseline):
            yield (*path, "baseline"), "SageMaker monitoring jobs read the baseline from S3: give an s3:// URI"
        if monitor.kind == "model_quality":
            if not monitor.ground_truth or not monitor.ground_truth.startswith("s3://"):
                yield (*path, "ground_truth"), "SageMaker model-quality monitoring reads labels from an s3:// URI"
            offered = dialect.MODEL_METRICS[monitor.problem_type or "binary_classification"]
            if monitor.metric not in offered:
                yield (
                    (*path, "metric"),
                    f"SageMaker reports no '{monitor.metric}' for {monitor.problem_type}; it offers: "
                    f"{', '.join(offered)}",
                )
                continue
        if monitor.actions and signals.threshold(monitor) is None:
            yield (*path, "threshold"), f"'{monitor.metric}' has no default threshold: set one so the actions can fire"
        for ai, action in enumerate(monitor.actions):
            if action.type != "alert":
                continue
            for ti, to in enumerate(action.to):
                if not (_EMAIL.fullmatch(to) or to.startswith("https://") or _TOPIC.fullmatch(to)):
                    yield (
                        (*path, "actions", ai, "to", ti),
                        f"'{to}' is not an e-mail address, an https:// URL or an SNS topic ARN",
                    )


def _default_images(resolved: Resolved) -> Iterator[Problem]:
    spec, region = resolved.spec, resolved.region
    if region in images.REGIONS:
        return
    needs = []
    for gi, vi in served_versions(resolved):
        if not spec.registry.model_groups[gi].versions[vi].image:
            needs.append("model versions without image")
            break
    if any(
        step.kind in CODE_KINDS and not (step.image or pipeline.image)
        for pipeline in spec.pipelines
        for step in pipeline.steps
    ):
        needs.append("pipeline steps without image")
    if any(signals.engine(m, signals.model_monitor(spec)) == "data_quality" for m in spec.monitors):
        needs.append("Model Monitor's analyzer")
    if needs:
        yield (
            ("target", "region"),
            f"mlstack knows SageMaker's own images only in {', '.join(images.REGIONS)}; in {region} "
            f"set images for: {', '.join(needs)}",
        )


def _key_path(spec: Spec) -> Path:
    return ("target", "aws", "kms_key") if spec.target.aws and spec.target.aws.kms_key else ("target", "kms_key")


def _external_key(resolved: Resolved) -> Iterator[Problem]:
    """The platform's KMS key is the user's, so its key policy is theirs too: name what it must grant. The
    stack's roles get their rights by IAM policy (the key policy must let IAM policies grant, as AWS's
    default key policy does); a service acting as itself can only be granted in the key policy."""
    spec = resolved.spec
    if not resolved.kms_key:
        return
    alerts_topic = not (spec.target.aws and spec.target.aws.alarm_topic)
    if alerts_topic and any(a.type == "alert" for m in spec.monitors for a in m.actions):
        services, actions = dialect.KEY_POLICY_SERVICES["alerts"]
        principal = json.dumps({"Service": list(services)})
        yield (
            _key_path(spec),
            "the alert topic is encrypted with this key, and CloudWatch alarms and EventBridge rules publish to "
            f'it as themselves: the key policy must allow {{"Principal": {principal}, "Action": '
            f'{json.dumps(list(actions))}, "Resource": "*"}}, or alerts are dropped without a trace '
            "(or set target.aws.alarm_topic to a topic whose key allows it)",
        )


def _slow_rollback_alarms(spec: Spec) -> Iterator[Problem]:
    """A rollback alarm judges a rollout only if it can change while SageMaker watches the rollout (at most
    an hour between steps): a monitor run less often holds its last verdict, on the model already serving
    (audit A9)."""
    for mi, monitor in enumerate(spec.monitors):
        hours = interval_hours(monitor.schedule) or 24
        if hours * 3600 <= dialect.MAX_WAIT or signals.threshold(monitor) is None:
            continue
        for ai, action in enumerate(monitor.actions):
            if action.type == "rollback":
                yield (
                    ("monitors", mi, "actions", ai),
                    f"monitor '{monitor.name}' runs every {hours} h, so its alarm holds the verdict of its last run "
                    f"on the model already serving while a SageMaker rollout of {monitor.endpoint} watches it (at "
                    f"most {dialect.MAX_WAIT // 60} min between steps): while it is in ALARM every deployment rolls "
                    "back, the one that would fix it included, and it never judges the new model; run it hourly, "
                    "or act on it with alert or retrain",
                )


def warnings(resolved: Resolved) -> list[Problem]:
    """Where the platform works only if something outside the stack is as it says."""
    native = signals.model_monitor(resolved.spec)
    monitor_service = [
        (("monitors", mi), f"monitor '{m.name}' {dialect.MODEL_MONITOR_NOTICE}")
        for mi, m in enumerate(resolved.spec.monitors)
        if signals.engine(m, native) != "mlstack"
    ]
    return [*_external_key(resolved), *monitor_service, *_slow_rollback_alarms(resolved.spec)]


def _batch_jobs(spec: Spec) -> Iterator[Problem]:
    for bi, job in enumerate(spec.batch_jobs):
        path: Path = ("batch_jobs", bi)
        if job.format not in dialect.AWS.batch_formats:
            yield (
                (*path, "format"),
                "SageMaker Batch Transform splits its input by line and joins each row to its prediction for "
                "CSV: use format: csv",
            )
        for where, uri in ((("input", "uri"), job.input.uri), (("output",), job.output)):
            if not _s3(uri):
                yield (*path, *where), "Batch Transform reads and writes S3: give an s3:// URI"
        if job.schedule:
            try:
                eventbridge_cron(job.schedule)
            except MlstackError as exc:
                yield (*path, "schedule"), str(exc)


def problems(resolved: Resolved) -> list[Problem]:
    spec = resolved.spec
    return [
        *_batch_jobs(spec),
        *_models(resolved),
        *_features(spec),
        *_pipelines(spec),
        *_endpoints(spec),
        *_monitors(spec),
        *_default_images(resolved),
    ]
