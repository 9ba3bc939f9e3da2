"""Generated specs for benchmarks: a platform with N endpoints that cycle through every strategy,
compute shape, autoscaling and data capture, with monitors on some of them, for any target.

`generate(n, target, edited=True)` is the same platform after a typical pull request: a canary percent
raised, a GPU changed, a monitor removed, an endpoint renamed, a feature view added, a scaling limit moved.

    python3 benchmarks/specgen.py 100 --target aws --out /tmp/specs   # writes base.yaml and head.yaml
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

# Where each target reads model artifacts, feature sources and baselines from.
SCHEMES = {
    "aws": ("s3://bench-models", "s3://bench-data/features", "s3://bench-data/baselines"),
    "gcp": ("gs://bench-models", "bq://bench-project.features", "gs://bench-data/baselines"),
    "azure": (
        "azureml://bench-models",
        "abfss://features@bench.dfs.core.windows.net",
        "abfss://baselines@bench.dfs.core.windows.net",
    ),
    "local": ("models", "data/features", "data/baselines"),
}
COMPUTE = ("cpu-small", "cpu-medium", "gpu-t4", "gpu-24")
# A framework each target serves on both CPU and GPU compute: the clouds have no GPU image for
# scikit-learn, the emulator runs scikit-learn in-process and no PyTorch server.
FRAMEWORK = {"aws": "pytorch", "gcp": "pytorch", "azure": "pytorch", "local": "sklearn"}
GROUPS = 10


def _strategy(i: int) -> dict[str, Any]:
    kind = ("all_at_once", "blue_green", "canary", "linear", "shadow", "ab")[i % 6]
    group = f"model-{i % GROUPS}"
    if kind == "canary":
        return {"type": "canary", "percent": 5 + i % 30, "bake_time": "10m", "rollback": {"max_error_rate": 0.02}}
    if kind == "linear":
        return {"type": "linear", "step_percent": 10 + i % 40, "interval": "5m"}
    if kind == "blue_green":
        return {"type": "blue_green", "termination_wait": "5m"}
    if kind == "shadow":
        return {"type": "shadow", "challenger": {"group": group, "alias": "challenger"}, "percent": 20}
    if kind == "ab":
        other = f"model-{(i + 1) % GROUPS}"
        return {
            "type": "ab",
            "variants": [
                {"name": "arm-a", "model": {"group": group, "version": 1}, "weight": 70},
                {"name": "arm-b", "model": {"group": other, "version": 2}, "weight": 30},
            ],
        }
    return {"type": "all_at_once"}


def _endpoint(i: int) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"name": f"scorer-{i:03d}"}
    strategy = _strategy(i)
    if strategy["type"] != "ab":
        endpoint["model"] = {"group": f"model-{i % GROUPS}", "alias": "champion"}
    endpoint["compute"] = COMPUTE[i % len(COMPUTE)]
    endpoint["instance_count"] = 1 + i % 2
    if i % 3 == 0:
        endpoint["autoscaling"] = {"min": 1 + i % 2, "max": 4 + i % 3, "target": 100}
    if i % 2 == 0:
        endpoint["data_capture"] = {"sampling_percent": 10 + i % 50}
    endpoint["strategy"] = strategy
    return endpoint


def platform(n: int, target: str) -> dict[str, Any]:
    models, features, baselines = SCHEMES[target]
    endpoints = [_endpoint(i) for i in range(n)]
    monitored = [e["name"] for e in endpoints if "data_capture" in e][::2]
    return {
        "apiVersion": "mlstack/v1",
        "name": "bench-platform",
        "owner": "ml-platform@example.com",
        "target": {
            "cloud": target,
            "region": {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus", "local": None}[target],
            "aws": {"account_id": "123456789012"},
            # private endpoints are reached through forwarding rules in this network
            "gcp": {"project": "bench-project", "network": "bench-vpc", "subnet": "ml-private-endpoints"},
            "azure": {
                "subscription_id": "00000000-1111-2222-3333-444444444444",
                "resource_group": "rg-bench",
                "workspace": "bench-ml",
            },
        },
        "compute": {
            "cpu-small": {"vcpus": 2, "memory_gb": 4},
            "cpu-medium": {"vcpus": 4, "memory_gb": 16},
            "gpu-t4": {"gpu": "T4", "gpus": 1},
            "gpu-24": {"gpu": "inference-24gb", "gpus": 1},
        },
        "registry": {
            "model_groups": [
                {
                    "name": f"model-{g}",
                    "versions": [
                        {
                            "version": v,
                            "artifact": f"{models}/model-{g}/{v}/model.tar.gz",
                            "framework": FRAMEWORK[target],
                            "aliases": [alias],
                        }
                        for v, alias in ((1, "champion"), (2, "challenger"))
                    ],
                }
                for g in range(GROUPS)
            ]
        },
        "feature_store": {
            "entities": [{"name": "customer", "join_keys": [{"name": "customer_id", "dtype": "int64"}]}],
            "views": [_view(v, features) for v in range(3)],
        },
        "endpoints": endpoints,
        "monitors": [
            {
                "name": f"drift-{name}",
                "kind": "data_drift",
                "endpoint": name,
                "baseline": f"{baselines}/{name}.csv",
                "metric": "jensen_shannon",
                "threshold": 0.1,
                "schedule": "0 * * * *",
            }
            for name in monitored
        ],
    }


def _view(v: int, features: str) -> dict[str, Any]:
    return {
        "name": f"customer-stats-{v}",
        "entity": "customer",
        "source": {"uri": f"{features}.customer_stats_{v}", "timestamp_field": "event_ts"},
        "features": [{"name": f"feature_{v}_{k}", "dtype": "float64"} for k in range(4)],
    }


def edit(spec: dict[str, Any], features: str) -> dict[str, Any]:
    """The pull request: one of each change a reviewer meets."""
    endpoints = spec["endpoints"]
    canary = next(e for e in endpoints if e["strategy"]["type"] == "canary")
    canary["strategy"]["percent"] += 15
    gpu = next(e for e in endpoints if e["compute"] == "gpu-t4")
    gpu["compute"] = "gpu-24"
    spec["monitors"].pop()
    renamed = next(e for e in endpoints if not any(m["endpoint"] == e["name"] for m in spec["monitors"]))
    renamed["name"] += "-v2"
    scaled = next(e for e in endpoints if "autoscaling" in e)
    scaled["autoscaling"]["max"] += 4
    spec["feature_store"]["views"].append(_view(len(spec["feature_store"]["views"]), features))
    return spec


def generate(n: int, target: str = "aws", edited: bool = False) -> str:
    spec = platform(n, target)
    if edited:
        spec = edit(spec, SCHEMES[target][1])
    if spec["target"]["region"] is None:
        del spec["target"]["region"]
    return yaml.safe_dump(spec, sort_keys=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoints", type=int)
    parser.add_argument("--target", default="aws", choices=sorted(SCHEMES))
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "base.yaml").write_text(generate(args.endpoints, args.target))
    (args.out / "head.yaml").write_text(generate(args.endpoints, args.target, edited=True))
    print(f"wrote {args.out / 'base.yaml'} and {args.out / 'head.yaml'}")


if __name__ == "__main__":
    main()
