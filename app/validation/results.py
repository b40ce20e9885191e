"""The record shapes of SPEC §2.5 and §8 "Check records": check results and the batch report."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa

MAX_SAMPLES = 20


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    PARTIAL = "partial"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Sample:
    """One failing row: 0-based row index in the uploaded file and its value as JSON."""

    row: int
    value: Any


@dataclass
class CheckResult:
    """One check's verdict on one batch (one record of the violations ledger)."""

    check: str
    columns: list[str]
    severity: str
    failed_rows: int
    rows_checked: int
    mostly: Decimal
    passed: bool
    samples: list[Sample] = field(default_factory=list)
    detail: str | None = None  # structure checks: e.g. "int64 does not widen into int32"

    @property
    def id(self) -> str:
        """The check's id in `_failed_checks`, e.g. `in_range:price`, `unique:a+b`."""
        return f"{self.check}:{'+'.join(self.columns)}"

    @property
    def failed_fraction(self) -> float:
        return self.failed_rows / self.rows_checked if self.rows_checked else 0.0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "check": self.check,
            "columns": self.columns,
            "severity": self.severity,
            "failed_rows": self.failed_rows,
            "rows_checked": self.rows_checked,
            "failed_fraction": self.failed_fraction,
            "mostly": float(self.mostly),
            "passed": self.passed,
            "samples": [{"row": s.row, "value": s.value} for s in self.samples],
        }
        if self.detail is not None:
            out["detail"] = self.detail
        return out


@dataclass
class ValidationReport:
    """What the engine concluded about one file under one contract version."""

    outcome: Outcome
    rows: int
    rows_accepted: int
    rows_quarantined: int
    checks: list[CheckResult]
    failures_path: Path | None = None  # Parquet: failing rows + _row + _failed_checks
    quarantine_path: Path | None = None  # Parquet: the quarantined rows (partial batches)
    # 0-based, ascending; an int64 Arrow array so millions of indices stay compact
    # (`.to_pylist()` for Python ints, `pyarrow.compute.is_in` to filter a table by it).
    quarantined_rows: pa.Int64Array = field(default_factory=lambda: pa.array([], pa.int64()))
