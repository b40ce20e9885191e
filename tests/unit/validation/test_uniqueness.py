"""`unique` never fails a row on a hash collision, and confirms by re-reading when there are
too many candidates to hold."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from app.validation import engine, uniqueness
from tests.unit.validation.helpers import contract, record, run


def _colliding(columns: tuple[str, ...]) -> pl.Expr:
    present = pl.all_horizontal([pl.col(c).is_not_null() for c in columns])
    return pl.when(present).then(pl.lit(7, dtype=pl.UInt64))


SPEC = contract([{"name": "k", "type": "string", "unique": True}, {"name": "v", "type": "int64"}],
                [{"unique": ["k", "v"]}])  # fmt: skip
DATA = {"k": ["a", "b", "a", None, "c", "b", "d"], "v": [1, 1, 2, 3, 4, 1, None]}


@pytest.mark.parametrize("confirm_rows", [uniqueness.CONFIRM_ROWS, 2])
def test_a_hash_collision_never_fails_a_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, confirm_rows: int
) -> None:
    monkeypatch.setattr(engine, "key_hash", _colliding)  # every key hashes alike
    monkeypatch.setattr(uniqueness, "CONFIRM_ROWS", confirm_rows)
    report = run(tmp_path, SPEC, DATA, group=2, outputs=True)
    single = record(report, "unique", "k")
    assert (single.failed_rows, single.rows_checked) == (4, 6)
    assert [s.row for s in single.samples] == [0, 1, 2, 5]
    pair = record(report, "unique", "k", "v")
    assert (pair.failed_rows, pair.rows_checked) == (2, 5)
    assert [s.value for s in pair.samples] == [{"k": "b", "v": 1}, {"k": "b", "v": 1}]
    failures = pq.read_table(tmp_path / "failures.parquet").to_pylist()
    assert [(r["_row"], r["k"], r["_failed_checks"]) for r in failures] == [
        (0, "a", ["unique:k"]),
        (1, "b", ["unique:k", "unique:k+v"]),
        (2, "a", ["unique:k"]),
        (5, "b", ["unique:k", "unique:k+v"]),
    ]
