"""Batch jobs: each is graded by what the destination runs it with (the dialects' `batch_service`); a file
format, a feature-view input, a schedule, data capture or a monitor the destination cannot take is said,
located, with the closest thing it offers. A pipeline's batch_scoring step is graded by what runs it on
each side (`batch_step`). Nothing is rewritten: each of these is the user's choice to make."""

from __future__ import annotations

from mlstack.migrate.context import Context
from mlstack.migrate.document import items, mapping
from mlstack.targets import profile


def migrate_batch_jobs(ctx: Context) -> None:
    source, target = profile(ctx.source), ctx.target
    for i, job in items(ctx.root.get("batch_jobs")):
        path = ("batch_jobs", i)
        name = job.get("name")
        moved = f"batch job {name}: {source.batch_service} → {target.batch_service}"
        problems = False
        if job.get("format", "csv") not in target.batch_formats:
            ctx.report.add(
                (*path, "format"),
                "unsupported",
                f"batch job {name} format {job.get('format')}",
                f"{target.title} scores {' or '.join(target.batch_formats)} files: convert the input and set format",
            )
            problems = True
        source_input = mapping(job.get("input"))
        if (
            source_input is not None
            and source_input.get("entities") is not None
            and not target.batch_from_feature_views
        ):
            ctx.report.add(
                (*path, "input", "entities"),
                "unsupported",
                f"batch job {name} input from feature views",
                f"on {target.title} a batch job scores files: materialise the training set and name it as input.uri",
            )
            problems = True
        if job.get("schedule") is not None and target.batch_schedule_gap:
            ctx.report.add((*path, "schedule"), "approximate", f"batch job {name} schedule", target.batch_schedule_gap)
            problems = True
        capture = mapping(job.get("data_capture"))
        if capture is not None and capture.get("sampling_percent", 100) and target.batch_capture_gap:
            ctx.report.add(
                (*path, "data_capture"), "approximate", f"batch job {name} data capture", target.batch_capture_gap
            )
            problems = True
        if not problems:
            ctx.report.add(path, "exact", moved)
    for pi, pipeline in items(ctx.root.get("pipelines")):
        for si, step in items(pipeline.get("steps")):
            if step.get("kind") == "batch_scoring":
                ctx.report.add(
                    ("pipelines", pi, "steps", si),
                    "exact",
                    f"pipeline {pipeline.get('name')} step {step.get('name')} (batch job {step.get('batch_job')}): "
                    f"{source.batch_step} → {target.batch_step}",
                )
    if target.batch_monitors:
        for i, monitor in items(ctx.root.get("monitors")):
            if monitor.get("batch_job") is not None:
                ctx.report.add(
                    ("monitors", i, "batch_job"),
                    "unsupported",
                    f"monitor {monitor.get('name')} over batch job {monitor.get('batch_job')}",
                    target.batch_monitors,
                )
