"""The serving parts on their own: worker pools under timeouts, weighted routing, rollout steps,
rollback alarms and the autoscaling rule."""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from types import SimpleNamespace

import pytest

from mlstack.emulator.autoscaling import wanted
from mlstack.emulator.rollout import Step, alarm, initial_instances, steps_for
from mlstack.emulator.traffic import Routing, Window
from mlstack.emulator.workers import WorkerPool


def test_a_hung_call_times_out_and_its_worker_is_replaced():
    pool = WorkerPool("test", 1)
    release = threading.Event()

    async def scenario() -> tuple[list[object], float]:
        hung = pool.run(lambda _: release.wait(30), None, timeout=0.2)
        with pytest.raises(TimeoutError):
            await hung
        started = time.perf_counter()
        answers = await asyncio.gather(*(pool.run(lambda x: x * 2, i, timeout=5) for i in range(5)))
        return answers, time.perf_counter() - started

    answers, took = asyncio.run(scenario())
    assert answers == [0, 2, 4, 6, 8] and took < 1  # the replacement answered; the stuck one still waits
    assert (pool.size, pool.stuck) == (1, 1)
    release.set()
    deadline = time.monotonic() + 5
    while pool.stuck and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.stuck == 0  # it came back and retired
    pool.close()


def test_a_model_exception_reaches_the_caller_and_the_worker_survives():
    pool = WorkerPool("test", 2)

    def boom(_: object) -> None:
        raise ValueError("bad")

    async def scenario() -> object:
        with pytest.raises(ValueError, match="bad"):
            await pool.run(boom, None, timeout=5)
        return await pool.run(str, 7, timeout=5)

    assert asyncio.run(scenario()) == "7"
    pool.resize(4)
    assert pool.size == 4
    pool.close()


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


def test_mirrors_run_after_the_answers_in_one_batch_on_the_shadows_workers_and_are_recorded():
    from mlstack.emulator.predictors import InvocationError, Predictor
    from mlstack.emulator.serving import EndpointRuntime
    from mlstack.emulator.traffic import Fleet

    calls: list[tuple[str, list[object]]] = []

    def fleet(name: str, role: str) -> Fleet:
        def predict(instances: list[object]) -> dict[str, object]:
            calls.append((name, list(instances)))
            if any(sum(row) < 0 for row in instances):
                raise InvocationError(400, "a negative row")
            return {"predictions": [sum(row) for row in instances]}

        predictor = Predictor(SimpleNamespace(ref=f"{name} v1"), None, predict)  # type: ignore[arg-type]
        return Fleet(name, role, predictor, WorkerPool(name, 1))

    production, shadow = fleet("main", "production"), fleet("shadow", "shadow")
    runtime = EndpointRuntime("ep", Routing((production,), (100,), shadow=shadow, shadow_percent=100), None, 5.0)

    async def scenario(*bodies: bytes) -> list[object]:
        answers = await asyncio.gather(*(runtime.invoke(b) for b in bodies))
        await asyncio.sleep(0)
        await asyncio.gather(*runtime._mirrors)
        return answers

    answers = asyncio.run(scenario(b'{"instances": [[1, 2], [3, 4]]}', b'{"instances": [[5, 6]]}'))
    assert [a.status for a in answers] == [200, 200]
    # both answers first, then the shadow's predictions: the requests mirrored in one loop turn as one batch
    # (on a loaded machine the second answer may come a turn later, in a batch of its own)
    mains = [rows for name, rows in calls if name == "main"]
    shadows = [rows for name, rows in calls if name == "shadow"]
    assert sorted(mains) == [[[1, 2], [3, 4]], [[5, 6]]]
    assert sorted(row for rows in shadows for row in rows) == [[1, 2], [3, 4], [5, 6]] and len(shadows) <= 2
    assert calls.index(("main", [[1, 2], [3, 4]])) < calls.index(next(c for c in calls if c[0] == "shadow"))
    assert shadow.window.totals["requests"] == 2 and production.window.totals["requests"] == 2

    # A request the shadow rejects spoils the batch: each request is then predicted alone.
    calls.clear()
    shadow_only = Routing((fleet("ok", "production"),), (100,), shadow=shadow, shadow_percent=100)
    runtime.routing = shadow_only
    asyncio.run(scenario(b'{"instances": [[1, 1]]}', b'{"instances": [[-1, -1]]}'))
    mirrored = [instances for name, instances in calls if name == "shadow"]
    assert mirrored == [[[1, 1], [-1, -1]], [[1, 1]], [[-1, -1]]]
    assert shadow.window.totals == {"requests": 4, "errors": 0, "client_errors": 1}
