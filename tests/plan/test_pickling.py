"""Pulumi's dynamic-provider serialization leaves Python's pickler patched, one wrapper per resource;
plans must not (a process that plans a large platform and then saves a model with joblib overflowed)."""

from __future__ import annotations

import io
import pickle

from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.spec import load
from tests.conftest import SPECS


def test_planning_dynamic_resources_leaves_the_pickler_as_it_was():
    before = pickle._Pickler._batch_setitems, pickle._Pickler.save_dict
    for target in ("gcp", "azure"):  # both lower some resources to dynamic providers
        plan(resolve(load(SPECS / "fraud-detection.yaml", target=target)))
    assert (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict) == before
    nested: object = 0
    for _ in range(200):
        nested = {"inner": nested}
    pickle._Pickler(io.BytesIO()).dump(nested)  # pure-Python pickling still works


def test_after_a_plan_dynamic_resources_made_elsewhere_leave_the_pickler_as_it_was():
    """A plan pickles each stateless provider once and puts the serializer back afterwards: the guarded
    one, so a program run outside a plan (a deployment in this process) is guarded too."""
    from pulumi.dynamic import dynamic

    from mlstack.backends.local import EmulatorProvider

    plan(resolve(load(SPECS / "quickstart.yaml", target="local")))
    before = pickle._Pickler._batch_setitems, pickle._Pickler.save_dict
    for _ in range(3):
        dynamic.serialize_provider(EmulatorProvider())
    assert (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict) == before
