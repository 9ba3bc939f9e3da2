"""A pipeline as a step graph: which steps each step waits for, with the spec's default (the step
before it) applied once for every target."""

from __future__ import annotations

from mlstack.spec.models import Pipeline


def dependencies(pipeline: Pipeline, index: int) -> list[str]:
    """The steps a step waits for: its `depends_on`, or the step before it."""
    step = pipeline.steps[index]
    if step.depends_on is not None:
        return list(step.depends_on)
    return [pipeline.steps[index - 1].name] if index else []


def graph(pipeline: Pipeline) -> dict[str, list[str]]:
    """Step name -> the steps it waits for, in the spec's order."""
    return {step.name: dependencies(pipeline, i) for i, step in enumerate(pipeline.steps)}


def ancestors(pipeline: Pipeline, index: int) -> list[int]:
    """Indexes of every step a step waits for, directly or not, in the spec's order."""
    names = [s.name for s in pipeline.steps]
    todo, seen = [index], set()
    while todo:
        for dep in dependencies(pipeline, todo.pop()):
            j = names.index(dep)
            if j not in seen:
                seen.add(j)
                todo.append(j)
    return sorted(seen)
