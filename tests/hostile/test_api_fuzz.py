"""Random names, values and bodies through the real emulator's API over loopback HTTP.

Whatever a caller with the token sends: never a 5xx, nothing written outside the state directory,
the state directory intact (token, database, marker) and the emulator still answering."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlstack.emulator import process
from mlstack.emulator.layout import StateDir

# Names an attacker tries first, then anything hypothesis makes up.
HOSTILE_NAMES = [
    "..",
    ".",
    "../../../x",
    "../escaped",
    "/etc",
    "a/../../b",
    "~",
    "x" * 300,
    "a\x00b",
    "Clf",
    "clf\u200b",
    "p\u0430yments",  # Cyrillic a
    "%2e%2e",
    "-",
    "fv_x; DROP TABLE resources",
    'a"b',
]
names = st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(min_size=1, max_size=40))
numbers = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e309"]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20), names)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)
KINDS = ["model_group", "model_version", "entity", "feature_view", "pipeline", "endpoint", "monitor"]


def _config(draw: st.DrawFn, name: str) -> dict[str, object]:
    """A config shaped like a real one, so the checks past the first one are reached too."""
    return {
        "name": name,
        "approval": draw(st.sampled_from(["auto", "manual", "x"])),
        "group": draw(names),
        "version": draw(numbers),
        "artifact": draw(st.sampled_from(["/etc/passwd", "../../x", "model.joblib"])),
        "steps": [{"name": draw(names), "kind": "training", "model_group": draw(names), "depends_on": []}],
        "variants": [{"name": draw(names), "model": {"group": draw(names), "alias": "champion"}, "weight": 100}],
        "features": [{"name": draw(names), "dtype": "float64"}, {"name": draw(names), "dtype": "int64"}],
        "join_keys": [{"name": draw(names), "dtype": "int64"}],
        "entity": draw(names),
        "endpoint": draw(names),
        "extra": draw(values),
    }


def _quoted(name: str) -> str:
    return quote(name, safe="").replace(".", "%2E")  # `..` reaches the server as `..`


@st.composite
def lifecycles(draw: st.DrawFn) -> list[tuple[str, str, bytes]]:
    """Create a resource under a random name, send a random request, delete the resource."""
    kind = draw(st.sampled_from(KINDS))
    name = draw(names)
    path = f"/v1/resources/{kind}/{_quoted(name)}"
    config = json.dumps({"config": _config(draw, name)}, allow_nan=True).encode()
    return [("PUT", path, config), draw(requests()), ("DELETE", path, b"")]


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, bytes]:
    name = _quoted(draw(names))
    other = _quoted(draw(names))
    number = draw(st.sampled_from([str(2**70), "-1", "0", "1", str(2**31), "x", "1e3"]))
    kind = draw(st.sampled_from([*KINDS, "bogus"]))
    route = draw(
        st.sampled_from(
            [
                ("PUT", f"/v1/resources/{kind}/{name}", "config"),
                ("DELETE", f"/v1/resources/{kind}/{name}", None),
                ("GET", f"/v1/resources/{kind}/{name}", None),
                ("POST", "/v1/plan", "desired"),
                ("POST", "/v1/apply", "desired"),
                ("GET", f"/v1/registry/groups/{name}/versions/{number}", None),
                ("PUT", f"/v1/registry/groups/{name}/versions/{number}/approval", "any"),
                ("PUT", f"/v1/registry/groups/{name}/aliases/{other}", "any"),
                ("POST", f"/v1/pipelines/{name}/runs", "any"),
                ("GET", f"/v1/runs/{name}/steps/{other}/log", None),
                ("POST", f"/v1/monitors/{name}/alerts", "any"),
                ("POST", "/v1/features/training-set", "training"),
                ("POST", f"/v1/features/{name}/online", "any"),
                ("POST", f"/v1/features/{name}/push", "any"),
                ("POST", f"/v1/features/{name}/materialize", "any"),
                ("POST", f"/v1/endpoints/{name}/ground-truth", "any"),
                ("POST", f"/endpoints/{name}/invocations", "any"),
                ("GET", f"/v1/operations/{name}?after={number}&wait=0", None),
            ]
        )
    )
    method, path, shape = route
    raw_name = draw(names)
    if shape == "config":
        body: object = {"config": _config(draw, raw_name)}
    elif shape == "desired":
        body = {
            "platform": draw(names),
            "resources": [{"kind": draw(st.sampled_from(KINDS)), "name": raw_name, "config": _config(draw, raw_name)}],
        }
    elif shape == "training":
        body = {"entities": draw(st.sampled_from(["/etc/passwd", "../../../etc/hosts", "x.csv"])), "features": []}
    elif shape == "any":
        body = draw(values)
    else:
        return method, path, b""
    text = json.dumps(body, allow_nan=True)
    if draw(st.booleans()):  # sometimes deep nesting or a broken document
        text = draw(st.sampled_from(["[" * 100_000 + "]" * 100_000, text[: len(text) // 2], '{"a": NaN}']))
    return method, path, text.encode()


def _snapshot(folder: Path, skip: Path) -> dict[str, int]:
    """Every file under `folder` outside `skip`, with its size."""
    out = {}
    for root, dirs, files in os.walk(folder):
        if Path(root) == skip or skip in Path(root).parents:
            dirs[:] = []
            continue
        for file in files:
            path = Path(root) / file
            out[str(path)] = path.stat().st_size
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StateDir, httpx.Client, Path]]:
    home = tmp_path_factory.mktemp("fuzz")
    # Deep inside the tree, so that `../../../x` from any folder of the state dir lands in `home`.
    state = StateDir(home / "a" / "b" / "c" / ".mlstack")
    (home / "keep").mkdir()
    (home / "keep" / "file.txt").write_text("must survive")
    info = process.start(state)
    client = httpx.Client(
        base_url=info.url, headers={"Authorization": f"Bearer {state.read_token()}"}, timeout=30, trust_env=False
    )
    try:
        client.put("/v1/resources/model_group/clf", json={"config": {"name": "clf", "approval": "auto"}})
        yield state, client, home
    finally:
        client.close()
        process.stop(state, timeout=10)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(sequence=lifecycles())
def test_no_request_escapes_or_crashes(
    server: tuple[StateDir, httpx.Client, Path], sequence: list[tuple[str, str, bytes]]
):
    state, client, home = server
    before = _snapshot(home, state.root)
    for method, path, body in sequence:
        response = client.request(method, path, content=body, headers={"content-type": "application/json"})
        assert response.status_code < 500, (method, path, body[:300], response.text[:500])
        assert _snapshot(home, state.root) == before, (method, path, body[:300])
    for part in (state.token_file, state.database, state.marker, state.artifacts, state.runs):
        assert part.exists(), part
    assert client.get("/v1/health").status_code == 200
