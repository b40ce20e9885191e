"""The online side of an append: the latest row per entity, and keys that match lookups."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import polars as pl
import pyarrow as pa

from app.features.encoding import entity_key
from app.features.offline import Stamp
from app.features.online import LatestRows, _entity_keys

T = datetime(2026, 1, 1, tzinfo=UTC)


def test_column_wise_keys_equal_the_lookup_keys() -> None:
    frame = pl.DataFrame(
        {
            "i": [1, -(2**63)],
            "s": ['x"é\\', "y"],
            "f": [1.5, float("nan")],
            "d": [date(2020, 1, 1), None],
            "t": [T, datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)],
            "b": [b"\x00\xff", b""],
        }
    )
    assert _entity_keys(frame) == [entity_key(list(row)) for row in frame.rows()]


def test_latest_row_per_entity_ties_to_the_later_row() -> None:
    latest = LatestRows(["k"], "ts")
    ts = pa.timestamp("us", "UTC")
    for part in (
        {"k": [1, 2, 1], "ts": [T, T, T], "v": [1.0, 2.0, 3.0], "_row": [0, 1, 2]},
        {
            "k": [2, None, 1],
            "ts": [T.replace(hour=1), T, None],
            "v": [4.0, 5.0, 6.0],
            "_row": [3, 4, 5],
        },
    ):
        table = pa.table(
            part,
            schema=pa.schema(
                [("k", pa.int64()), ("ts", ts), ("v", pa.float64()), ("_row", pa.int64())]
            ),
        )
        for batch in table.to_batches():
            latest.add(batch)
    rows = latest.upserts("view", Stamp(uuid.uuid4(), "1.0.0", 3))
    got = {r["entity_key"]: (r["ts_us"], json.loads(r["values"])) for r in rows}
    t0 = int(T.timestamp() * 1_000_000)
    assert got == {"[1]": (t0, {"v": 3.0}), "[2]": (t0 + 3_600_000_000, {"v": 4.0})}
    assert latest.seen == 6
