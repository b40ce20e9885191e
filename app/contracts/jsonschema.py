"""A contract → the JSON Schema (draft 2020-12) of one row (SPEC §5 "OpenAPI", §8 "Shapes").

Pure: shown as the OpenAPI 3.1 component `contract.<name>` and exported by `?format=jsonschema`.
Only error-severity checks become constraints; a check with `mostly < 1` still does, and is marked
in `x-mostly` (check kind → mostly) because JSON Schema has no notion of a tolerated fraction.
Date and timestamp bounds, which JSON Schema cannot state, go to `x-minimum`/`x-maximum` and the
description; so does a `matches` regex that is not also an ECMA-262 one (`x-pattern`).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from app.contracts.spec import (
    INTEGER_BOUNDS,
    Column,
    ColumnCheck,
    ColumnType,
    ContractSpec,
    Severity,
)

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


_BASE: dict[ColumnType, dict[str, Any]] = {
    ColumnType.BOOL: {"type": "boolean"},
    **{t: {"type": "integer"} for t in INTEGER_BOUNDS},
    ColumnType.FLOAT32: {"type": "number"},
    ColumnType.FLOAT64: {"type": "number"},
    ColumnType.STRING: {"type": "string"},
    ColumnType.BINARY: {"type": "string", "contentEncoding": "base64"},
    ColumnType.DATE: {"type": "string", "format": "date"},
    ColumnType.TIMESTAMP: {"type": "string", "format": "date-time"},
}

_TEMPORAL = frozenset({ColumnType.DATE, ColumnType.TIMESTAMP})


def component_name(name: str) -> str:
    """The OpenAPI component name of a contract's row schema."""
    return f"contract.{name}"


def row_schema(spec: ContractSpec) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that one row of the contract's data satisfies."""
    schema: dict[str, Any] = {
        "$schema": DRAFT_2020_12,
        "title": spec.title or spec.name,
    }
    if spec.description:
        schema["description"] = spec.description
    schema["type"] = "object"
    schema["properties"] = {col.name: column_schema(col) for col in spec.columns}
    schema["required"] = [col.name for col in spec.columns if not col.nullable]
    schema["additionalProperties"] = False
    return schema


def column_schema(col: Column) -> dict[str, Any]:
    """The schema of one column's value: its type, nullability and error-severity checks."""
    out = dict(_BASE[col.type])
    if col.nullable:
        out["type"] = [out["type"], "null"]
    notes: list[str] = [col.description] if col.description else []
    if col.type in INTEGER_BOUNDS:
        out["minimum"], out["maximum"] = INTEGER_BOUNDS[col.type]
    mostly: dict[str, float] = {}
    for check in col.checks:
        if check.severity is not Severity.ERROR:
            continue
        _constrain(out, notes, col, check)
        if check.mostly < 1:
            mostly[check.kind] = float(check.mostly)
    if notes:
        out["description"] = " ".join(notes)
    if mostly:
        out["x-mostly"] = mostly
    return out


def _constrain(out: dict[str, Any], notes: list[str], col: Column, check: ColumnCheck) -> None:
    if check.in_set is not None:
        out["enum"] = [*check.in_set, None] if col.nullable else list(check.in_set)
    elif check.matches is not None:
        anchored = f"^(?:{check.matches})$"
        if _portable(anchored):
            out["pattern"] = anchored
        else:  # RE2/Rust-only syntax (inline flags, \z, ...) is no ECMA-262 `pattern`
            out["x-pattern"] = anchored
            notes.append(f"Matches {anchored} (RE2/Rust syntax).")
    elif check.min_length is not None:
        out["minLength"] = check.min_length
    elif check.max_length is not None:
        out["maxLength"] = check.max_length
    elif check.in_range is not None:
        lo, hi = check.in_range.min, check.in_range.max
        if col.type in _TEMPORAL:
            # JSON Schema has no bounds for date strings: state them and keep them machine-readable.
            if lo is not None:
                out["x-minimum"] = lo
            if hi is not None:
                out["x-maximum"] = hi
            notes.append(_bounds_note(lo, hi))
            return
        if lo is not None:
            out["minimum"] = lo if "minimum" not in out else max(out["minimum"], lo)
        if hi is not None:
            out["maximum"] = hi if "maximum" not in out else min(out["maximum"], hi)


def _portable(regex: str) -> bool:
    """Conservatively: is this RE2/Rust regex also an ECMA-262 regex of the same meaning?"""
    if re.search(r"\(\?[A-Za-z]|\\[AzZQEC]", regex):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            re.compile(regex)
        except (re.error, FutureWarning, DeprecationWarning):
            return False
    return True


def _bounds_note(lo: Any, hi: Any) -> str:
    if lo is not None and hi is not None:
        return f"Between {lo} and {hi} inclusive."
    if lo is not None:
        return f"At least {lo}."
    return f"At most {hi}."
