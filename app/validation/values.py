"""Sample values as JSON (SPEC §8 "Check records"): numbers, strings, booleans, RFC 3339 UTC
times, ISO dates, base64 binary; NaN and infinities (not JSON numbers) as strings."""

from __future__ import annotations

import base64
import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl


def json_value(value: Any) -> Any:
    """One Python value from polars → its JSON form."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)


def rfc3339(moment: datetime) -> str:
    """An aware datetime → RFC 3339 in UTC with `Z` (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def column_values(frame: pl.DataFrame, columns: tuple[str, ...], rows: pl.Series) -> list[Any]:
    """JSON values of `columns` at local `rows`: a scalar for one column, an object for a key."""
    picked = frame.select(columns).gather(rows)
    if len(columns) == 1:
        return [json_value(v) for v in picked.to_series().to_list()]
    return [{c: json_value(v) for c, v in row.items()} for row in picked.iter_rows(named=True)]
