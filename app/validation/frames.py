"""The polars frame the rules judge: the contract's columns in their check form (SPEC §8
widening: narrower integers widened, float32 as float64, dictionaries decoded, date64 as date,
instants converted to UTC), an absent nullable column as all-null."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import polars as pl

from app.contracts.spec import Column, ColumnType, ContractSpec
from app.validation.reading import ParquetSource
from app.validation.uniqueness import KeyLoader

LOAD_ROWS = 524_288  # rows of key columns decoded at a time when re-reading keys

CHECK_DTYPES: dict[ColumnType, pl.DataType] = {
    ColumnType.BOOL: pl.Boolean(),
    ColumnType.INT8: pl.Int8(),
    ColumnType.INT16: pl.Int16(),
    ColumnType.INT32: pl.Int32(),
    ColumnType.INT64: pl.Int64(),
    ColumnType.UINT8: pl.UInt8(),
    ColumnType.UINT16: pl.UInt16(),
    ColumnType.UINT32: pl.UInt32(),
    ColumnType.UINT64: pl.UInt64(),
    ColumnType.FLOAT32: pl.Float64(),
    ColumnType.FLOAT64: pl.Float64(),
    ColumnType.STRING: pl.String(),
    ColumnType.BINARY: pl.Binary(),
    ColumnType.DATE: pl.Date(),
    ColumnType.TIMESTAMP: pl.Datetime("us", "UTC"),
}


def _check_form(name: str, now: pl.DataType, declared: ColumnType) -> pl.Expr:
    col = pl.col(name)
    if declared is ColumnType.TIMESTAMP:
        assert isinstance(now, pl.Datetime)
        return col if now.time_zone == "UTC" else col.dt.convert_time_zone("UTC")
    target = CHECK_DTYPES[declared]
    return col if now == target else col.cast(target)


def to_frame(frame: pl.DataFrame, columns: Sequence[Column], rows: int) -> pl.DataFrame:
    """The check frame of `frame` (as read) for the contract `columns`; `rows` its height."""
    if not any(c.name in frame.schema for c in columns):
        return pl.select(
            [pl.repeat(None, rows, dtype=CHECK_DTYPES[c.type]).alias(c.name) for c in columns]
        )
    return frame.select(check_exprs(frame.schema, columns))


def check_exprs(schema: pl.Schema, columns: Sequence[Column]) -> list[pl.Expr]:
    """Expressions giving the check form of `columns` from a frame (or scan) with `schema`: an
    absent column is a null literal, so at least one of `columns` must be present."""
    return [
        _check_form(c.name, schema[c.name], c.type)
        if c.name in schema
        else pl.lit(None, dtype=CHECK_DTYPES[c.type]).alias(c.name)
        for c in columns
    ]


def key_loader(source: ParquetSource, spec: ContractSpec, columns: tuple[str, ...]) -> KeyLoader:
    """Read `columns` at given ascending global rows (for unique confirmation): only the windows
    of row groups that hold some, one window at a time, so memory is a window of key columns."""
    declared = [c for c in spec.columns if c.name in columns]
    in_file = [c.name for c in declared if c.name in source.schema.names]
    offsets = source.offsets

    def load(rows: pl.Series) -> Iterator[pl.DataFrame]:
        for first, last in source.windows(LOAD_ROWS):
            lo, hi = rows.search_sorted(offsets[first]), rows.search_sorted(offsets[last])
            if hi > lo:
                mine = rows.slice(int(lo), int(hi - lo)) - offsets[first]
                read = source.read_window((first, last), in_file)
                checked = to_frame(read, declared, offsets[last] - offsets[first])
                yield checked.gather(mine)

    return load
