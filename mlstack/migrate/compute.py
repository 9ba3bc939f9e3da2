"""Compute profiles: pinned vendor SKUs move through the catalog's equivalence (fidelity, price
difference); neutral profiles stay as written while they resolve on the destination, and a named GPU
the destination lacks becomes its closest counterpart there."""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from mlstack.catalog import CLOUDS, CatalogError, Request, Sku, get_catalog
from mlstack.catalog.equivalence import mismatches, price_delta
from mlstack.catalog.model import UNPRICED
from mlstack.errors import Path
from mlstack.migrate import markers
from mlstack.migrate.context import Context, restored_note
from mlstack.migrate.document import assign, plain, set_after
from mlstack.migrate.markers import Derive, Unmappable
from mlstack.migrate.walk import compute_profiles
from mlstack.targets import profile

PIN_FIELDS = ("instance_type", "accelerator_type", "accelerator_count")
NEUTRAL_FIELDS = ("gpu", "gpus", "gpu_memory_gb", "vcpus", "memory_gb")


def _pin_value(node: CommentedMap) -> object:
    """The pin as written: the instance type alone, or a mapping when accelerators are pinned too."""
    fields = {k: plain(node[k]) for k in PIN_FIELDS if node.get(k) is not None}
    return fields["instance_type"] if list(fields) == ["instance_type"] else fields


def _pin_fields(value: object) -> dict[str, object]:
    return dict(value) if isinstance(value, dict) else {"instance_type": value}


def _write_pin(node: CommentedMap, value: object) -> None:
    fields = _pin_fields(value)
    assign(node, "instance_type", fields["instance_type"])
    after = "instance_type"
    for key in PIN_FIELDS[1:]:
        if key in fields:
            set_after(node, key, fields[key], after)
            after = key
        else:
            node.pop(key, None)


def _lookup(cloud: str, value: object) -> Sku:
    fields = _pin_fields(value)
    try:
        return get_catalog().lookup(cloud, **fields)  # type: ignore[arg-type]
    except CatalogError as exc:
        raise Unmappable(str(exc)) from None


def _derive_pin(cloud: str, value: object, to: str) -> object:
    if cloud == to or profile(to).emulated:  # the emulator takes any pin, so local keeps the original
        return value
    try:
        target = get_catalog().equivalent(cloud, _lookup(cloud, value).sku, to).target
    except CatalogError as exc:
        raise Unmappable(str(exc)) from None
    fields = target.spec_fields()
    return fields["instance_type"] if list(fields) == ["instance_type"] else fields


def _same_pin(cloud: str, a: object, b: object) -> bool:
    try:
        return _lookup(cloud, a).sku == _lookup(cloud, b).sku
    except Unmappable:
        return False


def _pin_cloud(value: object, source: str) -> str | None:
    """Which cloud a pin belongs to: the spec's own, else the first that knows the SKU (specs on local)."""
    for cloud in (source, *CLOUDS):
        if cloud in CLOUDS:
            try:
                _lookup(cloud, value)
                return cloud
            except Unmappable:
                continue
    return None


def _request(node: CommentedMap, **override: object) -> Request:
    fields = {k: node.get(k) for k in NEUTRAL_FIELDS}
    return Request(**{**fields, **override})  # type: ignore[arg-type]


def _resolve(cloud: str, request: Request) -> Sku:
    try:
        return get_catalog().resolve(cloud, request)
    except CatalogError as exc:
        raise Unmappable(str(exc)) from None


def _price_note(delta: float | None, *clouds: str) -> str:
    if delta is None:
        return f" ({UNPRICED})"
    said = [caveat for c in dict.fromkeys(clouds) if (caveat := profile(c).price_caveat)]
    return f" ({'; '.join(said)})" if said else ""


def migrate_compute(ctx: Context) -> None:
    for path, node in compute_profiles(ctx.root):
        if node.get("instance_type"):
            _pinned(ctx, path, node)
        else:
            _neutral(ctx, path, node)


def _pinned(ctx: Context, path: Path, node: CommentedMap) -> None:
    current = _pin_value(node)
    native = _pin_cloud(current, ctx.source)
    shown = node["instance_type"]
    if native is None:
        ctx.report.add(path, "unsupported", f"unknown pinned SKU '{shown}'", "pin a SKU from `mlstack catalog list`")
        return
    here = _lookup(native, current)
    try:
        outcome = markers.translate(
            current, markers.read(node, "instance_type"), native, ctx.dest, _derive_pin, same=_same_pin
        )
        there = _lookup(ctx.dest, outcome.value)
    except Unmappable as exc:
        ctx.report.add(
            path,
            "unsupported",
            f"pinned {native} SKU {here.sku}",
            f"{exc}; pin a {ctx.dest} SKU or describe the hardware",
        )
        return
    _write_pin(node, outcome.value)
    markers.write(node, "instance_type", outcome.marker)
    accelerators = tuple((*path, key) for key in PIN_FIELDS[1:] if key in node)
    path = (*path, "instance_type")
    if ctx.target.emulated:
        ctx.report.add(
            path,
            "approximate",
            f"pinned {outcome.origin.cloud} SKU {_lookup(outcome.origin.cloud, outcome.value).sku} kept",
            "the emulator ignores vendor pins and serves on this machine's CPUs; the pin stays for migrating back",
            price_delta_usd_hour=None if here.price_usd_hour is None else -here.price_usd_hour,
        )
        return
    delta = price_delta(here, there)
    what = f"{native} {here.sku} ({here.describe()}) → {ctx.dest} {there.sku} ({there.describe()})"
    extra = {"before": here.sku, "after": there.sku, "price_delta_usd_hour": delta, "also": accelerators}
    if outcome.restored or native == ctx.dest:
        why = restored_note(outcome) if outcome.restored else "already a pin for this cloud"
        ctx.report.add(path, "exact", what, why, **extra)
        return
    origin = _lookup(outcome.origin.cloud, outcome.origin.value)
    equivalence = get_catalog().equivalent(outcome.origin.cloud, origin.sku, ctx.dest)
    apart = mismatches(origin, equivalence.target)
    exact = equivalence.fidelity == "exact" and not equivalence.differences and not apart
    grade = "exact" if exact else "approximate"
    differences = "; ".join((*equivalence.differences, *(m for m in apart if m.startswith("price")))) or "same hardware"
    via = f" (from the original {outcome.origin.cloud} pin {origin.sku})" if outcome.origin.cloud != native else ""
    why = f"catalog equivalence: {equivalence.fidelity.replace('_', ' ')}{via}: {differences}{_price_note(delta, native, ctx.dest)}"
    ctx.report.add(path, grade, what, why, **extra)


def _derive_gpu(node: CommentedMap) -> Derive:
    def derive(cloud: str, value: object, to: str) -> object:
        request = _request(node, gpu=value)
        if profile(to).emulated:
            return value
        try:
            _resolve(to, request)
            return value
        except Unmappable:
            pass
        clouds = [cloud] if cloud in CLOUDS else [c for c in CLOUDS if c != to]
        for source in clouds:
            try:
                sku = _resolve(source, request)
            except Unmappable:
                continue
            try:
                return get_catalog().equivalent(source, sku.sku, to).target.gpu
            except CatalogError as exc:
                raise Unmappable(str(exc)) from None
        raise Unmappable(f"no cloud offers gpu {value}")

    return derive


def _neutral(ctx: Context, path: Path, node: CommentedMap) -> None:
    before = None
    if ctx.source in CLOUDS:
        try:
            before = _resolve(ctx.source, _request(node))
        except Unmappable:
            before = None
    outcome = None
    if node.get("gpu") is not None:
        try:
            outcome = ctx.translate(node, "gpu", _derive_gpu(node))
        except Unmappable as exc:
            ctx.report.add(path, "unsupported", f"gpu {node['gpu']}", f"{exc}; describe hardware {ctx.dest} offers")
            return
    gpu = outcome.value if outcome else node.get("gpu")
    try:
        after = _resolve(ctx.dest, _request(node, gpu=gpu))
    except Unmappable as exc:
        ctx.report.add(path, "unsupported", "no fitting SKU", f"{exc}; change the profile")
        return
    delta = price_delta(before, after) if before else None
    resolves = f"resolves to {after.sku} ({after.describe()})" + (f", was {before.sku}" if before else "")
    if ctx.target.emulated:
        resolves = "the emulator serves it on this machine's CPUs"
    note = _price_note(delta, ctx.source, ctx.dest) if before is not None and not ctx.target.emulated else ""
    old = ctx.settle(node, "gpu", outcome) if outcome else None
    if outcome is None or outcome.value == old:
        # the profile is kept, but the machine it buys is graded: not exact when it is much bigger or dearer
        apart = mismatches(before, after) if before is not None and not ctx.target.emulated else ()
        why = "; ".join(filter(None, ("not the same machine: " + "; ".join(apart) if apart else "", note.strip(" ()"))))
        grade = "approximate" if apart else "exact"
        ctx.report.add(path, grade, f"neutral profile kept: {resolves}", why, price_delta_usd_hour=delta)
        return
    what = f"gpu {old} → {outcome.value}: {resolves}"
    extra = {"before": old, "after": outcome.value, "price_delta_usd_hour": delta}
    if outcome.restored:
        ctx.restored((*path, "gpu"), what, outcome, **extra)
    else:
        why = f"{ctx.target.title} has no {outcome.origin.value}; {outcome.value} is the catalog's closest counterpart{note}"
        ctx.report.add((*path, "gpu"), "approximate", what, why, **extra)
