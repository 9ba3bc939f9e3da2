"""`mlstack diff` of two 100-endpoint specs, end to end, against planning the two sides alone.

    python3 benchmarks/bench_diff.py [--endpoints 100] [--target aws] [--repeat 3]

The specs come from benchmarks/specgen.py: every strategy, four compute shapes, autoscaling, data
capture and monitors, and on the head side one of each change a pull request brings (canary percent,
GPU, removed monitor, renamed endpoint, added feature view, scaling limit). It times:

* end to end: `python3 -m mlstack diff base.yaml head.yaml --format markdown` as a fresh process
  (imports, validation, two offline plans under Pulumi mocks, comparison, rendering) — target < 10 s;
* in this process, `mlstack.review.report.review` (load, both plans, comparison, risks, cost) and the
  rendering, against the baseline of planning the two sides one after the other with plain
  `mlstack.plan.plan` — what a diff cannot avoid doing. Both sides plan with the cycle collector
  paused (`plan` pauses it itself); the review plans the base side in a forked child meanwhile, so its
  wall-clock ratio is below 1.
Medians of --repeat runs. The target is from issue 9."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from specgen import generate  # noqa: E402

TARGET_SECONDS = 10.0


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def end_to_end(base: Path, head: Path, target: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mlstack", "diff", str(base), str(head), "--target", target, "--format", "markdown"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 2:
        raise SystemExit(f"mlstack diff exited {done.returncode} (expected 2, changes):\n{done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--target", default="aws", choices=("aws", "gcp", "azure", "local"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from mlstack.plan import plan
    from mlstack.resolve import resolve
    from mlstack.review.render import to_markdown
    from mlstack.review.report import review
    from mlstack.spec import load

    with tempfile.TemporaryDirectory() as tmp:
        base, head = Path(tmp, "base.yaml"), Path(tmp, "head.yaml")
        base.write_text(generate(args.endpoints, args.target))
        head.write_text(generate(args.endpoints, args.target, edited=True))

        resolved = [resolve(load(p, target=args.target)) for p in (base, head)]
        planned = [plan(r) for r in resolved]  # warm-up: imports and the provider SDK's first use
        resources = sum(1 for r in planned[1] if r.custom)
        baseline = median_time(lambda: [plan(r) for r in resolved], args.repeat)
        result = review(str(base), str(head), target=args.target)
        in_process = median_time(lambda: review(str(base), str(head), target=args.target), args.repeat)
        render = median_time(lambda: to_markdown(result), args.repeat)
        e2e = statistics.median(end_to_end(base, head, args.target) for _ in range(args.repeat))

    print(f"specs: {args.endpoints} endpoints on {args.target}; head plans {resources} cloud resources")
    print(f"changes: {result.counts}; {len(result.components)} component changes; {len(result.risks)} risks")
    print(f"baseline, the two plans in turn:   {baseline:7.2f} s")
    print(f"review in process (load to risks): {in_process:7.2f} s  ({in_process / baseline:.2f}x the baseline)")
    print(f"markdown rendering:                {render:7.2f} s")
    print(
        f"end to end, `mlstack diff` process: {e2e:6.2f} s  (target < {TARGET_SECONDS:.0f} s: {'met' if e2e < TARGET_SECONDS else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
