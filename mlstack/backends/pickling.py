"""A guard around Pulumi's dynamic-provider serialization.

`pulumi.dynamic.serialize_provider` (pulumi 3.272) makes pickling deterministic by patching the
pure-Python pickler (`pickle._Pickler`) and never puts it back: every dynamic resource wraps
`_batch_setitems` once more. After about a thousand of them in one process (a large plan, many plans,
or `mlstack deploy` followed by anything that pickles) joblib saving a model overflows the stack. This
keeps Pulumi's sorting during its own serialization and restores the pickler after each call."""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from typing import Any

from pulumi.dynamic import dynamic


def _restoring(serialize: Callable[[Any], str]) -> Callable[[Any], str]:
    @functools.wraps(serialize)
    def serialize_provider(provider: Any) -> str:
        saved = pickle._Pickler._batch_setitems, pickle._Pickler.save_dict  # type: ignore[attr-defined]
        try:
            return serialize(provider)
        finally:
            pickle._Pickler._batch_setitems, pickle._Pickler.save_dict = saved  # type: ignore[attr-defined]

    serialize_provider.restores_pickler = True  # type: ignore[attr-defined]
    return serialize_provider


def guard() -> None:
    if not getattr(dynamic.serialize_provider, "restores_pickler", False):
        dynamic.serialize_provider = _restoring(dynamic.serialize_provider)
