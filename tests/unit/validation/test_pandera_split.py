"""pandera evaluates every row rule: one pandera column per judged column, taken from a shared
queue by two threads, each rule in exactly one, and the data checks run even though pandera is
handed LazyFrames."""

from __future__ import annotations

from pathlib import Path

from pandera.config import ValidationDepth, config_context

from app.validation.engine import compile_contract
from tests.unit.validation.helpers import contract, record, run

COLUMNS = [
    {"name": "a", "type": "string", "nullable": False, "checks": [{"matches": "[a-z]+"}]},
    {"name": "b", "type": "string", "checks": [{"matches": "[0-9]+"}, {"max_length": 2}]},
    {"name": "c", "type": "int64", "nullable": False, "checks": [{"in_range": {"min": 0}}]},
    {"name": "d", "type": "string", "checks": [{"in_set": ["x", "y"]}]},
    {"name": "e", "type": "float64", "unique": True, "checks": [{"in_range": {"max": 1}}]},
]
DATA = {
    "a": ["ok", "BAD", "fine", None, "x"],
    "b": ["1", "22", "333", "q", None],
    "c": [0, -1, 5, 7, -2],
    "d": ["x", "z", None, "y", "w"],
    "e": [0.5, 2.0, 0.5, None, 0.1],
}


def test_every_row_rule_is_one_check_of_one_pandera_column() -> None:
    compiled = compile_contract(contract(COLUMNS))
    names = [column.name for column in compiled.row_schemas]
    assert sorted(names) == ["a", "b", "c", "d", "e"]
    errors = [check.error for column in compiled.row_schemas for check in column.checks]
    expected = {f"r{r.index}" for r in compiled.rules if not r.is_unique}
    assert sorted(errors) == sorted(expected)
    assert names[0] == "b"  # two regex-and-length checks: the costliest column goes first


def test_failures_from_every_column_are_counted(tmp_path: Path) -> None:
    report = run(tmp_path, contract(COLUMNS), DATA, group=2)
    failed = {(c.check, tuple(c.columns)): c.failed_rows for c in report.checks}
    assert failed == {
        ("not_null", ("a",)): 1,
        ("matches", ("a",)): 1,
        ("matches", ("b",)): 1,
        ("max_length", ("b",)): 1,
        ("not_null", ("c",)): 0,
        ("in_range", ("c",)): 2,
        ("in_set", ("d",)): 2,
        ("unique", ("e",)): 2,
        ("in_range", ("e",)): 1,
    }


def test_data_checks_run_even_when_pandera_would_check_schemas_only(tmp_path: Path) -> None:
    with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
        report = run(tmp_path, contract(COLUMNS), DATA, group=2)
    assert record(report, "in_range", "c").failed_rows == 2
    assert record(report, "matches", "a").failed_rows == 1
