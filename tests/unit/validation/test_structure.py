"""Structure (SPEC §2.1) and the §8 widening table, judged on the schema before any data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.contracts.spec import ColumnType
from app.validation.results import Outcome
from app.validation.typemap import mismatch
from tests.unit.validation.helpers import contract, record, run

WIDENS = {
    "bool": [pa.bool_()],
    "int8": [pa.int8()],
    "int16": [pa.int16(), pa.int8(), pa.uint8()],
    "int32": [pa.int32(), pa.int8(), pa.int16(), pa.uint8(), pa.uint16()],
    "int64": [pa.int64(), pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16(), pa.uint32()],
    "uint8": [pa.uint8()],
    "uint16": [pa.uint16(), pa.uint8()],
    "uint32": [pa.uint32(), pa.uint8(), pa.uint16()],
    "uint64": [pa.uint64(), pa.uint8(), pa.uint16(), pa.uint32()],
    "float32": [pa.float32()],
    "float64": [
        pa.float64(),
        pa.float32(),
        pa.int8(),
        pa.int16(),
        pa.int32(),
        pa.uint8(),
        pa.uint16(),
        pa.uint32(),
    ],
    "string": [
        pa.string(),
        pa.large_string(),
        pa.string_view(),
        pa.dictionary(pa.int32(), pa.string()),
    ],
    "binary": [pa.binary(), pa.large_binary()],
    "date": [pa.date32(), pa.date64()],
    "timestamp": [pa.timestamp(u, tz) for u in ("s", "ms", "us", "ns") for tz in ("UTC", "+02:00")],
}
ALL = list({str(t): t for ts in WIDENS.values() for t in [*ts, pa.timestamp("us")]}.values())
REJECTED = [
    ("int32", pa.int64()),
    ("int64", pa.uint64()),
    ("int64", pa.float64()),
    ("uint32", pa.int8()),
    ("float32", pa.float64()),
    ("float64", pa.int64()),
    ("timestamp", pa.timestamp("us")),
    ("timestamp", pa.date32()),
    ("date", pa.timestamp("ms", "UTC")),
    ("string", pa.binary()),
    ("binary", pa.string()),
    ("string", pa.list_(pa.string())),
    ("string", pa.struct([("a", pa.string())])),
    ("string", pa.map_(pa.string(), pa.int32())),
    ("int64", pa.dictionary(pa.int32(), pa.string())),
]


@pytest.mark.parametrize(
    ("declared", "actual"), [(d, t) for d, ts in WIDENS.items() for t in ts], ids=str
)
def test_every_accepted_pairing_matches(declared: str, actual: pa.DataType) -> None:
    assert mismatch(actual, ColumnType(declared)) is None


@pytest.mark.parametrize(("declared", "actual"), REJECTED, ids=str)
def test_rejected_pairings_fail_with_a_detail(declared: str, actual: pa.DataType) -> None:
    detail = mismatch(actual, ColumnType(declared))
    assert detail is not None
    assert declared in detail


def test_every_other_pairing_is_rejected() -> None:
    for declared in ColumnType:
        accepted = {str(t) for t in WIDENS[declared.value]}
        for actual in ALL:
            if declared is ColumnType.TIMESTAMP:
                ok = pa.types.is_timestamp(actual) and actual.tz is not None
            else:
                ok = str(actual) in accepted
            assert (mismatch(actual, declared) is None) is ok, (declared, actual)


def test_widened_columns_validate_end_to_end(tmp_path: Path) -> None:
    spec = contract(
        [
            {"name": "i", "type": "int64", "checks": [{"in_range": {"max": 100}}]},
            {"name": "f", "type": "float64", "checks": [{"in_range": {"max": 0.1}}]},
            {"name": "s", "type": "string", "checks": [{"in_set": ["a"]}]},
            {"name": "d", "type": "date", "checks": [{"in_range": {"min": "1970-01-02"}}]},
            {
                "name": "t",
                "type": "timestamp",
                "checks": [{"in_range": {"min": "2024-01-01T00:00:00Z"}}],
            },
        ]
    )
    data = pa.table(
        {
            "i": pa.array([1, 200], pa.uint32()),
            "f": pa.array([0.1, 0.05], pa.float32()),  # float32 0.1 is a bit more than 0.1
            "s": pa.array(["a", "b"]).dictionary_encode(),
            "d": pa.array([date(1970, 1, 1), date(1970, 1, 3)], pa.date64()),
            "t": pa.array(
                [datetime(2023, 12, 31, 23, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)],
                pa.timestamp("s", "America/New_York"),
            ),
        }
    )
    report = run(tmp_path, spec, data, group=1)
    assert [(c.check, c.columns[0], [s.row for s in c.samples]) for c in report.checks] == [
        ("in_range", "i", [1]),
        ("in_range", "f", [0]),
        ("in_set", "s", [1]),
        ("in_range", "d", [0]),
        ("in_range", "t", [0]),
    ]
    assert record(report, "in_set", "s").samples[0].value == "b"
    assert record(report, "in_range", "t").samples[0].value == "2023-12-31T23:00:00Z"


def test_type_failures_reject_before_any_row_check(tmp_path: Path) -> None:
    spec = contract(
        [
            {"name": "a", "type": "int32", "nullable": False, "checks": [{"in_range": {"min": 0}}]},
            {"name": "b", "type": "timestamp"},
            {"name": "c", "type": "string"},
        ],
        on_violation="quarantine",
    )
    data = {
        "a": pa.array([-1, 2], pa.int64()),
        "b": pa.array([1, 2], pa.timestamp("us")),
        "c": pa.array([["x"], []], pa.list_(pa.string())),
    }
    report = run(tmp_path, spec, data, outputs=True)
    assert report.outcome is Outcome.REJECTED
    assert (report.rows, report.rows_accepted, report.rows_quarantined) == (2, 0, 0)
    assert [(c.check, c.columns, c.detail) for c in report.checks] == [
        ("type", ["a"], "int64 does not widen into int32"),
        (
            "type",
            ["b"],
            "timestamp[us] is a naive timestamp (no time zone); declared timestamp (UTC)",
        ),
        ("type", ["c"], "list<element: string> is a nested type; declared string"),
    ]
    for c in report.checks:
        assert (c.severity, c.rows_checked, c.failed_rows, c.mostly, c.passed) == (
            "error",
            2,
            2,
            1,
            False,
        )
    failures = pq.read_table(tmp_path / "failures.parquet")
    assert failures.num_rows == 0
    assert failures.column_names == ["a", "b", "c", "_row", "_failed_checks"]
    assert report.quarantine_path is None


def test_unknown_and_missing_columns(tmp_path: Path) -> None:
    spec = contract(
        [{"name": "need", "type": "int64", "nullable": False}, {"name": "maybe", "type": "string"}]
    )
    report = run(tmp_path, spec, {"extra": [1], "other": ["x"]})
    assert [(c.check, c.columns) for c in report.checks] == [
        ("unknown_column", ["extra"]),
        ("unknown_column", ["other"]),
        ("missing_column", ["need"]),
    ]
    assert report.outcome is Outcome.REJECTED


def test_an_absent_nullable_column_reads_as_all_null(tmp_path: Path) -> None:
    spec = contract(
        [
            {"name": "a", "type": "int64"},
            {"name": "gone", "type": "string", "unique": True, "checks": [{"in_set": ["x"]}]},
        ],
        [{"unique": ["a", "gone"]}],
    )
    report = run(tmp_path, spec, {"a": [1, 1, 2]}, outputs=True)
    assert report.outcome is Outcome.ACCEPTED
    assert all(c.passed and c.rows_checked == 0 for c in report.checks)
    assert pq.read_table(tmp_path / "failures.parquet").column_names == [
        "a",
        "_row",
        "_failed_checks",
    ]


def test_ten_thousand_columns_are_answered_precisely(tmp_path: Path) -> None:
    spec = contract([{"name": "c0", "type": "int64"}])
    table = pa.table({f"c{i}": pa.array([i], pa.int64()) for i in range(10_000)})
    report = run(tmp_path, spec, table)
    assert report.outcome is Outcome.REJECTED
    assert len(report.checks) == 9_999
    assert report.checks[0].columns == ["c1"]
