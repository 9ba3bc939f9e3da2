"""Batch scoring on the local emulator: a registry version run over a CSV/Parquet file or folder (or a
feature view training set for a list of entities), in chunks, writing one output file per run with the
input's columns and a `prediction` column (and `score` for classifiers with probabilities).

Each run is a row of `batch_runs` (status, rows scored, duration, output path) with its progress as
operation events. With data capture on, the scored rows and their predictions are written as capture
files (the endpoints' format, mlstack.emulator.capture) under `captures/batch_jobs/<job>/`, so a
monitor naming the batch job computes drift over the job's inputs like over an endpoint's requests."""

from __future__ import annotations

import json
import random
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlstack.emulator.errors import BadRequest, NotFound
from mlstack.emulator.layout import inside
from mlstack.emulator.resources import describe_ref
from mlstack.errors import did_you_mean

if TYPE_CHECKING:
    import pandas as pd

    from mlstack.emulator.core import Emulator
    from mlstack.emulator.operations import Emit, Operation

CHUNK_ROWS = 5000
CAPTURES = "batch_jobs"  # not a spec name (those have no underscore): no endpoint's captures share it
INTERRUPTED = "interrupted: the emulator stopped during the run; start it again with `mlstack batch run {}`"


def captures_dir(core: Emulator) -> Path:
    return inside(core.state.captures, CAPTURES)


class BatchJobs:
    def __init__(self, core: Emulator) -> None:
        self.core = core

    def config(self, name: str) -> dict[str, Any]:
        applied = {c["name"]: c for c in self.core.configs("batch_job")}
        if name not in applied:
            known = f"; applied: {', '.join(sorted(applied))}" if applied else "; none is applied (mlstack up)"
            raise NotFound(f"no batch job '{name}' is applied{did_you_mean(name, applied)}{known}")
        return applied[name]

    def start(self, name: str, trigger: str = "manual") -> tuple[str, Operation] | None:
        """Start a run in the background; None when a scheduled run finds the previous one running."""
        config = self.config(name)
        if trigger == "schedule" and self.core.db.one(
            "SELECT 1 FROM batch_runs WHERE job = ? AND status = 'running'", (name,)
        ):
            return None
        run_id = self._record(name, trigger)

        def work(op: Operation) -> dict[str, Any]:
            self.execute(run_id, config, op.emit)
            return {"run": self.run(run_id)}

        return run_id, self.core.operations.start("batch", f"batch run {run_id}", work)

    def run_now(self, name: str, trigger: str, emit: Emit) -> dict[str, Any]:
        """Run to the end in this thread (a pipeline's batch_scoring step); the run's record. A failed
        run raises after it is recorded as failed."""
        config = self.config(name)
        run_id = self._record(name, trigger)
        self.execute(run_id, config, emit)
        return self.run(run_id)

    def _record(self, name: str, trigger: str) -> str:
        run_id = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        with self.core.db.transaction() as conn:
            conn.execute(
                "INSERT INTO batch_runs (id, job, status, trigger, started_at) VALUES (?, ?, 'running', ?, ?)",
                (run_id, name, trigger, time.time()),
            )
        return run_id

    def execute(self, run_id: str, config: dict[str, Any], emit: Emit) -> dict[str, Any]:
        try:
            summary = self.score(run_id, config, emit)
        except Exception as exc:
            self._finish(run_id, "failed", 0, None, str(exc))
            raise
        self._finish(run_id, "succeeded", summary["rows"], summary["output"], "")
        return summary

    def _finish(self, run_id: str, status: str, rows: int, output: str | None, message: str) -> None:
        with self.core.db.transaction() as conn:
            conn.execute(
                "UPDATE batch_runs SET status = ?, finished_at = ?, rows = ?, output = ?, message = ? WHERE id = ?",
                (status, time.time(), rows, output, message, run_id),
            )

    def recover(self, conn: Any, now: float) -> int:
        jobs = [r[0] for r in conn.execute("SELECT job FROM batch_runs WHERE status = 'running'")]
        for job in set(jobs):
            conn.execute(
                "UPDATE batch_runs SET status = 'failed', finished_at = ?, message = ? WHERE job = ? AND status = 'running'",
                (now, INTERRUPTED.format(job), job),
            )
        return len(jobs)

    def run(self, run_id: str) -> dict[str, Any]:
        row = self.core.db.one("SELECT * FROM batch_runs WHERE id = ?", (run_id,))
        if row is None:
            raise NotFound(f"no batch run '{run_id}'")
        view = dict(row)
        finished = view["finished_at"]
        view["duration_s"] = round(finished - view["started_at"], 3) if finished else None
        return view

    def runs(self, job: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        if job is None:
            rows = self.core.db.query("SELECT id FROM batch_runs ORDER BY started_at DESC LIMIT ?", (limit,))
        else:
            rows = self.core.db.query(
                "SELECT id FROM batch_runs WHERE job = ? ORDER BY started_at DESC LIMIT ?", (job, limit)
            )
        return [self.run(r["id"]) for r in rows]

    # --- scoring -----------------------------------------------------------------------------------

    def score(self, run_id: str, config: dict[str, Any], emit: Emit) -> dict[str, Any]:
        from mlstack.emulator import predictors

        ref = config["model"]
        version = self.core.registry.resolve(ref["group"], version=ref.get("version"), alias=ref.get("alias"))
        if version is None:
            raise BadRequest(f"batch job {config['name']}: {describe_ref(ref)} does not exist in the registry yet")
        if version.approval == "rejected":
            raise BadRequest(f"batch job {config['name']}: {version.ref} was rejected")
        predictor = predictors.load(version)
        frame = self._input(config)
        emit(f"scoring {len(frame)} rows of {self._source(config)} with {version.ref}")
        started = time.monotonic()
        names = predictor.feature_names
        features = frame[[c for c in names if c in frame.columns]] if names else frame
        predictions: list[Any] = []
        scores: list[Any] = []
        captures: list[dict[str, Any]] = []
        percent = config.get("capture_percent", 0)
        for start in range(0, len(features), CHUNK_ROWS):
            chunk = features.iloc[start : start + CHUNK_ROWS]
            records = json.loads(chunk.to_json(orient="records"))
            try:
                answer = predictor.predict(records)
            except predictors.InvocationError as exc:
                raise BadRequest(f"rows {start + 1}-{start + len(chunk)}: {exc}") from None
            predictions += answer["predictions"]
            scores += answer.get("scores", [])
            if percent:
                captures.append(self._capture(config, version.ref, records, answer, percent))
            emit(f"scored {min(start + CHUNK_ROWS, len(features))}/{len(features)} rows")
        out = frame.copy()
        out["prediction"] = predictions
        if len(scores) == len(predictions) and scores and not isinstance(scores[0], list):
            out["score"] = scores
        path = self._write(config, run_id, out)
        if captures:
            self._write_captures(config["name"], run_id, [c for c in captures if c["rows"]])
        elapsed = time.monotonic() - started
        emit(f"wrote {len(out)} predictions to {path} in {elapsed:.2f}s")
        return {"rows": len(out), "output": str(path), "seconds": round(elapsed, 3)}

    @staticmethod
    def _source(config: dict[str, Any]) -> str:
        source = config["input"]
        return source.get("uri") or f"{source['entities']} joined to {', '.join(source['feature_views'])}"

    def _input(self, config: dict[str, Any]) -> pd.DataFrame:
        from mlstack.emulator.monitors import read_table

        source = config["input"]
        if source.get("uri"):
            path = Path(source["uri"])
            if not path.exists():
                raise BadRequest(f"batch job {config['name']}: the input {path} does not exist")
            return read_table(path)
        entities = Path(source["entities"])
        if not entities.exists():
            raise BadRequest(f"batch job {config['name']}: the entities file {entities} does not exist")
        table = self.core.features.get_historical_features(str(entities), list(source["feature_views"]))
        return table.to_pandas()

    @staticmethod
    def _write(config: dict[str, Any], run_id: str, frame: pd.DataFrame) -> Path:
        folder = Path(config["output"])
        folder.mkdir(parents=True, exist_ok=True)
        path = inside(folder, f"{run_id}.{config['format']}")
        partial = path.with_name(f".{path.name}.partial")  # a failed write leaves no half file under the name
        if config["format"] == "parquet":
            frame.to_parquet(partial, index=False)
        else:
            frame.to_csv(partial, index=False)
        partial.replace(path)
        return path

    @staticmethod
    def _capture(
        config: dict[str, Any], model: str, records: list[dict[str, Any]], answer: dict[str, Any], percent: int
    ) -> dict[str, Any]:
        keep = [i for i in range(len(records)) if percent >= 100 or random.random() * 100 < percent]
        response = {
            k: [v[i] for i in keep] for k, v in answer.items() if isinstance(v, list) and len(v) == len(records)
        }
        return {
            "rows": len(keep),
            "id": uuid.uuid4().hex,
            "time": time.time(),
            "endpoint": config["name"],
            "variant": "batch",
            "role": "production",
            "model": model,
            "latency_ms": 0.0,
            "status": 200,
            "request": json.dumps({"instances": [records[i] for i in keep]}),
            "response": json.dumps(response),
        }

    def _write_captures(self, job: str, run_id: str, records: list[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from mlstack.emulator.capture import FIELDS, capture_schema

        folder = inside(captures_dir(self.core), job)
        folder.mkdir(parents=True, exist_ok=True)
        rows = [{**{k: r[k] for k in FIELDS if k in r}, "correlation_id": r["id"]} for r in records]
        table = pa.Table.from_pylist(rows, schema=capture_schema())
        partial = folder / f".part-{run_id}.parquet.partial"
        pq.write_table(table, partial)
        partial.replace(folder / f"part-{run_id}.parquet")
