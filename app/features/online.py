"""The online store's side of an append: the latest row per entity of a batch, in bounded
memory (each chunk is reduced as it streams past; memory follows the number of entities)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl
import pyarrow as pa

from app.features.encoding import dumps, entity_key, json_value
from app.features.offline import META, Stamp

COMPACT_AT = 1_000_000  # reduce the kept rows again when they pass this many


class LatestRows:
    """Feed record batches (stored form, with `_row`); get each entity's latest row: the
    greatest timestamp, ties to the later row. Rows with a null key part or timestamp are
    not addressable online and are skipped."""

    def __init__(self, entity: Sequence[str], timestamp: str) -> None:
        self.entity, self.timestamp = list(entity), timestamp
        self.parts: list[pl.DataFrame] = []
        self.kept = 0
        self.seen = 0  # rows fed

    def add(self, batch: pa.RecordBatch) -> None:
        self.seen += batch.num_rows
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        usable = pl.all_horizontal(pl.col([*self.entity, self.timestamp]).is_not_null())
        part = self._reduce(frame.filter(usable))
        self.parts.append(part)
        self.kept += part.height
        if self.kept > COMPACT_AT and len(self.parts) > 1:
            self.parts = [self._reduce(pl.concat(self.parts))]
            self.kept = self.parts[0].height

    def _reduce(self, frame: pl.DataFrame) -> pl.DataFrame:
        ordered = frame.sort([self.timestamp, "_row"])
        return ordered.unique(subset=self.entity, keep="last", maintain_order=False)

    def tee(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Pass `batches` through, seeing each on the way."""
        for batch in batches:
            self.add(batch)
            yield batch

    def upserts(self, view: str, stamp: Stamp) -> list[dict[str, Any]]:
        """The online rows to upsert for this batch."""
        if not self.parts:
            return []
        latest = self._reduce(pl.concat(self.parts))
        values = [c for c in latest.columns if c not in (*self.entity, self.timestamp, *META)]
        ts_us = latest.get_column(self.timestamp).dt.epoch("us").to_list()
        keys = latest.select(self.entity).rows()
        out = []
        for key, ts, row in zip(keys, ts_us, latest.select(values).iter_rows(), strict=True):
            out.append(
                {
                    "view": view,
                    "entity_key": entity_key(key),
                    "ts_us": ts,
                    "snapshot": stamp.snapshot,
                    "batch_id": stamp.batch_id,
                    "contract_version": stamp.version,
                    "values": dumps({c: json_value(v) for c, v in zip(values, row, strict=True)}),
                }
            )
        return out
