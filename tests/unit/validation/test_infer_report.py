"""`infer` drafts a contract its own file passes; the text and JSON reports."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa

from app.contracts.parsing import parse_contract
from app.validation.engine import validate
from app.validation.infer import infer_contract
from app.validation.report import as_json, render_text
from app.validation.results import Outcome
from tests.unit.validation.helpers import NOW, contract, run, write


def _sample(tmp_path: Path) -> Path:
    n = 200
    data = pa.table(
        {
            "id": [f"e{i}" for i in range(n)],
            "device": ["desktop", "mobile", "tablet", "mobile"] * (n // 4),
            "price": [i / 3 for i in range(n)],
            "qty": pa.array([i % 7 if i % 10 else None for i in range(n)], pa.int16()),
            "f32": pa.array([0.1 * i for i in range(n)], pa.float32()),
            "day": [date(2024, 1, 1 + i % 28) for i in range(n)],
            "ts": pa.array(
                [1_700_000_000_123_456_789 + i for i in range(n)], pa.timestamp("ns", "UTC")
            ),
            "label": pa.array(["x", "y"] * (n // 2)).dictionary_encode(),
            "nested": pa.array([[i] for i in range(n)], pa.list_(pa.int64())),
        }
    )
    return write(tmp_path / "sample.parquet", data, group=32)


def test_infer_round_trips_and_accepts_its_own_file(tmp_path: Path) -> None:
    path = _sample(tmp_path)
    doc = infer_contract(path, name="events")
    spec = parse_contract(json.loads(json.dumps(doc)))
    cols = {c.name: c for c in spec.columns}
    assert (cols["id"].unique, cols["id"].nullable) == (True, False)
    assert (cols["qty"].nullable, cols["qty"].type.value) == (True, "int16")
    assert cols["device"].checks[0].in_set == ["desktop", "mobile", "tablet"]
    assert cols["label"].type.value == "string"
    assert cols["f32"].type.value == "float32"
    assert cols["ts"].checks[0].in_range is not None
    assert "nested" not in cols
    assert "nested" in (spec.description or "")
    report = validate(spec, path, now=NOW)
    failed = [(c.check, c.columns) for c in report.checks if not c.passed]
    assert failed == [("unknown_column", ["nested"])]


def test_infer_without_unrepresentable_columns_is_accepted(tmp_path: Path) -> None:
    data = {
        "k": pa.array([3, 1, 2], pa.uint64()),
        "t": pa.array(
            [datetime(2024, 1, 1, tzinfo=UTC), None, datetime(2024, 2, 1, tzinfo=UTC)],
            pa.timestamp("ms", "Europe/Paris"),
        ),
        "w": [float("nan"), 1.0, 2.0],
    }
    path = write(tmp_path / "s.parquet", data)
    spec = parse_contract(infer_contract(path, name="small"))
    assert validate(spec, path, now=NOW).outcome is Outcome.ACCEPTED
    assert spec.column("w").checks == []  # NaN is in no range


def test_reports(tmp_path: Path) -> None:
    spec = contract(
        [{"name": "v", "type": "string", "checks": [{"matches": "[a-z]+", "mostly": 0.5}]}],
        [{"row_count": {"min": 10}}],
    )
    report = run(tmp_path, spec, {"v": ["ok", "NO", "fine", None, "Bad"]})
    text = render_text(report)
    assert text.splitlines()[0] == "outcome: rejected"
    assert "✓ matches" in text
    assert "✗ row_count" in text
    assert 'row 1: "NO"' in text
    data = as_json(report)
    assert data["status"] == "rejected"
    first = data["checks"][0]
    assert first == {
        "check": "matches",
        "columns": ["v"],
        "severity": "error",
        "failed_rows": 2,
        "rows_checked": 4,
        "failed_fraction": 0.5,
        "mostly": 0.5,
        "passed": True,
        "samples": [{"row": 1, "value": "NO"}, {"row": 4, "value": "Bad"}],
    }
    json.dumps(data)
