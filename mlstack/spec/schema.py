"""The JSON Schema of the spec, generated from the models (never written by hand)."""

from __future__ import annotations

import json

SCHEMA_ID = "https://mlstack.dev/schema/v1/mlstack.schema.json"


def build() -> dict[str, object]:
    from mlstack.spec.models import Spec

    schema = Spec.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def schema_text() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"
