"""The local emulator's dialect: everything the spec says, as it says it."""

from __future__ import annotations

from mlstack.targets.dialect import ALL_METRICS, ALL_STRATEGIES, TargetProfile

LOCAL = TargetProfile(
    cloud="local",
    needs_region=False,
    emulated=True,
    serves_unregistered_versions=True,
    title="the local emulator",
    names={},
    strategies=dict(ALL_STRATEGIES),
    unsupported_strategies={},
    max_canary_percent=99,
    max_shadow_percent=100,
    metrics=dict(ALL_METRICS),
    custom_metrics=frozenset(),
    serverless=True,
    schedule_rule="any",
    kms_key_pattern=r".+",
    kms_key_example="any key id (the emulator records it)",
)
