"""Dataset checks (SPEC §2.3, §8 "Outcomes"): `row_count` and `freshness` judge the whole file.

They are evaluated by pandera on a one-row summary of the file (app.validation.engine). Records:
`rows_checked` is the file's row count; a failed dataset check counts every row as failed (the
whole file fails it); `columns` is [] for row_count; `detail` says what was seen. Freshness: the
column's greatest value must be >= now - max_age; a date counts from its midnight UTC; a column
without any value fails (no evidence of fresh data).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import polars as pl

from app.contracts.spec import ContractSpec, DatasetCheck, parse_duration
from app.validation.results import CheckResult
from app.validation.tally import Tally
from app.validation.values import rfc3339

_INSTANT = pl.Datetime("us", "UTC")


def since(now: datetime, max_age: str) -> datetime:
    return now - timedelta(seconds=parse_duration(max_age))


def summary_frame(spec: ContractSpec, tally: Tally, now: datetime) -> pl.DataFrame:
    """One row: `rows`, and `latest_<k>` / `since_<k>` for the freshness check at position k."""
    data: dict[str, pl.Series] = {"rows": pl.Series("rows", [tally.rows], dtype=pl.Int64)}
    for k, ds in enumerate(spec.checks):
        if ds.freshness is not None:
            latest = tally.latest_instant(ds.freshness.column)
            limit = since(now, ds.freshness.max_age)
            data[f"latest_{k}"] = pl.Series([latest], dtype=_INSTANT)
            data[f"since_{k}"] = pl.Series([limit], dtype=_INSTANT)
    return pl.DataFrame(data)


def dataset_results(
    spec: ContractSpec, tally: Tally, summary: pl.DataFrame, failed: set[int]
) -> dict[int, CheckResult]:
    """The records of row_count and freshness checks, by position in the contract's checks."""
    out: dict[int, CheckResult] = {}
    for k, ds in enumerate(spec.checks):
        if ds.row_count is None and ds.freshness is None:
            continue
        passed = k not in failed
        rows = tally.rows
        out[k] = CheckResult(
            check=ds.kind,
            columns=[ds.freshness.column] if ds.freshness is not None else [],
            severity=ds.severity.value,
            failed_rows=0 if passed else rows,
            rows_checked=rows,
            mostly=Decimal(1),
            passed=passed,
            detail=_detail(ds, k, rows, summary),
        )
    return out


def _detail(ds: DatasetCheck, k: int, rows: int, summary: pl.DataFrame) -> str:
    if ds.row_count is not None:
        lo, hi = ds.row_count.min, ds.row_count.max
        bounds = " and ".join(
            part
            for part in (
                f"at least {lo:,}" if lo is not None else "",
                f"at most {hi:,}" if hi is not None else "",
            )
            if part
        )
        return f"{rows:,} rows; expected {bounds}"
    assert ds.freshness is not None
    latest = summary.get_column(f"latest_{k}").item()
    limit = rfc3339(summary.get_column(f"since_{k}").item())
    if latest is None:
        return f"{ds.freshness.column!r} has no value; expected one at or after {limit}"
    return (
        f"latest {ds.freshness.column!r} is {rfc3339(latest)}; expected at or after {limit} "
        f"(now - {ds.freshness.max_age})"
    )
