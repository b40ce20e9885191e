"""`unique` across a whole file in bounded memory, in the same single pass as the other rules.

Each window's key is hashed (64 bits a row, null where the key has a null part: such rows are not
checked) and the hashes are kept: 8 bytes a row. Rows whose hash repeats *within their window* are
captured there and then (their key values, and their original rows spilled for the failures
file), since duplicates usually sit close together. At the end, sorting all the hashes finds the
ones that repeat anywhere: the rows carrying them are the *candidates*. A candidate that was not
captured (its twin is in another window) has its key read again from the file, from its row
group only. Candidates are confirmed by comparing the values exactly, so a hash collision never
fails a row. Every row of a duplicated key fails. When there are too many candidates to hold
their values, they are confirmed in hash partitions, reading the key columns again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from app.validation.results import MAX_SAMPLES
from app.validation.values import column_values

SEED = 0x7011_6A7E  # fixed: the same value hashes alike in every window
BUCKETS = 8  # 64-bit hashes split by their top 3 bits when finding the repeated ones
CONFIRM_ROWS = 1_000_000  # candidates whose key values are held at once when confirming
ROW = "_row"
_NO_ROWS = pl.Series(ROW, [], dtype=pl.Int64)

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
    """One unique rule: its key's hashes in file order and the rows captured in the pass, then
    its candidates."""

    columns: tuple[str, ...]
    parts: list[pl.Series] = field(default_factory=list)  # hashes, window by window
    buckets: list[pl.Series] = field(default_factory=list)  # their top 3 bits (UInt8)
    checked: int = 0
    captured: list[pl.DataFrame] = field(default_factory=list)  # (key columns, `_row`)
    captured_rows: int = 0
    overflow: bool = False  # too many rows to capture: confirm by reading the keys again
    candidates: pl.DataFrame | None = None  # (`_row`, `_hash`), ascending

    def add(
        self, frame: pl.DataFrame, start: int, hashes: pl.Series, local: pl.Series
    ) -> pl.Series:
        """One window (check form) at global row `start`, its key hashes and `repeated(hashes)`:
        keep the hashes, capture the rows whose hash repeats; the local rows captured."""
        self.checked += len(hashes) - hashes.null_count()
        self.parts.append(hashes)
        self.buckets.append((hashes // (1 << 61)).cast(pl.UInt8))
        if not len(local) or self.overflow:
            return _NO_ROWS
        self.captured_rows += len(local)
        if self.captured_rows > CONFIRM_ROWS:
            self.overflow, self.captured = True, []
            return _NO_ROWS
        picked = frame.select(self.columns).gather(local)
        self.captured.append(picked.with_columns((local.cast(pl.Int64) + start).alias(ROW)))
        return local

    def finish(self) -> None:
        """Find the candidate rows (every hash that occurs twice anywhere) and drop the hashes."""
        dup = _duplicated(self.parts, self.buckets).implode()
        found, start = [], 0
        for part in self.parts:
            local = part.is_in(dup).fill_null(False).arg_true()
            if len(local):
                hashes = part.gather(local)
                found.append(pl.DataFrame({ROW: local.cast(pl.Int64) + start, "_hash": hashes}))
            start += len(part)
        self.parts, self.buckets = [], []
        empty = pl.DataFrame(schema={ROW: pl.Int64, "_hash": pl.UInt64})
        self.candidates = pl.concat(found) if found else empty

    def resolve(self, load: KeyLoader) -> UniqueOutcome:
        """Confirm the candidates against the real values; the failing rows and samples."""
        cands = self.candidates
        if cands is None or cands.is_empty():
            return UniqueOutcome(_NO_ROWS, [])
        if self.overflow or cands.height > CONFIRM_ROWS:
            chunks = max(1, -(-cands.height // CONFIRM_ROWS))
            failing = [_reread(p, self.columns, load) for p in _partitions(cands, chunks)]
        else:
            failing = [_exact(self._values(cands.get_column(ROW), load), self.columns)]
        self.captured = []
        merged = pl.concat(failing).sort(ROW)
        head = merged.head(MAX_SAMPLES)
        values = column_values(head, self.columns, pl.Series(range(head.height)))
        samples = list(zip(head.get_column(ROW).to_list(), values, strict=True))
        return UniqueOutcome(merged.get_column(ROW), samples)

    def _values(self, rows: pl.Series, load: KeyLoader) -> pl.DataFrame:
        """The key values at the candidate `rows`: captured ones as kept, the others re-read."""
        have = pl.concat(self.captured) if self.captured else None
        missing = rows if have is None else rows.filter(~rows.is_in(have.get_column(ROW).implode()))
        parts = [] if have is None else [have]
        if len(missing):
            parts.append(load(missing).select(self.columns).with_columns(missing.alias(ROW)))
        return pl.concat(parts)


def repeated(hashes: pl.Series) -> pl.Series:
    """Local indices of the rows whose (non-null) hash occurs more than once in `hashes`."""
    ordered = hashes.drop_nulls().sort(multithreaded=False)
    twice = ordered.filter(ordered == ordered.shift(1))
    if not len(twice):
        return _NO_ROWS
    return hashes.is_in(twice.implode()).fill_null(False).arg_true()


def _duplicated(parts: list[pl.Series], buckets: list[pl.Series]) -> pl.Series:
    """Hash values that occur more than once across `parts`, found one bucket (top 3 bits) at a
    time so the extra memory is an eighth of the hashes, not twice them."""
    found = [pl.Series([], dtype=pl.UInt64)]
    for b in range(BUCKETS if parts else 0):
        mine = [p.filter(k == b) for p, k in zip(parts, buckets, strict=True)]
        ordered = pl.concat(mine).sort(multithreaded=False)
        found.append(ordered.filter(ordered == ordered.shift(1)))
    return pl.concat(found).unique()


def _partitions(cands: pl.DataFrame, chunks: int) -> list[pl.DataFrame]:
    """Split candidates so equal hashes stay together, each part ascending by row."""
    if chunks == 1:
        return [cands]
    tagged = cands.with_columns(_part=(pl.col("_hash") % chunks))
    return [p.drop("_part") for p in tagged.partition_by("_part", maintain_order=True)]


def _reread(cands: pl.DataFrame, columns: tuple[str, ...], load: KeyLoader) -> pl.DataFrame:
    rows = cands.get_column(ROW)
    return _exact(load(rows).select(columns).with_columns(rows.alias(ROW)), columns)


def _exact(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """The rows whose key value really occurs more than once: `_row` + key columns."""
    dup = frame.select(pl.struct(list(columns)).is_duplicated()).to_series()
    return frame.filter(dup).select(ROW, *columns)
