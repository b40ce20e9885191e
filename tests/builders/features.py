"""A small feature view (user_stats) and Parquet batches of it, for feature-store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from tests.builders.batches import PARQUET, parquet_bytes

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STATS_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("ts", pa.timestamp("us", "UTC")),
        ("spend", pa.float64()),
        ("visits", pa.int32()),
        ("segment", pa.string()),
    ]
)


def stats_doc(**features: Any) -> dict[str, Any]:
    return {
        "name": "user_stats",
        "on_violation": "quarantine",
        "columns": [
            {"name": "user_id", "type": "int64", "nullable": False},
            {"name": "ts", "type": "timestamp", "nullable": False},
            {"name": "spend", "type": "float64", "checks": [{"in_range": {"min": 0}}]},
            {"name": "visits", "type": "int32"},
            {"name": "segment", "type": "string"},
        ],
        "features": {"entity": ["user_id"], "timestamp": "ts", **features},
    }


def stats_rows(rows: list[tuple[int, int, float | None, int | None, str | None]]) -> bytes:
    """Parquet of (user_id, hours after T0, spend, visits, segment) rows."""
    return parquet_bytes(
        pa.table(
            {
                "user_id": [r[0] for r in rows],
                "ts": [T0 + timedelta(hours=r[1]) for r in rows],
                "spend": [r[2] for r in rows],
                "visits": [r[3] for r in rows],
                "segment": [r[4] for r in rows],
            },
            schema=STATS_SCHEMA,
        )
    )


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


__all__ = ["PARQUET", "T0", "at", "stats_doc", "stats_rows"]
