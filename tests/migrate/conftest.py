"""A spec (target aws) that needs every kind of migration change somewhere on the other targets."""

from __future__ import annotations

import pytest

WIDE = """\
# A spec that exercises every kind of migration change.
apiVersion: mlstack/v1
name: payments-risk-platform-with-a-deliberately-long-name-for-vertex
owner: risk@example.com
target:
  cloud: aws
  region: eu-west-2   # the data must stay in London
  kms_key: arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
  gcp:
    project: risk-platform
    network: risk-vpc
    subnet: risk-endpoints
  azure:
    subscription_id: 00000000-1111-2222-3333-444444444444
    resource_group: rg-risk
    workspace: risk-ml

compute:
  gpu-serving-profile-a10g:   # a pinned instance
    instance_type: ml.g5.2xlarge
  t4:
    instance_type: ml.g4dn.xlarge
  cpu:
    vcpus: 4
    memory_gb: 16
  a10g:
    gpu: A10G
    gpus: 1

registry:
  model_groups:
    - name: risk
      versions:
        - version: 1
          artifact: s3://risk-models/risk/1/model.tar.gz
          framework: pytorch  # served on GPUs: a framework with GPU serving images on every cloud
          aliases: [champion]
        - version: 2
          artifact: s3://risk-models/risk/2/model.tar.gz
          framework: pytorch
          aliases: [challenger]

feature_store:
  entities:
    - name: card
      join_keys: [{name: card_id, dtype: string}]
  views:
    - name: card-stats
      entity: card
      source:
        uri: s3://risk-data/features/card_stats/
        timestamp_field: ts
      features: [{name: spend_7d, dtype: float64}]

endpoints:
  - name: risk-scoring-endpoint-for-eu-cards
    model: {group: risk, alias: champion}
    compute: gpu-serving-profile-a10g
    data_capture: {sampling_percent: 50}
    strategy:
      type: canary
      percent: 40   # big canary
      bake_time: 10m
  - name: risk-mirror
    model: {group: risk, alias: champion}
    compute: t4
    data_capture: {sampling_percent: 50}
    strategy:
      type: shadow
      challenger: {group: risk, alias: challenger}
      percent: 75
  - name: risk-ab
    compute: a10g
    data_capture: {sampling_percent: 50}
    strategy:
      type: ab
      variants:
        - name: a
          model: {group: risk, version: 1}
          weight: 50
          compute:
            instance_type: ml.m5.large
        - name: b
          model: {group: risk, version: 2}
          weight: 50

monitors:
  - name: risk-drift
    kind: data_drift
    endpoint: risk-scoring-endpoint-for-eu-cards
    baseline: s3://risk-data/baseline.parquet
    metric: psi
    threshold: 0.2
    schedule: "0 */5 * * *"
  - name: risk-linf
    kind: data_drift
    endpoint: risk-mirror
    baseline: s3://risk-data/baseline.parquet
    metric: l_infinity
    schedule: "0 * * * *"
  - name: risk-auc
    kind: model_quality
    endpoint: risk-mirror
    problem_type: binary_classification
    ground_truth: s3://risk-data/labels/
    metric: auc
    schedule: "0 5 * * *"

pipelines:
  - name: retrain
    image: 123456789012.dkr.ecr.eu-west-2.amazonaws.com/risk-train:1.0
    steps:
      - name: train
        kind: training
        entrypoint: train.py
        compute: t4
      - name: register
        kind: registration
        model_group: risk
      - name: ship
        kind: deployment
        endpoint: risk-scoring-endpoint-for-eu-cards
    triggers:
      - on_alert: risk-drift

environments:
  prod:
    endpoints:
      risk-scoring-endpoint-for-eu-cards:
        instance_count: 2
    monitors:
      risk-drift:
        schedule: "0 */5 * * *"
"""


@pytest.fixture
def wide() -> str:
    return WIDE
