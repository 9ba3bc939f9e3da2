"""A feature view as the feature store needs it: resolved join keys, source file, features, TTL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SQL_TYPES = {
    "int32": "INTEGER",
    "int64": "INTEGER",
    "bool": "INTEGER",
    "float32": "REAL",
    "float64": "REAL",
    "string": "TEXT",
    "timestamp": "TEXT",
}


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str


@dataclass(frozen=True)
class View:
    name: str
    entity: str
    join_keys: tuple[Column, ...]
    source: Path
    timestamp_field: str
    created_timestamp_field: str | None
    features: tuple[Column, ...]
    ttl: int | None
    online: bool = True

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> View:
        """From the `feature_view` resource config that `desired.build` produces."""
        source = config["source"]
        return cls(
            name=config["name"],
            entity=config["entity"],
            join_keys=tuple(Column(c["name"], c["dtype"]) for c in config["join_keys"]),
            source=Path(source["uri"]),
            timestamp_field=source["timestamp_field"],
            created_timestamp_field=source.get("created_timestamp_field"),
            features=tuple(Column(c["name"], c["dtype"]) for c in config["features"]),
            ttl=config.get("ttl"),
            online=config.get("online", True),
        )

    @property
    def key_names(self) -> list[str]:
        return [c.name for c in self.join_keys]

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.features]

    def feature(self, name: str) -> Column:
        for column in self.features:
            if column.name == name:
                return column
        raise KeyError(name)
