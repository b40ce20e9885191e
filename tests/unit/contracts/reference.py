"""A small, deliberately naive reference reading of SPEC §2 and §8: is a batch accepted?

Written apart from the validation engine and from app.contracts.compat, so properties can compare
the two. A batch is `{column: (arrow-like type name, [python values])}`; absent columns are
allowed. "Accepted" means every error check passes (SPEC §2.4), whatever `on_violation` says:
under `quarantine` a failed row check makes the batch partial, not accepted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from app.contracts.spec import Column, ColumnCheck, ColumnType, ContractSpec, Severity

Batch = dict[str, tuple[str, list[Any]]]
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

# SPEC §8 "Types", written out by hand: declared type -> the batch types it also accepts.
_INT_INTO_FLOAT = {"int8", "int16", "int32", "uint8", "uint16", "uint32"}
WIDER_ACCEPTS: dict[str, set[str]] = {
    "int16": {"int8", "uint8"},
    "int32": {"int8", "int16", "uint8", "uint16"},
    "int64": {"int8", "int16", "int32", "uint8", "uint16", "uint32"},
    "uint16": {"uint8"},
    "uint32": {"uint8", "uint16"},
    "uint64": {"uint8", "uint16", "uint32"},
    "float64": {"float32", *_INT_INTO_FLOAT},
    "string": {"large_string", "string_view"},
    "binary": {"large_binary"},
    "date": {"date32", "date64"},
}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def type_ok(declared: str, actual: str) -> bool:
    if declared == "timestamp":
        # Any unit, any time zone; naive timestamps (no tz=) are structural failures.
        return actual.startswith("timestamp[") and "tz=" in actual
    return actual == declared or actual in WIDER_ACCEPTS.get(declared, set())


def within(failed: int, checked: int, mostly: Any) -> bool:
    """failed <= (1 - mostly) * checked, exactly, reading mostly as the decimal it prints as."""
    return checked == 0 or Fraction(failed) <= (1 - Fraction(str(mostly))) * checked


def accepts(spec: ContractSpec, batch: Batch, rows: int | None = None, now: datetime = NOW) -> bool:
    n = rows if rows is not None else len(next(iter(batch.values()), ("", []))[1])
    if not structure_ok(spec, batch):
        return False
    values = {c.name: batch[c.name][1] if c.name in batch else [None] * n for c in spec.columns}
    return rows_ok(spec, values, n) and dataset_ok(spec, values, n, now)


def structure_ok(spec: ContractSpec, batch: Batch) -> bool:
    declared = {c.name: c for c in spec.columns}
    if any(name not in declared for name in batch):
        return False
    if any(not c.nullable and c.name not in batch for c in spec.columns):
        return False
    return all(type_ok(declared[name].type.value, kind) for name, (kind, _) in batch.items())


def rows_ok(spec: ContractSpec, values: dict[str, list[Any]], n: int) -> bool:
    for col in spec.columns:
        column = values[col.name]
        present = [v for v in column if v is not None]
        if not col.nullable and len(present) != n:
            return False
        if col.unique and _duplicated_rows(present) > 0:
            return False
        for check in col.checks:
            if check.severity is Severity.ERROR and not _check_ok(col.type, check, present):
                return False
    return True


def _duplicated_rows(keys: Sequence[Any]) -> int:
    counts = Counter(keys)
    return sum(1 for k in keys if counts[k] > 1)


def value_ok(column: Column, value: Any) -> bool:
    """Whether one non-null value passes every error check of the column (ignoring mostly)."""
    return all(
        _value_ok(column.type, c, value) for c in column.checks if c.severity is Severity.ERROR
    )


def _check_ok(col_type: ColumnType, check: ColumnCheck, present: list[Any]) -> bool:
    failed = sum(1 for v in present if not _value_ok(col_type, check, v))
    return within(failed, len(present), check.mostly)


def _value_ok(col_type: ColumnType, check: ColumnCheck, value: Any) -> bool:
    if check.in_range is not None:
        lo, hi = (_bound(col_type, b) for b in (check.in_range.min, check.in_range.max))
        return (lo is None or value >= lo) and (hi is None or value <= hi)
    if check.in_set is not None:
        return value in set(check.in_set)
    if check.matches is not None:
        return re.fullmatch(check.matches, value) is not None
    if check.min_length is not None:
        return len(value) >= check.min_length
    assert check.max_length is not None
    return len(value) <= check.max_length


def _bound(col_type: ColumnType, bound: Any) -> Any:
    if bound is None or col_type not in (ColumnType.DATE, ColumnType.TIMESTAMP):
        return bound
    if col_type is ColumnType.DATE:
        return date.fromisoformat(bound)
    return datetime.fromisoformat(bound.replace("Z", "+00:00"))


def dataset_ok(spec: ContractSpec, values: dict[str, list[Any]], n: int, now: datetime) -> bool:
    for check in spec.checks:
        if check.severity is Severity.WARNING:
            continue
        if check.row_count is not None:
            lo, hi = check.row_count.min, check.row_count.max
            if (lo is not None and n < lo) or (hi is not None and n > hi):
                return False
        elif check.unique is not None:
            columns = zip(*(values[c] for c in check.unique), strict=True)
            keys = [key for key in columns if None not in key]
            mostly = check.mostly if check.mostly is not None else 1
            if not within(_duplicated_rows(keys), len(keys), mostly):
                return False
        elif check.freshness is not None and not _fresh(values, check.freshness, now):
            return False
    return True


def _fresh(values: dict[str, list[Any]], freshness: Any, now: datetime) -> bool:
    # With no value at all there is no evidence of fresh data: the check fails.
    present = [v for v in values[freshness.column] if v is not None]
    if not present:
        return False
    age = int(freshness.max_age[:-1]) * _SECONDS[freshness.max_age[-1]]
    latest = max(present)
    if not isinstance(latest, datetime):  # a date column: its day counts from midnight UTC
        latest = datetime(latest.year, latest.month, latest.day, tzinfo=UTC)
    return latest >= now - timedelta(seconds=age)
