"""Reviews of the example spec and of edits to it, written as a reviewer's pull request would make them.

Both sides of a pair live in one directory, so the relative data paths in the spec resolve alike."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlstack.catalog import Catalog, Sku, get_catalog
from mlstack.resolve import Resolved, resolve
from mlstack.review.report import Review, review
from mlstack.spec import loads

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "fraud-detection.yaml"
TARGETS = ("aws", "gcp", "azure", "local")

Spec = dict[str, Any]


def example() -> Spec:
    return yaml.safe_load(EXAMPLE.read_text())


def endpoint(spec: Spec, name: str) -> Spec:
    return next(e for e in spec["endpoints"] if e["name"] == name)


def raise_canary(spec: Spec) -> None:
    endpoint(spec, "fraud-scorer")["strategy"]["percent"] = 25


def change_gpu(spec: Spec) -> None:
    spec["compute"]["gpu-inference"] = {"gpu": "T4", "gpus": 1}


def remove_monitor(spec: Spec) -> None:
    """feature-drift goes, with what names it: the retrain trigger and the prod threshold."""
    spec["monitors"] = [m for m in spec["monitors"] if m["name"] != "feature-drift"]
    for pipeline in spec["pipelines"]:
        pipeline["triggers"] = [t for t in pipeline.get("triggers", []) if t["on_alert"] != "feature-drift"]
    for env in spec["environments"].values():
        monitors = env.get("monitors", {})
        monitors.pop("feature-drift", None)
        if not monitors:
            env.pop("monitors", None)


def rename_endpoint(spec: Spec) -> None:
    endpoint(spec, "fraud-ab")["name"] = "fraud-ab2"


def add_feature_view(spec: Spec) -> None:
    spec["feature_store"]["views"].append(
        {
            "name": "card-velocity",
            "entity": "customer",
            "source": {"uri": "card_velocity", "timestamp_field": "event_ts"},
            "ttl": "1d",
            "features": [{"name": "cards_used_1h", "dtype": "int64"}],
        }
    )


def scale_up(spec: Spec) -> None:
    """The scorer's autoscaling floor twenty times higher: the platform's monthly cost more than doubles."""
    scorer = endpoint(spec, "fraud-scorer")
    scorer["instance_count"] = 40
    scorer["autoscaling"].update({"min": 40, "max": 60})


EDITS: dict[str, Callable[[Spec], None]] = {
    "canary": raise_canary,
    "gpu": change_gpu,
    "monitor": remove_monitor,
    "rename": rename_endpoint,
    "feature_view": add_feature_view,
    "scale_up": scale_up,
}


SMALL = """\
apiVersion: mlstack/v1
name: shop
owner: team@example.com
target:
  cloud: aws
  region: us-east-1
  aws:
    account_id: "123456789012"
    data_root: s3://shop-data
compute:
  small:
    vcpus: 2
    memory_gb: 4
  large:
    vcpus: 8
    memory_gb: 32
registry:
  model_groups:
    - name: ranker
      versions:
        - version: 1
          artifact: models/ranker/1/
          aliases: [champion]
        - version: 2
          artifact: models/ranker/2/
          aliases: [challenger]
endpoints:
  - name: rank
    model:
      group: ranker
      alias: champion
    compute: small
    instance_count: 2
    data_capture:
      sampling_percent: 20
    strategy:
      type: canary
      percent: 10
      rollback:
        max_error_rate: 0.02
monitors:
  - name: drift
    kind: data_drift
    endpoint: rank
    baseline: baselines/train.csv
    metric: jensen_shannon
environments:
  prod:
    monitors:
      drift:
        threshold: 0.2
"""


def small() -> Spec:
    """A one-endpoint shop on aws, small enough to edit by hand in a test."""
    return yaml.safe_load(SMALL)


def resolved(spec: Spec, env: str | None = None, target: str | None = None) -> Resolved:
    return resolve(loads(yaml.safe_dump(spec, sort_keys=False), env=env, target=target))


GIT_ENV = {
    "PATH": "/usr/bin:/bin",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=GIT_ENV)


def pull_request_checkout(repo: Path, spec: Path) -> None:
    """A pull request's checkout: origin/main has the small spec at `spec`, the working tree raises
    its canary to 20%."""
    git(repo, "init", "-q", "-b", "main")
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(yaml.safe_dump(small()))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    head = small()
    head["endpoints"][0]["strategy"]["percent"] = 20
    spec.write_text(yaml.safe_dump(head))


def write_pair(directory: Path, base: Spec | str, head: Spec | str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = directory / "base.yaml", directory / "head.yaml"
    for path, spec in zip(paths, (base, head), strict=True):
        path.write_text(spec if isinstance(spec, str) else yaml.safe_dump(spec, sort_keys=False))
    return paths


@pytest.fixture(scope="session")
def edited_review(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Review]:
    """review(target, edit, env="prod"): the example spec against itself with one edit (once per session)."""
    reviews: dict[tuple[str, str, str | None], Review] = {}

    def get(target: str, edit: str, env: str | None = "prod") -> Review:
        key = (target, edit, env)
        if key not in reviews:
            head = copy.deepcopy(example())
            EDITS[edit](head)
            where = tmp_path_factory.mktemp(f"{target}-{edit}-{env}")
            base, changed = write_pair(where, EXAMPLE.read_text(), head)
            reviews[key] = review(str(base), str(changed), target=target, env=env)
        return reviews[key]

    return get


# Cost arithmetic runs on a catalog given test figures (`priced`, as if read on the vendor's page); what an
# unknown price does runs on one with every price unknown (`unpriced`).
def _prices(monkeypatch: pytest.MonkeyPatch, price: Callable[[Sku], float | None]) -> None:
    catalog = get_catalog()
    changed = Catalog([replace(s, price_usd_hour=price(s)) for s in catalog.skus()], catalog.gpus, catalog.vertex)
    monkeypatch.setattr(catalog, "_skus", changed._skus)
    monkeypatch.setattr(catalog, "_index", changed._index)


@pytest.fixture
def priced(monkeypatch: pytest.MonkeyPatch) -> None:
    _prices(monkeypatch, lambda s: round(0.05 * s.vcpus + 0.01 * s.memory_gb + 1.0 * s.gpus, 5))


@pytest.fixture
def unpriced(monkeypatch: pytest.MonkeyPatch) -> None:
    _prices(monkeypatch, lambda s: None)
