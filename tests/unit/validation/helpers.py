"""Builders for the validation tests: small Parquet files (tiny row groups, so chunking matters)
and contracts from a few column dicts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from app.contracts.parsing import parse_contract
from app.contracts.spec import ContractSpec
from app.validation.engine import TARGET_ROWS, ContractCache, validate
from app.validation.results import CheckResult, ValidationReport

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CACHE = ContractCache()


def contract(
    columns: list[dict[str, Any]], checks: list[Any] | None = None, **top: Any
) -> ContractSpec:
    doc: dict[str, Any] = {"name": "t", "columns": columns, **top}
    if checks:
        doc["checks"] = checks
    return parse_contract(doc)


def write(path: Path, data: pa.Table | dict[str, Any], *, group: int = 7) -> Path:
    table = data if isinstance(data, pa.Table) else pa.table(data)
    pq.write_table(table, path, row_group_size=group)
    return path


def run(
    tmp_path: Path,
    spec: ContractSpec,
    data: pa.Table | dict[str, Any],
    *,
    group: int = 7,
    outputs: bool = False,
    now: datetime = NOW,
    window_rows: int = TARGET_ROWS,
) -> ValidationReport:
    path = write(tmp_path / "batch.parquet", data, group=group)
    return validate(
        spec,
        path,
        now=now,
        failures_to=tmp_path / "failures.parquet" if outputs else None,
        quarantine_to=tmp_path / "quarantine.parquet" if outputs else None,
        cache=CACHE,
        window_rows=window_rows,
    )


def record(report: ValidationReport, check: str, *columns: str) -> CheckResult:
    found = [c for c in report.checks if c.check == check and tuple(c.columns) == columns]
    assert len(found) == 1, (check, columns, [(c.check, c.columns) for c in report.checks])
    return found[0]
