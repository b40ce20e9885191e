"""Open Parquet safely, and read it window by window (a few row groups) with the next read
overlapped.

Anything that is not readable Parquet raises UnreadableParquet with a precise, human detail:
empty or short files, CSV or random bytes, truncation, a corrupt footer, and a footer whose row
counts disagree with the pages (checked from the page headers) or with what decodes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from app.validation.pages import PageHeaderError, count_chunk_values

Source: TypeAlias = "str | Path | pa.NativeFile"
MAGIC = b"PAR1"
VIEW_BYTES = 16  # a string or binary value in polars: its view (longer values keep their bytes too)


class UnreadableParquet(ValueError):
    """The bytes are not a readable Parquet file; `detail` says why, for a human."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


@dataclass(frozen=True)
class ParquetInfo:
    rows: int
    row_groups: int
    schema: pa.Schema
    bytes: int


class ParquetSource:
    """An opened, footer-checked Parquet file: metadata, and verified reads.

    Windows are decoded by polars' own Parquet reader when the source is a path (it decodes
    straight into polars memory: about a third of the CPU of pyarrow + conversion), by pyarrow
    otherwise; single row groups (re-reads of a few rows) always by pyarrow.
    """

    def __init__(
        self, file: pa.NativeFile, parquet: pq.ParquetFile, path: str | None, owned: bool
    ) -> None:
        self.file, self.parquet, self.path, self._owned = file, parquet, path, owned
        meta = parquet.metadata
        self.schema: pa.Schema = parquet.schema_arrow
        self.rows: int = meta.num_rows
        self.group_rows = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        schema = parquet.schema
        self._flat = [schema.column(i).max_repetition_level == 0 for i in range(len(schema))]
        self.offsets = [0]
        for n in self.group_rows:
            self.offsets.append(self.offsets[-1] + n)

    def close(self) -> None:
        if self._owned:
            self.file.close()

    def __enter__(self) -> ParquetSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def read_group(self, index: int, columns: Sequence[str] | None = None) -> pa.Table:
        """Row group `index` (all or some columns), checked against the footer's row count."""
        try:
            table = self.parquet.read_row_group(
                index, columns=list(columns) if columns is not None else None, use_threads=True
            )
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise UnreadableParquet(f"row group {index} does not decode: {exc}") from None
        expected = self.group_rows[index]
        if table.num_rows != expected:
            raise UnreadableParquet(
                f"truncated: footer says {self.rows:,} rows but row group {index} decodes to "
                f"{table.num_rows:,} rows instead of {expected:,}"
            )
        return table

    def windows(self, target_rows: int, max_bytes: int | None = None) -> list[tuple[int, int]]:
        """Consecutive row-group ranges [first, last): groups are added until a range holds
        `target_rows` rows, or before the next group would take it past `max_bytes` decoded
        (estimated from the footer, no data read). A range holds at least one group."""
        out: list[tuple[int, int]] = []
        first, rows, size = 0, 0, 0
        for i, n in enumerate(self.group_rows):
            cost = self.group_bytes(i) if max_bytes is not None else 0
            if max_bytes is not None and i > first and size + cost > max_bytes:
                out.append((first, i))
                first, rows, size = i, 0, 0
            rows, size = rows + n, size + cost
            if rows >= target_rows:
                out.append((first, i + 1))
                first, rows, size = i + 1, 0, 0
        if first < len(self.group_rows):
            out.append((first, len(self.group_rows)))
        return out

    def group_bytes(self, g: int) -> int:
        """About the bytes row group `g` takes decoded as polars holds it, from the footer: a
        string or binary value a 16-byte view plus its bytes when stored plain (a dictionary's
        values are shared), a number or instant 8 bytes (as wide as its check form), a bool a
        bit."""
        group = self.parquet.metadata.row_group(g)
        total = 0
        for c in range(group.num_columns):
            chunk = group.column(c)
            n = max(group.num_rows, chunk.num_values)
            if chunk.physical_type == "BOOLEAN":
                total += n // 8 + 1
            elif chunk.physical_type in ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"):
                total += VIEW_BYTES * n + max(0, chunk.total_uncompressed_size - 4 * n)
            else:
                total += 8 * n
        return total

    def read_window(
        self,
        window: tuple[int, int],
        columns: Sequence[str] | None = None,
        *,
        pages: bool = False,
    ) -> pl.DataFrame:
        """Row groups [first, last) as one polars frame; `pages` first checks the page headers."""
        first, last = window
        if pages:
            for g in range(first, last):
                self.check_pages(g)
        start, rows = self.offsets[first], self.offsets[last] - self.offsets[first]
        if self.path is None:
            parts = [self.read_group(i, columns) for i in range(first, last)]
            table = pa.concat_tables(parts) if len(parts) != 1 else parts[0]
            frame = pl.from_arrow(table, rechunk=False)
            assert isinstance(frame, pl.DataFrame)
            return frame
        try:
            scan = pl.scan_parquet(self.path, glob=False)
            if columns is not None:
                scan = scan.select(columns)
            frame = scan.slice(start, rows).collect(engine="in-memory")
        except (pl.exceptions.PolarsError, OSError, pl.exceptions.PanicException) as exc:
            raise UnreadableParquet(f"row groups {first}-{last - 1} do not decode: {exc}") from None
        if frame.height != rows and (frame.width or columns is None):
            raise UnreadableParquet(
                f"truncated: footer says {self.rows:,} rows but row groups {first}-{last - 1} "
                f"decode to {frame.height:,} rows instead of {rows:,}"
            )
        return frame

    def scan(
        self, columns: Sequence[str], query: Callable[[pl.LazyFrame], pl.LazyFrame]
    ) -> pl.DataFrame:
        """`query` (row by row: one output row per row) over the whole file's `columns`, on
        polars' streaming engine: decoded and evaluated on every core in bounded memory, without
        a window's frame ever being built. Path sources only; checked against the row count."""
        assert self.path is not None
        try:
            scan = pl.scan_parquet(self.path, glob=False).select(columns)
            frame = query(scan).collect(engine="streaming")
        except (pl.exceptions.PolarsError, OSError, pl.exceptions.PanicException) as exc:
            raise UnreadableParquet(f"columns {list(columns)} do not decode: {exc}") from None
        if frame.height != self.rows:
            raise UnreadableParquet(
                f"truncated: footer says {self.rows:,} rows but columns {list(columns)} "
                f"decode to {frame.height:,} rows"
            )
        return frame

    def check_all_pages(self) -> None:
        """Every row group's flat column chunks hold as many values as the footer says."""
        for g in range(len(self.group_rows)):
            self.check_pages(g)

    def check_pages(self, g: int) -> None:
        """Row group `g`'s flat column chunks hold as many values as the footer says."""
        group = self.parquet.metadata.row_group(g)
        for c in range(group.num_columns if group.num_rows else 0):
            if self._flat[c]:
                _check_chunk_pages(self.file, group, g, c)

    def iter_windows(
        self,
        windows: list[tuple[int, int]],
        columns: Sequence[str] | None = None,
        *,
        pages: bool = True,
    ) -> Iterator[pl.DataFrame]:
        """Read the windows in order, the next one in a thread while the caller works."""
        if len(windows) <= 1:
            yield from (self.read_window(w, columns, pages=pages) for w in windows)
            return
        slots: queue.Queue[pl.DataFrame | BaseException | None] = queue.Queue()
        budget = threading.Semaphore(1)  # one window read ahead: two in memory at most
        stop = threading.Event()

        def produce() -> None:
            try:
                for w in windows:
                    budget.acquire()
                    if stop.is_set():
                        return
                    slots.put(self.read_window(w, columns, pages=pages))
                slots.put(None)
            except BaseException as exc:  # handed to the consumer, raised there
                slots.put(exc)

        thread = threading.Thread(target=produce, name="parquet-prefetch", daemon=True)
        thread.start()
        try:
            while (item := slots.get()) is not None:
                budget.release()
                if isinstance(item, BaseException):
                    raise item
                yield item
                del item
        finally:
            stop.set()
            budget.release()
            thread.join()


def open_parquet(source: Source) -> ParquetSource:
    """Open and check a Parquet file; the caller closes it. Raises UnreadableParquet."""
    owned = not isinstance(source, pa.NativeFile)
    path = str(source) if owned else None
    try:
        file = pa.OSFile(path) if path is not None else source
    except OSError as exc:
        raise UnreadableParquet(f"cannot open the file: {exc}") from None
    assert isinstance(file, pa.NativeFile)
    try:
        return _checked(file, path, owned)
    except BaseException:
        if owned:
            file.close()
        raise


def inspect_parquet(source: Source, *, pages: bool = True) -> ParquetInfo:
    """Check that `source` is readable Parquet without decoding it; raise UnreadableParquet.

    Checks the magic bytes, the footer, that the row counts agree (file, row groups, column
    chunks) and, with `pages`, that every flat column chunk's pages hold as many values as
    the footer says (page headers only: no decompression).
    """
    with open_parquet(source) as src:
        if pages:
            src.check_all_pages()
        return ParquetInfo(src.rows, len(src.group_rows), src.schema, src.file.size())


def _checked(file: pa.NativeFile, path: str | None, owned: bool) -> ParquetSource:
    size = file.size()
    _check_envelope(file, size)
    try:
        parquet = pq.ParquetFile(file)
        parquet.schema_arrow  # noqa: B018 - an unsupported schema raises here
    except (pa.ArrowException, OSError, ValueError, IndexError) as exc:
        raise UnreadableParquet(f"corrupt footer: {exc}") from None
    _check_footer(parquet.metadata, size)
    return ParquetSource(file, parquet, path, owned)


def _check_envelope(file: pa.NativeFile, size: int) -> None:
    if size == 0:
        raise UnreadableParquet("empty file (0 bytes): not a Parquet file")
    head = file.read_at(min(size, 64), 0)
    if size < 12:
        raise UnreadableParquet(
            f"not a Parquet file: {size} bytes is too short (a Parquet file starts and ends "
            "with PAR1 around its footer, at least 12 bytes)"
        )
    if head[:4] != MAGIC:
        hint = "; it looks like text (CSV or JSON?)" if _looks_like_text(head) else ""
        raise UnreadableParquet(f"not a Parquet file: the first 4 bytes are not PAR1{hint}")
    tail = file.read_at(8, size - 8)
    if tail[4:] != MAGIC:
        raise UnreadableParquet(
            f"truncated: the file starts with PAR1 but its last 4 bytes are not PAR1 "
            f"(the footer is missing; {size:,} bytes)"
        )
    footer = int.from_bytes(tail[:4], "little")
    if footer + 12 > size:
        raise UnreadableParquet(
            f"truncated or corrupt: the footer claims {footer:,} bytes but the file has "
            f"{size:,} bytes"
        )


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)


def _check_footer(meta: pq.FileMetaData, size: int) -> None:
    total = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        if group.num_rows < 0:
            raise UnreadableParquet(f"corrupt footer: row group {g} has {group.num_rows} rows")
        total += group.num_rows
        for c in range(group.num_columns if group.num_rows else 0):  # empty groups: no pages
            _check_chunk(group, g, c, size)
    if total != meta.num_rows:
        raise UnreadableParquet(
            f"footer says {meta.num_rows:,} rows but its row groups add up to {total:,}"
        )


def _check_chunk(group: pq.RowGroupMetaData, g: int, c: int, size: int) -> None:
    chunk = group.column(c)
    start, end = _chunk_span(chunk)
    if start < 4 or end > size - 8:
        raise UnreadableParquet(
            f"truncated: row group {g}, column {chunk.path_in_schema!r} spans bytes "
            f"{start:,}-{end:,} but the data section ends at byte {size - 8:,}"
        )
    if chunk.num_values < 0:
        raise UnreadableParquet(f"corrupt footer: row group {g} has a negative value count")


def _chunk_span(chunk: pq.ColumnChunkMetaData) -> tuple[int, int]:
    start = chunk.data_page_offset
    if chunk.has_dictionary_page and 0 < chunk.dictionary_page_offset < start:
        start = chunk.dictionary_page_offset
    return start, start + chunk.total_compressed_size


def _check_chunk_pages(file: pa.NativeFile, group: pq.RowGroupMetaData, g: int, c: int) -> None:
    chunk = group.column(c)
    start, end = _chunk_span(chunk)
    try:
        values = count_chunk_values(file.read_at, start, end - start)
    except (PageHeaderError, OSError, pa.ArrowException) as exc:
        raise UnreadableParquet(
            f"corrupt column chunk: row group {g}, column {chunk.path_in_schema!r}: {exc}"
        ) from None
    if values != group.num_rows:
        raise UnreadableParquet(
            f"footer says row group {g} has {group.num_rows:,} rows but the pages of "
            f"column {chunk.path_in_schema!r} hold {values:,} values"
        )
