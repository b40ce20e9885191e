"""The row rules of a contract (SPEC §2.2, §8) and what each means as a polars expression.

An expression is True where a row passes, False where it fails and null where the rule does not
judge the row (value checks skip nulls). The engine hands them to pandera, which evaluates them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from app.contracts.parsing import parse_instant
from app.contracts.spec import (
    FLOAT_TYPES,
    INTEGER_BOUNDS,
    INTEGER_TYPES,
    ColumnCheck,
    ColumnType,
    ContractSpec,
    Severity,
)

POLARS_TYPES: dict[ColumnType, pl.DataType] = {
    ColumnType.INT8: pl.Int8(),
    ColumnType.INT16: pl.Int16(),
    ColumnType.INT32: pl.Int32(),
    ColumnType.INT64: pl.Int64(),
    ColumnType.UINT8: pl.UInt8(),
    ColumnType.UINT16: pl.UInt16(),
    ColumnType.UINT32: pl.UInt32(),
    ColumnType.UINT64: pl.UInt64(),
    ColumnType.STRING: pl.String(),
}


@dataclass(frozen=True)
class RowRule:
    """One row check of the report: `unique` is judged across the file, the rest row by row."""

    index: int
    check: str
    columns: tuple[str, ...]
    severity: Severity
    mostly: Decimal
    spec: ColumnCheck | None = None
    column_type: ColumnType | None = None
    dataset_index: int | None = None  # a composite key: its position in the contract's checks

    @property
    def id(self) -> str:
        return f"{self.check}:{'+'.join(self.columns)}"

    @property
    def is_unique(self) -> bool:
        return self.check == "unique"


def row_rules(spec: ContractSpec) -> list[RowRule]:
    """Every row rule in report order: per column not_null, unique, its checks; then keys."""
    out: list[RowRule] = []

    def add(check: str, cols: tuple[str, ...], sev: Severity, mostly: Decimal, **kw: Any) -> None:
        out.append(RowRule(len(out), check, cols, sev, mostly, **kw))

    one = Decimal(1)
    for col in spec.columns:
        if not col.nullable:
            add("not_null", (col.name,), Severity.ERROR, one)
        if col.unique:
            add("unique", (col.name,), Severity.ERROR, one)
        for check in col.checks:
            kind, sev = check.kind, check.severity
            add(kind, (col.name,), sev, check.mostly, spec=check, column_type=col.type)
    for k, ds in enumerate(spec.checks):
        if ds.unique is not None:
            add("unique", tuple(ds.unique), ds.severity, ds.effective_mostly, dataset_index=k)
    return out


def rule_expr(rule: RowRule) -> pl.Expr:
    """The pass/fail expression of a row-by-row rule (not `unique`)."""
    col = pl.col(rule.columns[0])
    if rule.check == "not_null":
        return col.is_not_null()
    check, t = rule.spec, rule.column_type
    assert check is not None
    assert t is not None
    if check.in_range is not None:
        return _in_range(col, t, check.in_range.min, check.in_range.max)
    if check.in_set is not None:
        return _in_set(col, t, check.in_set)
    if check.matches is not None:
        return col.str.contains(f"^(?:{check.matches})$")
    if check.min_length is not None:
        if check.min_length <= 1:  # a string has a character iff it has a byte: no UTF-8 scan
            return col.str.len_bytes() >= check.min_length
        return col.str.len_chars() >= check.min_length
    assert check.max_length is not None
    return col.str.len_chars() <= check.max_length


def _constant(col: pl.Expr, value: bool) -> pl.Expr:
    """`value` for every non-null row, null for nulls (a bound no value can cross)."""
    return pl.when(col.is_null()).then(None).otherwise(pl.lit(value))


def _all(col: pl.Expr, parts: list[pl.Expr]) -> pl.Expr:
    if not parts:
        return _constant(col, True)
    expr = parts[0]
    for part in parts[1:]:
        expr = expr & part
    return expr


def _in_range(col: pl.Expr, t: ColumnType, lo: Any, hi: Any) -> pl.Expr:
    if t in INTEGER_TYPES:
        return _int_range(col, t, lo, hi)
    if t in FLOAT_TYPES:
        parts = [col.is_not_nan()]  # NaN is in no range
        parts += [col >= float(lo)] if lo is not None else []
        parts += [col <= float(hi)] if hi is not None else []
        return _all(col, parts)
    parse = date.fromisoformat if t is ColumnType.DATE else parse_instant
    parts = [col >= pl.lit(parse(lo))] if lo is not None else []
    parts += [col <= pl.lit(parse(hi))] if hi is not None else []
    return _all(col, parts)


def _int_range(col: pl.Expr, t: ColumnType, lo: Any, hi: Any) -> pl.Expr:
    """Integer bounds, exact: fractional bounds round inwards, bounds past the type clamp."""
    low, high = INTEGER_BOUNDS[t]
    parts: list[pl.Expr] = []
    if lo is not None:
        bound = math.ceil(lo)
        if bound > high:
            return _constant(col, False)
        if bound > low:
            parts.append(col >= bound)
    if hi is not None:
        bound = math.floor(hi)
        if bound < low:
            return _constant(col, False)
        if bound < high:
            parts.append(col <= bound)
    return _all(col, parts)


SMALL_SET = 8  # string sets up to this size are compared value by value, not looked up


def _in_set(col: pl.Expr, t: ColumnType, values: list[int | str]) -> pl.Expr:
    if t is ColumnType.STRING:
        if len(values) <= SMALL_SET:
            # string views compare a short value in a few instructions; hashing every row for a
            # lookup costs more: 3 values on 524,288 rows, 1.5 ms against 4.6 ms
            return pl.any_horizontal([col == v for v in values])  # null stays null
        return col.is_in(pl.Series(values, dtype=pl.String()).implode())
    low, high = INTEGER_BOUNDS[t]
    fits = [v for v in values if isinstance(v, int) and low <= v <= high]
    if not fits:
        return _constant(col, False)
    return col.is_in(pl.Series(fits, dtype=POLARS_TYPES[t]).implode())
