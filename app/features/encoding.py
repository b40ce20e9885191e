"""Values as JSON (SPEC §8: times as RFC 3339 in UTC) and the canonical entity key.

JSON has no NaN or infinities: those floats travel as the strings "NaN", "Infinity" and
"-Infinity" (as in protobuf's JSON mapping); binary values as base64.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from app.contracts.parsing import parse_instant, shown
from app.contracts.spec import FLOAT_TYPES, INTEGER_BOUNDS, INTEGER_TYPES, ColumnType

_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def json_value(value: Any) -> Any:
    """A Python value read from Arrow/polars → its JSON form."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):  # a list or struct column passed through from entity rows
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    raise TypeError(f"no JSON form for {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entity_key(values: Sequence[Any]) -> str:
    """The online store's key of one entity: its key values in JSON form, as a JSON array."""
    return dumps([json_value(v) for v in values])


def from_json(value: Any, t: ColumnType) -> Any:
    """A JSON value for a column of type `t` → the Python value; ValueError saying why not."""
    if value is None:
        return None
    if t in INTEGER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{shown(value)} is not an integer ({t.value})")
        low, high = INTEGER_BOUNDS[t]
        if not low <= value <= high:
            raise ValueError(f"{shown(value)} is out of range for {t.value}")
        return value
    if t in FLOAT_TYPES:
        if isinstance(value, str) and value in _FLOATS:
            return _FLOATS[value]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{shown(value)} is not a number ({t.value})")
        return float(value)
    return _from_json_other(value, t)


def _from_json_other(value: Any, t: ColumnType) -> Any:
    if t is ColumnType.BOOL:
        if not isinstance(value, bool):
            raise ValueError(f"{shown(value)} is not a boolean")
        return value
    if not isinstance(value, str):
        raise ValueError(f"{shown(value)} is not a string ({t.value})")
    if t is ColumnType.STRING:
        return value
    if t is ColumnType.TIMESTAMP:
        return parse_instant(value)
    if t is ColumnType.DATE:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{shown(value)} is not an ISO date (YYYY-MM-DD)") from None
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise ValueError(f"{shown(value)} is not base64") from None
