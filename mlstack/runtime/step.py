"""The step adapter: runs a user's code step on a cloud under the one step contract (contract.py).

Each cloud's plan starts a code step as

    python3 -m mlstack.runtime.step ENTRYPOINT --kind=KIND --pipeline=P --step=S --output=DIR
        [--input=NAME=DIR ...] [--data=PATH] [--hyperparameters=FILE] [--run-id=ID] [-- PARAMETERS]

with the platform's own paths in those options (SageMaker processing `/opt/ml/processing/...`, SageMaker
training `/opt/ml/model`, `/opt/ml/input/data/<channel>` and `/opt/ml/input/config/hyperparameters.json`,
Vertex's artifact paths, Azure ML's `${{inputs.*}}`/`${{outputs.*}}` mounts). PARAMETERS are `--name=value`
or `--name value`. The adapter then smooths over what differs between platforms:

- an input folder holding only `model.tar.gz` (how SageMaker hands on a training job's output) is unpacked
  in place, so the next step finds `model.joblib` and whatever else training wrote beside it;
- a data folder (an S3 prefix or a mounted `uri_folder`) stands for the one data file inside it;
- parameters arrive as text on every platform; JSON numbers and booleans become numbers and booleans.

It runs the entrypoint exactly as the emulator does, then fails the job when a training step wrote no
model or an evaluation step wrote no flat metrics.json, which is what gates on every target read.
What the step logged with `mlstack.runtime.tracking` ($MLSTACK_METRICS_LOG) and an evaluation's metrics
go to the cloud's own tracker the job's environment names (SageMaker managed MLflow, Azure ML's workspace
MLflow, Vertex AI Experiments: see mlstack/runtime/tracking.py), when the image has its client; they stay
in the step's output folder as tracking.jsonl either way. A step given data also gets
`mlstack-lineage.json` in its output (the data's path, SHA-256 and size), which the register job records
on the model version.

Standard library only: it runs inside the step's own image, where mlstack is installed without its
dependencies."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from mlstack.runtime import contract, lineage, tracking

ARCHIVE = "model.tar.gz"  # SageMaker's packing of a training job's /opt/ml/model
DATA_SUFFIXES = (".parquet", ".csv", ".json", ".jsonl")


class AdapterError(Exception):
    """A step that cannot start or that broke the contract; the message says which and why."""


def _value(text: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return value if isinstance(value, bool | int | float) else text


def parse_parameters(args: list[str]) -> dict[str, Any]:
    """`--name=value` and `--name value` pairs as {name: value}."""
    params: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or arg == "--":
            raise AdapterError(f"step parameter {arg!r} is not --name=value or --name value")
        name, sep, value = arg[2:].partition("=")
        if not sep:
            if i + 1 >= len(args):
                raise AdapterError(f"step parameter --{name} has no value")
            value = args[i + 1]
            i += 1
        params[name] = _value(value)
        i += 1
    return params


def hyperparameters(path: Path) -> dict[str, Any]:
    """SageMaker writes a training job's HyperParameters as a JSON object of strings."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise AdapterError(f"{path} is not a JSON object")
    return {str(k): _value(str(v)) for k, v in data.items()}


def unpack_model_archive(folder: Path) -> None:
    archive = folder / ARCHIVE
    if not archive.is_file() or (folder / contract.MODEL_FILE).exists():
        return
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")


def data_file(path: str) -> str:
    """The data file a `--data` option names: itself, or the one data file in a folder."""
    if not path:
        return ""
    folder = Path(path)
    if not folder.is_dir():
        return path
    found = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES)
    if len(found) != 1:
        raise AdapterError(f"data folder {folder} holds {len(found)} data files ({', '.join(DATA_SUFFIXES)}); need one")
    return str(found[0])


def _split_input(text: str) -> tuple[str, Path]:
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise AdapterError(f"--input {text!r} is not NAME=DIR")
    return name, Path(folder)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m mlstack.runtime.step", description=__doc__.split("\n")[0])
    parser.add_argument("entrypoint", help="path/file.py or package.module:function")
    parser.add_argument("--kind", required=True, choices=sorted(contract.CODE_KINDS))
    parser.add_argument("--pipeline", required=True)
    parser.add_argument("--step", required=True)
    parser.add_argument("--output", required=True, type=Path, help="folder the platform keeps after the step")
    parser.add_argument("--input", action="append", default=[], help="NAME=DIR: the output of step NAME")
    parser.add_argument("--data", default="", help="the pipeline's data file, or a folder holding it")
    parser.add_argument("--hyperparameters", type=Path, help="a JSON file of parameters (SageMaker training)")
    parser.add_argument("--run-id", default="")
    return parser


def run(argv: list[str]) -> int:
    if "--" in argv:
        cut = argv.index("--")
        own, rest = argv[:cut], argv[cut + 1 :]
    else:
        own, rest = argv, []
    args = _parser().parse_args(own)
    params = hyperparameters(args.hyperparameters) if args.hyperparameters else {}
    params.update(parse_parameters(rest))
    inputs = dict(_split_input(text) for text in args.input)
    for folder in inputs.values():
        unpack_model_archive(folder)
    args.output.mkdir(parents=True, exist_ok=True)
    call = contract.invocation(
        run_id=args.run_id,
        pipeline=args.pipeline,
        step={"name": args.step, "kind": args.kind, "entrypoint": args.entrypoint},
        params=params,
        output_dir=args.output,
        inputs=inputs,
        data=data_file(args.data),
        champion_model=None,
        workdir=str(Path.cwd()),
    )
    code = subprocess.run(call.argv, env=call.env, cwd=call.cwd, check=False).returncode
    if code != 0:
        raise AdapterError(f"step {args.step}: {args.entrypoint} exited with status {code}")
    if missing := contract.missing_output(args.kind, args.output):
        raise AdapterError(f"step {args.step}: {missing}")
    data = Path(call.env["MLSTACK_DATA"])
    if call.env["MLSTACK_DATA"] and data.exists():  # a step may be handed a path it never reads
        record = {"data": {"path": args.data, "sha256": lineage.file_sha256(data), "bytes": data.stat().st_size}}
        (args.output / lineage.LINEAGE_FILE).write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
    metrics: dict[str, float] = {}
    try:
        if args.kind == "evaluation":
            metrics = contract.read_metrics(args.output / contract.METRICS_FILE)
            print(f"mlstack: step {args.step} metrics {json.dumps(metrics, sort_keys=True)}")
        logged = tracking.read(args.output / tracking.TRACKING_FILE)
    except ValueError as exc:
        raise AdapterError(f"step {args.step}: {exc}") from None
    tags = {"mlstack.pipeline": args.pipeline, "mlstack.step": args.step, "mlstack.run_id": args.run_id}
    name = f"{args.run_id or args.pipeline}/{args.step}"
    print(f"mlstack: step {args.step} tracking {tracking.forward(logged, metrics, run_name=name, tags=tags)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except (AdapterError, OSError, json.JSONDecodeError) as exc:
        print(f"mlstack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
