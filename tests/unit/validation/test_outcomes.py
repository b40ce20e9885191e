"""Outcomes and the evidence files (SPEC §2.4, §8 "Outcomes"): both policies, the failures file
with `_row` and `_failed_checks` (unique included), the quarantine file, quarantined rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.validation.results import Outcome
from tests.unit.validation.helpers import contract, run

COLUMNS = [
    {"name": "id", "type": "string", "nullable": False, "unique": True},
    {
        "name": "n",
        "type": "int32",
        "checks": [{"in_range": {"min": 0}}, {"in_range": {"max": 5}, "severity": "warning"}],
    },
    {"name": "s", "type": "string", "checks": [{"in_set": ["a", "b"], "mostly": 0.5}]},
]
DATA = {
    "id": ["r0", "r1", "r2", "r1", None, "r5", "r6", "r7", "r8", "r9", "r0"],
    "n": pa.array([1, -1, 9, 2, 3, 4, 5, 6, -7, 0, 1], pa.int32()),
    "s": ["a", "b", "a", "z", "a", "b", "a", "b", "a", "b", "a"],
}


def _spec(policy: str):  # type: ignore[no-untyped-def]
    return contract(COLUMNS, on_violation=policy)


def test_reject_policy_rejects_and_still_writes_every_failing_row(tmp_path: Path) -> None:
    report = run(tmp_path, _spec("reject"), DATA, group=3, outputs=True)
    assert report.outcome is Outcome.REJECTED
    assert (report.rows, report.rows_accepted, report.rows_quarantined) == (11, 0, 0)
    assert report.quarantine_path is None
    assert not (tmp_path / "quarantine.parquet").exists()
    failures = pq.read_table(report.failures_path)
    assert failures.schema.field("_row").type == pa.int64()
    assert failures.schema.field("_failed_checks").type == pa.list_(pa.string())
    assert failures.column_names == ["id", "n", "s", "_row", "_failed_checks"]
    rows = failures.to_pylist()
    assert [(r["_row"], r["_failed_checks"]) for r in rows] == [
        (0, ["unique:id"]),
        (1, ["unique:id", "in_range:n"]),
        (2, ["in_range:n"]),
        (3, ["unique:id", "in_set:s"]),
        (4, ["not_null:id"]),
        (7, ["in_range:n"]),
        (8, ["in_range:n"]),
        (10, ["unique:id"]),
    ]
    assert rows[3]["id"] == "r1"
    assert rows[3]["s"] == "z"


def test_quarantine_policy_sets_failing_rows_aside(tmp_path: Path) -> None:
    report = run(tmp_path, _spec("quarantine"), DATA, group=3, outputs=True)
    assert report.outcome is Outcome.PARTIAL
    # error checks that failed: not_null:id, unique:id, in_range:n (min); in_set passed (mostly)
    quarantined = [0, 1, 3, 4, 8, 10]
    assert report.quarantined_rows.to_pylist() == quarantined
    assert (report.rows_accepted, report.rows_quarantined) == (5, 6)
    table = pq.read_table(report.quarantine_path)
    assert table.column_names == ["id", "n", "s", "_row"]
    assert table.column("_row").to_pylist() == quarantined
    assert table.column("n").to_pylist() == [1, -1, 2, 3, -7, 1]


def test_every_row_quarantined_is_rejected(tmp_path: Path) -> None:
    spec = contract(
        [{"name": "n", "type": "int64", "checks": [{"in_range": {"min": 0}}]}],
        on_violation="quarantine",
    )
    report = run(tmp_path, spec, {"n": [-1, -2, -3]}, outputs=True)
    assert report.outcome is Outcome.REJECTED
    assert (report.rows_accepted, report.rows_quarantined, len(report.quarantined_rows)) == (
        0,
        0,
        0,
    )
    assert report.quarantine_path is None
    assert not (tmp_path / "quarantine.parquet").exists()
    assert pq.read_table(tmp_path / "failures.parquet").num_rows == 3


KEYED = [
    {"name": "id", "type": "string", "unique": True},
    {"name": "n", "type": "int64", "checks": [{"in_range": {"min": 0}}]},
]


@pytest.mark.parametrize("window_rows", [1, 2, 100])
def test_rows_held_by_unique_and_row_rules_together_reject(
    tmp_path: Path, window_rows: int
) -> None:
    spec = contract(KEYED, on_violation="quarantine")
    data = {"id": ["a", "a", "b", "c"], "n": [1, 2, -1, -5]}  # unique holds 0-1, in_range 2-3
    report = run(tmp_path, spec, data, group=1, outputs=True, window_rows=window_rows)
    assert report.outcome is Outcome.REJECTED
    assert (report.rows_accepted, report.rows_quarantined, report.quarantine_path) == (0, 0, None)
    assert not (tmp_path / "quarantine.parquet").exists()
    failures = pq.read_table(tmp_path / "failures.parquet").to_pylist()
    assert [(r["_row"], r["_failed_checks"]) for r in failures] == [
        (0, ["unique:id"]),
        (1, ["unique:id"]),
        (2, ["in_range:n"]),
        (3, ["in_range:n"]),
    ]


def test_failures_as_many_as_the_rows_but_on_the_same_rows_are_partial(tmp_path: Path) -> None:
    spec = contract(KEYED, on_violation="quarantine")
    data = {"id": ["a", "a", "b", "c"], "n": [-1, -2, 1, 5]}  # both rules hold rows 0 and 1
    report = run(tmp_path, spec, data, group=1, outputs=True, window_rows=2)
    assert report.outcome is Outcome.PARTIAL
    assert report.quarantined_rows.to_pylist() == [0, 1]
    assert pq.read_table(tmp_path / "quarantine.parquet").column("_row").to_pylist() == [0, 1]


def test_a_failed_dataset_check_rejects_under_quarantine(tmp_path: Path) -> None:
    spec = contract(
        [{"name": "n", "type": "int64", "checks": [{"in_range": {"min": 0}}]}],
        [{"row_count": {"max": 2}}],
        on_violation="quarantine",
    )
    report = run(tmp_path, spec, {"n": [-1, 2, 3]}, outputs=True)
    assert report.outcome is Outcome.REJECTED
    assert report.rows_quarantined == 0
    assert pq.read_table(tmp_path / "failures.parquet").column("_row").to_pylist() == [0]


def test_rows_failing_only_a_passing_check_are_accepted(tmp_path: Path) -> None:
    spec = contract(
        [
            {"name": "n", "type": "int64", "checks": [{"in_range": {"min": 0}}]},
            {"name": "s", "type": "string", "checks": [{"max_length": 1, "mostly": 0.5}]},
        ],
        on_violation="quarantine",
    )
    report = run(tmp_path, spec, {"n": [-1, 1, 2, 3], "s": ["a", "bb", "c", "d"]})
    assert report.outcome is Outcome.PARTIAL
    assert report.quarantined_rows.to_pylist() == [0]


def test_an_accepted_batch_has_an_empty_failures_file(tmp_path: Path) -> None:
    spec = contract([{"name": "n", "type": "int64"}])
    report = run(tmp_path, spec, {"n": [1, 2]}, outputs=True)
    assert report.outcome is Outcome.ACCEPTED
    table = pq.read_table(report.failures_path)
    assert (table.num_rows, table.column_names) == (0, ["n", "_row", "_failed_checks"])


def test_original_column_types_survive_in_the_failures_file(tmp_path: Path) -> None:
    spec = contract(
        [
            {"name": "d", "type": "string", "checks": [{"in_set": ["a"]}]},
            {"name": "i", "type": "int64"},
        ]
    )
    data = pa.table(
        {"d": pa.array(["a", "b", "a"]).dictionary_encode(), "i": pa.array([1, 2, 3], pa.int8())}
    )
    report = run(tmp_path, spec, data, outputs=True)
    table = pq.read_table(report.failures_path)
    assert table.schema.field("i").type == pa.int8()
    assert pa.types.is_dictionary(table.schema.field("d").type)
    assert table.to_pylist() == [{"d": "b", "i": 2, "_row": 1, "_failed_checks": ["in_set:d"]}]


@pytest.mark.parametrize("policy", ["reject", "quarantine"])
def test_duplicates_in_the_first_and_last_row_groups_reach_the_files(
    tmp_path: Path, policy: str
) -> None:
    spec = contract(
        [{"name": "k", "type": "int64", "unique": True}, {"name": "v", "type": "string"}],
        on_violation=policy,
    )
    keys = list(range(40))
    keys[39] = 0
    report = run(
        tmp_path, spec, {"k": keys, "v": [f"v{i}" for i in range(40)]}, group=4, outputs=True
    )
    failures = pq.read_table(tmp_path / "failures.parquet").to_pylist()
    assert [(r["_row"], r["v"], r["_failed_checks"]) for r in failures] == [
        (0, "v0", ["unique:k"]),
        (39, "v39", ["unique:k"]),
    ]
    if policy == "quarantine":
        assert report.outcome is Outcome.PARTIAL
        assert pq.read_table(report.quarantine_path).column("_row").to_pylist() == [0, 39]
