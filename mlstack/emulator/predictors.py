"""Models as the endpoints call them: a registry version loaded into something that predicts.

Two kinds are served:

* **sklearn**: an estimator saved with skops (`.skops`, loaded only when every type in it is one
  skops trusts by default: no code runs on load) or with joblib (`.joblib`, a pickle: loading it
  runs whatever the file says). Rows are lists (positional features) or objects
  (named features, matched to the names the estimator was fitted on). Classifiers with
  `predict_proba` also answer `scores` (the positive class's probability for two classes, one list
  per row otherwise), which model-quality monitors use for AUC.
* **custom**: `entrypoint: module:function` on the version. The module is looked up next to the
  version's original artifact (the folder of `artifact` in the spec), then on the Python path. The
  function takes the list of instances (and the artifact's path, when it accepts a second argument)
  and returns one prediction per instance.

A bad request (wrong width, missing features, non-numeric rows) is a 400 with the reason; a model
that raises is a 500 naming the exception.

`load` runs only in a fleet's worker processes (`workers.py`), never in the server: the server holds
a `Predictor`, which knows what the model takes and sends its predictions to the workers.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from mlstack.emulator.errors import BadRequest
from mlstack.emulator.pipelines.lineage import file_sha256
from mlstack.emulator.registry import ARTIFACT_DIGEST, Version

SERVABLE = ("sklearn", "custom")
# Frameworks whose models are saved with joblib or skops behind scikit-learn's estimator API
# (XGBoost's XGBClassifier, for one): served as scikit-learn models.
JOBLIB_FRAMEWORKS = ("sklearn", "xgboost")
SKLEARN_SUFFIXES = (".joblib", ".skops")


class InvocationError(Exception):
    """A request that cannot be answered: `status` is the HTTP status, the message the reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def parse_instances(body: bytes) -> list[Any]:
    """`{"instances": [...]}` (or "inputs"), each a list of values or an object of named features."""
    try:
        payload = json.loads(body, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvocationError(400, f"the request body is not JSON: {exc}") from None
    except RecursionError:
        raise InvocationError(400, "the request body nests too deeply") from None
    instances = payload.get("instances", payload.get("inputs")) if isinstance(payload, dict) else None
    if not isinstance(instances, list) or not instances:
        raise InvocationError(400, 'send {"instances": [...]}: a non-empty list of rows (lists or objects)')
    first = type(instances[0])
    if first in (list, dict) and all(type(row) is first for row in instances):
        return instances
    raise InvocationError(400, "instances must all be lists (positional features) or all objects (named features)")


def _no_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity, which are not JSON and no model should be scored on.
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def to_json(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value


@dataclass(frozen=True)
class Predictor:
    """A model version as the server knows it: what it takes (feature names, width) and `predict`,
    which runs it in a worker process and returns the answer's fields (predictions, maybe scores)."""

    version: Version
    feature_names: list[str]
    width: int
    predict: Callable[[list[Any]], dict[str, Any]]


@dataclass(frozen=True)
class Model:
    """One model version loaded, inside a worker process. `predict_many` answers several requests at
    once (each its fields or its InvocationError); `batches` says whether it does that in one call."""

    version: Version
    model: Any  # the estimator, or the custom function
    predict: Callable[[list[Any]], dict[str, Any]]
    predict_many: Callable[[list[list[Any]]], list[dict[str, Any] | InvocationError]] | None = None

    @property
    def batches(self) -> bool:
        return self.predict_many is not None

    def answer_all(self, requests: list[list[Any]]) -> list[dict[str, Any] | InvocationError]:
        if self.predict_many is not None:
            return self.predict_many(requests)
        return [_answer(self.predict, instances) for instances in requests]

    @property
    def feature_names(self) -> list[str]:
        return [str(n) for n in getattr(self.model, "feature_names_in_", [])]

    @property
    def width(self) -> int:
        return int(getattr(self.model, "n_features_in_", 0) or len(self.feature_names))


def load(version: Version) -> Model:
    verify_digest(version)
    if version.framework in JOBLIB_FRAMEWORKS and version.artifact.endswith(SKLEARN_SUFFIXES):
        return _sklearn(version)
    if version.framework == "custom":
        return _custom(version)
    raise BadRequest(
        f"{version.ref} is a {version.framework} model; the local emulator serves "
        f"{' and '.join(SERVABLE)} models (scikit-learn saved with skops or joblib, or a Python entrypoint)"
    )


def verify_digest(version: Version) -> None:
    """Refuse an artifact that is not the file registered: loading a pickle runs code."""
    recorded = version.lineage.get(ARTIFACT_DIGEST)
    if recorded is None:
        return  # registered before digests were recorded
    path = Path(version.artifact)
    if not path.is_file():
        return  # the loader says the file is gone
    actual = file_sha256(path)
    if actual != recorded:
        raise BadRequest(
            f"{version.ref}: the artifact {path} is not the file registered (sha256 {actual[:12]}, "
            f"registered {recorded[:12]}); refusing to load it. Register it again if the change is yours."
        )


# --- scikit-learn ---------------------------------------------------------------------------------


def _sklearn(version: Version) -> Model:
    try:
        model = _skops(version) if version.artifact.endswith(".skops") else _joblib(version)
    except BadRequest:
        raise
    except Exception as exc:
        raise BadRequest(f"cannot load {version.ref} from {version.artifact}: {type(exc).__name__}: {exc}") from None
    if not callable(getattr(model, "predict", None)):
        raise BadRequest(f"{version.ref}: the artifact holds a {type(model).__name__}, which has no predict()")
    names = [str(n) for n in getattr(model, "feature_names_in_", [])]
    width = int(getattr(model, "n_features_in_", 0) or len(names))
    proba = getattr(model, "predict_proba", None) if _is_classifier(model) else None

    def raw(rows: Any) -> dict[str, Any]:
        try:
            answer = {"predictions": model.predict(rows)}
            if proba is not None:
                scores = proba(rows)
                answer["scores"] = scores[:, 1] if scores.shape[1] == 2 else scores
        except (ValueError, TypeError) as exc:
            # scikit-learn's input checks: strings where numbers go, NaN the estimator cannot take.
            raise InvocationError(400, f"the model cannot use these instances: {exc}") from None
        except Exception as exc:
            raise InvocationError(500, f"the model raised {type(exc).__name__}: {exc}") from None
        return answer

    def predict(instances: list[Any]) -> dict[str, Any]:
        return {key: to_json(value) for key, value in raw(_rows(instances, names, width)).items()}

    def predict_many(requests: list[list[Any]]) -> list[dict[str, Any] | InvocationError]:
        """Several requests' rows in one call (scikit-learn predicts row by row, and most of a small
        request's cost is the estimator's per-call checks); each request is checked alone first, and
        predicted alone when the joint call fails, so an error is only ever its own request's."""
        answers: list[dict[str, Any] | InvocationError] = []
        ready: list[tuple[int, Any]] = []
        for instances in requests:
            try:
                ready.append((len(answers), _rows(instances, names, width)))
                answers.append({})
            except InvocationError as exc:
                answers.append(exc)
            except Exception as exc:  # this request's own failure, not its batch's
                answers.append(InvocationError(500, f"the model raised {type(exc).__name__}: {exc}"))
        joint = _stack([rows for _, rows in ready]) if len(ready) > 1 else None
        if joint is not None:
            with contextlib.suppress(InvocationError):
                fields = raw(joint)
                if all(len(value) == len(joint) for value in fields.values()):
                    first = 0
                    for index, rows in ready:
                        answers[index] = {key: to_json(value[first : first + len(rows)]) for key, value in fields.items()}
                        first += len(rows)
                    return answers
        for index, rows in ready:
            try:
                answers[index] = {key: to_json(value) for key, value in raw(rows).items()}
            except InvocationError as exc:
                answers[index] = exc
        return answers

    return Model(version, model, predict, predict_many)


def _answer(predict: Callable[[list[Any]], dict[str, Any]], instances: list[Any]) -> dict[str, Any] | InvocationError:
    try:
        return predict(instances)
    except InvocationError as exc:
        return exc


def _stack(parts: list[Any]) -> Any:
    """The requests' rows as one input, or None when they do not stack (different columns or kinds)."""
    import numpy as np

    if all(isinstance(rows, np.ndarray) for rows in parts):
        if len({rows.shape[1:] for rows in parts}) == 1:
            return np.concatenate(parts)
        return None
    import pandas as pd

    if all(isinstance(rows, pd.DataFrame) for rows in parts):
        columns = list(parts[0].columns)
        if all(list(rows.columns) == columns for rows in parts):
            return pd.concat(parts, ignore_index=True)
    return None


def _joblib(version: Version) -> Any:
    import joblib

    return joblib.load(version.artifact)


def _skops(version: Version) -> Any:
    """A skops file, refused when it holds a type skops does not trust by default: such a type's
    constructor is code the file chooses, which is what skops exists to avoid running."""
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=version.artifact)
    if untrusted:
        shown = ", ".join(untrusted[:5]) + (f" and {len(untrusted) - 5} more" if len(untrusted) > 5 else "")
        raise BadRequest(
            f"{version.ref}: {version.artifact} holds types skops does not trust: {shown}; the emulator loads "
            "skops files only when every type in them is trusted (save a plain scikit-learn estimator, or "
            "serve a joblib file you trust)"
        )
    return sio.load(version.artifact)


def _is_classifier(model: Any) -> bool:
    from sklearn.base import is_classifier

    try:
        return bool(is_classifier(model))
    except Exception:  # an object that only looks like an estimator
        return False


def _rows(instances: list[Any], names: list[str], width: int) -> Any:
    """The instances as the estimator takes them: a DataFrame when it was fitted on named columns."""
    if isinstance(instances[0], dict):
        import pandas as pd

        frame = pd.DataFrame.from_records(instances)
        if names:
            missing = [n for n in names if n not in frame.columns]
            if missing:
                raise InvocationError(400, f"instances lack features: {', '.join(missing)}")
            frame = frame[names]
        elif width and frame.shape[1] != width:
            raise InvocationError(400, f"instances have {frame.shape[1]} features; the model takes {width}")
        return frame
    import numpy as np

    try:
        rows = np.asarray(instances, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: an integer past float's range
        raise InvocationError(400, f"instances are not numeric rows of equal length: {exc}") from None
    if rows.ndim != 2:
        raise InvocationError(400, "instances must be rows: a list of lists of numbers")
    if width and rows.shape[1] != width:
        raise InvocationError(400, f"instances have {rows.shape[1]} features; the model takes {width}")
    if names:
        import pandas as pd

        return pd.DataFrame(rows, columns=names)
    return rows


# --- custom entrypoints ---------------------------------------------------------------------------


def _custom(version: Version) -> Model:
    entrypoint = version.entrypoint or ""
    module_name, sep, function_name = entrypoint.partition(":")
    if not sep or not module_name or not function_name:
        raise BadRequest(f"{version.ref}: a custom model needs entrypoint: module:function, not '{entrypoint}'")
    module = _import(version, module_name)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise BadRequest(f"{version.ref}: {module_name} has no function {function_name}")
    try:
        takes_artifact = len(inspect.signature(function).parameters) >= 2
    except (TypeError, ValueError):
        takes_artifact = False
    artifact = version.artifact

    def predict(instances: list[Any]) -> dict[str, Any]:
        try:
            predictions = to_json(function(instances, artifact) if takes_artifact else function(instances))
        except Exception as exc:
            raise InvocationError(500, f"the model raised {type(exc).__name__}: {exc}") from None
        if not isinstance(predictions, list) or len(predictions) != len(instances):
            got = f"{len(predictions)} predictions" if isinstance(predictions, list) else type(predictions).__name__
            raise InvocationError(500, f"{entrypoint} returned {got} for {len(instances)} instances")
        return {"predictions": predictions}

    return Model(version, function, predict)


def _import(version: Version, module_name: str) -> ModuleType:
    source = version.lineage.get("artifact_source")
    if source:
        folder = Path(source).parent
        path = folder.joinpath(*module_name.split(".")).with_suffix(".py")
        if path.is_file():
            # A private module name per version: two versions may ship different code under one name.
            unique = f"mlstack_model_{version.group.replace('-', '_')}_v{version.version}_{int(version.created_at)}"
            spec = importlib.util.spec_from_file_location(unique, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                raise BadRequest(f"{version.ref}: importing {path} raised {type(exc).__name__}: {exc}") from None
            return module
    try:
        return importlib.import_module(module_name)
    except Exception as exc:
        looked = f" (looked next to the artifact in {Path(source).parent} and on the Python path)" if source else ""
        raise BadRequest(f"{version.ref}: cannot import {module_name}{looked}: {type(exc).__name__}: {exc}") from None
