"""Small azure specs for the tests, written as YAML text."""

from __future__ import annotations

import textwrap

HEAD = """\
apiVersion: mlstack/v1
name: shop
owner: team@example.com
tags:
  team: search
target:
  cloud: azure
  region: westeurope
  azure:
    subscription_id: 11111111-2222-3333-4444-555555555555
    resource_group: rg-shop
    workspace: shop-ml
    data_root: azureml://datastores/workspaceblobstore/paths/shop
{azure_extra}compute:
  small:
    vcpus: 2
    memory_gb: 4
  big:
    vcpus: 8
    memory_gb: 32
registry:
{registry_extra}  model_groups:
    - name: ranker
      versions:
        - version: 1
          artifact: models/ranker/1/
          aliases: [champion]
          metrics:
            auc: 0.91
        - version: 2
          artifact: models/ranker/2/
          aliases: [challenger]
"""


def ab_strategy(control: int, treatment: int, treatment_compute: str | None = None) -> str:
    """An A/B strategy block: ranker v1 as control, v2 as treatment."""
    compute = f"    compute: {treatment_compute}\n" if treatment_compute else ""
    return (
        "type: ab\nvariants:\n"
        f"  - name: control\n    model: {{group: ranker, version: 1}}\n    weight: {control}\n"
        f"  - name: treatment\n    model: {{group: ranker, version: 2}}\n    weight: {treatment}\n{compute}"
    )


def endpoint_spec(
    strategy: str,
    *,
    compute: str = "small",
    alias: str = "champion",
    extra: str = "",
    azure_extra: str = "",
    registry_extra: str = "",
    tail: str = "",
) -> str:
    """A spec with one endpoint `rank` serving ranker@alias with the given strategy block."""
    model = "" if "type: ab" in strategy else f"    model:\n      group: ranker\n      alias: {alias}\n"
    body = (
        "endpoints:\n"
        "  - name: rank\n"
        f"{model}"
        f"    compute: {compute}\n"
        f"{textwrap.indent(textwrap.dedent(extra), '    ')}"
        "    strategy:\n"
        f"{textwrap.indent(textwrap.dedent(strategy), '      ')}"
    )
    return HEAD.format(azure_extra=azure_extra, registry_extra=registry_extra) + body + textwrap.dedent(tail)


def monitor_spec(monitor: str) -> str:
    """One endpoint with capture and one monitor."""
    return endpoint_spec(
        "type: all_at_once\n",
        extra="data_capture:\n  sampling_percent: 50\n",
        tail="monitors:\n" + textwrap.indent(textwrap.dedent(monitor), "  "),
    )
