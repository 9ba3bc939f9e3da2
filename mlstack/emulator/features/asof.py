"""A point-in-time match for the common case, a single integer join key, in NumPy.

Key and time fold into one int64 (key offset times the time span, plus the time offset), so the
match is one sort of the source and one binary search per entity row: the last source row at or
before the row's time, kept when it has the same key and is within the TTL. Where that does not
apply (several or non-integer keys, nulls, non-timestamp times, a product past int64), it answers
None and the caller uses DuckDB's ASOF join, which gives the same answer."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LIMIT = 2**62


def _ints(column: pa.ChunkedArray) -> np.ndarray | None:
    if column.null_count or not pa.types.is_integer(column.type):
        return None
    return column.to_numpy().astype(np.int64, copy=False)


def _micros(column: pa.ChunkedArray) -> np.ndarray | None:
    if column.null_count or not pa.types.is_timestamp(column.type):
        return None
    as_us = pc.cast(column, pa.timestamp("us", tz=column.type.tz), safe=False)
    return pc.cast(as_us, pa.int64()).to_numpy()


def positions(
    entity_keys: pa.ChunkedArray,
    entity_times: pa.ChunkedArray,
    source_keys: pa.ChunkedArray,
    source_times: pa.ChunkedArray,
    source_created: pa.ChunkedArray | None,
    ttl_seconds: int | None,
) -> np.ndarray | None:
    """Per entity row, the position of its point-in-time source row (-1: none); None: not applicable."""
    ek, et, sk, st = _ints(entity_keys), _micros(entity_times), _ints(source_keys), _micros(source_times)
    if ek is None or et is None or sk is None or st is None:
        return None
    if len(sk) == 0 or len(ek) == 0:
        return np.full(len(ek), -1, dtype=np.int64)
    kmin, kmax = int(min(ek.min(), sk.min())), int(max(ek.max(), sk.max()))
    tmin, tmax = int(min(et.min(), st.min())), int(max(et.max(), st.max()))
    span = tmax - tmin + 1
    if (kmax - kmin + 1) * span >= LIMIT:
        return None
    source = (sk - kmin) * span + (st - tmin)
    wanted = (ek - kmin) * span + (et - tmin)
    if source_created is None:
        order = np.argsort(source, kind="stable")
    else:
        created = _micros(source_created) if pa.types.is_timestamp(source_created.type) else _ints(source_created)
        if created is None:
            return None
        order = np.lexsort((created, source))  # among equal key and time, the latest created sorts last
    ordered = source[order]
    # Sorted needles make the binary searches walk memory in order: sorting first is cheaper
    # than the cache misses of searching in random order.
    needles = np.argsort(wanted)
    found = np.empty(len(wanted), dtype=np.int64)
    found[needles] = np.searchsorted(ordered, wanted[needles], side="right") - 1
    at = np.maximum(found, 0)
    ok = (found >= 0) & (ordered[at] // span == wanted // span)
    if ttl_seconds:
        ok &= st[order[at]] >= et - ttl_seconds * 1_000_000
    return np.where(ok, order[at], -1)
