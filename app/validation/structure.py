"""Structural checks (SPEC §2.1), judged on the Parquet schema before any data is read.

Records: `missing_column` (a non-nullable declared column absent), `unknown_column` (a file
column the contract does not name), `type` (declared vs actual, with `detail`). Always severity
error, never `mostly`. `rows_checked` is the file's row count; a failed structural check counts
every row as failed (`failed_rows = rows`): the whole file is refused because of it.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from app.contracts.spec import ContractSpec, Severity
from app.validation.results import CheckResult
from app.validation.typemap import mismatch, type_name


def check_structure(spec: ContractSpec, schema: pa.Schema, rows: int) -> list[CheckResult]:
    """Every structural failure of a file with `schema` under `spec` (empty when it fits)."""
    out: list[CheckResult] = []
    present: dict[str, pa.Field] = {}
    declared = {c.name for c in spec.columns}
    for f in schema:
        if f.name in present:
            out.append(_failed("unknown_column", f.name, rows, f"column {f.name!r} appears twice"))
            continue
        present[f.name] = f
        if f.name not in declared:
            detail = f"the file has a column {f.name!r} ({type_name(f.type)}) the contract lacks"
            out.append(_failed("unknown_column", f.name, rows, detail))
    for col in spec.columns:
        found = present.get(col.name)
        if found is None:
            if not col.nullable:
                detail = f"non-nullable column {col.name!r} ({col.type.value}) is absent"
                out.append(_failed("missing_column", col.name, rows, detail))
            continue
        problem = mismatch(found.type, col.type)
        if problem is not None:
            out.append(_failed("type", col.name, rows, problem))
    return out


def _failed(check: str, column: str, rows: int, detail: str) -> CheckResult:
    return CheckResult(
        check=check,
        columns=[column],
        severity=Severity.ERROR.value,
        failed_rows=rows,
        rows_checked=rows,
        mostly=Decimal(1),
        passed=False,
        detail=detail,
    )
