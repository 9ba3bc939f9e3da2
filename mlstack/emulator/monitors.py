"""Monitors: the spec's `monitors`, evaluated over captured traffic with `mlstack.stats`.

A monitor runs on its cron schedule inside the emulator's scheduler and on demand
(`mlstack monitor run NAME`). One evaluation:

* **current data**: the endpoint's captured production requests of the last schedule interval (an
  hourly monitor reads the last hour), whatever their answer: inputs drift or break whether or not
  the model coped (prediction drift reads the answered ones). Model quality reads every answered
  capture that has a label, since ground truth arrives late. Rows whose requests are lists get the model's feature
  names (or the monitor's `features`, or the baseline's columns, whichever matches their width).
* **reference**: the `baseline` file or folder (CSV/Parquet). Prediction drift compares the served
  predictions with the baseline's `prediction` column, or with what the model serving now predicts
  for the baseline's rows when it has none.
* **metric**: by the one monitor evaluator every target runs (`mlstack.runtime.monitors.measure`:
  drift tables, data quality, and model quality over the captures joined with ground truth on
  correlation id). A monitor alerts when any column breaches
  the threshold (the metric's default when the spec gives none; quality metrics have none, so they
  only report).

An alert is recorded (`alerts` table, with the pipelines it started) and the actions run: `retrain`
starts the pipeline (as do pipelines with `triggers: on_alert`), `rollback` rolls the endpoint back to
the version it served before, `alert` posts the result as JSON to each `to` that is an http(s) URL
on this machine (127.0.0.1, localhost, ::1) and records every other address without reaching it.

Ground truth (`mlstack feedback` or `POST /v1/endpoints/{name}/ground-truth`) is kept as Parquet
under `ground-truth/<endpoint>/` in the state directory: correlation id, label (JSON text), time.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from mlstack.emulator.capture import read_captures
from mlstack.emulator.errors import BadRequest, NotFound
from mlstack.emulator.layout import inside
from mlstack.errors import MlstackError
from mlstack.runtime.monitors import PREDICTION, Labelled, measure, worst

if TYPE_CHECKING:
    import pandas as pd

    from mlstack.emulator.core import Emulator
    from mlstack.emulator.operations import Operation
    from mlstack.stats.reference import ReferenceProfile
    from mlstack.stats.registry import MetricResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS monitor_runs (
    id        TEXT PRIMARY KEY,
    monitor   TEXT NOT NULL,
    at        REAL NOT NULL,
    trigger   TEXT NOT NULL,
    status    TEXT NOT NULL,  -- ok | alert | no_data | failed
    value     REAL,
    threshold REAL,
    message   TEXT NOT NULL DEFAULT '',
    results   TEXT NOT NULL DEFAULT '[]',
    actions   TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS monitor_runs_by_monitor ON monitor_runs (monitor, at);
"""
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
WEBHOOK_TIMEOUT = 5.0


@dataclass
class Evaluation:
    """One evaluation of a monitor, before any action: what the report shows."""

    monitor: dict[str, Any]
    window: tuple[float | None, float]
    rows: int
    results: list[MetricResult]
    reference: pd.DataFrame | None = None
    current: pd.DataFrame | None = None
    columns: list[str] = field(default_factory=list)
    note: str = ""
    labelled: pd.DataFrame | None = None  # model quality: label, prediction and score per answered instance

    @property
    def breached(self) -> list[MetricResult]:
        return [r for r in self.results if r.breached]

    @property
    def worst(self) -> MetricResult | None:
        """The result furthest on the unhealthy side (the one an alert names)."""
        return worst(self.results)

    def summary(self) -> str:
        worst = self.worst
        if self.note:
            return self.note
        if worst is None:
            return "no value could be computed"
        where = f" on {worst.column}" if worst.column else ""
        limit = f" (threshold {worst.threshold:g})" if worst.threshold is not None else ""
        breached = f"; {len(self.breached)} of {len(self.results)} breached" if self.breached else ""
        return f"{worst.metric} {worst.value:.4g}{where}{limit}{breached}"


class Baselines:
    """Each monitor's baseline, read and summarised once (`stats.reference.ReferenceProfile`) and reused
    by every run until its file changes: a run then sorts and counts only the captured window."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: dict[Path, tuple[tuple[Any, ...], pd.DataFrame, dict[tuple[str, ...], ReferenceProfile]]] = {}

    def table(self, path: Path) -> pd.DataFrame:
        return self._entry(path)[1]

    def profile(self, path: Path, columns: list[str]) -> ReferenceProfile:
        from mlstack.stats.reference import ReferenceProfile

        _, table, profiles = self._entry(path)
        key = tuple(columns)
        if key not in profiles:
            profiles[key] = ReferenceProfile.of(table, columns=columns)
        return profiles[key]

    def _entry(self, path: Path) -> tuple[tuple[Any, ...], pd.DataFrame, dict[tuple[str, ...], ReferenceProfile]]:
        stamp = _stamp(path)
        with self._lock:
            entry = self._cached.get(path)
        if entry is None or entry[0] != stamp:
            entry = (stamp, read_table(path), {})
            with self._lock:
                self._cached[path] = entry
        return entry


def _stamp(path: Path) -> tuple[Any, ...]:
    """What changes when a baseline file, or any file of a baseline folder, is rewritten."""
    try:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    except OSError:
        return ()  # read_table says what is wrong with it


class Monitors:
    def __init__(self, core: Emulator) -> None:
        self.core = core
        self._baselines = Baselines()
        core.db.conn.executescript(SCHEMA)

    @property
    def ground_truth_dir(self) -> Path:
        return self.core.state.root / "ground-truth"

    # --- running ----------------------------------------------------------------------------------

    def start(self, name: str, trigger: str) -> Operation:
        """Run in the background (the scheduler's way)."""
        self.config(name)
        return self.core.operations.start("monitor", f"monitor {name} ({trigger})", lambda op: self.run(name, trigger))

    def run(self, name: str, trigger: str = "manual") -> dict[str, Any]:
        """Evaluate now, record the run, and on a breach record an alert and run the actions."""
        config = self.config(name)
        at = time.time()
        actions: list[dict[str, Any]] = []
        try:
            evaluation = self.evaluate(config)
        except MlstackError as exc:
            return self._record(name, at, trigger, "failed", None, str(exc), [], actions)
        worst = evaluation.worst
        if evaluation.rows == 0:
            status = "no_data"
        elif evaluation.breached:
            status = "alert"
            actions = self._act(config, evaluation)
        else:
            status = "ok"
        return self._record(
            name, at, trigger, status, worst, evaluation.summary(), [r.to_dict() for r in evaluation.results], actions
        )

    def _record(
        self,
        name: str,
        at: float,
        trigger: str,
        status: str,
        worst: MetricResult | None,
        message: str,
        results: list[dict[str, Any]],
        actions: list[dict[str, Any]],
    ) -> dict[str, Any]:
        run_id = f"{name}-{datetime.fromtimestamp(at, UTC).strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        value = None if worst is None or math.isnan(worst.value) else worst.value
        threshold = None if worst is None else worst.threshold
        with self.core.db.transaction() as conn:
            conn.execute(
                "INSERT INTO monitor_runs (id, monitor, at, trigger, status, value, threshold, message, results, "
                "actions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    name,
                    at,
                    trigger,
                    status,
                    value,
                    threshold,
                    message,
                    json.dumps(results),
                    json.dumps(actions),
                ),
            )
        return self._run_view(self.core.db.one("SELECT * FROM monitor_runs WHERE id = ?", (run_id,)))

    @staticmethod
    def _run_view(row: Any) -> dict[str, Any]:
        return {
            "id": row["id"],
            "monitor": row["monitor"],
            "at": row["at"],
            "trigger": row["trigger"],
            "status": row["status"],
            "value": row["value"],
            "threshold": row["threshold"],
            "message": row["message"],
            "results": json.loads(row["results"]),
            "actions": json.loads(row["actions"]),
        }

    def runs(self, name: str, limit: int = 20) -> list[dict[str, Any]]:
        self.config(name)
        rows = self.core.db.query(
            "SELECT * FROM monitor_runs WHERE monitor = ? ORDER BY at DESC LIMIT ?", (name, max(1, limit))
        )
        return [self._run_view(r) for r in rows]

    def config(self, name: str) -> dict[str, Any]:
        try:
            return self.core.resource("monitor", name)["config"]
        except NotFound:
            raise NotFound(f"no monitor '{name}' is applied") from None

    # --- actions ----------------------------------------------------------------------------------

    def _act(self, config: dict[str, Any], evaluation: Evaluation) -> list[dict[str, Any]]:
        name = config["name"]
        detail = f"{config['kind']} on {watched(config)}: {evaluation.summary()}"
        alert = self.core.on_monitor_alert(name, detail)  # records it and starts retraining pipelines
        done: list[dict[str, Any]] = [{"type": "retrain", "runs": alert["runs"]}] if alert["runs"] else []
        for action in config.get("actions", []):
            if action["type"] == "alert":
                done.extend(self._notify(target, name, detail, evaluation) for target in action["to"])
            elif action["type"] == "rollback":
                try:
                    message = self.core.rollouts.rollback(config["endpoint"], f"monitor {name}: {detail}")
                    done.append({"type": "rollback", "ok": True, "message": message})
                except MlstackError as exc:
                    done.append({"type": "rollback", "ok": False, "message": str(exc)})
        self.core.audit.record(None, "monitor", name, detail, {"actions": done})
        return done

    def _notify(self, target: str, name: str, detail: str, evaluation: Evaluation) -> dict[str, Any]:
        url = urlparse(target)
        if url.scheme not in ("http", "https"):
            return {"type": "alert", "to": target, "delivered": False, "message": "recorded (not a webhook URL)"}
        if url.hostname not in LOCAL_HOSTS:
            return {
                "type": "alert",
                "to": target,
                "delivered": False,
                "message": "recorded, not sent: the local emulator posts only to webhooks on this machine",
            }
        import httpx

        body = {
            "monitor": name,
            "detail": detail,
            "results": [r.to_dict() for r in evaluation.breached],
            "at": time.time(),
        }
        try:
            response = httpx.post(target, json=body, timeout=WEBHOOK_TIMEOUT, trust_env=False)
        except httpx.HTTPError as exc:
            return {"type": "alert", "to": target, "delivered": False, "message": f"{type(exc).__name__}: {exc}"}
        ok = response.status_code < 400
        return {"type": "alert", "to": target, "delivered": ok, "message": f"HTTP {response.status_code}"}

    # --- evaluation -------------------------------------------------------------------------------

    def evaluate(self, config: dict[str, Any], now: float | None = None) -> Evaluation:
        now = time.time() if now is None else now
        kind = config["kind"]
        since = None if kind == "model_quality" else now - schedule_interval(config["schedule"], now)
        captures = self._captures(config, since)
        threshold = config.get("threshold")
        if kind == "model_quality":
            return self._model_quality(config, captures, threshold, (since, now))
        reference = self._baselines.table(Path(config["baseline"]))
        current = self._features(config, captures, reference)
        # prediction drift compares predictions: its baseline may hold nothing but the prediction column
        columns = [PREDICTION] if kind == "prediction_drift" else _columns(config, reference, current)
        evaluation = Evaluation(config, (since, now), len(current), [], reference, current, columns)
        if evaluation.rows == 0:
            evaluation.note = f"no captured requests on {watched(config)} in the window"
            return evaluation
        if kind == "prediction_drift":
            reference_predictions = self._reference_predictions(config, reference)
            current_predictions = _explode(captures[captures["status"] == 200], "predictions")
            evaluation.reference = reference_predictions.to_frame(PREDICTION)
            evaluation.current = current_predictions.to_frame(PREDICTION)
            evaluation.columns = [PREDICTION]
        # Data drift compares with the baseline's profile, computed once per baseline file (Baselines).
        baseline = self._baselines.profile(Path(config["baseline"]), columns) if kind == "data_drift" else None
        evaluation.results = measure(
            kind,
            config["metric"],
            threshold=threshold,
            reference=evaluation.reference if baseline is None else baseline,
            current=evaluation.current,
            columns=evaluation.columns,
        )
        return evaluation

    def _captures(self, config: dict[str, Any], since: float | None) -> pd.DataFrame:
        from mlstack.emulator.batch import captures_dir

        if config.get("batch_job"):
            table = read_captures(captures_dir(self.core), config["batch_job"], since)
        else:
            self.core.serving.flusher.flush()  # what was answered up to now counts
            table = read_captures(self.core.state.captures, config["endpoint"], since)
        frame = table.to_pandas()
        return frame[frame["role"].fillna("production") == "production"]

    def _features(self, config: dict[str, Any], captures: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        rows = [row for text in captures["request"] for row in _instances(text)]
        if not rows:
            return pd.DataFrame(columns=list(reference.columns))
        if isinstance(rows[0], dict):
            return pd.DataFrame.from_records(rows)
        width = len(rows[0])
        for names in (self._model_features(config), config.get("features") or [], list(reference.columns)):
            if len(names) == width:
                return pd.DataFrame(rows, columns=names)
        raise BadRequest(
            f"monitor {config['name']}: requests carry {width} positional features, and neither the model, the "
            "monitor's features nor the baseline's columns name that many; send named features"
        )

    def _model_features(self, config: dict[str, Any]) -> list[str]:
        runtime = self.core.serving.serving(config["endpoint"]) if config.get("endpoint") else None
        return runtime.routing.production[0].predictor.feature_names if runtime else []

    def _reference_predictions(self, config: dict[str, Any], reference: pd.DataFrame) -> pd.Series:
        import pandas as pd

        if PREDICTION in reference.columns:
            return reference[PREDICTION]
        runtime = self.core.serving.serving(config["endpoint"]) if config.get("endpoint") else None
        if runtime is None:
            raise BadRequest(
                f"monitor {config['name']}: the baseline has no '{PREDICTION}' column and {watched(config)} "
                "serves nothing to predict it with"
            )
        predictor = runtime.routing.production[0].predictor
        names = predictor.feature_names or [c for c in reference.columns if c != PREDICTION]
        missing = [n for n in names if n not in reference.columns]
        if missing:
            raise BadRequest(f"monitor {config['name']}: the baseline lacks the model's features {', '.join(missing)}")
        return pd.Series(predictor.predict(reference[names].values.tolist())["predictions"])

    def _model_quality(
        self,
        config: dict[str, Any],
        captures: pd.DataFrame,
        threshold: float | None,
        window: tuple[float | None, float],
    ) -> Evaluation:
        joined = self._labelled(config["endpoint"], captures)
        evaluation = Evaluation(config, window, len(joined), [], labelled=joined)
        if joined.empty:
            evaluation.note = (
                f"no captured answer of endpoint {config['endpoint']} has a label yet "
                "(send them with `mlstack feedback` or POST /v1/endpoints/{name}/ground-truth)"
            )
            return evaluation
        labelled = Labelled(joined["label"].tolist(), joined["prediction"].tolist(), joined["score"].tolist())
        evaluation.results = measure(
            "model_quality",
            config["metric"],
            threshold=threshold,
            labelled=labelled,
            problem_type=config.get("problem_type"),
        )
        return evaluation

    def _labelled(self, endpoint: str, captures: pd.DataFrame) -> pd.DataFrame:
        """One row per predicted instance that has a label: label, prediction, score."""
        import pandas as pd

        labels = self.labels(endpoint)
        columns = ["correlation_id", "label", "prediction", "score"]
        if labels.empty or captures.empty:
            return pd.DataFrame(columns=columns)
        merged = captures[captures["status"] == 200].merge(labels, on="correlation_id", how="inner")
        out = []
        for cid, text, label in zip(merged["correlation_id"], merged["response"], merged["label"], strict=True):
            answer = json.loads(text)
            predictions = answer.get("predictions", [])
            scores = answer.get("scores") or [None] * len(predictions)
            truth = label if isinstance(label, list) else [label]
            if len(truth) != len(predictions):
                continue  # a label per instance is needed; a mismatch cannot be joined
            out.extend(
                (cid, t, p, s if not isinstance(s, list) else None)
                for t, p, s in zip(truth, predictions, scores, strict=True)
            )
        return pd.DataFrame(out, columns=columns)

    # --- ground truth -----------------------------------------------------------------------------

    def add_labels(self, endpoint: str, labels: list[dict[str, Any]]) -> int:
        """Store labels ({"correlation_id", "label"}) for an endpoint's answers."""
        self.core.resource("endpoint", endpoint)
        rows = []
        for item in labels:
            if not isinstance(item, dict) or not isinstance(item.get("correlation_id"), str) or "label" not in item:
                raise BadRequest(
                    'each label needs "correlation_id" (text) and "label": {"correlation_id": "...", "label": 1}'
                )
            rows.append(
                {"correlation_id": item["correlation_id"], "label": json.dumps(item["label"]), "at": time.time()}
            )
        if not rows:
            return 0
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder = inside(self.ground_truth_dir, endpoint)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
        pq.write_table(pa.Table.from_pylist(rows), folder / f".{name}")
        (folder / f".{name}").rename(folder / name)
        return len(rows)

    def labels(self, endpoint: str) -> pd.DataFrame:
        """The latest label per correlation id."""
        import pandas as pd

        files = sorted(inside(self.ground_truth_dir, endpoint).glob("part-*.parquet"))
        if not files:
            return pd.DataFrame(columns=["correlation_id", "label"])
        frame = pd.concat([pd.read_parquet(f) for f in files]).sort_values("at")
        frame = frame.drop_duplicates("correlation_id", keep="last")
        frame["label"] = frame["label"].map(json.loads)
        return frame[["correlation_id", "label"]]


def schedule_interval(cron: str, now: float) -> float:
    """Seconds between the schedule's runs around `now`: the window a run looks back over."""
    from croniter import croniter

    base = datetime.fromtimestamp(now, UTC)
    return float(croniter(cron, base).get_next(float) - croniter(cron, base).get_prev(float))


def watched(config: dict[str, Any]) -> str:
    """What a monitor watches, as a person reads it."""
    return f"batch job {config['batch_job']}" if config.get("batch_job") else f"endpoint {config['endpoint']}"


def read_table(path: Path) -> pd.DataFrame:
    """A baseline file or folder (CSV/Parquet) as a DataFrame."""
    import duckdb

    from mlstack.emulator.features.offline import source_sql

    if not path.exists():
        raise BadRequest(f"baseline {path} does not exist")
    try:
        with duckdb.connect() as conn:  # not duckdb.sql's connection, which every thread shares
            return conn.sql(f"SELECT * FROM {source_sql(path)}").df()
    except duckdb.Error as exc:
        raise BadRequest(f"cannot read baseline {path}: {exc}") from None


def _instances(text: str) -> list[Any]:
    try:
        payload = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return []
    instances = payload.get("instances", payload.get("inputs")) if isinstance(payload, dict) else None
    return instances if isinstance(instances, list) else []


def _explode(captures: pd.DataFrame, key: str) -> pd.Series:
    import pandas as pd

    values = [v for text in captures["response"] for v in json.loads(text).get(key, [])]
    return pd.Series(values, name=PREDICTION)


def _columns(config: dict[str, Any], reference: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    wanted = config.get("features") or [c for c in reference.columns if c in set(current.columns)]
    missing = [c for c in wanted if c not in reference.columns]
    if missing:
        raise BadRequest(f"monitor {config['name']}: the baseline has no column {', '.join(missing)}")
    if len(current) and (absent := [c for c in wanted if c not in current.columns]):
        raise BadRequest(f"monitor {config['name']}: the captured requests have no feature {', '.join(absent)}")
    if not wanted:
        raise BadRequest(f"monitor {config['name']}: the baseline and the captured requests share no column")
    return wanted
