"""A validation report for people (the CLI) and as JSON (SPEC §8 record shapes)."""

from __future__ import annotations

import json
from typing import Any

from app.validation.results import CheckResult, ValidationReport

_SAMPLES_SHOWN = 3
_VALUE_WIDTH = 60


def as_json(report: ValidationReport) -> dict[str, Any]:
    """`{status, rows, rows_accepted, rows_quarantined, checks: [...]}` with SPEC §8 records."""
    return {
        "status": report.outcome.value,
        "rows": report.rows,
        "rows_accepted": report.rows_accepted,
        "rows_quarantined": report.rows_quarantined,
        "checks": [c.as_dict() for c in report.checks],
    }


def render_text(report: ValidationReport) -> str:
    """A readable multi-line report: outcome, rows, each check with ✓/✗, a few samples."""
    lines = [
        f"outcome: {report.outcome.value}",
        f"rows: {report.rows:,} (accepted {report.rows_accepted:,}, "
        f"quarantined {report.rows_quarantined:,})",
        "",
    ]
    for check in report.checks:
        lines += _check_lines(check)
    failed = [c for c in report.checks if not c.passed]
    errors = sum(1 for c in failed if c.severity == "error")
    lines += ["", f"{len(report.checks)} checks, {len(failed)} failed ({errors} errors)"]
    return "\n".join(lines)


def _check_lines(check: CheckResult) -> list[str]:
    mark = "✓" if check.passed else "✗"
    columns = "+".join(check.columns) or "(dataset)"
    head = f"{mark} {check.check:<14} {columns:<24} {check.severity:<7}"
    if check.rows_checked or check.failed_rows:
        head += (
            f" failed {check.failed_rows:,}/{check.rows_checked:,} ({check.failed_fraction:.4%})"
        )
    if check.mostly != 1:
        head += f" mostly {check.mostly}"
    lines = [head.rstrip()]
    if check.detail:
        lines.append(f"    {check.detail}")
    for sample in check.samples[:_SAMPLES_SHOWN]:
        lines.append(f"    row {sample.row}: {_short(sample.value)}")
    if len(check.samples) > _SAMPLES_SHOWN:
        lines.append(f"    … {check.failed_rows - _SAMPLES_SHOWN:,} more")
    return lines


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"
