"""Entity rows of a training-set request (SPEC §4, §8), checked before any feature is read:
the key and timestamp columns present, of a usable type, never null (the 422 names the row)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from app.contracts.parsing import shown
from app.contracts.spec import Column, ColumnType
from app.features.encoding import from_json
from app.features.errors import InvalidEntities
from app.features.offline import polars_type

MAX_JSON_ROWS = 1_000_000
MAX_NESTING = 32  # lists and objects within one passed-through value


def _cut(name: str) -> str:
    """A client's column name in a path of an error detail, at most 80 characters."""
    return name if len(name) <= 80 else f"{name[:77]}..."


def from_rows(
    rows: Any, keys: Sequence[Column], timestamp: str, *, field: str = "rows"
) -> pl.DataFrame:
    """`{"rows": [{…}, …]}` → a frame: key columns in their contract type, the timestamp column
    as UTC instants; other columns as polars reads them."""
    if not isinstance(rows, list):
        raise InvalidEntities(f"{field} must be a list of objects")
    if len(rows) > MAX_JSON_ROWS:
        raise InvalidEntities(f"{field} has {len(rows):,} rows; send more as Parquet")
    typed = {c.name: c.type for c in keys} | {timestamp: ColumnType.TIMESTAMP}
    names: list[str] = [] if rows else list(typed)  # no rows: an empty answer, not a 422
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InvalidEntities(f"{field}[{i}] is not an object")
        names += [k for k in row if k not in names]
    _named(names, field)
    data: dict[str, list[Any]] = {n: [] for n in names}
    for i, row in enumerate(rows):
        for name in names:
            value = row.get(name)
            if name in typed:
                try:
                    value = from_json(value, typed[name])
                except ValueError as exc:
                    raise InvalidEntities(f"{field}[{i}].{_cut(name)}: {exc}") from None
            data[name].append(value)
    return pl.DataFrame(
        [
            pl.Series(n, data[n], dtype=polars_type(typed[n]))
            if n in typed
            else _passthrough(n, data[n], field)
            for n in names
        ]
    )


def _passthrough(name: str, values: list[Any], field: str) -> pl.Series:
    """A column the join does not use, kept as sent: one JSON type per column (integers and
    floats together make floats); anything else mixed is refused rather than coerced.

    Lists and objects are built by pyarrow, which keeps every key and value or refuses (polars
    drops keys missing from the first object and truncates 0.5 in a list of integers; nested
    900 deep it took 40 s), after their depth is checked without recursion (pyarrow recurses:
    900 deep crashed the process)."""
    if _nested(name, values, field):
        try:
            column = pl.from_arrow(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            why = str(exc)[:200]  # pyarrow's message holds the whole offending value
            raise InvalidEntities(f"{field}: column {shown(name)} is not one type: {why}") from None
        assert isinstance(column, pl.Series)
        return column.alias(name)
    try:
        return pl.Series(name, values, strict=True)
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        pass
    numbers = all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
    )
    if numbers:
        return pl.Series(name, values, dtype=pl.Float64)
    kinds = sorted({type(v).__name__ for v in values if v is not None})
    raise InvalidEntities(f"{field}: column {shown(name)} mixes JSON types ({', '.join(kinds)})")


def _nested(name: str, values: list[Any], field: str) -> bool:
    """Whether any value is a list or an object; refuses one nested past MAX_NESTING."""
    nested = False
    for i, value in enumerate(values):
        todo = [(value, 1)] if isinstance(value, list | dict) else []
        nested = nested or bool(todo)
        while todo:
            item, depth = todo.pop()
            if depth > MAX_NESTING:
                raise InvalidEntities(
                    f"{field}[{i}].{_cut(name)} nests lists or objects more than {MAX_NESTING} deep"
                )
            inner = item.values() if isinstance(item, dict) else item
            todo += [(v, depth + 1) for v in inner if isinstance(v, list | dict)]
    return nested


def from_parquet(path: Path) -> pl.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidEntities(f"the body is not a readable Parquet file: {exc}") from None
    _named(table.column_names, "the Parquet body")
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _named(names: Sequence[str], field: str) -> None:
    """polars would rename a column named "" (to `column_<n>`): the answer must not."""
    if "" in names:
        raise InvalidEntities(f"{field}: a column has an empty name")


def check(
    frame: pl.DataFrame, keys: Sequence[Column], timestamp: str, features: Sequence[str]
) -> None:
    """Refuse (422) rows the join cannot use; the frame is returned to the caller unchanged."""
    for col in [*(c.name for c in keys), timestamp]:
        if col not in frame.columns:
            raise InvalidEntities(f"the entity rows have no column {shown(col)}")
    for name in features:
        if name in frame.columns:
            raise InvalidEntities(f"feature {name!r} has the name of an input column; rename it")
    for key in keys:
        dtype, want = frame.schema[key.name], polars_type(key.type)
        if dtype != want and not (dtype.is_integer() and want.is_integer()):
            raise InvalidEntities(f"entity column {key.name!r} is {dtype}, not {key.type.value}")
    ts = frame.schema[timestamp]
    if not isinstance(ts, pl.Datetime) or ts.time_zone is None:
        raise InvalidEntities(
            f"column {shown(timestamp)} is {ts}; "
            "it must hold UTC instants (a timestamp with a zone)"
        )
    for col in [*(c.name for c in keys), timestamp]:
        nulls = frame.get_column(col).is_null()
        if nulls.any():
            row = int(nulls.arg_true()[0])
            raise InvalidEntities(f"entity row {row} has a null {shown(col)}", row=row, column=col)
