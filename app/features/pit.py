"""Point-in-time (PIT) join: the feature values each entity row could have seen at its time.

For every entity row ``(key..., event_timestamp)`` the match is the feature row with the same
key and the greatest ``timestamp <= event_timestamp``; with a ttl the match must also satisfy
``timestamp > event_timestamp - ttl`` (strict, so a row exactly one ttl old has expired). Rows
sharing a key and a timestamp are ranked by ``_snapshot`` and then ``_row``: the greater wins.
No match, a null key part or a null timestamp (on either side) gives null features.

The output is the entity frame unchanged (columns, dtypes, order, duplicates), then the
requested feature columns and, with ``lineage``, ``_feature_timestamp``, ``_batch_id`` and
``_contract_version`` of the matched row.

Timestamps are compared as Int64 microseconds. Event timestamps of any unit are floored to
microseconds, which is exact because feature timestamps and the ttl are whole microseconds:
``f <= e_ns / 1000`` iff ``f <= floor(e_ns / 1000)``, and ``f * 1000 > e_ns - ttl * 1000``
iff ``f > floor(e_ns / 1000) - ttl``.

The engine is one polars backward ``join_asof`` per call. The feature side is first cut down
lazily (projection, time window and the requested entities, so a Parquet or Delta scan pushes
them down), then only its narrow join columns are sorted by ``(timestamp, _snapshot, _row)``:
among equal timestamps a backward asof join takes the *last* row, i.e. the tie winner. When the
caller knows the rows already come in ``(_snapshot, _row)`` order (``ordered``), a stable sort
by time alone does the same without reading the tie columns. The match yields a feature row
index, and the feature columns are gathered once, for the entity rows only.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

LINEAGE_COLUMNS = ("_feature_timestamp", "_batch_id", "_contract_version")

_TS = "__pit_ts"  # the join's Int64 microseconds, on both sides
_FEATURE_ROW = "__pit_feature_row"  # a feature row's position in the collected window
_ENTITY_ROW = "__pit_entity_row"  # an entity row's position in the request
_TIE_BREAK = ("_snapshot", "_row")
_INT64_MIN = -(2**63)
_US_FROM = {"ns": (1, 1000), "us": (1, 1), "ms": (1000, 1)}  # (multiply, floor-divide)


def point_in_time(
    entities: pl.DataFrame,
    features: pl.LazyFrame,
    *,
    entity: Sequence[str],
    timestamp: str,
    event_timestamp: str,
    columns: Sequence[str],
    ttl_us: int | None,
    lineage: bool = False,
    ordered: bool = False,
) -> pl.DataFrame:
    """Join each entity row to its point-in-time feature row (see the module docstring).

    `ordered`: the feature rows already come in (`_snapshot`, `_row`) order (the caller knows,
    e.g. from how they are stored); a stable sort by time then breaks ties without reading or
    sorting on `_snapshot` and `_row`."""
    keys = list(entity)
    schema = features.collect_schema()
    event_us = entities.select(_micros(event_timestamp, entities.schema[event_timestamp]))
    window = features.select(_needed(keys, timestamp, columns, lineage, ordered)).filter(
        _window(timestamp, schema[timestamp], event_us.to_series(), ttl_us)
    )
    window = _requested(window, entities, keys, schema)
    feats = window.collect(engine="streaming")
    matched = _match(entities, event_us, feats, keys, timestamp, schema, ttl_us, ordered)
    picked = [pl.col(c) for c in columns]
    if lineage:
        picked += [pl.col(timestamp).alias(LINEAGE_COLUMNS[0]), *map(pl.col, LINEAGE_COLUMNS[1:])]
    # one contiguous chunk first: a gather from many chunks (one per file) is slower than both
    values = feats.select(picked).rechunk()
    return entities.hstack(values.select(pl.all().gather(matched)))


def _micros(column: str, dtype: pl.DataType) -> pl.Expr:
    """A Datetime column of any unit as Int64 microseconds, flooring finer units."""
    if not isinstance(dtype, pl.Datetime):
        raise TypeError(f"{column!r} must be a Datetime column, not {dtype}")
    multiply, divide = _US_FROM[dtype.time_unit]
    return (pl.col(column).to_physical() * multiply // divide).alias(_TS)


def _needed(
    keys: list[str], timestamp: str, columns: Sequence[str], lineage: bool, ordered: bool
) -> list[str]:
    ties = () if ordered else _TIE_BREAK
    needed = [*keys, timestamp, *ties, *columns, *(LINEAGE_COLUMNS[1:] if lineage else ())]
    return list(dict.fromkeys(needed))


def _window(timestamp: str, dtype: pl.DataType, event_us: pl.Series, ttl_us: int | None) -> pl.Expr:
    """The feature rows some entity row could match: those inside the requested time span."""
    latest, earliest = event_us.max(), event_us.min()
    if not isinstance(latest, int) or not isinstance(earliest, int):
        return pl.lit(False)  # no event timestamps: nothing can match
    if ttl_us is not None and ttl_us < 1:
        return pl.lit(False)  # an empty ttl: nothing is fresh enough
    if not isinstance(dtype, pl.Datetime) or dtype.time_unit != "us":
        raise TypeError(f"feature timestamp {timestamp!r} must be Datetime('us'), not {dtype}")
    ts = pl.col(timestamp)
    keep = ts <= _at(latest, dtype)
    if ttl_us is None:
        return keep
    return keep & (ts > _at(max(earliest - ttl_us, _INT64_MIN), dtype))


def _requested(
    window: pl.LazyFrame, entities: pl.DataFrame, keys: list[str], schema: pl.Schema
) -> pl.LazyFrame:
    """Only the feature rows of entities the request names (order kept): a filter the scan
    applies while reading when the key is one column, a semi join otherwise."""
    wanted = entities.select(pl.col(k).cast(schema[k], strict=False) for k in keys)
    wanted = wanted.drop_nulls().unique()
    if len(keys) == 1:
        return window.filter(pl.col(keys[0]).is_in(wanted.get_column(keys[0]).implode()))
    return window.join(wanted.lazy(), on=keys, how="semi", maintain_order="left")


def _at(micros: int, dtype: pl.DataType) -> pl.Expr:
    return pl.lit(micros, dtype=pl.Int64).cast(dtype)


def _match(
    entities: pl.DataFrame,
    event_us: pl.DataFrame,
    feats: pl.DataFrame,
    keys: list[str],
    timestamp: str,
    schema: pl.Schema,
    ttl_us: int | None,
    ordered: bool,
) -> pl.Series:
    """Per entity row, in request order, the index of its feature row in ``feats`` (or null)."""
    left = (
        entities.select(pl.col(k).cast(schema[k], strict=False) for k in keys)
        .hstack(event_us)
        .with_row_index(_ENTITY_ROW)
        .sort(_TS)
    )
    if ordered:  # stable: equal times keep (_snapshot, _row) order
        right = (
            feats.select(*keys, pl.col(timestamp).to_physical().alias(_TS))
            .with_row_index(_FEATURE_ROW)
            .sort(_TS, maintain_order=True)
        )
    else:
        right = (
            feats.select(*keys, pl.col(timestamp).to_physical().alias(_TS), *_TIE_BREAK)
            .with_row_index(_FEATURE_ROW)
            .sort(_TS, *_TIE_BREAK)
            .drop(_TIE_BREAK)
        )
    joined = left.join_asof(
        right,
        on=_TS,
        by=keys,
        strategy="backward",
        tolerance=None if ttl_us is None else ttl_us - 1,  # inclusive: f >= e - (ttl - 1)
        check_sortedness=False,  # both sides were just sorted on the join column
    )
    return joined.sort(_ENTITY_ROW).get_column(_FEATURE_ROW)
