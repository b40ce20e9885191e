"""SPEC §8 "Types": which Arrow types match a declared column type (the widening table), judged
on the file's schema; app.validation.frames brings matching columns to their check form."""

from __future__ import annotations

import pyarrow as pa

from app.contracts.spec import ColumnType

_INTS: dict[ColumnType, pa.DataType] = {
    ColumnType.INT8: pa.int8(),
    ColumnType.INT16: pa.int16(),
    ColumnType.INT32: pa.int32(),
    ColumnType.INT64: pa.int64(),
    ColumnType.UINT8: pa.uint8(),
    ColumnType.UINT16: pa.uint16(),
    ColumnType.UINT32: pa.uint32(),
    ColumnType.UINT64: pa.uint64(),
}
ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.BOOL: pa.bool_(),
    **_INTS,
    ColumnType.FLOAT32: pa.float32(),
    ColumnType.FLOAT64: pa.float64(),
    ColumnType.STRING: pa.string(),
    ColumnType.BINARY: pa.binary(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("us", "UTC"),
}
_BY_ARROW = {str(t): ct for ct, t in ARROW_TYPES.items() if ct is not ColumnType.TIMESTAMP}

# SPEC §8: declared type -> the narrower Arrow types that widen into it without loss.
_SMALL_INTS = {"int8", "int16", "int32", "uint8", "uint16", "uint32"}
WIDENS_INTO: dict[ColumnType, frozenset[str]] = {
    ColumnType.INT16: frozenset({"int8", "uint8"}),
    ColumnType.INT32: frozenset({"int8", "int16", "uint8", "uint16"}),
    ColumnType.INT64: frozenset({"int8", "int16", "int32", "uint8", "uint16", "uint32"}),
    ColumnType.UINT16: frozenset({"uint8"}),
    ColumnType.UINT32: frozenset({"uint8", "uint16"}),
    ColumnType.UINT64: frozenset({"uint8", "uint16", "uint32"}),
    ColumnType.FLOAT64: frozenset({"float", "float32", *_SMALL_INTS}),
    ColumnType.STRING: frozenset({"large_string", "string_view"}),
    ColumnType.BINARY: frozenset({"large_binary"}),
    ColumnType.DATE: frozenset({"date32[day]", "date64[ms]"}),
}


def type_name(t: pa.DataType) -> str:
    """A readable Arrow type name: `float32` rather than Arrow's `float`."""
    text = str(t)
    return {"float": "float32", "double": "float64", "halffloat": "float16"}.get(text, text)


def value_type(t: pa.DataType) -> pa.DataType:
    """A dictionary column is judged by its value type (SPEC §8 hostile inputs)."""
    return t.value_type if pa.types.is_dictionary(t) else t


def is_nested(t: pa.DataType) -> bool:
    return bool(pa.types.is_nested(t))


def mismatch(actual: pa.DataType, declared: ColumnType) -> str | None:
    """None when `actual` matches `declared` (or widens into it); otherwise why not."""
    t = value_type(actual)
    shown = type_name(actual)
    if is_nested(t):
        return f"{shown} is a nested type; declared {declared.value}"
    if declared is ColumnType.TIMESTAMP:
        if pa.types.is_timestamp(t):
            if t.tz is None:
                return f"{shown} is a naive timestamp (no time zone); declared timestamp (UTC)"
            return None
        return f"{shown} is not a timestamp; declared timestamp"
    name = str(t)
    if name == str(ARROW_TYPES[declared]) or name in WIDENS_INTO.get(declared, frozenset()):
        return None
    return f"{shown} does not widen into {declared.value}"


def declared_of(t: pa.DataType) -> ColumnType | None:
    """The declared type a file column most naturally has (for `infer`), or None."""
    t = value_type(t)
    if pa.types.is_timestamp(t):
        return ColumnType.TIMESTAMP
    name = str(t)
    if name in _BY_ARROW:
        return _BY_ARROW[name]
    return next((ct for ct, names in WIDENS_INTO.items() if name in names and _exact(ct, t)), None)


def _exact(ct: ColumnType, t: pa.DataType) -> bool:
    # large_string -> string, date64 -> date, large_binary -> binary: same values, other layout.
    return ct in (ColumnType.STRING, ColumnType.BINARY, ColumnType.DATE) or (
        ct is ColumnType.FLOAT64 and pa.types.is_float32(t)
    )
