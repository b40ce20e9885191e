"""`unique` never fails a row on a hash collision; duplicates whose twins lie in other windows are
all found and written; and with too many candidates to hold, keys and rows are read again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest

from app.validation import engine, outputs, uniqueness
from tests.unit.validation.helpers import contract, record, run


def _colliding(columns: tuple[str, ...]) -> pl.Expr:
    """7 for every key: computed from the values, like the real hash. (polars 2.1 returns the
    rows of a Parquet scan out of order for an expression that needs only validity, such as
    `when(is_not_null).then(7)`; the key hash always reads the values.)"""
    present = pl.all_horizontal([pl.col(c).is_not_null() for c in columns])
    return pl.when(present).then(pl.struct(list(columns)).hash(0) * 0 + 7)


SPEC = contract([{"name": "k", "type": "string", "unique": True}, {"name": "v", "type": "int64"}],
                [{"unique": ["k", "v"]}])  # fmt: skip
DATA = {"k": ["a", "b", "a", None, "c", "b", "d"], "v": [1, 1, 2, 3, 4, 1, None]}


def _failures(tmp_path: Path) -> list[tuple[int, Any, list[str]]]:
    rows = pq.read_table(tmp_path / "failures.parquet").to_pylist()
    return [(r["_row"], r["k"], r["_failed_checks"]) for r in rows]


@pytest.mark.parametrize("heavy_rows", [uniqueness.HEAVY_ROWS, 1])
@pytest.mark.parametrize("window_rows", [2, engine.TARGET_ROWS])
@pytest.mark.parametrize("confirm_rows", [uniqueness.CONFIRM_ROWS, 2])
def test_a_hash_collision_never_fails_a_row(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    confirm_rows: int,
    window_rows: int,
    heavy_rows: int,
) -> None:
    monkeypatch.setattr(engine, "key_hash", _colliding)  # every key hashes alike
    monkeypatch.setattr(uniqueness, "CONFIRM_ROWS", confirm_rows)
    monkeypatch.setattr(uniqueness, "HEAVY_ROWS", heavy_rows)  # 1: against a reference value
    report = run(tmp_path, SPEC, DATA, group=2, outputs=True, window_rows=window_rows)
    single = record(report, "unique", "k")
    assert (single.failed_rows, single.rows_checked) == (4, 6)
    assert [s.row for s in single.samples] == [0, 1, 2, 5]
    pair = record(report, "unique", "k", "v")
    assert (pair.failed_rows, pair.rows_checked) == (2, 5)
    assert [s.value for s in pair.samples] == [{"k": "b", "v": 1}, {"k": "b", "v": 1}]
    assert _failures(tmp_path) == [
        (0, "a", ["unique:k"]),
        (1, "b", ["unique:k", "unique:k+v"]),
        (2, "a", ["unique:k"]),
        (5, "b", ["unique:k", "unique:k+v"]),
    ]


# windows of 4 rows: [0-3] [4-7] [8-11]; "x" twice in the first window and once in the third,
# "y" once in each of the first two, "z" twice in the second
KEYS = ["x", "y", "x", "a", "y", "z", "b", "z", "c", "d", "x", "e"]


@pytest.mark.parametrize("heavy_rows", [uniqueness.HEAVY_ROWS, 1])
@pytest.mark.parametrize("many_repeats", [uniqueness.MANY_REPEATS, 0])
@pytest.mark.parametrize("finish_rows", [outputs.FINISH_ROWS, 1])
@pytest.mark.parametrize("confirm_rows", [uniqueness.CONFIRM_ROWS, 3])
def test_duplicates_across_windows_are_confirmed_and_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    confirm_rows: int,
    finish_rows: int,
    many_repeats: int,
    heavy_rows: int,
) -> None:
    monkeypatch.setattr(uniqueness, "CONFIRM_ROWS", confirm_rows)  # 3: nothing captured, re-read
    monkeypatch.setattr(uniqueness, "HEAVY_ROWS", heavy_rows)  # 1: every repeat vs a reference
    monkeypatch.setattr(outputs, "FINISH_ROWS", finish_rows)  # 1: outputs written window by window
    monkeypatch.setattr(outputs, "WRITE_ROWS", 2 if finish_rows == 1 else outputs.WRITE_ROWS)
    monkeypatch.setattr(uniqueness, "MANY_REPEATS", many_repeats)  # 0: candidates by a join
    spec = contract([{"name": "k", "type": "string", "unique": True},
                     {"name": "n", "type": "int64", "checks": [{"in_range": {"max": 9}}]}],
                    on_violation="quarantine")  # fmt: skip
    data = {"k": KEYS, "n": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99]}
    report = run(tmp_path, spec, data, group=2, outputs=True, window_rows=4)
    unique = record(report, "unique", "k")
    assert (unique.failed_rows, unique.rows_checked) == (7, 12)
    assert [(s.row, s.value) for s in unique.samples] == [
        (0, "x"), (1, "y"), (2, "x"), (4, "y"), (5, "z"), (7, "z"), (10, "x")
    ]  # fmt: skip
    assert _failures(tmp_path) == [
        (0, "x", ["unique:k"]),
        (1, "y", ["unique:k"]),
        (2, "x", ["unique:k"]),
        (4, "y", ["unique:k"]),
        (5, "z", ["unique:k"]),
        (7, "z", ["unique:k"]),
        (10, "x", ["unique:k"]),
        (11, "e", ["in_range:n"]),
    ]
    quarantined = pq.read_table(tmp_path / "quarantine.parquet").column("_row").to_pylist()
    assert quarantined == [0, 1, 2, 4, 5, 7, 10, 11]
    assert report.rows_quarantined == 8
