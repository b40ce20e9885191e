"""Type, unit and operator tables shared by the ODCS export and import."""

from __future__ import annotations

from app.contracts.spec import (
    FLOAT_TYPES,
    INTEGER_TYPES,
    ColumnType,
)

API_VERSION = "v3.2.0"
VENDOR = "tollgate"

T = ColumnType
_LOGICAL = (
    dict.fromkeys(INTEGER_TYPES, "integer")
    | dict.fromkeys(FLOAT_TYPES, "number")
    | {
        T.BOOL: "boolean",
        T.STRING: "string",
        T.BINARY: "string",
        T.DATE: "date",
        T.TIMESTAMP: "timestamp",
    }
)
_FORMAT = {
    T.INT8: "i8",
    T.INT16: "i16",
    T.INT32: "i32",
    T.INT64: "i64",
    T.UINT8: "u8",
    T.UINT16: "u16",
    T.UINT32: "u32",
    T.UINT64: "u64",
    T.FLOAT32: "f32",
    T.FLOAT64: "f64",
    T.BINARY: "binary",
}
_BY_FORMAT = {f: t for t, f in _FORMAT.items()}
_BY_LOGICAL = {
    "string": T.STRING,
    "integer": T.INT64,
    "number": T.FLOAT64,
    "boolean": T.BOOL,
    "date": T.DATE,
    "timestamp": T.TIMESTAMP,
    "datetime": T.TIMESTAMP,
}
_PHYSICAL = {t.value: t for t in T} | {
    "boolean": T.BOOL,
    "tinyint": T.INT8,
    "smallint": T.INT16,
    "int": T.INT32,
    "integer": T.INT32,
    "bigint": T.INT64,
    "long": T.INT64,
    "real": T.FLOAT32,
    "float4": T.FLOAT32,
    "double": T.FLOAT64,
    "double precision": T.FLOAT64,
    "float8": T.FLOAT64,
    "varchar": T.STRING,
    "char": T.STRING,
    "text": T.STRING,
    "character varying": T.STRING,
    "nvarchar": T.STRING,
    "varbinary": T.BINARY,
    "bytes": T.BINARY,
    "bytea": T.BINARY,
    "blob": T.BINARY,
    "timestamptz": T.TIMESTAMP,
    "timestamp_tz": T.TIMESTAMP,
    "datetime": T.TIMESTAMP,
    "timestamp with time zone": T.TIMESTAMP,
}
_LENGTH_OPTS = {"min_length": "minLength", "max_length": "maxLength"}
_SLA_UNITS = {"d": "d", "h": "h", "m": "min", "s": "s"}
_SECONDS = {
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("h", "hours"), 3600),
    **dict.fromkeys(("m", "min", "minutes"), 60),
    **dict.fromkeys(("s", "seconds"), 1),
}
_ROW_OPS = {
    "mustBe": (("min", "max"), 0),
    "mustBeBetween": (("min", "max"), 0),
    "mustBeGreaterOrEqualTo": (("min",), 0),
    "mustBeGreaterThan": (("min",), 1),
    "mustBeLessOrEqualTo": (("max",), 0),
    "mustBeLessThan": (("max",), -1),
}
_HARMLESS = {
    "deprecated": False,
    "primaryKey": False,
    "partitioned": False,
    "criticalDataElement": False,
    "primaryKeyPosition": -1,
    "partitionKeyPosition": -1,
}
_COMMENTARY = ("id", "name", "description", "dimension", "businessImpact")
_NO_MAPPING = "has no equivalent in a Tollgate contract"
