"""Parquet bodies for batch tests: small realistic tables, written with pyarrow."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET = {"Content-Type": "application/vnd.apache.parquet"}
NOW = datetime.now(UTC)


def parquet_bytes(table: pa.Table, *, row_group_size: int | None = None) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=row_group_size)
    return out.getvalue()


def orders_doc(**overrides: Any) -> dict[str, Any]:
    """A small contract with one check of each common kind."""
    doc: dict[str, Any] = {
        "name": "orders",
        "columns": [
            {"name": "order_id", "type": "string", "nullable": False, "unique": True},
            {
                "name": "amount",
                "type": "float64",
                "checks": [{"in_range": {"min": 0, "max": 1000}}],
            },
            {"name": "status", "type": "string", "checks": [{"in_set": ["new", "paid"]}]},
            {"name": "ts", "type": "timestamp", "nullable": False},
        ],
        "checks": [{"row_count": {"min": 1}}],
    }
    doc.update(overrides)
    return doc


def orders_table(n: int = 10, *, bad_amount_rows: tuple[int, ...] = (), seed: int = 0) -> pa.Table:
    """`n` valid orders; rows in `bad_amount_rows` get an out-of-range amount."""
    amounts = [float(i % 900) for i in range(n)]
    for r in bad_amount_rows:
        amounts[r] = 5000.0 + r
    return pa.table(
        {
            "order_id": [f"o-{seed}-{i}" for i in range(n)],
            "amount": amounts,
            "status": ["new" if i % 2 else "paid" for i in range(n)],
            "ts": [NOW - timedelta(minutes=i) for i in range(n)],
        },
        schema=ORDERS_SCHEMA,
    )


ORDERS_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("amount", pa.float64()),
        ("status", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
    ]
)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def lie_about_rows(data: bytes, rows: int, claimed: int, *, everywhere: bool) -> bytes:
    """Rewrite a Parquet footer's row count(s) `rows` → `claimed` (Thrift zig-zag varints of
    the same length), leaving the data as it is: a file whose footer lies."""
    length = struct.unpack("<I", data[-8:-4])[0]
    start = len(data) - 8 - length
    footer = data[start:-8]
    old, new = _varint(rows << 1), _varint(claimed << 1)
    assert len(old) == len(new), "pick counts whose varints have the same length"
    assert old in footer
    patched = footer.replace(old, new) if everywhere else footer.replace(old, new, 1)
    return data[:start] + patched + data[-8:]
