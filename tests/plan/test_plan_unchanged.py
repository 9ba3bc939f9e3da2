"""A plan drops resource aliases before Pulumi computes them, pauses the cycle collector and skips
Pulumi's stack-trace capture, only to be faster: the resources, inputs and options it shows must be
those of the program run as written."""

from __future__ import annotations

import gc
from typing import Any

import pulumi
import pytest
from pulumi.runtime import resource

from mlstack import plan as planning
from mlstack.resolve import resolve
from mlstack.spec import load


@pytest.mark.parametrize("target", ["aws", "gcp", "azure", "local"])
def test_the_plan_is_that_of_the_program_with_its_aliases(target, monkeypatch):
    resolved = resolve(load("specs/fraud-detection.yaml", target=target))
    fast = planning.to_json(planning.plan(resolved))

    aliased: list[str] = []
    capture = resource._get_stack_trace

    def as_written(resolved: Any, build: Any) -> None:
        assert not gc.isenabled()
        gc.enable()  # the old plan ran with the collector on
        assert resource._get_stack_trace is not capture
        resource._get_stack_trace = capture  # and captured every resource's stack trace

        def count(args: pulumi.ResourceTransformationArgs) -> None:
            aliased.extend(str(a) for a in args.opts.aliases or ())

        pulumi.runtime.register_stack_transformation(count)
        build(resolved)

    monkeypatch.setattr(planning, "_build_without_aliases", as_written)
    assert planning.to_json(planning.plan(resolved)) == fast
    if target == "azure":  # azure-native aliases every resource to its former API versions
        assert len(aliased) > 100
