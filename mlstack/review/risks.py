"""Risk flags a reviewer must not miss: serving endpoints replaced or deleted, deployment strategies
removed or weakened in production, monitoring or data capture turned off, encryption or private
networking removed, IAM access widened, protected resources touched, the monthly cost growing past
the limits (`cost.Limits`).

Spec-level rules read the two resolved specs; resource-level rules read the plan diff through the
provider data in `resource_rules`, so they hold for every target."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlstack.catalog.model import UNPRICED
from mlstack.resolve import Resolved
from mlstack.review import iam
from mlstack.review.cost import CostChange, CostReport, Limits, money
from mlstack.review.resource_rules import rules_for
from mlstack.review.resources import ResourceChange
from mlstack.review.summary import ComponentChange
from mlstack.review.values import MISSING, show
from mlstack.spec.models import Endpoint, Network
from mlstack.spec.types import format_duration

SEVERITIES = ("high", "medium")
# How much a strategy guards a rollout: gradual with a bake beats a fleet switch beats all at once.
# Shadow and ab split traffic between models; they do not guard a rollout.
_GUARD = {"canary": 2, "linear": 2, "blue_green": 1, "all_at_once": 0, "shadow": 0, "ab": 0}
_ENCRYPTION = re.compile(r"kms|encrypt|cmk|keyvault|keyidentifier", re.IGNORECASE)
_PRIVATE_NETWORK = re.compile(
    r"vpc|subnet|securitygroup|privateserviceconnect|networkisolation|privateendpoint|managednetwork|^network$",
    re.IGNORECASE,
)
_PUBLIC = re.compile(r"public", re.IGNORECASE)
_PRIVATE_TYPES = re.compile(r"PrivateEndpoint|VpcEndpoint|ServiceAttachment|ForwardingRule", re.IGNORECASE)


@dataclass(frozen=True)
class Risk:
    severity: str  # high | medium
    rule: str  # serving | strategy | mode | monitoring | encryption | network | iam | protected | cost
    message: str
    component: tuple[str, str] | None = None
    resources: tuple[str, ...] = ()

    def sort_key(self) -> tuple[Any, ...]:
        return (SEVERITIES.index(self.severity), self.rule, self.component or ("", ""), self.message)


def _label(change: ResourceChange) -> str:
    return f"{change.type} {change.name}"


def _leaf(path: str) -> str:
    return re.split(r"[.\[]", path.rstrip("]"))[-1] if path else path


def _falsy(value: Any) -> bool:
    return value is MISSING or value in (None, "", False, [], {})


# --- serving --------------------------------------------------------------------------------------


def _serving(components: list[ComponentChange], resources: list[ResourceChange]) -> list[Risk]:
    risks = []
    gone = set()
    for c in components:
        if c.kind != "endpoint" or c.action not in ("removed", "renamed"):
            continue
        old = c.renamed_from or c.name
        gone.add(old)
        message = f"endpoint {c.name} removed: its serving endpoint is deleted"
        if c.renamed_from:
            message = (
                f"endpoint {old} renamed to {c.name}: the serving endpoint {old} is deleted and a new one "
                f"created; callers must move to {c.name}"
            )
        risks.append(Risk("high", "serving", message, ("endpoint", c.name)))
    for r in resources:
        planned = r.new or r.old
        if r.action not in ("replace", "delete") or planned is None:
            continue
        if r.component is not None and r.component[0] == "endpoint" and r.component[1] in gone:
            continue  # said above, once for the endpoint
        serving = rules_for(r.type).serves(planned.inputs)
        if serving and r.action == "delete":
            risks.append(Risk("high", "serving", f"serving endpoint {r.name} is deleted", r.component, (_label(r),)))
        elif serving and not r.delete_before_replace:
            because = ", ".join(r.replaced_by)
            message = (
                f"serving endpoint {r.name} is replaced ({because} cannot change in place): callers see a new endpoint"
            )
            risks.append(Risk("high", "serving", message, r.component, (_label(r),)))
        elif r.action == "replace" and r.delete_before_replace:
            severity = "high" if serving or (r.component is not None and r.component[0] == "endpoint") else "medium"
            message = (
                f"{r.name} is deleted before its replacement exists ({', '.join(r.replaced_by)} changed): "
                "a gap in service"
            )
            risks.append(Risk(severity, "serving", message, r.component, (_label(r),)))
    return risks


# --- strategy -------------------------------------------------------------------------------------


def _weakened(old: Any, new: Any) -> list[str]:
    """How the rollout of an endpoint got less safe, from `old` to `new` strategy."""
    if old.type != new.type:
        if _GUARD[new.type] < _GUARD[old.type] or (new.type == "all_at_once" and old.type != "all_at_once"):
            return [f"strategy {old.type} → {new.type}"]
        return []
    out = []
    for field, worse, shown in (
        ("percent", "more", show),
        ("step_percent", "more", show),
        ("bake_time", "less", format_duration),
        ("interval", "less", format_duration),
        ("termination_wait", "less", format_duration),
    ):
        if new.type == "shadow" or not hasattr(old, field):
            continue
        before, after = getattr(old, field), getattr(new, field)
        if (after > before) if worse == "more" else (after < before):
            out.append(f"{new.type} {field} {shown(before)} → {shown(after)}")
    old_rb, new_rb = getattr(old, "rollback", None), getattr(new, "rollback", None)
    if old_rb and not new_rb:
        out.append("automatic rollback removed")
    elif old_rb and new_rb:
        for field in ("max_error_rate", "max_p99_latency_ms"):
            before, after = getattr(old_rb, field), getattr(new_rb, field)
            if before is not None and (after is None or after > before):
                out.append(f"rollback {field} {show(before)} → {show(after)}")
    return out


def _strategy(base: Resolved, head: Resolved, renamed: dict[str, str]) -> list[Risk]:
    if not (head.production or base.production):
        return []
    risks = []
    for endpoint in head.spec.endpoints:
        old = base.spec.endpoint(renamed.get(endpoint.name, endpoint.name))
        if old is None:
            continue
        reasons = _weakened(old.strategy, endpoint.strategy)
        if not reasons:
            continue
        removed = endpoint.strategy.type == "all_at_once"
        what = "removed" if removed else "weakened"
        risks.append(
            Risk(
                "high" if removed else "medium",
                "strategy",
                f"endpoint {endpoint.name}: rollout strategy {what} in production ({head.environment}): "
                f"{'; '.join(reasons)}",
                ("endpoint", endpoint.name),
            )
        )
    return risks


# --- monitoring and data capture -------------------------------------------------------------------


def _mode(base: Resolved, head: Resolved) -> list[Risk]:
    """A production deploy that is not in production mode: a developer's copy (names prefixed with the user,
    schedules and monitors paused), or one whose `mode: production` was taken away."""
    if not head.production:
        return []
    mode = head.spec.environments[head.environment].mode if head.environment else None
    if head.development:
        message = (
            f"production ({head.environment}) deploys in development mode: a copy named for {head.prefix}, "
            "with its schedules and monitors paused; set `mode: production`"
        )
        return [Risk("high", "mode", message)]
    was = base.spec.environments[base.environment].mode if base.environment in base.spec.environments else None
    if was == "production" and mode != "production":
        return [Risk("medium", "mode", f"production ({head.environment}) is no longer marked `mode: production`")]
    return []


def _monitoring(
    base: Resolved, head: Resolved, components: list[ComponentChange], renamed: dict[str, str]
) -> list[Risk]:
    risks = []
    for c in components:
        if c.kind == "monitor" and c.action == "removed":
            monitor = next(m for m in base.spec.monitors if m.name == c.name)
            risks.append(
                Risk(
                    "medium",
                    "monitoring",
                    f"monitor {c.name} removed: {monitor.kind.replace('_', ' ')} of endpoint {monitor.endpoint} "
                    "is no longer watched",
                    ("monitor", c.name),
                )
            )
    for endpoint in head.spec.endpoints:
        old = base.spec.endpoint(renamed.get(endpoint.name, endpoint.name))
        if old is not None and old.captures and not endpoint.captures:
            readers = sorted(m.name for m in head.spec.monitors if m.endpoint == endpoint.name)
            also = f"; monitors {', '.join(readers)} read its captures" if readers else ""
            risks.append(
                Risk(
                    "medium",
                    "monitoring",
                    f"endpoint {endpoint.name}: data capture turned off{also}",
                    ("endpoint", endpoint.name),
                )
            )
    return risks


# --- encryption and networking ---------------------------------------------------------------------


def _resources_where(resources: list[ResourceChange], test: Any) -> tuple[str, ...]:
    return tuple(
        sorted(
            {
                f"{_label(r)} ({c.path})"
                for r in resources
                if r.action in ("update", "replace")
                for c in r.changes
                if test(c)
            }
        )
    )


def _encryption(base: Resolved, head: Resolved, resources: list[ResourceChange]) -> list[Risk]:
    affected = _resources_where(
        resources, lambda c: bool(_ENCRYPTION.search(c.path)) and not _falsy(c.old) and _falsy(c.new)
    )
    if base.kms_key and not head.kms_key:
        message = f"encryption key removed: {base.kms_key} no longer encrypts the platform's data"
    elif affected:
        message = "encryption settings removed from resources"
    else:
        return []
    return [Risk("high", "encryption", message, None, affected)]


def _network(base: Resolved, head: Resolved, resources: list[ResourceChange], renamed: dict[str, str]) -> list[Risk]:
    risks = []
    # no network section means the defaults: private endpoints, no VPC named
    old_net, new_net = base.spec.target.network or Network(), head.spec.target.network or Network()
    private_settings = _resources_where(
        resources, lambda c: bool(_PRIVATE_NETWORK.search(_leaf(c.path))) and not _falsy(c.old) and _falsy(c.new)
    )
    removed_links = tuple(
        sorted(_label(r) for r in resources if r.action == "delete" and _PRIVATE_TYPES.search(r.type.split(":")[-1]))
    )
    reasons = []
    if old_net.private_endpoints and not new_net.private_endpoints:
        reasons.append("network.private_endpoints true → false")
    if old_net.vpc and not new_net.vpc:
        reasons.append(f"network.vpc {old_net.vpc} removed")
    if old_net.subnets and not new_net.subnets:
        reasons.append("network.subnets removed")
    if reasons or private_settings or removed_links:
        message = "private networking removed" + (f": {'; '.join(reasons)}" if reasons else " from resources")
        risks.append(Risk("high", "network", message, None, private_settings + removed_links))
    for endpoint in head.spec.endpoints:
        old: Endpoint | None = base.spec.endpoint(renamed.get(endpoint.name, endpoint.name))
        if endpoint.public and (old is None or not old.public):
            verb = "made public" if old is not None else "added as a public endpoint"
            risks.append(Risk("high", "network", f"endpoint {endpoint.name} {verb}", ("endpoint", endpoint.name)))
    opened = _resources_where(resources, lambda c: bool(_PUBLIC.search(_leaf(c.path))) and _opens(c.old, c.new))
    if opened:
        risks.append(Risk("high", "network", "public access enabled on resources", None, opened))
    return risks


def _opens(old: Any, new: Any) -> bool:
    def is_open(value: Any) -> bool:
        return value is True or (isinstance(value, str) and value.lower() in ("enabled", "true"))

    return is_open(new) and not is_open(old)


# --- IAM -------------------------------------------------------------------------------------------


def _principal(inputs: dict[str, Any], grant: Any) -> str | None:
    """Who a grant is for, or None when the plan cannot know (an output the mocks leave unset)."""
    value = inputs.get(grant.principal)
    if not isinstance(value, str) or not value or value.endswith(":None"):
        return None
    return value


def _given(inputs: dict[str, Any], r_type: str) -> tuple[str | None, set[iam.Permission]]:
    """A resource's grantee (None when it is not a grant, or the plan cannot know who) and what it gives."""
    grant = rules_for(r_type).grant
    if grant is None:
        return None, iam.permissions(inputs)
    principal = _principal(inputs, grant)
    given = iam.permissions(inputs, principal or "?")
    if grant.permission:
        scope = show(inputs.get(grant.scope)) if grant.scope else "*"
        given.add(iam.Permission("Grant", principal or "?", show(inputs.get(grant.permission)), scope))
    return principal, given


def _by_principal(plan: list[Any]) -> dict[str, tuple[set[iam.Permission], list[tuple[str, str]]]]:
    """Per grantee: everything granted to it, and by which resources (type, name)."""
    out: dict[str, tuple[set[iam.Permission], list[tuple[str, str]]]] = {}
    for planned in plan:
        principal, given = _given(planned.inputs, planned.type)
        if principal is not None:
            permissions, names = out.setdefault(principal, (set(), []))
            permissions.update(given)
            names.append((planned.type, planned.name))
    return out


def _iam(base: list[Any], head: list[Any], resources: list[ResourceChange], renamed: dict[str, str]) -> list[Risk]:
    """Access widened for a principal on both sides (all its grants together, so moving a permission
    between grants is not widening, nor is following a renamed spec object to its new name), or in
    a policy document of a resource that is not a grant."""
    risks = []
    carry = iam.renamer(renamed)
    before, after = _by_principal(base), _by_principal(head)
    changed = {(r.type, r.name): r for r in resources if r.action != "delete"}
    for principal in sorted(set(before) & set(after)):
        found = iam.widened({carry(p) for p in before[principal][0]}, after[principal][0])
        if found:
            mine = [changed[k] for k in after[principal][1] if k in changed]
            message = f"IAM access widened for {principal}: {'; '.join(found)}"
            component = mine[0].component if len({m.component for m in mine}) == 1 else None
            risks.append(Risk("high", "iam", message, component, tuple(sorted(_label(m) for m in mine))))
    for r in resources:
        if r.action not in ("update", "replace") or r.old is None or r.new is None or rules_for(r.type).grant:
            continue
        found = iam.widened({carry(p) for p in iam.permissions(r.old.inputs)}, iam.permissions(r.new.inputs))
        for path in rules_for(r.type).widening:
            added = iam.items_widened(_collect(r.old.inputs, path), _collect(r.new.inputs, path))
            found += [f"{path} adds {item}" for item in added]
        if found:
            message = f"IAM access widened by {r.name}: {'; '.join(found)}"
            risks.append(Risk("high", "iam", message, r.component, (_label(r),)))
    return risks


def _collect(inputs: dict[str, Any], path: str) -> list[str]:
    """The strings at a property path with `[*]` wildcards (e.g. permissions[*].actions)."""
    values: list[Any] = [inputs]
    for token in re.findall(r"[^.\[\]]+|\[\*\]", path):
        if token == "[*]":
            values = [item for v in values if isinstance(v, list) for item in v]
        else:
            values = [v.get(token) for v in values if isinstance(v, dict)]
    return sorted({str(s) for v in values for s in (v if isinstance(v, list) else [v]) if s is not None})


# --- protected -------------------------------------------------------------------------------------


def _protected(resources: list[ResourceChange]) -> list[Risk]:
    return [
        Risk(
            "medium",
            "protected",
            f"{r.name} is protected: the {r.action} will fail until protect is lifted",
            r.component,
            (_label(r),),
        )
        for r in resources
        if r.protected and r.action in ("replace", "delete")
    ]


# --- cost ------------------------------------------------------------------------------------------


def _cost(base: Resolved | None, head: Resolved | None, report: CostReport, limits: Limits) -> list[Risk]:
    """The platform's monthly total past a limit at either end of its autoscaling range; the endpoints
    that grew are named, the largest increase first. When a total is not estimated (a price is unknown),
    an endpoint that keeps its SKUs and multiplies its instances past the ratio is still a risk: its cost
    grows by that ratio whatever the price."""
    production = next((r for r in (head, base) if r is not None and r.production), None)
    where = f" in production ({production.environment})" if production else ""
    severity = "high" if production else "medium"
    if None in (*report.base_total, *report.head_total):
        return [
            Risk(
                severity,
                "cost",
                f"monthly cost{where} of {change.kind.replace('_', ' ')} {change.name} {reason}",
                (change.kind, change.name),
            )
            for change in report.endpoints
            if (reason := _scaled(change, limits))
        ]
    reasons = []
    ends = list(zip((" at min", " at max"), report.base_total, report.head_total, strict=True))
    if ends[0][1:] == ends[1][1:]:  # no autoscaling range on either side: one figure
        ends = [("", *ends[0][1:])]
    for end, before, after in ends:
        assert before is not None and after is not None  # both totals are estimated here
        grew = round(after - before, 2)
        if grew <= 0:
            continue
        if before > 0 and after / before > limits.ratio:
            reasons.append(f"{money(before)} → {money(after)}{end} ({after / before:.1f}×; limit {limits.ratio:g}×)")
        elif grew > limits.increase:
            reasons.append(
                f"{money(before)} → {money(after)}{end} ({money(grew, signed=True)}; limit {money(limits.increase)})"
            )
    if not reasons:
        return []
    grown = sorted(
        (c for c in report.endpoints if (c.delta_high or 0) > 0 or (c.delta_low or 0) > 0),
        key=lambda c: -(c.delta_high or 0),
    )
    by = f"; grown by endpoint {', '.join(c.name for c in grown)}" if grown else ""
    return [
        Risk(
            severity,
            "cost",
            f"monthly cost{where} {'; '.join(reasons)}{by}",
            ("endpoint", grown[0].name) if len(grown) == 1 else None,
        )
    ]


def _scaled(change: CostChange, limits: Limits) -> str:
    """Why an endpoint or batch job whose price is unknown is a cost risk: the same SKUs on more instances
    (a batch job: more instance-hours) than the ratio allows. Empty when it is not (or when the SKUs changed,
    so the growth cannot be known)."""
    ratios = change.ratios()
    if ratios is None or change.base is None or change.head is None:
        return ""
    ends = [("", ratios[0])] if ratios[0] == ratios[1] else [(" at min", ratios[0]), (" at max", ratios[1])]
    grown = [f"{ratio:.1f}×{end}" for end, ratio in ends if ratio > limits.ratio]
    if not grown:
        return ""
    return (
        f"grows {', '.join(grown)} (limit {limits.ratio:g}×): {change.base.shape} → {change.head.shape}, the same "
        f"SKUs, so the cost scales with the {'run hours' if change.kind == 'batch_job' else 'instances'} whatever "
        f"the price ({UNPRICED})"
    )


def assess(
    base: Resolved | None,
    head: Resolved | None,
    base_plan: list[Any],
    head_plan: list[Any],
    components: list[ComponentChange],
    resources: list[ResourceChange],
    cost: CostReport | None = None,
    limits: Limits = Limits(),
) -> list[Risk]:
    """Every risk, high first."""
    renamed = {c.name: c.renamed_from for c in components if c.kind == "endpoint" and c.renamed_from}
    renames = {c.renamed_from: c.name for c in components if c.renamed_from}
    risks = _serving(components, resources) + _protected(resources)
    if cost is not None:
        risks += _cost(base, head, cost, limits)
    if base is not None and head is not None:
        risks += _strategy(base, head, renamed)
        risks += _mode(base, head)
        risks += _monitoring(base, head, components, renamed)
        risks += _encryption(base, head, resources)
        risks += _network(base, head, resources, renamed)
        risks += _iam(base_plan, head_plan, resources, renames)
    return sorted(risks, key=Risk.sort_key)
