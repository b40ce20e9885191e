"""The offline store: one Delta Lake table per feature view, under the storage URL.

Each accepted (or partial) batch appends its accepted rows in one Delta commit that carries an
application transaction `tollgate:<batch id>` — so whether a batch is in the table is a question
the table itself answers, and an append is never made twice. Rows carry `_snapshot` (the view's
snapshot the batch became), `_row` (its row in the upload), `_batch_id` and `_contract_version`.
Reads filter on `_snapshot`, so compaction and vacuum never change what a pinned snapshot reads.
Numbers are stored in one type per family (integers as int64, uint64 as decimal(20,0), floats as
float64) so that a compatible type change never changes a Delta column; reads cast to the latest
contract type. Timestamps are stored as UTC microseconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from app.contracts.spec import FLOAT_TYPES, INTEGER_TYPES, Column, ColumnType
from app.validation.typemap import ARROW_TYPES

META: dict[str, pa.DataType] = {
    "_snapshot": pa.int64(),
    "_row": pa.int64(),
    "_batch_id": pa.string(),
    "_contract_version": pa.string(),
}
# Stored types are one per family, so that a compatible change of a column's type (int32 →
# int64, float32 → float64, uint16 → int32 …) never changes the Delta column's type.
_STORED: dict[ColumnType, pa.DataType] = {
    **dict.fromkeys(INTEGER_TYPES - {ColumnType.UINT64}, pa.int64()),
    ColumnType.UINT64: pa.decimal128(20, 0),  # Delta has no unsigned types
    **dict.fromkeys(FLOAT_TYPES, pa.float64()),
}
READ_ROWS = 131_072


def storage_type(t: ColumnType) -> pa.DataType:
    return _STORED.get(t, ARROW_TYPES[t])


def contract_type(t: ColumnType) -> pa.DataType:
    return ARROW_TYPES[t]


def polars_type(t: ColumnType) -> pl.DataType:
    series = pl.from_arrow(pa.array([], contract_type(t)))
    assert isinstance(series, pl.Series)
    return series.dtype


def app_id(batch_id: uuid.UUID) -> str:
    return f"tollgate:{batch_id}"


@dataclass(frozen=True)
class Stamp:
    """What every row of one batch's append carries besides its own values."""

    batch_id: uuid.UUID
    version: str
    snapshot: int


class OfflineStore:
    """The Delta tables of every view under `<storage>/features/<view>`."""

    def __init__(self, storage_url: str) -> None:
        base = storage_url if "://" in storage_url else str(Path(storage_url).resolve())
        self.base = base.rstrip("/")

    def uri(self, view: str) -> str:
        return f"{self.base}/features/{view}"

    def table(self, view: str) -> DeltaTable | None:
        uri = self.uri(view)
        return DeltaTable(uri) if DeltaTable.is_deltatable(uri) else None

    def committed(self, view: str, batch_id: uuid.UUID) -> bool:
        table = self.table(view)
        return table is not None and table.transaction_version(app_id(batch_id)) is not None

    def append(self, view: str, stamp: Stamp, rows: pa.RecordBatchReader) -> int:
        """Append one batch's rows in one commit; the Delta version it made."""
        table = self.table(view)
        if table is not None:
            self._widen(view, table, rows.schema)
        commit = CommitProperties(
            app_transactions=[Transaction(app_id=app_id(stamp.batch_id), version=1)],
            custom_metadata={"tollgate.batch_id": str(stamp.batch_id)},
            max_commit_retries=0,  # appends to a view are serialised by its lock
        )
        write_deltalake(
            self.uri(view), rows, mode="append", schema_mode="merge", commit_properties=commit
        )
        return self.commit_version(view, stamp.batch_id)

    def _widen(self, view: str, table: DeltaTable, incoming: pa.Schema) -> None:
        """An integer column whose contract became float64 (a compatible change) is rewritten
        as float64 first, in one overwrite commit: Delta cannot change a column's type in place.
        Values and `_snapshot`s are kept, so pinned reads and saved training sets are unchanged.
        The rewrite holds the table in memory once."""
        stored = pl.scan_delta(table)
        schema = stored.collect_schema()
        floats = [
            f.name
            for f in incoming
            if pa.types.is_float64(f.type) and f.name in schema and schema[f.name] == pl.Int64
        ]
        if not floats:
            return
        # In memory, once: a rare, one-off rewrite (a Python generator of polars batches fed to
        # delta-rs crashed the process)
        widened = stored.with_columns(pl.col(floats).cast(pl.Float64))
        rewritten = widened.collect(engine="streaming").to_arrow()
        write_deltalake(
            self.uri(view),
            rewritten,
            mode="overwrite",
            schema_mode="overwrite",
            commit_properties=CommitProperties(
                custom_metadata={"tollgate.operation": f"widen {', '.join(floats)} to float64"}
            ),
        )

    def scan(self, view: str, columns: Sequence[Column]) -> pl.LazyFrame:
        """Every stored row of the view in contract types (empty when nothing was appended)."""
        table = self.table(view)
        if table is None:
            return _empty(columns)
        scan = pl.scan_delta(table)
        return _contract_form(scan, columns)

    def pinned(self, view: str, columns: Sequence[Column], snapshot: int) -> Pinned:
        """The rows of snapshots 1..`snapshot`. When every file holds one batch (the table as
        appended, never compacted), the files are read in snapshot order, so the rows come in
        (`_snapshot`, `_row`) order and a stable sort by time alone breaks ties correctly."""
        table = self.table(view)
        if table is None:
            return Pinned(_empty(columns), ordered=True)
        files = _one_batch_files(table, self.uri(view))
        if files is None:
            scan = pl.scan_delta(table).filter(pl.col("_snapshot") <= snapshot)
            return Pinned(_contract_form(scan, columns), ordered=False)
        uris = [uri for snap, uri in files if snap <= snapshot]
        if not uris:
            return Pinned(_empty(columns), ordered=True)
        schema = pl.scan_delta(table).collect_schema()  # the table's (merged) schema
        scan = pl.scan_parquet(uris, schema=schema, missing_columns="insert")
        return Pinned(_contract_form(scan, columns), ordered=True)

    def batch_rows(
        self, view: str, batch_id: uuid.UUID, columns: Sequence[Column]
    ) -> list[pa.RecordBatch]:
        """The rows one batch appended (to redo the online side of a crashed acceptance)."""
        rows = self.scan(view, columns).filter(pl.col("_batch_id") == str(batch_id))
        frame = rows.collect(engine="streaming")
        batches: list[pa.RecordBatch] = frame.sort("_row").to_arrow().to_batches()
        return batches

    def commit_version(self, view: str, batch_id: uuid.UUID) -> int:
        """The Delta version of the commit that appended the batch."""
        table = self.table(view)
        assert table is not None
        for limit in (16, None):  # almost always among the latest commits (a compaction may follow)
            for commit in table.history(limit):
                if commit.get("tollgate.batch_id") == str(batch_id):
                    return int(commit["version"])
        raise LookupError(f"no commit of batch {batch_id} in {self.uri(view)}")

    def compact(self, view: str) -> dict[str, int]:
        """Merge small files and delete the unreferenced ones; reads are unchanged."""
        table = self.table(view)
        if table is None:
            return {"files_added": 0, "files_removed": 0, "files_deleted": 0}
        metrics = table.optimize.compact()
        deleted = table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
        table.cleanup_metadata()
        return {
            "files_added": int(metrics.get("numFilesAdded", 0)),
            "files_removed": int(metrics.get("numFilesRemoved", 0)),
            "files_deleted": len(deleted),
        }


@dataclass(frozen=True)
class Pinned:
    rows: pl.LazyFrame
    ordered: bool  # rows come in (`_snapshot`, `_row`) order


def _empty(columns: Sequence[Column]) -> pl.LazyFrame:
    types = {c.name: storage_type(c.type) for c in columns} | META
    frame = pl.from_arrow(pa.schema(types).empty_table())
    assert isinstance(frame, pl.DataFrame)
    return _contract_form(frame.lazy(), columns)


def _contract_form(scan: pl.LazyFrame, columns: Sequence[Column]) -> pl.LazyFrame:
    present = scan.collect_schema()
    return scan.with_columns(_read_form(c, c.name in present) for c in columns)


def _one_batch_files(table: DeltaTable, uri: str) -> list[tuple[int, str]] | None:
    """(snapshot, file) in snapshot order when each file holds exactly one whole batch; None
    when any file holds several (compaction) or a batch spans several files."""
    actions = pa.table(table.get_add_actions(flatten=True))
    if not {"min._snapshot", "max._snapshot"} <= set(actions.column_names):
        return None
    low = actions.column("min._snapshot").to_pylist()
    high = actions.column("max._snapshot").to_pylist()
    if None in low or low != high or len(set(low)) != len(low):
        return None
    paths = actions.column("path").to_pylist()
    return sorted((int(snap), f"{uri}/{path}") for snap, path in zip(low, paths, strict=True))


def _read_form(column: Column, present: bool) -> pl.Expr:
    """A stored column in its contract type; a column added later reads as null before it."""
    dtype = polars_type(column.type)
    if not present:
        return pl.lit(None, dtype=dtype).alias(column.name)
    return pl.col(column.name).cast(dtype, strict=False)  # a narrowed type: nulls past it


def accepted_rows(
    upload: Path, columns: Sequence[Column], quarantined: pa.Int64Array, stamp: Stamp
) -> pa.RecordBatchReader:
    """The upload's rows minus the quarantined ones, in storage types, stamped, streamed."""
    schema = pa.schema(
        [pa.field(c.name, storage_type(c.type)) for c in columns]
        + [pa.field(k, t) for k, t in META.items()]
    )
    return pa.RecordBatchReader.from_batches(
        schema, _batches(upload, columns, quarantined, stamp, schema)
    )


def _batches(
    upload: Path,
    columns: Sequence[Column],
    quarantined: pa.Int64Array,
    stamp: Stamp,
    schema: pa.Schema,
) -> Iterator[pa.RecordBatch]:
    file = pq.ParquetFile(upload)
    names = set(file.schema_arrow.names)
    wanted = [c.name for c in columns if c.name in names]
    dropped = quarantined.to_numpy() if len(quarantined) else None
    start = 0
    for batch in file.iter_batches(batch_size=READ_ROWS, columns=wanted):
        n = batch.num_rows
        rows = pa.array(range(start, start + n), pa.int64())
        arrays = [_stored(batch, c, n) for c in columns]
        arrays += [
            pa.array([stamp.snapshot] * n, pa.int64()),
            rows,
            pa.array([str(stamp.batch_id)] * n, pa.string()),
            pa.array([stamp.version] * n, pa.string()),
        ]
        out = pa.RecordBatch.from_arrays(arrays, schema=schema)
        if dropped is not None:  # ascending: this batch's share is one slice of it
            lo, hi = np.searchsorted(dropped, [start, start + n])
            if hi > lo:
                keep = np.ones(n, dtype=bool)
                keep[dropped[lo:hi] - start] = False
                out = out.filter(pa.array(keep))
        start += n
        if out.num_rows:
            yield out


def _stored(batch: pa.RecordBatch, column: Column, n: int) -> pa.Array:
    target = storage_type(column.type)
    if column.name not in batch.schema.names:
        return pa.nulls(n, target)
    values = batch.column(column.name)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if column.type is ColumnType.TIMESTAMP:
        values = values.cast(pa.timestamp(values.type.unit, "UTC")).cast(target, safe=False)
        return values
    if pa.types.is_date64(values.type):
        values = values.cast(pa.date32())
    return values.cast(target)
