"""`unique` across a whole file in bounded memory.

A pre-pass reads only the key columns and keeps one 64-bit hash per row (null where the key has
a null part: such rows are not checked) — 8 bytes a row. Sorting the hashes finds the duplicated
ones; the rows carrying them are *candidates*, known before the main pass. The main pass then
captures the candidates' real key values (and spills their original rows for the failures file),
and the candidates are confirmed by comparing the values exactly, so a hash collision never fails
a row. Every row of a duplicated key fails. When there are too many candidates to hold their
values, they are confirmed one hash partition at a time, reading the key columns again window by
window; only the failing rows' indices (and the first few values, for samples) are kept. A hash
carried by more than HEAVY_ROWS rows (a key column holding one value throughout, say) would make
its partition as large as the file: such rows are instead compared, window by window, with the
first value of their hash (a reference), so memory stays 16 bytes a row whatever the repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from app.validation.results import MAX_SAMPLES
from app.validation.values import column_values

SEED = 0x7011_6A7E  # fixed: the same value hashes alike in every chunk
_MIX = pl.lit(0x9E37_79B9_7F4A_7C15, dtype=pl.UInt64)  # odd: 2^64 / golden ratio
BUCKETS = 8  # 64-bit hashes split by their top 3 bits
MANY_REPEATS = 65_536  # repeated hashes past which candidates are found by one join
CONFIRM_ROWS = 1_000_000  # candidates whose key values are held at once when confirming
HEAVY_ROWS = 131_072  # rows past which one hash is confirmed against a reference value
ROW, HASH = "_row", "_hash"

# Given ascending global row indices, the key columns at those rows (check form), in that order,
# a window of the file at a time.
KeyLoader = Callable[[pl.Series], Iterator[pl.DataFrame]]


def key_hash(columns: tuple[str, ...]) -> pl.Expr:
    """Hash of the key, null where any part is null. A composite key's part hashes are
    combined (multiply by an odd constant, wrapping, then xor: each step a bijection of the
    previous), not hashed as a struct: that encodes every row first, 3x the instructions."""
    hashed = pl.col(columns[0]).hash(SEED)
    for k, name in enumerate(columns[1:], 1):
        hashed = (hashed * _MIX) ^ pl.col(name).hash(SEED + k)
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
    heavy: pl.Series | None = None  # hashes of more than HEAVY_ROWS candidates
    captured: list[pl.DataFrame] = field(default_factory=list)  # (`_row`, key columns)

    def add(self, hashes: pl.Series) -> None:
        self.checked += len(hashes) - hashes.null_count()
        self.parts.append(hashes)
        self.buckets.append((hashes // (1 << 61)).cast(pl.UInt8))

    def finish_prepass(self) -> None:
        """Find the candidate rows and drop the hashes."""
        dup, self.heavy = _duplicated(self.parts, self.buckets)
        dup = dup.alias(HASH)
        if len(dup) <= MANY_REPEATS:  # usual: a small set to look each window's hashes up in
            found, start, wanted = [], 0, dup.implode()
            for part in self.parts:
                local = part.is_in(wanted).fill_null(False).arg_true()
                if len(local):
                    rows = local.cast(pl.Int64) + start
                    found.append(pl.DataFrame({ROW: rows, HASH: part.gather(local)}))
                start += len(part)
            empty = pl.DataFrame(schema={ROW: pl.Int64, HASH: pl.UInt64})
            self.candidates = pl.concat(found) if found else empty
        else:  # one semi join: the hash table of the repeats built once, not once per window
            hashes = pl.concat(self.parts).alias(HASH).to_frame().with_row_index(ROW)
            joined = hashes.join(dup.to_frame(), on=HASH, how="semi", maintain_order="left")
            self.candidates = joined.select(pl.col(ROW).cast(pl.Int64), pl.col(HASH))
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
            confirmed = []
            if self.heavy is not None and len(self.heavy):
                is_heavy = pl.col(HASH).is_in(self.heavy.implode())
                confirmed += _against_references(cands.filter(is_heavy), self.columns, load)
                cands = cands.filter(~is_heavy)
            chunks = max(1, -(-cands.height // CONFIRM_ROWS))
            confirmed += [_reread(p, self.columns, load) for p in _partitions(cands, chunks)]
        self.candidates = self.heavy = None  # done with: freed before the outputs are written
        rows = pl.concat([c.rows for c in confirmed]).sort()
        heads = [c.head for c in confirmed if c.head.height]
        if not heads:
            return UniqueOutcome(rows, [])
        head = pl.concat(heads).sort(ROW).head(MAX_SAMPLES)
        values = column_values(head, self.columns, pl.Series(range(head.height)))
        samples = list(zip(head.get_column(ROW).to_list(), values, strict=True))
        return UniqueOutcome(rows, samples)


@dataclass
class _Confirmed:
    rows: pl.Series  # `_row` of the rows whose key really repeats
    head: pl.DataFrame  # the first MAX_SAMPLES of them: `_row` + key columns


def _duplicated(parts: list[pl.Series], buckets: list[pl.Series]) -> tuple[pl.Series, pl.Series]:
    """Hash values that occur more than once, and those of them carried by more than HEAVY_ROWS
    rows; found one bucket (top 3 bits) at a time so the extra memory is an eighth of the
    hashes, not twice them."""
    repeats = [pl.Series([], dtype=pl.UInt64)]
    for b in range(BUCKETS):
        mine = [p.filter(k == b) for p, k in zip(parts, buckets, strict=True)]
        if mine:  # a null hash has no bucket: never in `mine`
            part = pl.concat(mine).sort(multithreaded=False)
            repeats.append(part.filter(part == part.shift(1)))  # a value n times: n - 1 entries
    runs = pl.concat(repeats).rle()  # sorted (buckets ascend): one run per repeated value
    values, extra = runs.struct.field("value"), runs.struct.field("len")
    return values, values.filter(extra >= HEAVY_ROWS)


def _partitions(cands: pl.DataFrame, chunks: int) -> Iterator[pl.DataFrame]:
    """Split candidates so equal hashes stay together, each part ascending by row; one part
    at a time (a filter each), so only one is held besides the candidates."""
    if chunks == 1:
        yield cands
        return
    for k in range(chunks):
        yield cands.filter(pl.col(HASH) % chunks == k)


def _reread(cands: pl.DataFrame, columns: tuple[str, ...], load: KeyLoader) -> _Confirmed:
    rows = cands.get_column(ROW)
    parts = [part.select(columns) for part in load(rows)]
    if not parts:  # a partition no candidate fell in
        return _Confirmed(rows.clear(), pl.DataFrame(schema={ROW: pl.Int64}))
    return _exact(pl.concat(parts).with_columns(rows.alias(ROW)), columns)


def _against_references(
    cands: pl.DataFrame, columns: tuple[str, ...], load: KeyLoader
) -> list[_Confirmed]:
    """Confirm heavy hashes in one pass: each row is compared (by the same equality as the
    grouping in `_exact`) with the first row of its hash, the reference. A hash's rows equal to
    its reference all fail when there are two or more; rows that differ (a real collision of
    the 64-bit hash) are confirmed among themselves, exactly."""
    rows, hashes = cands.get_column(ROW), cands.get_column(HASH)
    refs: pl.DataFrame | None = None  # (HASH, key columns): each hash's first row
    same, differ, start = [], [], 0
    keys = [HASH, *columns]
    for part in load(rows):
        part = part.select(columns).with_columns(
            rows.slice(start, part.height).alias(ROW), hashes.slice(start, part.height).alias(HASH)
        )
        start += part.height
        firsts = part.filter(pl.col(HASH).is_first_distinct()).select(HASH, *columns)
        new = firsts if refs is None else firsts.join(refs, on=HASH, how="anti")
        refs = new if refs is None else pl.concat([refs, new])
        same.append(part.join(refs, on=keys, how="semi", maintain_order="left").select(ROW, HASH))
        other = part.join(refs, on=keys, how="anti", maintain_order="left")
        if other.height:
            differ.append(other.select(ROW, *columns))
    assert refs is not None
    equal = pl.concat(same)
    repeated = equal.group_by(HASH).len().filter(pl.col("len") > 1).get_column(HASH).implode()
    failing = equal.filter(pl.col(HASH).is_in(repeated))
    head = (
        failing.head(MAX_SAMPLES).join(refs, on=HASH, maintain_order="left").select(ROW, *columns)
    )
    out = [_Confirmed(failing.get_column(ROW), _detached(head))]
    if differ:
        out.append(_exact(pl.concat(differ), columns))
    return out


def _exact(frame: pl.DataFrame, columns: tuple[str, ...]) -> _Confirmed:
    """The rows whose key value really occurs more than once."""
    dup = frame.select(pl.struct(list(columns)).is_duplicated()).to_series()
    failing = frame.filter(dup).select(ROW, *columns).sort(ROW)
    return _Confirmed(failing.get_column(ROW), _detached(failing.head(MAX_SAMPLES)))


def _detached(head: pl.DataFrame) -> pl.DataFrame:
    """`head` rebuilt from its values: a slice would keep all of its source's buffers alive."""
    return pl.DataFrame(head.rows(), schema=head.schema, orient="row")
