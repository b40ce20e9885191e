"""Every row check, pass and fail; counting per SPEC §8; mostly compared exactly; samples."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from app.validation.results import Outcome
from tests.unit.validation.helpers import contract, record, run

CHECKS = [
    ({"in_range": {"min": 0, "max": 10}}, "int64", [0, 10, 5, None], [11]),
    ({"in_range": {"min": 0.5}}, "float64", [0.5, 1e9, None], [0.49, float("nan")]),
    ({"in_range": {"max": 2}}, "int32", [-(2**31), 2], [3]),
    ({"in_set": ["a", "b"]}, "string", ["a", "b", None], ["c", "A"]),  # value by value
    (
        {"in_set": [*"abcdefghij", "long enough to be stored out of line"]},
        "string",
        ["a", "j", "long enough to be stored out of line", None],
        ["k", "", "long enough to be stored out of line!"],
    ),  # more than SMALL_SET values: looked up
    (
        {"in_set": ["", "a", "long enough to be stored out of line"]},
        "string",
        ["", "long enough to be stored out of line"],
        [" ", "long enough to be stored out of lin"],
    ),
    ({"in_set": [1, 300]}, "int16", [1, 300], [2, -1]),
    ({"matches": "[a-z]+[0-9]"}, "string", ["ab1", "x9"], ["ab1x", "1", "ab12", "Ab1"]),
    ({"min_length": 2}, "string", ["ab", "héllo"], ["a", ""]),
    ({"min_length": 1}, "string", ["a", "é", " "], [""]),
    ({"max_length": 3}, "string", ["abc", "ééé", ""], ["abcd", "éééé"]),
]


@pytest.mark.parametrize(("check", "type_", "good", "bad"), CHECKS)
def test_each_row_check_passes_and_fails(
    tmp_path: Path, check: dict[str, object], type_: str, good: list[object], bad: list[object]
) -> None:
    spec = contract([{"name": "v", "type": type_, "checks": [check]}])
    arrow = {"int64": pa.int64(), "int32": pa.int32(), "int16": pa.int16()}.get(type_)
    ok = run(tmp_path, spec, {"v": pa.array(good, arrow)})
    kind = next(iter(check))
    assert ok.outcome is Outcome.ACCEPTED
    assert record(ok, kind, "v").passed
    values = good + bad
    bad_report = run(tmp_path, spec, {"v": pa.array(values, arrow)})
    rec = record(bad_report, kind, "v")
    assert not rec.passed
    assert rec.failed_rows == len(bad)
    assert rec.rows_checked == sum(v is not None for v in values)
    assert [s.row for s in rec.samples] == list(range(len(good), len(values)))
    assert bad_report.outcome is Outcome.REJECTED


def test_not_null_counts_every_row_and_nan_is_not_null(tmp_path: Path) -> None:
    spec = contract([{"name": "v", "type": "float64", "nullable": False}])
    report = run(tmp_path, spec, {"v": [1.0, None, float("nan"), None]})
    rec = record(report, "not_null", "v")
    assert (rec.failed_rows, rec.rows_checked) == (2, 4)
    assert [(s.row, s.value) for s in rec.samples] == [(1, None), (3, None)]


def test_value_checks_skip_nulls(tmp_path: Path) -> None:
    spec = contract([{"name": "v", "type": "string", "checks": [{"in_set": ["a"]}]}])
    report = run(tmp_path, spec, {"v": [None, None, "a", None]})
    rec = record(report, "in_set", "v")
    assert (rec.failed_rows, rec.rows_checked, rec.passed) == (0, 1, True)


@pytest.mark.parametrize(("failures", "passed"), [(10, True), (11, False)])
def test_mostly_is_compared_exactly(tmp_path: Path, failures: int, passed: bool) -> None:
    spec = contract(
        [{"name": "v", "type": "int64", "checks": [{"in_range": {"min": 0}, "mostly": 0.9}]}]
    )
    values = [-1] * failures + [1] * (100 - failures)
    rec = record(run(tmp_path, spec, {"v": values}, group=13), "in_range", "v")
    assert (rec.failed_rows, rec.rows_checked, rec.passed) == (failures, 100, passed)
    assert rec.failed_fraction == failures / 100


def test_samples_are_twenty_ascending_and_global_across_row_groups(tmp_path: Path) -> None:
    spec = contract([{"name": "v", "type": "int64", "checks": [{"in_range": {"max": 0}}]}])
    values = [1 if i % 3 == 0 else 0 for i in range(100)]
    rec = record(run(tmp_path, spec, {"v": values}), "in_range", "v")
    assert rec.failed_rows == 34
    assert [s.row for s in rec.samples] == [3 * i for i in range(20)]
    assert all(s.value == 1 for s in rec.samples)


def test_unique_across_row_groups_fails_every_row_of_the_key(tmp_path: Path) -> None:
    spec = contract([{"name": "id", "type": "string", "unique": True}])
    ids = [f"k{i}" for i in range(50)]
    ids[49] = "k0"  # first and last row group
    ids[20] = ids[21] = "dup"
    ids[30] = None
    rec = record(run(tmp_path, spec, {"id": ids}), "unique", "id")
    assert (rec.failed_rows, rec.rows_checked) == (4, 49)
    assert [(s.row, s.value) for s in rec.samples] == [
        (0, "k0"),
        (20, "dup"),
        (21, "dup"),
        (49, "k0"),
    ]


def test_composite_unique_skips_keys_with_a_null_part(tmp_path: Path) -> None:
    spec = contract(
        [{"name": "a", "type": "string"}, {"name": "b", "type": "int32"}],
        [{"unique": ["a", "b"]}],
    )
    data = {
        "a": ["x", "x", "x", None, None, "y", "x"],
        "b": pa.array([1, 2, None, 1, 1, 1, 1], pa.int32()),
    }
    rec = record(run(tmp_path, spec, data, group=3), "unique", "a", "b")
    assert (rec.failed_rows, rec.rows_checked) == (2, 4)
    assert [(s.row, s.value) for s in rec.samples] == [
        (0, {"a": "x", "b": 1}),
        (6, {"a": "x", "b": 1}),
    ]


def test_unique_on_floats_dates_and_timestamps(tmp_path: Path) -> None:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    spec = contract(
        [
            {"name": "f", "type": "float64"},
            {"name": "d", "type": "date"},
            {"name": "t", "type": "timestamp"},
        ],
        [{"unique": ["f", "d", "t"]}],
    )
    data = {
        "f": [0.0, -0.0, 1.5],
        "d": [date(2024, 1, 1)] * 3,
        "t": pa.array([t] * 3, pa.timestamp("us", "UTC")),
    }
    rec = record(run(tmp_path, spec, data, group=1), "unique", "f", "d", "t")
    assert rec.failed_rows == 2  # 0.0 and -0.0 are one key
    assert rec.samples[0].value == {"f": 0.0, "d": "2024-01-01", "t": "2024-01-01T00:00:00Z"}


def test_warnings_never_reject(tmp_path: Path) -> None:
    spec = contract(
        [{"name": "v", "type": "string", "checks": [{"max_length": 1, "severity": "warning"}]}]
    )
    report = run(tmp_path, spec, {"v": ["ab", "c"]})
    rec = record(report, "max_length", "v")
    assert (rec.passed, rec.severity, rec.failed_rows) == (False, "warning", 1)
    assert report.outcome is Outcome.ACCEPTED
    assert (report.rows_accepted, report.rows_quarantined) == (2, 0)


def test_in_range_on_dates_and_timestamps_uses_typed_bounds(tmp_path: Path) -> None:
    spec = contract(
        [
            {
                "name": "d",
                "type": "date",
                "checks": [{"in_range": {"min": "2024-01-01", "max": "2024-01-31"}}],
            },
            {
                "name": "t",
                "type": "timestamp",
                "checks": [{"in_range": {"max": "2024-01-01T00:00:00+01:00"}}],
            },
        ]
    )
    data = {
        "d": [date(2023, 12, 31), date(2024, 1, 1), date(2024, 1, 31), date(2024, 2, 1)],
        "t": pa.array(
            [
                datetime(2023, 12, 31, 23, 0, tzinfo=UTC),
                datetime(2023, 12, 31, 23, 0, 1, tzinfo=UTC),
                None,
                None,
            ],
            pa.timestamp("ns", "Asia/Tokyo"),
        ),
    }
    report = run(tmp_path, spec, data)
    assert [s.row for s in record(report, "in_range", "d").samples] == [0, 3]
    t = record(report, "in_range", "t")
    assert (t.failed_rows, t.rows_checked) == (1, 2)
    assert t.samples[0].value == "2023-12-31T23:00:01Z"


def test_integer_bounds_are_exact_past_the_type(tmp_path: Path) -> None:
    spec = contract(
        [
            {"name": "u", "type": "uint8", "checks": [{"in_range": {"min": -5, "max": 0.5}}]},
            {"name": "i", "type": "int8", "checks": [{"in_range": {"min": 200}}]},
        ]
    )
    data = {"u": pa.array([0, 1, 255], pa.uint8()), "i": pa.array([127, -128, None], pa.int8())}
    report = run(tmp_path, spec, data)
    assert record(report, "in_range", "u").failed_rows == 2
    assert record(report, "in_range", "i").failed_rows == 2


def test_zero_rows_pass_row_checks_and_fail_row_count(tmp_path: Path) -> None:
    spec = contract(
        [
            {
                "name": "v",
                "type": "int64",
                "nullable": False,
                "unique": True,
                "checks": [{"in_range": {"min": 0}}],
            }
        ],
        [{"row_count": {"min": 1}}],
    )
    report = run(tmp_path, spec, pa.table({"v": pa.array([], pa.int64())}))
    assert report.rows == 0
    assert all(c.passed for c in report.checks if c.check != "row_count")
    assert all(c.rows_checked == 0 for c in report.checks)
    assert not record(report, "row_count").passed
    assert report.outcome is Outcome.REJECTED


def test_row_count_bounds_are_inclusive(tmp_path: Path) -> None:
    spec = contract([{"name": "v", "type": "int64"}], [{"row_count": {"min": 3, "max": 3}}])
    assert record(run(tmp_path, spec, {"v": [1, 2, 3]}), "row_count").passed
    failed = record(run(tmp_path, spec, {"v": [1, 2, 3, 4]}), "row_count")
    assert (failed.passed, failed.columns, failed.rows_checked, failed.failed_rows) == (
        False,
        [],
        4,
        4,
    )
    assert failed.detail == "4 rows; expected at least 3 and at most 3"


@pytest.mark.parametrize(
    ("latest", "passed"),
    [
        (datetime(2024, 5, 31, 12, 0, tzinfo=UTC), True),
        (datetime(2024, 5, 31, 11, 59, 59, tzinfo=UTC), False),
    ],
)
def test_freshness_compares_the_latest_instant(
    tmp_path: Path, latest: datetime, passed: bool
) -> None:
    spec = contract(
        [{"name": "ts", "type": "timestamp"}], [{"freshness": {"column": "ts", "max_age": "24h"}}]
    )
    data = {
        "ts": pa.array([datetime(2020, 1, 1, tzinfo=UTC), latest, None], pa.timestamp("ms", "UTC"))
    }
    report = run(tmp_path, spec, data, group=1)
    assert record(report, "freshness", "ts").passed is passed
    assert report.outcome is (Outcome.ACCEPTED if passed else Outcome.REJECTED)


def test_freshness_of_a_date_counts_from_midnight_and_of_no_value_fails(tmp_path: Path) -> None:
    spec = contract(
        [{"name": "d", "type": "date"}], [{"freshness": {"column": "d", "max_age": "12h"}}]
    )
    assert record(run(tmp_path, spec, {"d": [date(2024, 6, 1)]}), "freshness", "d").passed
    assert not record(run(tmp_path, spec, {"d": [date(2024, 5, 31)]}), "freshness", "d").passed
    empty = record(run(tmp_path, spec, {"d": pa.array([None], pa.date32())}), "freshness", "d")
    assert not empty.passed
    assert "no value" in (empty.detail or "")


def test_a_failed_warning_dataset_check_does_not_reject(tmp_path: Path) -> None:
    spec = contract(
        [{"name": "v", "type": "int64"}], [{"row_count": {"min": 5}, "severity": "warning"}]
    )
    report = run(tmp_path, spec, {"v": [1]})
    assert not record(report, "row_count").passed
    assert report.outcome is Outcome.ACCEPTED


def test_records_follow_the_contract_order(tmp_path: Path) -> None:
    spec = contract(
        [
            {
                "name": "a",
                "type": "string",
                "nullable": False,
                "unique": True,
                "checks": [{"max_length": 3}],
            },
            {"name": "b", "type": "int64", "checks": [{"in_range": {"min": 0}}]},
        ],
        [{"row_count": {"min": 1}}, {"unique": ["a", "b"]}],
    )
    report = run(tmp_path, spec, {"a": ["x"], "b": [1]})
    assert [(c.check, c.columns) for c in report.checks] == [
        ("not_null", ["a"]),
        ("unique", ["a"]),
        ("max_length", ["a"]),
        ("in_range", ["b"]),
        ("row_count", []),
        ("unique", ["a", "b"]),
    ]
