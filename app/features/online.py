"""The online store's side of an append: the latest row per entity of a batch, in bounded
memory (each chunk is reduced as it streams past; memory follows the number of entities)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl
import pyarrow as pa

from app.features.encoding import dumps, json_value
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
        names = [c for c in latest.columns if c not in (*self.entity, self.timestamp, *META)]
        ts_us = latest.get_column(self.timestamp).dt.epoch("us").to_list()
        keys = _entity_keys(latest.select(self.entity))
        columns = [_json_column(latest.get_column(n)) for n in names]
        rows = zip(*columns, strict=True) if names else ([] for _ in keys)
        return [
            {
                "view": view,
                "entity_key": key,
                "ts_us": ts,
                "snapshot": stamp.snapshot,
                "batch_id": stamp.batch_id,
                "contract_version": stamp.version,
                "values": dumps(dict(zip(names, row, strict=True))),
            }
            for key, ts, row in zip(keys, ts_us, rows, strict=True)
        ]


def _entity_keys(frame: pl.DataFrame) -> list[str]:
    """app.features.encoding.entity_key of every row; integer columns formatted column-wise."""
    parts = []
    for series in frame.iter_columns():
        if series.dtype.is_integer():
            parts.append(series.cast(pl.String).to_list())
        else:
            parts.append([dumps(v) for v in _json_column(series)])
    return ["[" + ",".join(p) + "]" for p in zip(*parts, strict=True)]


def _json_column(series: pl.Series) -> list[Any]:
    """One column's values in JSON form (app.features.encoding), converted column-wise."""
    dtype = series.dtype
    if isinstance(dtype, pl.Datetime):
        utc = series.dt.convert_time_zone("UTC") if dtype.time_zone else series
        return utc.dt.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_list()
    if dtype == pl.Date:
        return series.dt.strftime("%Y-%m-%d").to_list()
    if dtype == pl.Binary:
        return series.bin.encode("base64").to_list()
    if isinstance(dtype, pl.Decimal):
        return series.cast(pl.UInt64).to_list()
    if dtype.is_float():
        finite = series.is_finite().fill_null(True).all()
        return series.to_list() if finite else [json_value(v) for v in series.to_list()]
    return series.to_list()
