"""Draft a contract document from a Parquet file (`tollgate infer`), in bounded memory.

Per column: the declared type (the narrowest that matches, SPEC §8), `nullable: false` when it
has no null, observed ranges as `in_range` (numbers, dates, instants; rounded outwards so the
file passes), `in_set` for low-cardinality strings (at most 20 distinct values and at most 5% of
the rows), `unique: true` for a likely key (all non-null values distinct, strings, integers or
binary). Columns no contract can accept (nested types, naive timestamps, names a contract cannot
carry) are left out and listed in the description.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from app.contracts.spec import COLUMN_PATTERN, INTEGER_TYPES, NUMERIC_TYPES, Column, ColumnType
from app.validation.frames import to_frame
from app.validation.reading import Source, open_parquet
from app.validation.typemap import declared_of, mismatch, type_name
from app.validation.uniqueness import SEED
from app.validation.values import rfc3339

MAX_SET = 20
SET_FRACTION = 0.05
WINDOW_ROWS = 524_288
_KEY_TYPES = INTEGER_TYPES | {ColumnType.STRING, ColumnType.BINARY}
_RANGE_TYPES = NUMERIC_TYPES | {ColumnType.DATE, ColumnType.TIMESTAMP}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class _Stats:
    column: Column
    nulls: int = 0
    low: Any = None
    high: Any = None
    nan: bool = False
    values: set[Any] | None = field(default_factory=set)
    hashes: list[pl.Series] | None = field(default_factory=list)

    def add(self, s: pl.Series) -> None:
        t = self.column.type
        self.nulls += s.null_count()
        if t in _RANGE_TYPES:
            self._range(s)
        if t is ColumnType.STRING and self.values is not None:
            self.values |= set(s.drop_nulls().unique().to_list())
            if len(self.values) > MAX_SET:
                self.values = None
        if t in _KEY_TYPES and self.hashes is not None:
            present = s.drop_nulls()
            if present.n_unique() < len(present):
                self.hashes = None
            else:
                self.hashes.append(present.hash(SEED))

    def _range(self, s: pl.Series) -> None:
        if self.column.type is ColumnType.TIMESTAMP:
            s = _micros(s)
        elif s.dtype.is_float():
            self.nan = self.nan or bool(s.is_nan().any())
            s = s.filter(~s.is_nan())
        low, high = s.min(), s.max()
        if low is not None:
            self.low = low if self.low is None else min(self.low, low)
            self.high = high if self.high is None else max(self.high, high)


def _micros(s: pl.Series) -> pl.Series:
    """Instants as integer microseconds, ns rounded so [floor(min), ceil(max)] holds them."""
    dtype = s.dtype
    assert isinstance(dtype, pl.Datetime)
    raw = s.cast(pl.Int64)
    if dtype.time_unit == "ns":
        return pl.concat([raw // 1000, -((-raw) // 1000)])  # floor and ceil candidates
    return raw * 1000 if dtype.time_unit == "ms" else raw


def infer_contract(source: Source, *, name: str) -> dict[str, Any]:
    """A contract document describing `source` that passes parse_contract as is."""
    with open_parquet(source) as src:
        kept, skipped = _columns(src.schema)
        stats = [_Stats(c) for c in kept]
        spans = src.windows(WINDOW_ROWS)
        names = [c.name for c in kept]
        for (a, b), read in zip(spans, src.iter_windows(spans, names), strict=True):
            frame = to_frame(read, kept, src.offsets[b] - src.offsets[a])
            for st in stats:
                st.add(frame.get_column(st.column.name))
        rows = src.rows
    doc: dict[str, Any] = {
        "name": name,
        "description": _description(rows, skipped),
        "columns": [_column_doc(st, rows) for st in stats] or [_placeholder()],
    }
    if rows:
        doc["checks"] = [{"row_count": {"min": 1}}]
    return doc


def _columns(schema: Any) -> tuple[list[Column], list[str]]:
    kept: list[Column] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for f in schema:
        declared = declared_of(f.type)
        if not re.match(COLUMN_PATTERN, f.name) or f.name in seen:
            skipped.append(f"{f.name!r} (a name a contract cannot carry)")
        elif declared is None or mismatch(f.type, declared) is not None:
            skipped.append(f"{f.name!r} ({type_name(f.type)})")
        else:
            kept.append(Column(name=f.name, type=declared))
        seen.add(f.name)
    return kept, skipped


def _description(rows: int, skipped: list[str]) -> str:
    text = f"Drafted by tollgate infer from a file of {rows:,} rows; review before registering."
    if skipped:
        text += " Left out (no contract type accepts them): " + ", ".join(skipped) + "."
    return text


def _placeholder() -> dict[str, Any]:
    return {"name": "placeholder", "type": "string", "description": "the file had no usable column"}


def _column_doc(st: _Stats, rows: int) -> dict[str, Any]:
    col = st.column
    doc: dict[str, Any] = {"name": col.name, "type": col.type.value}
    if rows and st.nulls == 0:
        doc["nullable"] = False
    present = rows - st.nulls
    if st.hashes is not None and present >= 2 and col.type in _KEY_TYPES:
        every = pl.concat(st.hashes) if st.hashes else pl.Series([], dtype=pl.UInt64)
        if every.n_unique() == present:  # distinct hashes: distinct values (never a false key)
            doc["unique"] = True
    checks: list[dict[str, Any]] = []
    bounds = _bounds(st)
    if bounds is not None:
        checks.append({"in_range": bounds})
    if st.values and len(st.values) <= SET_FRACTION * rows and not doc.get("unique"):
        checks.append({"in_set": sorted(st.values)})
    if checks:
        doc["checks"] = checks
    return doc


def _bounds(st: _Stats) -> dict[str, Any] | None:
    if st.low is None or st.nan:
        return None
    t = st.column.type
    if t is ColumnType.TIMESTAMP:
        low = rfc3339(_EPOCH + timedelta(microseconds=st.low))
        return {"min": low, "max": rfc3339(_EPOCH + timedelta(microseconds=st.high))}
    if t is ColumnType.DATE:
        assert isinstance(st.low, date)
        return {"min": st.low.isoformat(), "max": st.high.isoformat()}
    if t in INTEGER_TYPES:
        return {"min": int(st.low), "max": int(st.high)}
    lo, hi = float(st.low), float(st.high)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return {"min": lo, "max": hi}
