"""`unique` across a whole file in bounded memory.

A pre-pass reads only the key columns and keeps one 64-bit hash per row (null where the key has
a null part: such rows are not checked) — 8 bytes a row. Sorting the hashes finds the duplicated
ones; the rows carrying them are *candidates*, known before the main pass. The main pass then
captures the candidates' real key values (and spills their original rows for the failures file),
and the candidates are confirmed by comparing the values exactly, so a hash collision never fails
a row. Every row of a duplicated key fails. When there are too many candidates to hold their
values, they are confirmed one hash partition at a time, reading the key columns again window by
window; only the failing rows' indices (and the first few values, for samples) are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from app.validation.results import MAX_SAMPLES
from app.validation.values import column_values

SEED = 0x7011_6A7E  # fixed: the same value hashes alike in every chunk
BUCKETS = 8  # 64-bit hashes split by their top 3 bits
MANY_REPEATS = 65_536  # repeated hashes past which candidates are found by one join
CONFIRM_ROWS = 1_000_000  # candidates whose key values are held at once when confirming
ROW = "_row"

# Given ascending global row indices, the key columns at those rows (check form), in that order.
KeyLoader = Callable[[pl.Series], pl.DataFrame]


def key_hash(columns: tuple[str, ...]) -> pl.Expr:
    """Hash of the key, null where any part is null."""
    if len(columns) == 1:
        hashed = pl.col(columns[0]).hash(SEED)
    else:
        hashed = pl.struct(list(columns)).hash(SEED)
    present = pl.all_horizontal([pl.col(c).is_not_null() for c in columns])
    return pl.when(present).then(hashed)


@dataclass
class UniqueOutcome:
    rows: pl.Series  # global indices of failing rows, ascending (Int64)
    samples: list[tuple[int, Any]]


@dataclass
class KeyHashes:
    """One unique rule: its key's hashes in file order (pre-pass), then its candidates."""

    columns: tuple[str, ...]
    parts: list[pl.Series] = field(default_factory=list)  # hashes, window by window
    buckets: list[pl.Series] = field(default_factory=list)  # their top 3 bits (UInt8)
    checked: int = 0
    candidates: pl.DataFrame | None = None  # (`_row`, `_hash`), ascending
    captured: list[pl.DataFrame] = field(default_factory=list)  # (`_row`, key columns)

    def add(self, hashes: pl.Series) -> None:
        self.checked += len(hashes) - hashes.null_count()
        self.parts.append(hashes)
        self.buckets.append((hashes // (1 << 61)).cast(pl.UInt8))

    def finish_prepass(self) -> None:
        """Find the candidate rows and drop the hashes."""
        dup = _duplicated(self.parts, self.buckets).alias("_hash")
        if len(dup) <= MANY_REPEATS:  # usual: a small set to look each window's hashes up in
            found, start, wanted = [], 0, dup.implode()
            for part in self.parts:
                local = part.is_in(wanted).fill_null(False).arg_true()
                if len(local):
                    rows = local.cast(pl.Int64) + start
                    found.append(pl.DataFrame({ROW: rows, "_hash": part.gather(local)}))
                start += len(part)
            empty = pl.DataFrame(schema={ROW: pl.Int64, "_hash": pl.UInt64})
            self.candidates = pl.concat(found) if found else empty
        else:  # one semi join: the hash table of the repeats built once, not once per window
            hashes = pl.concat(self.parts).alias("_hash").to_frame().with_row_index(ROW)
            joined = hashes.join(dup.to_frame(), on="_hash", how="semi", maintain_order="left")
            self.candidates = joined.select(pl.col(ROW).cast(pl.Int64), pl.col("_hash"))
        self.parts, self.buckets = [], []

    @property
    def capturing(self) -> bool:
        return self.candidates is not None and 0 < self.candidates.height <= CONFIRM_ROWS

    def in_window(self, start: int, end: int) -> pl.Series:
        """Local indices of the candidates among rows [start, end)."""
        assert self.candidates is not None
        rows = self.candidates.get_column(ROW)
        lo, hi = rows.search_sorted(start, "left"), rows.search_sorted(end, "left")
        return rows.slice(int(lo), int(hi - lo)) - start

    def capture(self, frame: pl.DataFrame, start: int, local: pl.Series) -> None:
        """Keep the candidates' key values from the main pass (check form)."""
        picked = frame.select(self.columns).gather(local)
        self.captured.append(picked.with_columns((local.cast(pl.Int64) + start).alias(ROW)))

    def resolve(self, load: KeyLoader) -> UniqueOutcome:
        """Confirm the candidates against the real values; the failing rows and samples.

        Only the failing rows' indices are kept from each confirmation (and the first few
        with their values, for the samples), so a file of nothing but duplicates costs 8 bytes
        a row here, not its keys."""
        cands = self.candidates
        if cands is None or cands.is_empty():
            return UniqueOutcome(pl.Series(ROW, [], dtype=pl.Int64), [])
        if self.captured:
            confirmed = [_exact(pl.concat(self.captured), self.columns)]
            self.captured = []
        else:
            chunks = max(1, -(-cands.height // CONFIRM_ROWS))
            confirmed = [_reread(p, self.columns, load) for p in _partitions(cands, chunks)]
        self.candidates = None  # done with: free them before the outputs are written
        rows = pl.concat([c.rows for c in confirmed]).sort()
        head = pl.concat([c.head for c in confirmed]).sort(ROW).head(MAX_SAMPLES)
        values = column_values(head, self.columns, pl.Series(range(head.height)))
        samples = list(zip(head.get_column(ROW).to_list(), values, strict=True))
        return UniqueOutcome(rows, samples)


@dataclass
class _Confirmed:
    rows: pl.Series  # `_row` of the rows whose key really repeats
    head: pl.DataFrame  # the first MAX_SAMPLES of them: `_row` + key columns


def _duplicated(parts: list[pl.Series], buckets: list[pl.Series]) -> pl.Series:
    """Hash values that occur more than once, found one bucket (top 3 bits) at a time so the
    extra memory is an eighth of the hashes, not twice them."""
    found = [pl.Series([], dtype=pl.UInt64)]
    for b in range(BUCKETS):
        mine = [p.filter(k == b) for p, k in zip(parts, buckets, strict=True)]
        if mine:
            part = pl.concat(mine).sort(multithreaded=False)
            found.append(part.filter(part == part.shift(1)))
    return pl.concat(found).unique()


def _partitions(cands: pl.DataFrame, chunks: int) -> Iterator[pl.DataFrame]:
    """Split candidates so equal hashes stay together, each part ascending by row; one part
    at a time (a filter each), so only one is held besides the candidates."""
    if chunks == 1:
        yield cands
        return
    for k in range(chunks):
        yield cands.filter(pl.col("_hash") % chunks == k)


def _reread(cands: pl.DataFrame, columns: tuple[str, ...], load: KeyLoader) -> _Confirmed:
    rows = cands.get_column(ROW)
    return _exact(load(rows).select(columns).with_columns(rows.alias(ROW)), columns)


def _exact(frame: pl.DataFrame, columns: tuple[str, ...]) -> _Confirmed:
    """The rows whose key value really occurs more than once."""
    dup = frame.select(pl.struct(list(columns)).is_duplicated()).to_series()
    failing = frame.filter(dup).select(ROW, *columns).sort(ROW)
    head = failing.head(MAX_SAMPLES)
    # rebuilt from values: a slice of `failing` would keep all of its string buffers alive
    detached = pl.DataFrame(head.rows(), schema=head.schema, orient="row")
    return _Confirmed(failing.get_column(ROW), detached)
