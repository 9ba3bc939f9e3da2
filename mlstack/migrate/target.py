"""The target section: cloud, region (nearest-region table), the destination's settings block (never
invented), customer-managed keys (which cannot move between clouds) and network ids."""

from __future__ import annotations

import re

from ruamel.yaml.comments import CommentedMap

from mlstack.catalog import CLOUDS
from mlstack.errors import Path
from mlstack.migrate import markers, regions
from mlstack.migrate.context import Context, restored_note
from mlstack.migrate.document import assign, eol, mapping, set_after, set_eol
from mlstack.migrate.markers import Unmappable
from mlstack.migrate.walk import targets
from mlstack.targets import profile

# Comments on a generic key moved into its cloud's block, so migrating back can return it.
MOVED = "mlstack: moved from target.kms_key"
MOVED_ADDING = f"{MOVED}, block added"


def migrate_target(ctx: Context) -> None:
    target = mapping(ctx.root.get("target"))
    if target is None:
        target = CommentedMap()
        set_after(ctx.root, "target", target, "tags" if "tags" in ctx.root else "owner")
    if "cloud" in target:
        assign(target, "cloud", ctx.dest)
    else:
        target.insert(0, "cloud", ctx.dest)
    ctx.report.add(
        ("target", "cloud"), "exact", f"target.cloud {ctx.source} → {ctx.dest}", before=ctx.source, after=ctx.dest
    )
    _settings_block(ctx, target)
    for path, section in targets(ctx.root):
        _region(ctx, path, section, base=path == ("target",))
        _kms_key(ctx, path, section)
    _network(ctx, target)


def _block_region(section: CommentedMap, cloud: str) -> str | None:
    block = mapping(section.get(cloud))
    region = block.get("region") if block is not None else None
    return region if isinstance(region, str) else None


def _region(ctx: Context, path: Path, section: CommentedMap, base: bool) -> None:
    if not ctx.target.needs_region:
        if section.get("region") is not None:
            ctx.report.add((*path, "region"), "exact", "the emulator has no regions: target.region is kept, unused")
        return
    if (own := _block_region(section, ctx.dest)) is not None:
        ctx.report.add(
            (*path, ctx.dest, "region"), "exact", f"{ctx.dest} uses its own region {own} (target.{ctx.dest}.region)"
        )
        return
    if not base and section.get("region") is None:
        return
    current = section.get("region")
    # target.region may still name the region of an earlier cloud whose settings block overrode it.
    native = (regions.cloud_of(current) if isinstance(current, str) else None) or ctx.source

    def derive(cloud: str, value: object, to: str) -> object:
        region = value if isinstance(value, str) else _block_region(section, cloud)
        if region is None:
            raise Unmappable(f"{profile(cloud).title} names no region")
        return regions.nearest(cloud, region, to)

    try:
        outcome = ctx.translate(section, "region", derive, native=native)
    except Unmappable as exc:
        ctx.report.add(
            (*path, "region"), "unsupported", f"no {ctx.dest} region", f"{exc}: choose a region (target.region)"
        )
        return
    if outcome.value is None:
        section.pop("region", None)
    else:
        set_after(section, "region", outcome.value, "cloud")
        markers.write(section, "region", outcome.marker)
    before = current if isinstance(current, str) else _block_region(section, native)
    original = outcome.origin.value if isinstance(outcome.origin.value, str) else before
    what = f"region {before} → {outcome.value or _block_region(section, ctx.dest)}"
    if outcome.restored:
        ctx.report.add((*path, "region"), "exact", what, restored_note(outcome), before=before, after=outcome.value)
    elif original is not None and isinstance(outcome.value, str) and regions.same_metro(original, outcome.value):
        why = f"the same metro area ({regions.METRO[outcome.value]})"
        ctx.report.add((*path, "region"), "exact", what, why, before=before, after=outcome.value)
    elif isinstance(outcome.value, str):
        why = (
            f"the nearest {ctx.dest} region in mlstack's table: {regions.METRO.get(str(original), '?')} → "
            f"{regions.METRO.get(outcome.value, '?')}; check data residency"
        )
        ctx.report.add((*path, "region"), "approximate", what, why, before=before, after=outcome.value)


def _settings_block(ctx: Context, target: CommentedMap) -> None:
    needs = ctx.target.required_settings_named
    if needs is None:
        return
    if mapping(target.get(ctx.dest)) is None:
        ctx.report.add(
            ("target", ctx.dest),
            "unsupported",
            f"target.{ctx.dest} is missing",
            f"choose {needs}; mlstack never invents account ids",
        )
    else:
        ctx.report.add(("target", ctx.dest), "exact", f"target.{ctx.dest} kept as written")


def _key_cloud(key: str) -> str | None:
    return next((c for c in CLOUDS if re.fullmatch(profile(c).kms_key_pattern, key)), None)


def _move_back(ctx: Context, path: Path, section: CommentedMap) -> None:
    """A generic key an earlier migration moved into its cloud's block goes back when returning there."""
    block = mapping(section.get(ctx.dest))
    if block is None or "kms_key" in section or not eol(block, "kms_key").startswith(MOVED):
        return
    added = eol(block, "kms_key") == MOVED_ADDING
    block.ca.items.pop("kms_key", None)
    set_after(section, "kms_key", block.pop("kms_key"), "region" if "region" in section else "cloud")
    if added and not block:
        section.pop(ctx.dest)
    ctx.report.add((*path, "kms_key"), "exact", f"target.{ctx.dest}.kms_key back to target.kms_key, where it was")


def _kms_key(ctx: Context, path: Path, section: CommentedMap) -> None:
    if ctx.target.emulated:
        return  # the emulator accepts and records any key
    _move_back(ctx, path, section)
    dest = profile(ctx.dest)
    own = (mapping(section.get(ctx.dest)) or {}).get("kms_key")
    generic = section.get("kms_key")
    if own:
        ctx.report.add((*path, ctx.dest, "kms_key"), "exact", f"{dest.title} uses target.{ctx.dest}.kms_key")
        return
    decide = (
        f"a key cannot move between clouds: set target.{ctx.dest}.kms_key to a {dest.title} key "
        f"(e.g. {dest.kms_key_example}); until then {ctx.dest} resources use provider-managed keys"
    )
    if isinstance(generic, str) and not re.fullmatch(dest.kms_key_pattern, generic):
        owner = _key_cloud(generic)
        block = mapping(section.get(owner)) if owner else None
        # a block can be added only for a cloud whose block has no required fields (aws)
        adding = owner is not None and block is None and profile(owner).required_settings is None
        if adding:
            block = CommentedMap()
            set_after(section, owner, block, "region" if "region" in section else "cloud")
        if owner is None or block is None:
            ctx.report.add((*path, "kms_key"), "unsupported", "target.kms_key is not a key this target can use", decide)
            return
        section.ca.items.pop("kms_key", None)
        block["kms_key"] = section.pop("kms_key")
        set_eol(block, "kms_key", MOVED_ADDING if adding else MOVED)
        ctx.report.add(
            (*path, owner, "kms_key"),
            "unsupported",
            f"target.kms_key is a {owner} key: moved to target.{owner}.kms_key",
            decide,
            also=((*path, "kms_key"),),
        )
        return
    if isinstance(generic, str):
        ctx.report.add((*path, "kms_key"), "exact", f"target.kms_key is a {dest.title} key")
        return
    others = [c for c in CLOUDS if c != ctx.dest and (mapping(section.get(c)) or {}).get("kms_key")]
    if others:
        ctx.report.add(
            (*path, others[0], "kms_key"),
            "unsupported",
            f"no {dest.title} key, while {', '.join(others)} had one",
            decide,
        )


def _network(ctx: Context, target: CommentedMap) -> None:
    network = mapping(target.get("network"))
    if network is None or ctx.dest == ctx.source:
        return
    ids = [k for k in ("vpc", "subnets", "security_groups") if network.get(k)]
    if ctx.target.emulated:
        ctx.report.add(
            ("target", "network"), "approximate", "network settings kept, unused", "the emulator serves on 127.0.0.1"
        )
        return
    for key in ids:
        ctx.report.add(
            ("target", "network", key),
            "unsupported",
            f"target.network.{key} names {ctx.source} resources",
            f"network ids are per cloud: give the {ctx.dest} {'network' if key == 'vpc' else key}"
            + (
                " (security groups are AWS only; remove them)"
                if key == "security_groups" and not ctx.target.security_groups
                else ""
            ),
        )
