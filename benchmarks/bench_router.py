"""Router overhead: an emulator endpoint against a bare uvicorn app serving the same model, same run.

    python3 benchmarks/bench_router.py [--requests 40000] [--seconds 10] [--rounds 3] [--concurrency 32]

The model is trivial (scikit-learn LinearRegression over 4 features, saved with joblib), so what is
measured is everything around it. Two servers run as their own processes on 127.0.0.1, both on
uvicorn with the same settings (httptools and uvloop when installed):

* **bare**: a plain ASGI app that reads the body, parses `{"instances": [...]}`, calls
  `model.predict` in the event loop and writes `{"predictions": [...]}`, nothing else;
* **emulator**: `mlstack`'s emulator with the model declared in a spec and an endpoint serving it
  (token check, data plane, variant choice, worker hand-off with the invocation timeout, answer
  window for the rollback alarms, correlation id and variant headers). Data capture is off here; a
  last round with 100% capture is printed for information.

Load comes from a second process (`benchmarks/loadgen.py`, keep-alive connections), bounded by
`--requests` and `--seconds` per measurement. Throughput is measured at `--concurrency` in-flight
requests; latency at one request in flight (so that p99 is service time, not queueing). Rounds
alternate bare and emulator, so a busy machine slows both alike; the best round of each is used.
The targets: emulator throughput >= 80% of bare, and added p99 latency < 1 ms. Exit status 0 when
both hold.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BODY = '{"instances": [[1.0, 2.0, 3.0, 4.0]]}'
LATENCY_REQUESTS = 3000

BARE_APP = """
import json
import socket
import sys

import joblib
import numpy as np
import uvicorn

model = joblib.load(sys.argv[1])


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    rows = np.asarray(json.loads(body)["instances"], dtype=float)
    answer = json.dumps({"predictions": model.predict(rows).tolist()}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(2048)
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")).run(sockets=[sock])
"""


def make_model(folder: Path) -> Path:
    import joblib
    import numpy as np
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    path = folder / "model.joblib"
    joblib.dump(LinearRegression().fit(x, x @ [1.0, 2.0, 3.0, 4.0]), path)
    return path


def start_bare(folder: Path, model: Path) -> tuple[subprocess.Popen[str], int]:
    script = folder / "bare_app.py"
    script.write_text(BARE_APP)
    proc = subprocess.Popen([sys.executable, str(script), str(model)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def start_emulator(folder: Path, capture: int) -> tuple[object, int, str]:
    sys.path.insert(0, str(REPO))
    from mlstack.emulator import desired, process
    from mlstack.emulator.client import Client
    from mlstack.emulator.layout import StateDir
    from mlstack.spec import load

    spec = folder / f"bench-{capture}.yaml"
    spec.write_text(
        textwrap.dedent(
            f"""
            apiVersion: mlstack/v1
            name: bench
            owner: bench@example.com
            target: {{cloud: local, local: {{state_dir: state-{capture}}}}}
            registry:
              model_groups:
                - name: trivial
                  approval: auto
                  versions: [{{version: 1, artifact: model.joblib}}]
            endpoints:
              - name: ep
                model: {{group: trivial, version: 1}}
                compute: {{vcpus: 1}}
                data_capture: {{enabled: {str(capture > 0).lower()}, sampling_percent: {max(capture, 1)}}}
            """
        )
    )
    state = StateDir(folder / f"state-{capture}")
    info = process.start(state)
    client = Client(info.url, state.read_token(), state=state)
    op = client.post("/v1/apply", desired.build(load(spec, target="local")))
    final = client.follow(op["id"], lambda event: None)
    if final["status"] != "succeeded":
        raise SystemExit(f"the emulator did not deploy the benchmark endpoint: {final['message']}")
    client.close()
    return state, info.port, state.read_token()


def measure(port: int, path: str, token: str | None, requests: int, seconds: float, concurrency: int) -> dict:
    command = [
        sys.executable,
        str(HERE / "loadgen.py"),
        "--port",
        str(port),
        "--path",
        path,
        "--body",
        BODY,
        "--requests",
        str(requests),
        "--seconds",
        str(seconds),
        "--concurrency",
        str(concurrency),
    ]
    if token:
        command += ["--token", token]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    if set(result["statuses"]) != {"200"}:
        raise SystemExit(f"non-200 answers during the benchmark: {result['statuses']}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Emulator router overhead against a bare uvicorn app.")
    parser.add_argument("--requests", type=int, default=40_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)

    from mlstack.emulator import process

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = make_model(folder)
        bare, bare_port = start_bare(folder, model)
        state, emu_port, token = start_emulator(folder, capture=0)
        targets = {
            "bare": (bare_port, "/invocations", None),
            "emulator": (emu_port, "/endpoints/ep/invocations", token),
        }
        best: dict[str, dict[str, float]] = {name: {} for name in targets}
        try:
            for port, path, auth in targets.values():  # warm both up
                measure(port, path, auth, 2000, 5, args.concurrency)
            for round_number in range(1, args.rounds + 1):
                for name, (port, path, auth) in targets.items():
                    load = measure(port, path, auth, args.requests, args.seconds, args.concurrency)
                    single = measure(port, path, auth, LATENCY_REQUESTS, args.seconds, 1)
                    print(
                        f"round {round_number} {name:>8}: {load['throughput']:8.0f} req/s at concurrency "
                        f"{args.concurrency} ({load['requests']} requests in {load['seconds']:.1f}s); one in flight: "
                        f"p50 {single['p50_ms']:.3f} ms, p99 {single['p99_ms']:.3f} ms"
                    )
                    mine = best[name]
                    mine["throughput"] = max(mine.get("throughput", 0.0), load["throughput"])
                    mine["p50"] = min(mine.get("p50", float("inf")), single["p50_ms"])
                    mine["p99"] = min(mine.get("p99", float("inf")), single["p99_ms"])
            captured_state, captured_port, captured_token = start_emulator(folder, capture=100)
            try:
                captured = measure(
                    captured_port,
                    "/endpoints/ep/invocations",
                    captured_token,
                    args.requests,
                    args.seconds,
                    args.concurrency,
                )
            finally:
                process.stop(captured_state)
        finally:
            bare.terminate()
            bare.wait(timeout=10)
            process.stop(state)

    ratio = best["emulator"]["throughput"] / best["bare"]["throughput"]
    added_p99 = best["emulator"]["p99"] - best["bare"]["p99"]
    added_p50 = best["emulator"]["p50"] - best["bare"]["p50"]
    print(
        f"\nthroughput: emulator {best['emulator']['throughput']:.0f} req/s, bare {best['bare']['throughput']:.0f} "
        f"req/s: ratio {ratio:.2f} (target >= 0.80)"
    )
    print(f"added latency, one in flight: p50 {added_p50:+.3f} ms, p99 {added_p99:+.3f} ms (target p99 < 1 ms)")
    print(
        f"for information, with 100% data capture: {captured['throughput']:.0f} req/s "
        f"({captured['throughput'] / best['bare']['throughput']:.2f} of bare)"
    )
    ok = ratio >= 0.80 and added_p99 < 1.0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
