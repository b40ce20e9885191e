"""Windows are whole row groups, bounded by rows and by their decoded size as estimated from the
footer (two are held at once), so a wide file gets fewer rows a window than a narrow one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.validation.reading import open_parquet

ROWS, GROUP = 8000, 1000


def _write(tmp_path: Path, table: pa.Table) -> Path:
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=GROUP)
    return path


def _mixed(columns: int) -> pa.Table:
    """Numbers, bools, a low-cardinality string (dictionary-encoded) and long distinct strings."""
    cols: dict[str, pa.Array] = {}
    for i in range(columns):
        cols[f"n{i}"] = pa.array(range(ROWS), pa.int16())
        cols[f"f{i}"] = pa.array([j / 7 for j in range(ROWS)], pa.float64())
        cols[f"b{i}"] = pa.array([j % 3 == 0 for j in range(ROWS)])
        cols[f"c{i}"] = pa.array(["DE", "FR", None, "GB"] * (ROWS // 4))
        cols[f"s{i}"] = pa.array([f"{j:036d}" for j in range(ROWS)])
    return pa.table(cols)


def test_rows_bound_a_narrow_file(tmp_path: Path) -> None:
    with open_parquet(_write(tmp_path, _mixed(1))) as src:
        assert src.windows(4 * GROUP, 1 << 30) == [(0, 4), (4, 8)]
        assert src.windows(4 * GROUP) == [(0, 4), (4, 8)]


def test_bytes_bound_a_wide_file(tmp_path: Path) -> None:
    with open_parquet(_write(tmp_path, _mixed(20))) as src:
        group = src.group_bytes(0)
        assert src.windows(4 * GROUP, 2 * group) == [(0, 2), (2, 4), (4, 6), (6, 8)]
        # a group larger than the budget on its own is a window on its own
        assert src.windows(4 * GROUP, group - 1) == [(g, g + 1) for g in range(8)]
        assert src.windows(4 * GROUP) == [(0, 4), (4, 8)]


@pytest.mark.parametrize("columns", [1, 20])
def test_the_estimate_is_close_to_what_polars_holds(tmp_path: Path, columns: int) -> None:
    path = _write(tmp_path, _mixed(columns))
    frame = pl.read_parquet(path, n_rows=GROUP)
    # polars' own estimate leaves out the 16-byte view of each string value
    views = sum(16 * GROUP for name, dtype in frame.schema.items() if dtype == pl.String)
    held = frame.estimated_size() + views
    with open_parquet(path) as src:
        assert 0.8 * held <= src.group_bytes(0) <= 1.25 * held, (src.group_bytes(0), held)
