"""The feature store's Python API: online lookups, point-in-time training sets, materialisation
and pushes, over a state directory's stores. Works with the emulator running or not.

    from mlstack.emulator.features import FeatureStore
    store = FeatureStore.open(".mlstack")
    store.get_online_features("customer-stats", [{"customer_id": 7}])
    store.get_historical_features(entity_df, ["customer-stats:txn_count", "merchant-risk"])
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from mlstack.emulator.errors import BadRequest, NotFound
from mlstack.emulator.features.offline import ENTITY_TIMESTAMP, FeatureRef, OfflineStore, encode_key
from mlstack.emulator.features.online import OnlineStore
from mlstack.emulator.features.views import View
from mlstack.errors import did_you_mean

__all__ = ["FeatureStore", "View"]


def _epoch(value: Any) -> float:
    if value is None:
        return time.time()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        raise BadRequest(f"'{value}' is not a timestamp (ISO 8601 or epoch seconds)") from None


class FeatureStore:
    def __init__(self, online: OnlineStore, views: Callable[[], dict[str, View]]) -> None:
        self.online = online
        self.offline = OfflineStore()
        self._load_views = views
        self._views: dict[str, View] = {}

    @classmethod
    def open(cls, state_dir: str | Path) -> FeatureStore:
        """The feature store of a state directory, with the views its last `mlstack up` applied."""
        from mlstack.emulator.layout import StateDir
        from mlstack.emulator.store import open_state

        state = StateDir(Path(state_dir).resolve())
        if not state.exists():
            raise NotFound(f"{state.root} is not an mlstack state directory; run `mlstack up` first")
        db = open_state(state.database)

        def views() -> dict[str, View]:
            rows = db.query("SELECT config FROM resources WHERE kind = 'feature_view'")
            return {v.name: v for v in (View.from_config(json.loads(r["config"])) for r in rows)}

        return cls(OnlineStore(state.online_database), views)

    def view(self, name: str) -> View:
        view = self._views.get(name)
        if view is None:
            self._views = self._load_views()
            view = self._views.get(name)
        if view is None:
            raise NotFound(f"no feature view '{name}'{did_you_mean(name, self._views)}")
        return view

    def forget(self) -> None:
        """Drop cached view definitions (after views were applied or deleted)."""
        self._views = {}

    def get_online_features(
        self, view: str, entities: list[dict[str, Any]], features: list[str] | None = None
    ) -> list[dict[str, Any]]:
        try:
            return self.online.lookup(self.view(view), entities, features)
        except KeyError as exc:
            raise BadRequest(str(exc.args[0])) from None

    def get_historical_features(
        self, entity_rows: Any, features: list[str], timestamp_column: str = ENTITY_TIMESTAMP
    ) -> Any:
        """A point-in-time-correct training set as an Arrow table (`.to_pandas()` for a DataFrame).

        `features` are "view:feature" or a view name for all its features. Output columns are the
        feature names, or "view__feature" where two views share a name."""
        refs = self._refs(features)
        return self.offline.training_set(entity_rows, refs, timestamp_column)

    def materialize(self, view: str, start: float | None = None, end: float | None = None) -> int:
        """Copy the latest value per entity (event time in (start, end]) to the online store."""
        definition = self.view(view)
        if not definition.online:
            raise BadRequest(f"feature view '{view}' is offline only (online: false)")
        self.online.ensure_table(definition)
        return self.online.write(definition, self.offline.latest_rows(definition, start, end))

    def freshness(self, view: str) -> dict[str, Any]:
        """The online rows of a view and how many of them lookups serve (within the view's TTL)."""
        return self.online.freshness(self.view(view))

    def push(self, view: str, rows: list[dict[str, Any]]) -> int:
        """Write rows (join keys, features, optional event_timestamp) straight to the online store."""
        definition = self.view(view)
        self.online.ensure_table(definition)
        encoded = []
        for i, row in enumerate(rows):
            missing = [n for n in (*definition.key_names, *definition.feature_names) if n not in row]
            if missing:
                raise BadRequest(f"row {i} lacks {', '.join(missing)} (view '{view}')")
            encoded.append(
                (
                    encode_key([row[k] for k in definition.key_names]),
                    _epoch(row.get(ENTITY_TIMESTAMP)),
                    *(row[f] for f in definition.feature_names),
                )
            )
        return self.online.write(definition, encoded)

    def _refs(self, features: list[str]) -> list[FeatureRef]:
        if not features:
            raise BadRequest("name at least one feature ('view:feature') or view")
        pairs: list[tuple[View, str]] = []
        for item in features:
            view_name, _, feature = item.partition(":")
            view = self.view(view_name)
            if not feature:
                pairs.extend((view, f) for f in view.feature_names)
            elif feature in view.feature_names:
                pairs.append((view, feature))
            else:
                raise BadRequest(
                    f"view '{view_name}' has no feature '{feature}'{did_you_mean(feature, view.feature_names)}"
                )
        counts: dict[str, int] = {}
        for _, feature in pairs:
            counts[feature] = counts.get(feature, 0) + 1
        return [FeatureRef(v, f, f if counts[f] == 1 else f"{v.name}__{f}") for v, f in dict.fromkeys(pairs)]

    def close(self) -> None:
        self.online.close()
        self.offline.close()
