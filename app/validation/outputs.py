"""The failures and quarantine Parquet files (SPEC §8 "Outcomes"), written in bounded memory.

During the pass, the rows failing a row-by-row rule are spilled, window by window, to a temporary
Parquet file (`_row`, `_rules` and, when an output is wanted, the original columns). `unique` is
known only at the end: the final pass walks the windows again, in runs of consecutive windows
holding up to FINISH_ROWS failing rows, merges the spilled rows with the unique-failing rows
(re-reading from the upload the windows holding rows the spill lacks), and writes
`_failed_checks` and the quarantine. Each file is encoded in a helper thread while the next run
is prepared: two runs of failing rows are held at most.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from app.validation.reading import ParquetSource

ROW, FAILED, RULES = "_row", "_failed_checks", "_rules"
FINISH_ROWS = 262_144  # failing rows merged at a time (about: whole windows)
WRITE_ROWS = 65_536  # rows converted and written to the outputs at a time
# A column whose dictionary outgrows this is written plain. Only low-cardinality columns gain from
# one; pyarrow's default (1 MiB) first hashes that much of each high-cardinality column chunk:
# 524,288 failing bench rows wrote in 406 ms (27.6 MiB) by default, 286 ms (23.6 MiB) with this.
DICTIONARY_BYTES = 65_536
_SPILL_SCHEMA = {ROW: pa.int64(), RULES: pa.list_(pa.int32())}
_Rows: TypeAlias = "tuple[pa.Table, pa.BooleanArray | None]"  # a run's rows for one output file


def output_schema(original: pa.Schema) -> pa.Schema:
    """The failures file: the upload's columns, `_row` (int64), `_failed_checks` (list<string>)."""
    fields = [f for f in original if f.name not in (ROW, FAILED, RULES)]
    return pa.schema([*fields, pa.field(ROW, pa.int64()), pa.field(FAILED, pa.list_(pa.string()))])


def quarantine_schema(original: pa.Schema) -> pa.Schema:
    fields = [f for f in original if f.name not in (ROW, FAILED, RULES)]
    return pa.schema([*fields, pa.field(ROW, pa.int64())])


def write_empty(path: Path, original: pa.Schema) -> None:
    schema = output_schema(original)
    pq.write_table(schema.empty_table(), path, compression="zstd")


@dataclass
class Spill:
    """Rows failing row-by-row rules, one Parquet row group per window that has any."""

    path: Path
    original: pa.Schema | None  # the upload's columns, kept when an output file is wanted
    groups: dict[int, int] = field(default_factory=dict)  # window → spill row group
    rows: dict[int, int] = field(default_factory=dict)  # window → rows spilled
    _writer: pq.ParquetWriter | None = None

    @property
    def schema(self) -> pa.Schema:
        extra = [pa.field(k, t) for k, t in _SPILL_SCHEMA.items()]
        return pa.schema([*(self.original or []), *extra])

    def add(
        self, window: int, offset: int, failures: pl.DataFrame, read: pl.DataFrame, keep: pl.Series
    ) -> None:
        """`failures` is (`rule`, `index`: local row); `read` the window as read from the file;
        `keep` local rows to spill even without a failure (unique candidates)."""
        grouped = failures.group_by("index").agg(pl.col("rule").unique().sort())
        if len(keep):  # grouped by a join, not in the group_by: a file of candidates has many
            kept = keep.cast(pl.Int64).alias("index").to_frame()
            only = kept.join(grouped, on="index", how="anti")
            grouped = pl.concat([grouped, only.with_columns(rule=pl.lit([], pl.List(pl.Int32)))])
        if grouped.is_empty():
            return
        grouped = grouped.sort("index")
        local = grouped.get_column("index")
        arrays: list[pa.Array | pa.ChunkedArray] = []
        if self.original is not None:
            taken = read.select(self.original.names)
            if len(local) < taken.height:  # else every row, in order: no copy
                taken = taken.gather(local)
            arrays += taken.to_arrow().columns
        arrays.append((local.cast(pl.Int64) + offset).to_arrow())
        arrays.append(grouped.get_column("rule").cast(pl.List(pl.Int32)).to_arrow())
        table = pa.Table.from_arrays(arrays, names=self.schema.names).cast(self.schema)
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self.path,
                self.schema,
                compression="lz4",
                dictionary_pagesize_limit=DICTIONARY_BYTES,
            )
        self.groups[window] = len(self.groups)
        self.rows[window] = table.num_rows
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def read(self, windows: Sequence[int]) -> pa.Table | None:
        """The rows spilled by these windows, in window order."""
        groups = [self.groups[w] for w in windows if w in self.groups]
        return pq.ParquetFile(self.path).read_row_groups(groups) if groups else None


def holds_every_row(
    spill: Spill, unique_rows: dict[int, pl.Series], rules: frozenset[int], rows: int
) -> bool:
    """Whether each of the `rows` rows fails one of `rules`: a quarantine would hold the whole
    batch, which is then rejected, and no quarantine file need be written. Reads only the
    spill's row numbers and rules, and only when the failures could cover every row."""
    held = [failing for rule, failing in unique_rows.items() if rule in rules]
    if sum(spill.rows.values()) + sum(len(h) for h in held) < rows:
        return False
    if spill.groups:
        table = pl.read_parquet(spill.path, columns=[ROW, RULES])
        wanted = pl.Series(sorted(rules), dtype=pl.Int32).implode()
        hit = pl.col(RULES).list.eval(pl.element().is_in(wanted)).list.any()
        held.append(table.filter(hit).get_column(ROW))
    return bool(held) and pl.concat(held).n_unique() == rows


@dataclass(frozen=True)
class Window:
    index: int
    first_group: int
    last_group: int  # exclusive
    start: int  # first row
    end: int  # row after the last


@dataclass
class Finisher:
    """The final pass: merge spill and unique failures window by window, write the outputs."""

    source: ParquetSource
    spill: Spill
    unique_rows: dict[int, pl.Series]  # rule → failing global rows, ascending
    ids: Sequence[str]  # rule → check id
    quarantine_rules: frozenset[int]
    failures_to: Path | None
    quarantine_to: Path | None
    quarantined: list[pa.Array] = field(default_factory=list)

    def run(self, windows: Sequence[Window]) -> pa.Int64Array:
        """Write the outputs; the quarantined rows (ascending). Each output file is encoded in
        its own helper thread (pyarrow releases the GIL) while this thread prepares the next
        run: two runs are held at most, the one being written and the next."""
        writers = self._writers()
        writing: list[Future[None]] = []  # the previous run's, one per output file
        try:
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="outputs") as pool:
                try:
                    for run in self._runs(windows):
                        rows = self._prepare(run, writers)
                        for done in writing:  # in order: a writer takes one run at a time
                            done.result()
                        writing = [pool.submit(_write, w, rows.get(k)) for k, w in writers.items()]
                    for done in writing:
                        done.result()
                finally:
                    wait(writing)  # never close a writer under a thread still using it
        finally:
            for writer in writers.values():
                writer.close()
        chunks = [c for c in self.quarantined if len(c)]
        if not chunks:
            return pa.array([], pa.int64())
        return pa.concat_arrays(chunks)

    def _writers(self) -> dict[str, pq.ParquetWriter]:
        original = self.spill.original
        out: dict[str, pq.ParquetWriter] = {}
        options = {"compression": "zstd", "dictionary_pagesize_limit": DICTIONARY_BYTES}
        if original is not None and self.failures_to is not None:
            out["failures"] = pq.ParquetWriter(self.failures_to, output_schema(original), **options)
        if original is not None and self.quarantine_to is not None and self.quarantine_rules:
            out["quarantine"] = pq.ParquetWriter(
                self.quarantine_to, quarantine_schema(original), **options
            )
        return out

    def _runs(self, windows: Sequence[Window]) -> list[tuple[Window, ...]]:
        """Consecutive windows grouped while their failing rows add up to FINISH_ROWS."""
        runs: list[list[Window]] = []
        held = 0
        for w in windows:
            rows = self.spill.rows.get(w.index, 0) + sum(
                int(r.search_sorted(w.end, "left") - r.search_sorted(w.start, "left"))
                for r in self.unique_rows.values()
            )
            if not runs or held + rows > FINISH_ROWS:
                runs.append([])
                held = 0
            runs[-1].append(w)
            held += rows
        return [tuple(r) for r in runs]

    def _prepare(
        self, run: tuple[Window, ...], writers: dict[str, pq.ParquetWriter]
    ) -> dict[str, _Rows]:
        """The run's rows for each output file (filtered and converted to its schema when
        written, a slice at a time); the run's quarantined rows noted."""
        spilled = self.spill.read([w.index for w in run])
        pairs = self._pairs(run[0].start, run[-1].end, spilled)
        if pairs.is_empty():
            return {}
        wanted = pl.Series(sorted(self.quarantine_rules), dtype=pl.Int32).implode()
        held = pairs.select(pl.col("rules").list.eval(pl.element().is_in(wanted)).list.any())
        quarantined = held.to_series()
        self.quarantined.append(pairs.get_column("row").filter(quarantined).to_arrow())
        if not writers:
            return {}
        rows = self._original_rows(run, spilled, pairs.get_column("row"))  # aligned with pairs
        out: dict[str, _Rows] = {}
        if "failures" in writers:
            ids = pairs.select(
                pl.col("rules")
                .list.eval(pl.element().replace_strict(list(range(len(self.ids))), list(self.ids)))
                .list.unique(maintain_order=True)
            ).to_series()
            failed = ids.to_arrow().cast(pa.list_(pa.string()))
            out["failures"] = (rows.append_column(FAILED, failed), None)
        if "quarantine" in writers:
            out["quarantine"] = (rows, quarantined.to_arrow())
        return out

    def _pairs(self, start: int, end: int, spilled: pa.Table | None) -> pl.DataFrame:
        """(row, rules) for every failing row in [start, end), rules and rows ascending."""
        frames = []
        if spilled is not None:
            frame = pl.from_arrow(spilled.select([ROW, RULES]))
            assert isinstance(frame, pl.DataFrame)
            pairs = frame.rename({ROW: "row", RULES: "rule"}).explode("rule")
            frames.append(pairs.drop_nulls("rule"))
        for rule, rows in self.unique_rows.items():
            lo, hi = rows.search_sorted(start, "left"), rows.search_sorted(end, "left")
            if hi > lo:
                part = rows.slice(int(lo), int(hi - lo))
                tag = pl.repeat(rule, len(part), dtype=pl.Int32, eager=True)
                frames.append(pl.DataFrame({"row": part, "rule": tag}))
        if not frames:
            return pl.DataFrame(schema={"row": pl.Int64, "rules": pl.List(pl.Int32)})
        both = pl.concat(
            [f.select(pl.col("row").cast(pl.Int64), pl.col("rule").cast(pl.Int32)) for f in frames]
        )
        ordered = both.sort(["row", "rule"])  # then a group is a run: cheap to collect in order
        return ordered.group_by("row", maintain_order=True).agg(
            rules=pl.col("rule").unique(maintain_order=True)
        )

    def _original_rows(
        self, run: tuple[Window, ...], spilled: pa.Table | None, rows: pl.Series
    ) -> pa.Table:
        """The upload's columns + `_row` for `rows` (ascending). A window whose failing rows are
        all in the spill takes them from there; a window holding rows the spill lacks (unique
        failures) is read again for all of its failing rows, so the parts follow in row order."""
        original = self.spill.original
        assert original is not None
        names = [*original.names, ROW]
        spill_rows = pl.Series(spilled.column(ROW) if spilled is not None else [], dtype=pl.Int64)
        parts = []
        for w in run:
            lo, hi = rows.search_sorted(w.start, "left"), rows.search_sorted(w.end, "left")
            mine = rows.slice(int(lo), int(hi - lo))
            if not len(mine):
                continue
            if spilled is not None and mine.is_in(spill_rows.implode()).all():
                parts.append(spilled.filter(spill_rows.is_in(mine.implode()).to_arrow()))
            else:
                parts.append(self._reread(w, mine, original))
        if len(parts) == 1:
            return parts[0].select(names)  # cast to the output's types slice by slice when written
        target = pa.schema([*original, pa.field(ROW, pa.int64())])
        return pa.concat_tables([part.select(names).cast(target) for part in parts])

    def _reread(self, w: Window, rows: pl.Series, original: pa.Schema) -> pa.Table:
        """Window `w`'s `rows` from the upload (one read of its row groups: polars decodes a few
        groups at once far faster than one at a time). In polars' Arrow types."""
        read = self.source.read_window((w.first_group, w.last_group)).select(original.names)
        whole = len(rows) == w.end - w.start  # every row fails: no copy to take them
        taken = (read if whole else read.gather(rows - w.start)).to_arrow()
        del read
        taken = pa.Table.from_arrays(taken.columns, names=original.names)
        return taken.append_column(ROW, rows.cast(pl.Int64).to_arrow())


def _write(writer: pq.ParquetWriter, part: _Rows | None) -> None:
    """A run's rows (those `keep` marks, if given) into `writer`'s file in its schema, taken
    and converted a slice at a time."""
    if part is None:
        return
    rows, keep = part
    for start in range(0, rows.num_rows, WRITE_ROWS):
        piece = rows.slice(start, WRITE_ROWS)
        if keep is not None:
            piece = piece.filter(keep.slice(start, WRITE_ROWS))
        if piece.num_rows:
            writer.write_table(piece.cast(writer.schema))
