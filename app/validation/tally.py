"""Exact per-rule counts and samples, accumulated chunk by chunk (SPEC §8 "Counting").

`rows_checked`: all rows for `not_null`; non-null values for value checks and single-column
`unique`; rows whose key has no null part for composite `unique`. A rule passes when
`failed <= (1 - mostly) * checked`, compared exactly; `checked == 0` passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import polars as pl

from app.validation.results import MAX_SAMPLES, CheckResult, Sample
from app.validation.rules import RowRule
from app.validation.values import column_values


def passes(failed: int, checked: int, mostly: Decimal) -> bool:
    """`failed <= (1 - mostly) * checked`, exactly (mostly read as the decimal it is)."""
    return checked == 0 or Fraction(failed) <= (1 - Fraction(mostly)) * checked


@dataclass
class RuleTally:
    rule: RowRule
    failed: int = 0
    checked: int = 0
    samples: list[Sample] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return passes(self.failed, self.checked, self.rule.mostly)

    def result(self) -> CheckResult:
        return CheckResult(
            check=self.rule.check,
            columns=list(self.rule.columns),
            severity=self.rule.severity.value,
            failed_rows=self.failed,
            rows_checked=self.checked,
            mostly=self.rule.mostly,
            passed=self.passed,
            samples=list(self.samples),
        )


class Tally:
    """Counts, samples and column maxima for one validation run."""

    def __init__(self, rules: list[RowRule], latest_of: list[str]) -> None:
        self.rules = [RuleTally(r) for r in rules]
        self.rows = 0
        self.latest: dict[str, Any] = dict.fromkeys(latest_of)

    def add(self, offset: int, frame: pl.DataFrame, failures: pl.DataFrame) -> None:
        """One chunk at global row `offset`; `failures` is (`rule`, `index`: local row)."""
        self.rows += frame.height
        nulls = frame.null_count().row(0, named=True)
        per_rule = dict(failures.group_by("rule").len().iter_rows())
        for t in self.rules:
            if t.rule.is_unique:
                continue
            col = t.rule.columns[0]
            t.checked += frame.height if t.rule.check == "not_null" else frame.height - nulls[col]
            failed = per_rule.get(t.rule.index, 0)
            t.failed += failed
            if failed and len(t.samples) < MAX_SAMPLES:
                self._sample(t, offset, frame, failures)
        for col, best in self.latest.items():
            top = frame.get_column(col).max()
            if top is not None and (best is None or top > best):
                self.latest[col] = top

    @staticmethod
    def _sample(t: RuleTally, offset: int, frame: pl.DataFrame, failures: pl.DataFrame) -> None:
        want = MAX_SAMPLES - len(t.samples)
        local = (
            failures.filter(pl.col("rule") == t.rule.index)
            .get_column("index")
            .sort()
            .head(want)
            .cast(pl.Int64)
        )
        values = column_values(frame, t.rule.columns, local)
        t.samples += [Sample(offset + i, v) for i, v in zip(local.to_list(), values, strict=True)]

    def latest_instant(self, column: str) -> datetime | None:
        """The column's greatest value as an instant; a date counts from its midnight UTC."""
        value = self.latest.get(column)
        if value is None:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        assert isinstance(value, date)
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
