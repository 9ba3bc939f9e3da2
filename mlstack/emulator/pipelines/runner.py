"""Running a pipeline: data validation, then each step in order as a subprocess or built-in.

Every state change is a committed row (runs, steps), so a crash leaves the run visibly unfinished
and the next start marks it failed. Registration and the step record commit together."""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlstack.emulator import procs
from mlstack.emulator.errors import BadRequest
from mlstack.emulator.layout import inside
from mlstack.emulator.operations import Emit
from mlstack.emulator.pipelines import data, experiments, lineage
from mlstack.emulator.registry import NewVersion
from mlstack.errors import MlstackError
from mlstack.resolve import gates
from mlstack.runtime import contract

if TYPE_CHECKING:
    from mlstack.emulator.core import Emulator

LOG_TAIL_LINES = 15
BATCH_RUN_FILE = "batch_run.json"  # a batch_scoring step's record of the run it started
log = logging.getLogger("mlstack.emulator")


class StepFailed(Exception):
    pass


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as handle:
            tail = deque(handle, maxlen=lines)
    except OSError:
        return ""
    return b"".join(tail).decode("utf-8", "replace").rstrip()


def _ancestors(steps: dict[str, dict[str, Any]], name: str) -> list[str]:
    """Upstream steps of `name`, nearest first (breadth-first over depends_on)."""
    seen: list[str] = []
    queue = deque(steps[name]["depends_on"])
    while queue:
        current = queue.popleft()
        if current not in seen:
            seen.append(current)
            queue.extend(steps[current]["depends_on"])
    return seen


class PipelineRunner:
    def __init__(self, core: Emulator) -> None:
        self.core = core
        self.db = core.db
        self._live: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def create(self, pipeline: dict[str, Any], trigger: str, parameters: dict[str, Any] | None = None) -> str:
        run_id = f"{pipeline['name']}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO runs (id, pipeline, status, trigger, parameters, started_at) "
                "VALUES (?, ?, 'pending', ?, ?, ?)",
                (run_id, pipeline["name"], trigger, json.dumps(parameters or {}), time.time()),
            )
            conn.executemany(
                "INSERT INTO steps (run_id, position, name, kind, status) VALUES (?, ?, ?, ?, 'pending')",
                [(run_id, i, s["name"], s["kind"]) for i, s in enumerate(pipeline["steps"])],
            )
        return run_id

    def execute(self, run_id: str, pipeline: dict[str, Any], emit: Emit) -> dict[str, Any]:
        """Run to the end in this thread; returns the run's record. A bug fails the run, never
        leaves it running."""
        try:
            return self._execute(run_id, pipeline, emit)
        except Exception as exc:
            log.exception("run %s", run_id)
            with self.db.transaction() as conn:
                conn.execute(
                    "UPDATE steps SET status = 'failed', finished_at = ? WHERE run_id = ? AND status = 'running'",
                    (time.time(), run_id),
                )
            return self._finish(run_id, "failed", f"internal error: {type(exc).__name__}: {exc}", emit, 0)

    def _execute(self, run_id: str, pipeline: dict[str, Any], emit: Emit) -> dict[str, Any]:
        run = self.core.run(run_id)
        run_dir = inside(self.core.state.runs, run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        self._update_run(run_id, status="running")
        emit(f"run {run_id} of pipeline {pipeline['name']} started ({run['trigger']})", level="run")
        try:
            data_path, run_lineage = self._prepare(pipeline, run_dir)
        except ValueError as exc:
            return self._finish(run_id, "failed", f"data validation failed: {exc}", emit, skip_from=0)
        self._update_run(run_id, lineage=json.dumps(run_lineage))
        steps = {s["name"]: s for s in pipeline["steps"]}
        outputs: dict[str, Path] = {}
        for position, step in enumerate(pipeline["steps"]):
            step_params = {**pipeline.get("parameters", {}), **step.get("parameters", {}), **run["parameters"]}
            started = time.monotonic()
            self._update_step(run_id, step["name"], status="running", started_at=time.time())
            emit(f"step {step['name']} ({step['kind']}) running", level="step", step=step["name"])
            try:
                message = self._step(
                    run_id, pipeline, step, steps, step_params, outputs, data_path, run_lineage, emit
                )
            except (StepFailed, MlstackError) as exc:
                self._update_step(run_id, step["name"], status="failed", finished_at=time.time(), message=str(exc))
                emit(f"step {step['name']} failed: {exc}", level="error", step=step["name"])
                return self._finish(run_id, "failed", f"step {step['name']} failed: {exc}", emit, position + 1)
            outputs[step["name"]] = inside(run_dir, step["name"], "output")
            if step["kind"] != "registration":  # registration recorded its step in its own transaction
                self._update_step(run_id, step["name"], status="succeeded", finished_at=time.time(), message=message)
            emit(
                f"step {step['name']} succeeded in {time.monotonic() - started:.1f}s"
                + (f": {message}" if message else ""),
                level="step",
                step=step["name"],
            )
            if step["kind"] == "registration":
                self._roll_followers(pipeline, step, run["trigger"], emit)
        return self._finish(run_id, "succeeded", "", emit)

    def _roll_followers(self, pipeline: dict[str, Any], step: dict[str, Any], trigger: str, emit: Emit) -> None:
        """Endpoints that follow an alias this registration moved roll to the new version with their
        strategy, as `mlstack up` would. Not during an apply (it deploys them itself), and not the
        endpoints this pipeline's own deployment steps deploy."""
        if trigger.startswith("endpoint:") or not step.get("aliases"):
            return
        own = {s["endpoint"] for s in pipeline["steps"] if s["kind"] == "deployment"}
        for name in self.core.followers(step["model_group"], step["aliases"]):
            if name in own:
                continue
            try:
                emit(self.core.deploy_endpoint(name), level="step", step=step["name"])
            except MlstackError as exc:  # the model is registered all the same; the endpoint keeps serving
                emit(f"endpoint {name} not rolled: {exc}", level="error", step=step["name"])

    # --- steps ----------------------------------------------------------------------------------

    def _step(
        self,
        run_id: str,
        pipeline: dict[str, Any],
        step: dict[str, Any],
        steps: dict[str, dict[str, Any]],
        params: dict[str, Any],
        outputs: dict[str, Path],
        data_path: str,
        run_lineage: dict[str, Any],
        emit: Emit,
    ) -> str:
        output = inside(self.core.state.runs, run_id, step["name"], "output")
        output.mkdir(parents=True, exist_ok=True)
        upstream = [outputs[name] for name in _ancestors(steps, step["name"]) if name in outputs]
        if step["kind"] == "registration":
            return self._register(run_id, pipeline, step, steps, upstream, run_lineage)
        if step["kind"] == "deployment":
            return self.core.deploy_endpoint(step["endpoint"])
        if step["kind"] == "batch_scoring":
            return self._score(run_id, step, output, emit)
        self._run_code(run_id, pipeline, step, params, output, {d: outputs[d] for d in step["depends_on"]}, data_path)
        if missing := contract.missing_output(step["kind"], output):
            raise StepFailed(missing)
        try:  # recorded before the gates judge it: a run that fails a gate is an experiment too
            with self.db.transaction() as conn:
                experiments.record_step(conn, run_id, step["name"], params, output, time.time())
        except ValueError as exc:
            raise StepFailed(str(exc)) from None
        if step["kind"] != "evaluation":
            return ""
        metrics_file = output / contract.METRICS_FILE
        try:
            metrics = contract.read_metrics(metrics_file)
        except ValueError as exc:
            raise StepFailed(str(exc)) from None
        champion = self._champion(pipeline)
        verdict = gates.check(step.get("gates", []), metrics, champion.metrics if champion else None)
        if verdict.failures:
            raise StepFailed("quality gate failed: " + "; ".join(verdict.failures))
        return "; ".join([", ".join(f"{k}={v:.4g}" for k, v in metrics.items()), *verdict.notes])

    def _run_code(
        self,
        run_id: str,
        pipeline: dict[str, Any],
        step: dict[str, Any],
        params: dict[str, Any],
        output: Path,
        inputs: dict[str, Path],
        data_path: str,
    ) -> None:
        champion = self._champion(pipeline)
        call = contract.invocation(
            run_id=run_id,
            pipeline=pipeline["name"],
            step=step,
            params=params,
            output_dir=output,
            inputs=inputs,
            data=data_path,
            champion_model=champion.artifact if champion else None,
            workdir=pipeline["workdir"],
            state_dir=self.core.state.root,
        )
        log_file = output.parent / "log.txt"
        key = f"{run_id}/{step['name']}"
        with log_file.open("wb") as log, self._lock:
            if self._stopping.is_set():
                raise StepFailed("the emulator is shutting down")
            try:
                proc = subprocess.Popen(
                    call.argv,
                    env=call.env,
                    cwd=call.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, so it can be stopped with its children
                )
            except OSError as exc:
                raise StepFailed(f"could not start {call.argv[1]}: {exc}") from None
            self._live[key] = proc
        self._update_step(run_id, step["name"], pid=proc.pid, pid_started=procs.start_time(proc.pid))
        try:
            code = proc.wait(timeout=step["timeout"])
        except subprocess.TimeoutExpired:
            procs.kill_group(proc.pid)
            proc.wait()
            raise StepFailed(f"timed out after {step['timeout']}s; log: {log_file}") from None
        finally:
            with self._lock:
                self._live.pop(key, None)
        if code != 0:
            reason = "was stopped (the emulator shut down)" if self._stopping.is_set() else f"exited with status {code}"
            tail = log_tail(log_file)
            raise StepFailed(f"{reason}; log: {log_file}" + (f"\n{tail}" if tail else ""))

    def _register(
        self,
        run_id: str,
        pipeline: dict[str, Any],
        step: dict[str, Any],
        steps: dict[str, dict[str, Any]],
        upstream: list[Path],
        run_lineage: dict[str, Any],
    ) -> str:
        model = next((d / contract.MODEL_FILE for d in upstream if (d / contract.MODEL_FILE).is_file()), None)
        if model is None:
            raise StepFailed("no upstream step wrote a model (model.joblib) to register")
        metrics_file = next(
            (d / contract.METRICS_FILE for d in upstream if (d / contract.METRICS_FILE).is_file()), None
        )
        metrics = contract.read_metrics(metrics_file) if metrics_file else {}
        ancestors = _ancestors(steps, step["name"])
        trainer = next((steps[n] for n in ancestors if steps[n]["kind"] == "training"), None)
        params = {**pipeline.get("parameters", {}), **(trainer or {}).get("parameters", {})}
        params.update(self.core.run(run_id)["parameters"])
        new = NewVersion(
            artifact=model,
            metrics=metrics,
            params=params,
            lineage=run_lineage,
            source=f"run:{run_id}",
            aliases=step.get("aliases", []),
        )
        last = step is pipeline["steps"][-1]
        with self.db.transaction() as conn:
            version = self.core.registry.register(conn, step["model_group"], new)
            message = f"registered {version.ref} ({version.approval})" + (
                f", aliases {', '.join(new.aliases)}" if new.aliases else ""
            )
            now = time.time()
            conn.execute(
                "UPDATE steps SET status = 'succeeded', finished_at = ?, message = ? WHERE run_id = ? AND name = ?",
                (now, message, run_id, step["name"]),
            )
            if last:
                conn.execute(
                    "UPDATE runs SET status = 'succeeded', finished_at = ? WHERE id = ?",
                    (now, run_id),
                )
        return message

    def _score(self, run_id: str, step: dict[str, Any], output: Path, emit: Emit) -> str:
        """Run the step's batch job once, as `mlstack batch run` would (a `batch_runs` row triggered by
        `pipeline:<run>`), and record the run in the step's output (`batch_run.json`). The steps after it
        wait for it and read the job's declared output, as on the clouds, where the predictions land in
        the job's output location, not in the pipeline's."""

        def progress(message: str, **_: Any) -> None:
            emit(message, level="step", step=step["name"])

        try:
            run = self.core.batch.run_now(step["batch_job"], f"pipeline:{run_id}", progress)
        except (MlstackError, ValueError, OSError) as exc:  # a missing input, an unreadable file, a bad model
            raise StepFailed(str(exc)) from None
        (output / BATCH_RUN_FILE).write_text(json.dumps(run, indent=2))
        return f"batch run {run['id']} scored {run['rows']} rows into {run['output']}"

    # --- helpers --------------------------------------------------------------------------------

    def _prepare(self, pipeline: dict[str, Any], run_dir: Path) -> tuple[str, dict[str, Any]]:
        """Validate the data, build the training set from feature views; the data path and lineage."""
        out: dict[str, Any] = {"pipeline": pipeline["name"], "run_id": run_dir.name}
        code_files = [
            s["entrypoint"] for s in pipeline["steps"] if s.get("entrypoint", "") and Path(s["entrypoint"]).is_file()
        ]
        out.update(lineage.code(pipeline["workdir"], code_files))
        out.update(lineage.steps_and_image(pipeline["steps"]))
        if not pipeline.get("data"):
            if pipeline.get("feature_views"):
                raise ValueError(
                    "a pipeline with feature_views needs data: the entity rows its training set is built from"
                )
            return "", out
        summary = data.validate(Path(pipeline["data"]))
        out.update(data_uri=summary.path, data_sha256=summary.sha256, data_rows=summary.rows)
        if not pipeline.get("feature_views"):
            return summary.path, out
        import pyarrow.parquet as pq

        try:
            table = self.core.features.get_historical_features(summary.path, pipeline["feature_views"])
        except BadRequest as exc:
            raise ValueError(f"could not build the training set: {exc}") from None
        path = run_dir / "training_set.parquet"
        pq.write_table(table, path)
        out.update(training_set_sha256=lineage.file_sha256(path), feature_views=pipeline["feature_views"])
        return str(path), out

    def _champion(self, pipeline: dict[str, Any]) -> Any:
        group = next((s["model_group"] for s in pipeline["steps"] if s["kind"] == "registration"), None)
        return self.core.registry.resolve(group, alias="champion") if group else None

    def _finish(
        self, run_id: str, status: str, message: str, emit: Emit, skip_from: int | None = None
    ) -> dict[str, Any]:
        with self.db.transaction() as conn:
            if skip_from is not None:
                conn.execute(
                    "UPDATE steps SET status = 'skipped' WHERE run_id = ? AND position >= ? AND status = 'pending'",
                    (run_id, skip_from),
                )
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = COALESCE(finished_at, ?), message = ? WHERE id = ?",
                (status, time.time(), message, run_id),
            )
        emit(
            f"run {run_id} {status}" + (f": {message}" if message else ""),
            level="run" if status == "succeeded" else "error",
        )
        return self.core.run(run_id)

    def _update_run(self, run_id: str, **fields: Any) -> None:
        self._update("runs", "id = ?", (run_id,), fields)

    def _update_step(self, run_id: str, step: str, **fields: Any) -> None:
        self._update("steps", "run_id = ? AND name = ?", (run_id, step), fields)

    def _update(self, table: str, where: str, key: tuple, fields: dict[str, Any]) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.db.transaction() as conn:
            conn.execute(f"UPDATE {table} SET {assignments} WHERE {where}", (*fields.values(), *key))

    def stop(self) -> None:
        """Stop every running step (the runs then fail) and start no new ones."""
        self._stopping.set()
        with self._lock:
            live = list(self._live.values())
        for proc in live:
            procs.kill_group(proc.pid, grace=2.0)
