"""`mlstack plan` and `mlstack diff` from 10 to 500 endpoints on every target, in CPU seconds.

    python3 benchmarks/bench_plan.py [--sizes 10 100 500] [--targets aws gcp azure local] [--baseline-size 100]

The specs come from benchmarks/specgen.py (every strategy, four compute shapes, autoscaling, data
capture, monitors; the head side carries one of each change a pull request brings). For each target
and size it times, in one process, after a warm-up plan in this process that imports the target's SDK
(the forked planners inherit it, as they would in any process that has planned before):

* plan: load, resolve and plan the head spec and write its JSON (what `mlstack plan --json` does);
* diff: `review(base, head)` and its markdown (what `mlstack diff --format markdown` does).

Both plan in forked children (`mlstack.plan.planned_apart`), whose CPU time is counted too (os.times of
the children).

CPU seconds (this machine is shared: wall time moves with the other jobs), one run per point. It prints
the cost per endpoint between the two largest sizes and the exponent of a log-log fit over all sizes
(1.0 is linear), and checks the issue-21 target: both at most 6 s at 500 endpoints.

Baseline, in the same run at --baseline-size endpoints: the plan as it was before issue 21, in this
process, the Pulumi program run as written (every resource's aliases turned into URNs) with the cycle
collector on; the two plans must be identical, and the ratio is printed.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from specgen import generate  # noqa: E402

from mlstack import plan as planning  # noqa: E402
from mlstack.resolve import resolve  # noqa: E402
from mlstack.review.render import to_markdown  # noqa: E402
from mlstack.review.report import review  # noqa: E402
from mlstack.spec import load  # noqa: E402

TARGET_SECONDS = 6.0
TARGET_SIZE = 500


def cpu() -> float:
    """CPU seconds of this process and of its waited-for children (the review's forked planner)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def cpu_time(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = cpu()
    result = fn()
    return cpu() - started, result


def plan_json(spec: Path, target: str) -> str:
    """What `mlstack plan --json` does."""
    (resources,) = planning.planned_apart(resolve(load(spec, target=target)))
    return planning.to_json(resources)


def as_written(resolved: Any, build: Any) -> None:
    """The plan before issue 21: aliases kept, the cycle collector on."""
    gc.enable()
    build(resolved)


def baseline(spec: Path, target: str) -> tuple[float, str]:
    """In this process, as `mlstack plan` did before issue 21."""
    fast = planning._build_without_aliases
    planning._build_without_aliases = as_written
    try:
        return cpu_time(lambda: planning.to_json(planning.plan(resolve(load(spec, target=target)))))
    finally:
        planning._build_without_aliases = fast


def fit(sizes: list[int], seconds: list[float]) -> tuple[float, float]:
    """(seconds per endpoint between the two largest sizes, exponent of the log-log least squares)."""
    per_endpoint = (seconds[-1] - seconds[-2]) / (sizes[-1] - sizes[-2])
    xs, ys = [math.log(s) for s in sizes], [math.log(t) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    exponent = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    return per_endpoint, exponent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--targets", nargs="+", default=["aws", "gcp", "azure", "local"])
    parser.add_argument("--baseline-size", type=int, default=100, help="0 skips the baseline")
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    failures: list[str] = []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for target in args.targets:
            specs = {}
            for n in sorted({*sizes, args.baseline_size} - {0}):
                base, head = Path(tmp, f"{target}-{n}-base.yaml"), Path(tmp, f"{target}-{n}-head.yaml")
                base.write_text(generate(n, target))
                head.write_text(generate(n, target, edited=True))
                specs[n] = (base, head)
            # warm-up in this process: the target's SDK and the provider modules its resources live in are
            # imported once here, and every forked planner inherits them
            planning.plan(resolve(load(specs[min(specs)][1], target=target)))
            plans, diffs = [], []
            for n in sizes:
                base, head = specs[n]
                seconds, _ = cpu_time(lambda h=head, t=target: plan_json(h, t))
                plans.append(seconds)
                seconds, _ = cpu_time(lambda b=base, h=head, t=target: to_markdown(review(str(b), str(h), target=t)))
                diffs.append(seconds)
                print(f"{target} {n:>4} endpoints: plan {plans[-1]:6.2f} s, diff {diffs[-1]:6.2f} s", flush=True)
            line = f"{target:<6}" + "".join(f"{p:>9.2f}{d:>9.2f}" for p, d in zip(plans, diffs, strict=True))
            if len(sizes) >= 2:
                (plan_slope, plan_exp), (diff_slope, diff_exp) = fit(sizes, plans), fit(sizes, diffs)
                line += f"{plan_slope * 1e3:>12.1f}{plan_exp:>6.2f}{diff_slope * 1e3:>12.1f}{diff_exp:>6.2f}"
            if args.baseline_size:
                base_head = specs[args.baseline_size][1]
                new_seconds, new_json = cpu_time(lambda h=base_head, t=target: plan_json(h, t))
                old_seconds, old_json = baseline(base_head, target)
                if old_json != new_json:
                    failures.append(f"{target}: the plan differs from the program's as written")
                line += f"{old_seconds:>10.2f}{new_seconds:>8.2f}{old_seconds / new_seconds:>7.1f}x"
            rows.append(line)
            if TARGET_SIZE in sizes:
                at = sizes.index(TARGET_SIZE)
                for what, seconds in (("plan", plans[at]), ("diff", diffs[at])):
                    if seconds > TARGET_SECONDS:
                        failures.append(f"{target}: {what} of {TARGET_SIZE} endpoints took {seconds:.2f} s CPU")
    header = f"{'target':<6}" + "".join(f"{f'plan@{n}':>9}{f'diff@{n}':>9}" for n in sizes)
    if len(sizes) >= 2:
        header += f"{'plan ms/ep':>12}{'exp':>6}{'diff ms/ep':>12}{'exp':>6}"
    if args.baseline_size:
        header += f"{f'old@{args.baseline_size}':>10}{'new':>8}{'ratio':>8}"
    print("\nCPU seconds; ms/ep between the two largest sizes; exp = log-log slope over all sizes (1 = linear)")
    print(header + "\n" + "\n".join(rows))
    print("\n" + ("\n".join(f"MISSED {f}" for f in failures) if failures else "all checked targets met"))


if __name__ == "__main__":
    main()
