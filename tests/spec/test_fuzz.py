"""Property-based fuzzing: mutated example specs never escape as anything but located SpecErrors."""

from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlstack.errors import SpecInvalid
from mlstack.spec import loads
from tests.conftest import EXAMPLE_SPECS

pytestmark = pytest.mark.slow

TEXTS = [p.read_text() for p in EXAMPLE_SPECS]
DATA = [yaml.safe_load(t) for t in TEXTS]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["aws", "canary", "champion", "0 * * * *", "7d", "-1", "psi"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _mutate(data: object, path: tuple, action: str, value: object) -> object:
    data = copy.deepcopy(data)
    if not path:
        return value if action == "replace" else data
    parent = data
    for part in path[:-1]:
        parent = parent[part]  # type: ignore[index]
    last = path[-1]
    if action == "delete":
        del parent[last]  # type: ignore[arg-type]
    elif action == "replace":
        parent[last] = value  # type: ignore[index]
    elif action == "insert" and isinstance(parent, dict):
        parent[f"{last}x"] = value
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))  # type: ignore[index]
    return data


def _check(text: str) -> None:
    try:
        loads(text, "fuzz.yaml")
    except SpecInvalid as exc:
        assert exc.errors
        for error in exc.errors:
            assert error.line >= 1 and error.column >= 1 and error.message
            assert error.render().startswith("fuzz.yaml:")


@settings(max_examples=1200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_structural_mutations(data):
    index = data.draw(st.integers(0, len(DATA) - 1))
    doc = DATA[index]
    path = data.draw(st.sampled_from(_paths(doc)))
    action = data.draw(st.sampled_from(["delete", "replace", "insert", "duplicate"]))
    value = data.draw(values)
    mutated = _mutate(doc, path, action, value)
    _check(yaml.safe_dump(mutated, allow_unicode=True))


@settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_textual_mutations(data):
    text = TEXTS[data.draw(st.integers(0, len(TEXTS) - 1))]
    cut = data.draw(st.integers(0, len(text)))
    action = data.draw(st.sampled_from(["truncate", "insert", "delete"]))
    junk = data.draw(st.text(min_size=1, max_size=8))
    if action == "truncate":
        mutated = text[:cut]
    elif action == "insert":
        mutated = text[:cut] + junk + text[cut:]
    else:
        mutated = text[:cut] + text[cut + len(junk) :]
    _check(mutated)
