"""Hostile inputs (SPEC §8 "Uploads"): anything that is not readable Parquet raises
UnreadableParquet with a precise detail, from inspect_parquet and from validate alike."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.validation.engine import validate
from app.validation.reading import UnreadableParquet, inspect_parquet
from app.validation.report import as_json
from tests.builders.batches import lie_about_rows
from tests.unit.validation.helpers import NOW, contract

SPEC = contract([{"name": "a", "type": "int64"}, {"name": "s", "type": "string"}])
# with a unique key the engine reads its pages first, in the pre-pass: the same details
KEYED = contract([{"name": "a", "type": "int64", "unique": True}, {"name": "s", "type": "string"}])


def _parquet(rows: int = 1234, group: int = 1234) -> bytes:
    table = pa.table({"a": pa.array(range(rows), pa.int64()), "s": [str(i) for i in range(rows)]})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=group)
    return buf.getvalue()


def _refused(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "upload.parquet"
    path.write_bytes(data)
    with pytest.raises(UnreadableParquet) as first:
        inspect_parquet(path)
    for spec in (SPEC, KEYED):
        with pytest.raises(UnreadableParquet) as engine:
            validate(spec, path, now=NOW)
        assert engine.value.detail == first.value.detail
    with pytest.raises(UnreadableParquet):
        inspect_parquet(pa.BufferReader(data))
    return first.value.detail


def test_empty_file(tmp_path: Path) -> None:
    assert "empty file" in _refused(tmp_path, b"")


def test_random_bytes(tmp_path: Path) -> None:
    detail = _refused(tmp_path, os.urandom(4096).replace(b"PAR1", b"XXXX"))
    assert detail.startswith("not a Parquet file: the first 4 bytes are not PAR1")


def test_random_bytes_between_magic_numbers(tmp_path: Path) -> None:
    body = os.urandom(4096)
    assert "footer" in _refused(tmp_path, b"PAR1" + body + struct.pack("<I", 100) + b"PAR1")


def test_csv(tmp_path: Path) -> None:
    detail = _refused(tmp_path, b"a,s\n1,x\n2,y\n")
    assert "looks like text (CSV" in detail


def test_too_short(tmp_path: Path) -> None:
    assert "too short" in _refused(tmp_path, b"PAR1PAR1")


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.5, 0.9, 0.999])
def test_truncated(tmp_path: Path, fraction: float) -> None:
    data = _parquet()
    detail = _refused(tmp_path, data[: int(len(data) * fraction)])
    assert detail.startswith(("truncated", "not a Parquet file"))


def test_cut_in_the_middle(tmp_path: Path) -> None:
    data = _parquet()
    detail = _refused(tmp_path, data[:300] + data[600:])
    assert "truncated" in detail or "corrupt" in detail


@pytest.mark.parametrize("claimed", [1200, 1300])
def test_footer_row_count_lies_about_the_file(tmp_path: Path, claimed: int) -> None:
    detail = _refused(tmp_path, lie_about_rows(_parquet(), 1234, claimed, everywhere=False))
    assert detail == f"footer says {claimed:,} rows but its row groups add up to 1,234"


@pytest.mark.parametrize("claimed", [1200, 1300])
def test_footer_row_counts_lie_everywhere(tmp_path: Path, claimed: int) -> None:
    detail = _refused(tmp_path, lie_about_rows(_parquet(), 1234, claimed, everywhere=True))
    assert detail == (
        f"footer says row group 0 has {claimed:,} rows "
        "but the pages of column 'a' hold 1,234 values"
    )


def test_a_readable_file_is_described(tmp_path: Path) -> None:
    path = tmp_path / "ok.parquet"
    path.write_bytes(_parquet(rows=100, group=7))
    info = inspect_parquet(path)
    assert (info.rows, info.row_groups, info.schema.names) == (100, 15, ["a", "s"])


def test_a_native_file_source_validates_like_a_path(tmp_path: Path) -> None:
    spec = contract(
        [
            {"name": "a", "type": "int64", "unique": True, "checks": [{"in_range": {"max": 90}}]},
            {"name": "s", "type": "string"},
        ]
    )
    data = _parquet(rows=100, group=7)
    path = tmp_path / "ok.parquet"
    path.write_bytes(data)
    by_path = validate(spec, path, now=NOW)
    by_buffer = validate(spec, pa.BufferReader(data), now=NOW)
    assert [c.as_dict() for c in by_path.checks] == [c.as_dict() for c in by_buffer.checks]
    assert by_path.checks[1].failed_rows == 9


def test_vouched_pages_are_not_walked_and_change_nothing(tmp_path: Path) -> None:
    """`pages_checked` (the pipeline's, for stored uploads) skips the page walk only: the same
    report as walking them, through the pre-pass and without one."""
    path = tmp_path / "ok.parquet"
    path.write_bytes(_parquet(rows=500, group=64))
    for spec in (SPEC, KEYED):
        walked = validate(spec, path, now=NOW)
        vouched = validate(spec, path, now=NOW, pages_checked=True)
        assert as_json(vouched) == as_json(walked)
        assert walked.rows == 500
