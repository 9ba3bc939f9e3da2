"""Endpoints: registry model versions served over HTTP, one or more weighted variants each.

A deployment loads every variant's model before it replaces what the endpoint served, so an update
never takes serving down, and a model that fails to load leaves the old deployment in place."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlstack.emulator.capture import CaptureFlusher, CaptureWriter
from mlstack.emulator.errors import BadRequest, NotFound
from mlstack.emulator.registry import Version

VARIANT_HEADER = "x-mlstack-variant"
SERVABLE = ("sklearn",)


def example_request(version: Version, model: Any) -> dict[str, Any]:
    """A request body the model accepts: the first row of its training data when the registry
    knows it, zeros otherwise; named features when the model was fitted on named columns."""
    names = [str(n) for n in getattr(model, "feature_names_in_", [])]
    width = int(getattr(model, "n_features_in_", 0) or len(names))
    row: list[Any] = [0.0] * width
    data = version.lineage.get("data_uri")
    if names and data and Path(data).is_file():
        import duckdb

        from mlstack.emulator.features.offline import quote, source_sql

        try:
            first = duckdb.sql(f"SELECT {', '.join(quote(n) for n in names)} FROM {source_sql(Path(data))} LIMIT 1")
            row = list(next(iter(first.fetchall()), row))
        except duckdb.Error:
            pass  # the zeros still make a valid request
    return {"instances": [dict(zip(names, row, strict=True)) if names else row]}


class InvocationError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Variant:
    name: str
    version: Version
    weight: int
    model: Any

    def describe(self) -> dict[str, Any]:
        return {
            "variant": self.name,
            "group": self.version.group,
            "version": self.version.version,
            "weight": self.weight,
        }


def load_model(version: Version) -> Any:
    if version.framework not in SERVABLE:
        raise BadRequest(
            f"{version.ref} is a {version.framework} model; the local emulator serves "
            f"{', '.join(SERVABLE)} models saved with joblib"
        )
    import joblib

    try:
        model = joblib.load(version.artifact)
    except Exception as exc:
        raise BadRequest(f"cannot load {version.ref} from {version.artifact}: {type(exc).__name__}: {exc}") from None
    if not callable(getattr(model, "predict", None)):
        raise BadRequest(f"{version.ref}: the artifact holds a {type(model).__name__}, which has no predict()")
    return model


def parse_instances(body: bytes) -> list[Any]:
    """`{"instances": [...]}` (or "inputs"), each a list of numbers or an object of named features."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvocationError(400, f"the request body is not JSON: {exc}") from None
    instances = payload.get("instances", payload.get("inputs")) if isinstance(payload, dict) else None
    if not isinstance(instances, list) or not instances:
        raise InvocationError(400, 'send {"instances": [...]}: a non-empty list of rows (lists or objects)')
    if all(isinstance(row, dict) for row in instances) or all(isinstance(row, list) for row in instances):
        return instances
    raise InvocationError(400, "instances must all be lists (positional features) or all objects (named features)")


def to_json(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value


def predict(model: Any, instances: list[Any]) -> list[Any]:
    if isinstance(instances[0], dict):
        import pandas as pd

        frame = pd.DataFrame.from_records(instances)
        names = getattr(model, "feature_names_in_", None)
        if names is not None:
            missing = [n for n in names if n not in frame.columns]
            if missing:
                raise InvocationError(400, f"instances lack features: {', '.join(missing)}")
            frame = frame[list(names)]
        rows: Any = frame
    else:
        import numpy as np

        try:
            rows = np.asarray(instances, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InvocationError(400, f"instances are not numeric rows of equal length: {exc}") from None
    try:
        return to_json(model.predict(rows))
    except Exception as exc:
        raise InvocationError(500, f"the model raised {type(exc).__name__}: {exc}") from None


class EndpointRuntime:
    def __init__(self, name: str, variants: list[Variant], capture: CaptureWriter | None) -> None:
        self.name = name
        self.variants = variants
        self.capture = capture
        self._weights = [v.weight for v in variants]

    def choose(self) -> Variant:
        if len(self.variants) == 1:
            return self.variants[0]
        return random.choices(self.variants, weights=self._weights)[0]

    def invoke(self, body: bytes) -> tuple[int, dict[str, Any], Variant]:
        started = time.perf_counter()
        variant = self.choose()
        try:
            predictions = predict(variant.model, parse_instances(body))
            status, answer = 200, {"predictions": predictions, "model": variant.version.ref, "variant": variant.name}
        except InvocationError as exc:
            status, answer = exc.status, {"error": str(exc), "variant": variant.name}
        if self.capture is not None and self.capture.sampled():
            self.capture.record(
                variant=variant.name,
                model=variant.version.ref,
                latency_ms=(time.perf_counter() - started) * 1000,
                status=status,
                request=body.decode("utf-8", "replace"),
                response=json.dumps(answer),
            )
        return status, answer, variant

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "variants": [v.describe() for v in self.variants]}


class Serving:
    def __init__(self, captures: Path) -> None:
        self.captures = captures
        self._endpoints: dict[str, EndpointRuntime] = {}
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.flusher = CaptureFlusher()

    def deploy(self, name: str, variants: list[tuple[str, Version, int]], capture_percent: int) -> EndpointRuntime:
        loaded = [Variant(n, version, weight, self._model(version)) for n, version, weight in variants]
        capture = None
        if capture_percent > 0:
            capture = self.flusher.writers.get(name) or CaptureWriter(self.captures, name, capture_percent)
            capture.percent = capture_percent
            self.flusher.writers[name] = capture
        runtime = EndpointRuntime(name, loaded, capture)
        with self._lock:
            self._endpoints[name] = runtime
        return runtime

    def _model(self, version: Version) -> Any:
        # A replaced version keeps its artifact path but gets a new creation time.
        key = f"{version.artifact}@{version.created_at}"
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = load_model(version)
        return model

    def remove(self, name: str) -> None:
        with self._lock:
            self._endpoints.pop(name, None)
        writer = self.flusher.writers.pop(name, None)
        if writer is not None:
            writer.flush()

    def get(self, name: str) -> EndpointRuntime:
        runtime = self._endpoints.get(name)
        if runtime is None:
            raise NotFound(f"no endpoint '{name}' is serving")
        return runtime

    def serving(self, name: str) -> EndpointRuntime | None:
        return self._endpoints.get(name)

    def close(self) -> None:
        self.flusher.close()
