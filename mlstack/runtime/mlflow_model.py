"""`python3 -m mlstack.runtime.mlflow_model MODEL_DIR OUT_DIR`: a trained model as an MLflow model.

A training step writes `model.joblib` (contract.py). A platform that serves models without scoring code
(Azure ML's no-code deployment) serves MLflow models only, so the registration step writes the same object
into OUT_DIR in the MLflow model format that `mlflow.sklearn.save_model(..., serialization_format="pickle")`
writes: `model.pkl`, the `MLmodel` file naming the `python_function` (loader `mlflow.sklearn`, which calls
the object's `predict`) and `sklearn` flavors, and the model's dependencies (`conda.yaml`,
`python_env.yaml`, `requirements.txt`), from which the platform builds the serving environment.

The version's lineage travels with it: the step adapter's lineage file in MODEL_DIR (the data's path and
SHA-256) and the job that registers it (Azure ML hands each job its run as MLFLOW_RUN_ID) go into the
MLmodel file's `metadata` (MLflow's own field for it) and, with a third argument RECORD_DIR, into
RECORD_DIR/mlstack-version-tags.json, where the pipeline's deployment step reads them to tag the version
(mlstack.backends.azure.deploy_job); the lineage file itself is copied beside the model.

The dependencies are exactly the installed distributions whose modules the pickle references, pinned to the
versions the training image has, plus pandas (the loader hands `predict` a DataFrame) and MLflow's own
loader. Modules of the step's own code that no distribution installs (a custom transformer in the image's
working directory) are copied to `code/`, which MLflow puts on sys.path before loading.

Standard library only (joblib comes with the training image that wrote model.joblib): it runs in the
step's own image, where mlstack is installed without its dependencies."""

from __future__ import annotations

import io
import json
import os
import pickle
import platform
import shutil
import sys
import uuid
from datetime import UTC, datetime
from importlib import metadata, util
from pathlib import Path
from typing import Any

from mlstack.runtime import contract
from mlstack.runtime.lineage import LINEAGE_FILE

PICKLED = "model.pkl"
CODE = "code"
# MLflow's pyfunc loader; the platform's MLflow image provides it, so it is named, not pinned
LOADER = "mlflow-skinny"
VERSION_TAGS = "mlstack-version-tags.json"  # the lineage tags for the deployment step to set


class ExportError(Exception):
    """A model that cannot be written as an MLflow model; the message says why."""


def _referenced_modules(data: bytes) -> set[str]:
    """The top-level modules the pickle imports when it is loaded (what loading it needs installed)."""
    found: set[str] = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            found.add(module.split(".", 1)[0])
            return super().find_class(module, name)

    Recorder(io.BytesIO(data)).load()
    return found


def _requirements(modules: set[str]) -> tuple[list[str], list[str]]:
    """`dist==version` for the distributions installing `modules`, and the modules no distribution installs."""
    owners = metadata.packages_distributions()
    pins: set[str] = set()
    local = []
    for module in sorted(modules - set(sys.stdlib_module_names) - {"builtins", "__main__"}):
        if module in owners:
            pins.update(f"{dist}=={metadata.version(dist)}" for dist in owners[module])
        else:
            local.append(module)
    if "pandas" in owners:
        pins.add(f"pandas=={metadata.version('pandas')}")
    return sorted(pins, key=str.lower), local


def _copy_code(modules: list[str], out: Path) -> None:
    """The step's own modules the pickle needs, into out/code (MLflow's `code` directory)."""
    for module in modules:
        spec = util.find_spec(module)
        origin = Path(spec.origin) if spec and spec.origin else None
        if origin is None or not origin.is_file():
            raise ExportError(
                f"the model needs module {module!r}, which neither an installed distribution nor a file provides"
            )
        target = out / CODE
        target.mkdir(exist_ok=True)
        if spec is not None and spec.submodule_search_locations:  # a package: its folder
            shutil.copytree(origin.parent, target / module, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, target / origin.name)


def _yaml(value: Any, indent: int = 0) -> str:
    """Block YAML of nested dicts and lists with JSON scalars (JSON strings are YAML double-quoted scalars)."""
    pad = " " * indent
    lines = []
    items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
    for key, item in items:
        head = f"{pad}{key}:" if key is not None else f"{pad}-"
        if isinstance(item, dict | list) and item:
            lines.append(head)
            lines.append(_yaml(item, indent + 2))
        else:
            lines.append(f"{head} {json.dumps(item)}")
    return "\n".join(lines)


def lineage(model_dir: Path) -> dict[str, str]:
    """What the version records of where it came from, as Azure model tags (string to string): the data
    the training step read, when the adapter recorded it, and the job registering the model."""
    record: dict[str, str] = {}
    found = model_dir / LINEAGE_FILE
    if found.is_file():
        data = json.loads(found.read_text(encoding="utf-8"))["data"]
        record |= {"mlstack-data-sha256": data["sha256"], "mlstack-data-uri": data["path"]}
    if job := os.environ.get("MLFLOW_RUN_ID"):
        record["mlstack-job"] = job
    return record


def export(model_dir: Path, out: Path) -> dict[str, Any]:
    """Write the model in model_dir/model.joblib to `out` as an MLflow model; returns the MLmodel content."""
    source = model_dir / contract.MODEL_FILE
    if not source.is_file():
        raise ExportError(f"{model_dir} holds no {contract.MODEL_FILE}: the training step wrote no model")
    try:
        import joblib
    except ImportError:
        raise ExportError("the step image has no joblib, which reading model.joblib needs") from None
    model = joblib.load(source)
    if not callable(getattr(model, "predict", None)):
        raise ExportError(f"{contract.MODEL_FILE} holds a {type(model).__name__}, which has no predict method")
    data = pickle.dumps(model)
    pins, local = _requirements(_referenced_modules(data))
    out.mkdir(parents=True, exist_ok=True)
    (out / PICKLED).write_bytes(data)
    _copy_code(local, out)
    python = platform.python_version()
    requirements = [LOADER, *pins]
    pyfunc: dict[str, Any] = {
        "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
        "loader_module": "mlflow.sklearn",
        "model_path": PICKLED,
        "predict_fn": "predict",
        "python_version": python,
    }
    if local:
        pyfunc["code"] = CODE
    sklearn = {"pickled_model": PICKLED, "serialization_format": "pickle"}
    if "scikit-learn" in metadata.packages_distributions().get("sklearn", []):
        sklearn["sklearn_version"] = metadata.version("scikit-learn")
    mlmodel: dict[str, Any] = {
        "flavors": {"python_function": pyfunc, "sklearn": sklearn},
        "model_size_bytes": len(data),
        "model_uuid": uuid.uuid4().hex,
        "utc_time_created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
    }
    if record := lineage(model_dir):
        mlmodel["metadata"] = record
    if (model_dir / LINEAGE_FILE).is_file():
        shutil.copy2(model_dir / LINEAGE_FILE, out / LINEAGE_FILE)
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", "pip", {"pip": requirements}],
        "name": "mlflow-env",
    }
    python_env = {"python": python, "build_dependencies": ["pip"], "dependencies": ["-r requirements.txt"]}
    (out / "MLmodel").write_text(_yaml(mlmodel) + "\n", encoding="utf-8")
    (out / "conda.yaml").write_text(_yaml(conda) + "\n", encoding="utf-8")
    (out / "python_env.yaml").write_text(_yaml(python_env) + "\n", encoding="utf-8")
    (out / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    return mlmodel


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print("usage: python3 -m mlstack.runtime.mlflow_model MODEL_DIR OUT_DIR [RECORD_DIR]", file=sys.stderr)
        return 2
    try:
        mlmodel = export(Path(args[0]), Path(args[1]))
        if len(args) == 3:
            Path(args[2]).mkdir(parents=True, exist_ok=True)
            record = json.dumps(mlmodel.get("metadata") or {}, sort_keys=True)
            (Path(args[2]) / VERSION_TAGS).write_text(record, encoding="utf-8")
    except (ExportError, OSError, pickle.PicklingError) as exc:
        print(f"mlstack: {exc}", file=sys.stderr)
        return 1
    print(f"mlstack: wrote an MLflow model ({mlmodel['model_size_bytes']} bytes) to {args[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
