"""Names that break the destination's limits: shortened (or padded) deterministically with a hash of
the full name, and every reference to the object rewritten with it."""

from __future__ import annotations

import hashlib
import re

from ruamel.yaml.comments import CommentedMap

from mlstack.errors import Path
from mlstack.migrate import markers
from mlstack.migrate.context import Context, restored_note
from mlstack.migrate.document import assign, rename_key
from mlstack.migrate.markers import Unmappable
from mlstack.migrate.walk import Slot, definitions, references
from mlstack.spec.types import NAME_PATTERN
from mlstack.targets import NameRule, profile

KINDS = ("spec", "model_group", "entity", "feature_view", "pipeline", "compute", "endpoint", "variant", "monitor")
LABELS = {"model_group": "model group", "feature_view": "feature view", "spec": "spec name"}


def fit(name: str, rule: NameRule) -> str:
    """The name cut to the rule's length with a hash of the whole (or padded with one to its minimum)."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    if len(name) > rule.max_length:
        return f"{name[: rule.max_length - 9].rstrip('-_')}-{digest[:8]}"
    if len(name) < rule.min_length:
        return f"{name}-{digest[: max(2, rule.min_length - len(name) - 1)]}"
    return name


def derive_name(kind: str, name: object, cloud: str) -> str:
    """The name an object of `kind` gets on `cloud`: itself when it fits, else fitted."""
    assert isinstance(name, str)
    rule = profile(cloud).names.get(kind)
    if rule is None or rule.problem(name) is None:
        return name
    fitted = fit(name, rule)
    problem = rule.problem(fitted)
    if problem or not re.fullmatch(NAME_PATTERN.strip("^$"), fitted) or len(fitted) > 63:
        raise Unmappable(rule.problem(name) or problem or f"'{name}' cannot be made to fit")
    return fitted


def _rename(ctx: Context, kind: str, slot: Slot, new: str) -> tuple[Path, ...]:
    """Rename the object and every reference to it; the references' paths after the rename."""
    old = slot.name
    refs = [ref for ref in references(ctx.root, kind) if ref.name == old]
    for ref in [slot, *refs]:
        if ref.is_key:
            assert isinstance(ref.container, CommentedMap)
            rename_key(ref.container, old, new)
        else:
            assign(ref.container, ref.key, new)
    return tuple((*ref.path[:-1], new) if ref.is_key else ref.path for ref in refs)


def migrate_names(ctx: Context) -> None:
    for kind in KINDS:
        label = LABELS.get(kind, kind)
        taken = {slot.name for slot in definitions(ctx.root, kind)}
        for slot in list(definitions(ctx.root, kind)):
            if not isinstance(slot.container, CommentedMap):
                continue
            old = slot.name
            try:
                outcome = markers.translate(
                    old,
                    markers.read(slot.container, slot.key),
                    ctx.source,
                    ctx.dest,
                    lambda _cloud, value, to, k=kind: derive_name(k, value, to),  # type: ignore[misc]
                )
            except Unmappable as exc:
                ctx.report.add(slot.path, "unsupported", f"{label} '{old}'", f"{exc}; rename it")
                continue
            new = str(outcome.value)
            if new != old and new in taken:
                ctx.report.add(
                    slot.path,
                    "unsupported",
                    f"{label} '{old}'",
                    f"'{new}' would collide with another {label}; rename it",
                )
                continue
            also = _rename(ctx, kind, slot, new) if new != old else ()
            count = len(also)
            key = new if slot.is_key else slot.key
            markers.write(slot.container, key, outcome.marker)
            path = (*slot.path[:-1], new) if slot.is_key else slot.path
            refs = f"; {count} reference{'s' if count != 1 else ''} rewritten" if count else ""
            if outcome.restored and new != old:
                ctx.report.add(
                    path,
                    "exact",
                    f"{label} '{old}' → '{new}'",
                    restored_note(outcome) + refs,
                    before=old,
                    after=new,
                    also=also,
                )
            elif new != old:
                rule = ctx.target.names[kind]
                why = f"{rule.says}; fitted with a hash of the full name so it stays unique{refs}"
                ctx.report.add(path, "approximate", f"{label} '{old}' → '{new}'", why, before=old, after=new, also=also)
            taken = (taken - {old}) | {new}
