"""Cold start of `mlstack validate specs/fraud-detection.yaml` against the import floor of any CLI
built on python + pydantic + yaml + typer + rich, both measured here, in fresh processes.

    python3 benchmarks/bench_validate.py [--runs 15]

Target (issue 2): under 0.5 s on this machine."""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = "import pydantic, yaml, typer, rich"
VALIDATE = "from mlstack.cli import main; main()"


def cold(code: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    # An installed package has bytecode; build it so that neither side pays for compiling.
    compileall.compile_dir(ROOT / "mlstack", quiet=1)
    cold(FLOOR)
    floor, validate = [], []
    for _ in range(args.runs):  # interleaved, so machine noise hits both alike
        floor.append(cold(FLOOR))
        validate.append(cold(VALIDATE, "validate", "specs/fraud-detection.yaml", "--env", "prod"))
    f, v = statistics.median(floor), statistics.median(validate)
    print(f"import floor (python+pydantic+yaml+typer+rich): median {f * 1000:.0f} ms over {args.runs} runs")
    print(
        f"mlstack validate specs/fraud-detection.yaml:    median {v * 1000:.0f} ms, p90 "
        f"{sorted(validate)[int(0.9 * len(validate))] * 1000:.0f} ms"
    )
    print(f"ratio validate / floor: {v / f:.2f}x; target < 500 ms: {'met' if v < 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
