"""The serving parts on their own: worker pools under timeouts, weighted routing, rollout steps,
rollback alarms and the autoscaling rule."""

from __future__ import annotations

import asyncio
import collections
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlstack.emulator import predictors
from mlstack.emulator.autoscaling import wanted
from mlstack.emulator.errors import BadRequest
from mlstack.emulator.predictors import InvocationError
from mlstack.emulator.registry import Version
from mlstack.emulator.rollout import Step, alarm, initial_instances, steps_for
from mlstack.emulator.traffic import Routing, Window
from mlstack.emulator.workers import WorkerPool

WORKER_MODELS = """
import os
import time


def echo(instances):
    if instances[0][0] == "hang":
        time.sleep(30)
    if instances[0][0] == "crash":
        os._exit(3)
    if instances[0][0] == "raise":
        raise ValueError("bad")
    return [[os.getpid(), *row] for row in instances]
"""


def _custom_version(folder: Path, entrypoint: str = "models:echo") -> Version:
    (folder / "models.py").write_text(WORKER_MODELS)
    artifact = folder / "custom.bin"
    artifact.write_text("state in code")
    lineage = {"artifact_source": str(artifact)}
    return Version("m", 1, str(artifact), "custom", entrypoint, "approved", {}, {}, lineage, "api", time.time())


def test_a_hung_call_times_out_and_its_worker_process_is_replaced(tmp_path):
    pool = WorkerPool("test", _custom_version(tmp_path), 1, timeout=5)

    async def scenario() -> tuple[list[object], float]:
        (first,) = (await pool.run([["a"]], timeout=5))["predictions"]
        with pytest.raises(TimeoutError):
            await pool.run([["hang"]], timeout=0.3)
        started = time.perf_counter()
        answers = await asyncio.gather(*(pool.run([[i]], timeout=5) for i in range(5)))
        return [first, *(a["predictions"][0] for a in answers)], time.perf_counter() - started

    (first, *answers), took = asyncio.run(scenario())
    assert [row[1] for row in answers] == [0, 1, 2, 3, 4] and took < 5
    # A new process answered: the hung one was killed, not left holding a thread.
    assert {row[0] for row in answers} != {first[0]} and not _alive(first[0])
    assert (pool.size, pool.replaced) == (1, 1)
    pool.close()


def test_a_crash_or_exception_in_the_model_reaches_the_caller_and_the_pool_recovers(tmp_path):
    pool = WorkerPool("test", _custom_version(tmp_path), 2, timeout=5)

    async def scenario() -> object:
        with pytest.raises(InvocationError, match="the model raised ValueError: bad") as raised:
            await pool.run([["raise"]], timeout=5)
        assert raised.value.status == 500
        with pytest.raises(InvocationError, match=r"worker process exited while predicting \(exit code 3\)"):
            await pool.run([["crash"]], timeout=5)
        return await asyncio.gather(*(pool.run([[i]], timeout=5) for i in range(4)))

    answers = asyncio.run(scenario())
    assert [a["predictions"][0][1] for a in answers] == [0, 1, 2, 3]
    assert os.getpid() not in {a["predictions"][0][0] for a in answers}
    assert pool.replaced == 1
    # The server-side handle predicts through the pool too (rollout warm-ups, monitors).
    assert pool.predictor.predict([[7]])["predictions"][0][1] == 7
    pool.resize(4)
    assert pool.size == 4
    pool.close()


def test_a_model_that_cannot_load_fails_the_pool_with_the_reason(tmp_path):
    with pytest.raises(BadRequest, match="a custom model needs entrypoint: module:function"):
        WorkerPool("test", _custom_version(tmp_path, entrypoint="models"), 1, timeout=5)
    with pytest.raises(BadRequest, match="models has no function nothing"):
        WorkerPool("test", _custom_version(tmp_path, entrypoint="models:nothing"), 2, timeout=5)


def _sklearn_version(folder: Path) -> Version:
    import joblib
    from sklearn.linear_model import LinearRegression

    artifact = folder / "linear.joblib"
    joblib.dump(LinearRegression().fit([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [0.0, 1.0, 2.0]), artifact)
    return Version("m", 1, str(artifact), "sklearn", None, "approved", {}, {}, {}, "api", time.time())


def test_a_batch_of_requests_is_one_call_and_each_answer_is_its_own(tmp_path, monkeypatch):
    model = predictors.load(_sklearn_version(tmp_path))  # as a worker process loads it
    estimator = model.model
    calls = []
    original = estimator.predict
    monkeypatch.setattr(estimator, "predict", lambda rows: calls.append(len(rows)) or original(rows))
    good = [[[1.0, 2.0]], [[3.0, 4.0], [5.0, 6.0]], [[7.0, 8.0]]]
    alone = [model.predict(instances) for instances in good]
    calls.clear()
    batched = model.answer_all(good)
    assert calls == [4]  # one call for the four rows
    # The same answers as alone, up to rounding: a matrix product may sum in another order.
    for mine, own in zip(batched, alone, strict=True):
        assert mine.keys() == own.keys() and mine["predictions"] == pytest.approx(own["predictions"], rel=1e-12)

    # Rows that cannot be read are refused alone; a row the estimator refuses (infinity) spoils the
    # joint call, so each request is then predicted alone and only that one answers 400.
    mixed = [good[0], [["x", 1.0]], [[1.0]], [[float("inf"), 1.0]], [[10**400, 1]], good[2]]
    calls.clear()
    answers = model.answer_all(mixed)
    assert [a if isinstance(a, dict) else a.status for a in answers] == [alone[0], 400, 400, 400, 400, alone[2]]
    assert "not numeric rows" in str(answers[1]) and "the model takes 2" in str(answers[2])
    assert "cannot use these instances" in str(answers[3]) and "too large" in str(answers[4])
    assert calls == [3, 1, 1, 1]


def test_concurrent_requests_to_a_scikit_learn_pool_are_answered_each_alone(tmp_path):
    pool = WorkerPool("test", _sklearn_version(tmp_path), 1, timeout=5)
    assert pool.batches

    async def scenario() -> list[object]:
        bodies = [[[float(i), 1.0]] for i in range(40)]
        bodies[17] = [[1.0, 2.0, 3.0]]  # the wrong width
        return await asyncio.gather(*(pool.run(b, timeout=5) for b in bodies), return_exceptions=True)

    answers = asyncio.run(scenario())
    refused = answers.pop(17)
    assert isinstance(refused, InvocationError) and refused.status == 400
    expected = [i + 2.0 for i in range(40) if i != 17]  # y = x0 + 2 x1
    assert [a["predictions"][0] for a in answers] == pytest.approx(expected)
    pool.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_routing_follows_the_weights_and_mirrors_its_share():
    fleets = [SimpleNamespace(name=n) for n in ("a", "b", "c")]
    routing = Routing(tuple(fleets), (60, 30, 10), shadow=SimpleNamespace(name="s"), shadow_percent=25)
    draws = 20_000
    seen = collections.Counter(routing.choose().name for _ in range(draws))
    for name, weight in (("a", 60), ("b", 30), ("c", 10)):
        assert abs(seen[name] / draws - weight / 100) < 0.015
    assert abs(sum(routing.mirrors() for _ in range(draws)) / draws - 0.25) < 0.015
    only = Routing((fleets[0], fleets[1]), (0, 100))
    assert {only.choose().name for _ in range(100)} == {"b"}
    with pytest.raises(ValueError):
        Routing((fleets[0],), (0,))


def test_rollout_steps_per_strategy():
    assert steps_for({"type": "canary", "percent": 10, "bake_time": "10m", "termination_wait": "5m"}) == [
        Step(10, 600, "canary at 10%"),
        Step(100, 300, "all traffic, old fleet kept"),
    ]
    linear = steps_for({"type": "linear", "step_percent": 30, "interval": "2s", "termination_wait": 0})
    assert [(s.percent, s.hold) for s in linear] == [(30, 2), (60, 2), (90, 2), (100, 0)]
    assert steps_for({"type": "blue_green", "termination_wait": "1m"}) == [Step(100, 60, "switched, old fleet kept")]
    watched = steps_for({"type": "all_at_once", "rollback": {"max_error_rate": 0.1, "window": "2m"}})
    assert watched == [Step(100, 120, "all traffic, alarms watched")]
    assert initial_instances({"instance_count": 1, "autoscaling": {"min": 2, "max": 6}}) == 2
    assert initial_instances({"instance_count": 9, "autoscaling": {"min": 2, "max": 6}}) == 6


def test_alarms_judge_5xx_share_and_p99_once_enough_answers_arrived():
    rollback = {"max_error_rate": 0.2, "max_p99_latency_ms": 50, "window": "1m"}
    window = Window()
    for _ in range(5):
        window.record(500, 1.0)
    assert alarm(rollback, window) is None  # five answers are too few to judge
    for _ in range(15):
        window.record(200, 1.0)
    for _ in range(10):
        window.record(400, 1.0)  # refused requests count as answers, not as errors
    assert alarm(rollback, window) is None  # 5 of 30 = 16.7%
    window.record(503, 1.0)
    window.record(504, 1.0)
    assert alarm(rollback, window).startswith("error rate 21.9% above 20.0% (7 of 32 answers")
    slow = Window()
    for latency in [5.0] * 98 + [400.0] * 2:
        slow.record(200, latency)
    assert alarm(rollback, slow).startswith("p99 latency")
    assert alarm(None, slow) is None
    stats = slow.stats(60)
    assert (stats.requests, stats.errors, stats.client_errors) == (100, 0, 0)


def test_autoscaling_rule():
    def fleet(size: int, answers: int) -> SimpleNamespace:
        window = Window()
        for _ in range(answers):
            window.record(200, 1.0)
        return SimpleNamespace(pool=SimpleNamespace(size=size), window=window)

    policy = {"min": 1, "max": 4, "metric": "invocations_per_instance", "target": 20}
    assert wanted(policy, fleet(1, 70), 0.0)[0] == 4  # ceil(70 / 20)
    assert wanted(policy, fleet(1, 200), 0.0)[0] == 4  # capped at max
    assert wanted(policy, fleet(3, 0), 0.0)[0] == 1  # idle: back to min
    cpu = {**policy, "metric": "cpu_utilization", "target": 50}
    assert wanted(cpu, fleet(2, 0), 0.9)[0] == 4  # 2 instances 90% busy, target 50%: ceil(3.6)
    assert wanted({**policy, "metric": "gpu_utilization"}, fleet(2, 0), 0.5) == (
        None,
        "gpu_utilization is not simulated locally (no GPU): 2 instance(s) kept",
    )


def test_mirrors_run_after_the_answers_in_one_batch_on_the_shadows_workers_and_are_recorded(tmp_path):
    import json

    from mlstack.emulator.serving import EndpointRuntime
    from mlstack.emulator.traffic import Fleet

    # Each fleet's model logs its calls (its artifact's name and the rows) to one file, in call order.
    (tmp_path / "models.py").write_text(
        "import json, pathlib\n"
        "def record(instances, artifact):\n"
        "    with open(pathlib.Path(artifact).with_name('calls.jsonl'), 'a') as log:\n"
        "        log.write(json.dumps([pathlib.Path(artifact).stem, instances]) + '\\n')\n"
        "    if any(sum(row) < 0 for row in instances):\n"
        "        raise ValueError('a negative row')\n"
        "    return [sum(row) for row in instances]\n"
    )
    calls_file = tmp_path / "calls.jsonl"

    def calls() -> list[tuple[str, list[object]]]:
        lines = calls_file.read_text().splitlines() if calls_file.exists() else []
        return [tuple(json.loads(line)) for line in lines]

    def fleet(name: str, role: str) -> Fleet:
        artifact = tmp_path / f"{name}.bin"
        artifact.write_text(name)
        lineage = {"artifact_source": str(artifact)}
        version = Version(name, 1, str(artifact), "custom", "models:record", "approved", {}, {}, lineage, "api", 0.0)
        pool = WorkerPool(name, version, 1, timeout=5)
        return Fleet(name, role, pool.predictor, pool)

    production, shadow = fleet("main", "production"), fleet("shadow", "shadow")
    runtime = EndpointRuntime("ep", Routing((production,), (100,), shadow=shadow, shadow_percent=100), None, 5.0)

    async def scenario(*bodies: bytes) -> list[object]:
        answers = await asyncio.gather(*(runtime.invoke(b) for b in bodies))
        await asyncio.sleep(0)
        await asyncio.gather(*runtime._mirrors)
        return answers

    answers = asyncio.run(scenario(b'{"instances": [[1, 2], [3, 4]]}', b'{"instances": [[5, 6]]}'))
    assert [a.status for a in answers] == [200, 200]
    # Each row is mirrored once, after its answer (in one batch when the answers landed in one turn
    # of the loop).
    logged = calls()

    def first(name: str, row: list[int]) -> int:
        return next(i for i, (n, rows) in enumerate(logged) if n == name and row in rows)

    rows = [[1, 2], [3, 4], [5, 6]]
    assert sorted(row for name, mirrored in logged if name == "shadow" for row in mirrored) == rows
    assert all(first("main", row) < first("shadow", row) for row in rows)
    assert shadow.window.totals["requests"] == 2 and production.window.totals["requests"] == 2

    # A request the shadow fails on spoils a batch: each request is then predicted alone.
    calls_file.unlink()
    batch = [(shadow, [[1, 1]], "a", b"{}", time.perf_counter()), (shadow, [[-1, -1]], "b", b"{}", time.perf_counter())]
    asyncio.run(runtime._mirror_batch(batch))
    assert [rows for _, rows in calls()] == [[[1, 1], [-1, -1]], [[1, 1]], [[-1, -1]]]
    assert shadow.window.totals == {"requests": 4, "errors": 1, "client_errors": 0}
    for pool in (production.pool, shadow.pool):
        pool.close()
