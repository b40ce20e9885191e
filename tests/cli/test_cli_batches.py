"""`tollgate validate`, `infer` and `worker`: the engine and the queue from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from fastapi.testclient import TestClient

from app.config import Settings
from tests.builders.batches import PARQUET, orders_doc, orders_table, parquet_bytes
from tests.cli.test_cli import run


def write_contract(tmp_path: Path, **overrides: object) -> Path:
    path = tmp_path / "orders.yaml"
    path.write_text(yaml.safe_dump(orders_doc(**overrides)))
    return path


def test_validate_accepts_a_good_file(settings: Settings, tmp_path: Path) -> None:
    pq.write_table(orders_table(10), tmp_path / "good.parquet")
    result = run(
        settings, "validate", str(write_contract(tmp_path)), str(tmp_path / "good.parquet")
    )
    assert result.returncode == 0, result.stderr
    assert "accepted" in result.stdout


def test_validate_rejects_with_exit_1_and_a_json_report(settings: Settings, tmp_path: Path) -> None:
    pq.write_table(orders_table(10, bad_amount_rows=(4,)), tmp_path / "bad.parquet")
    contract = str(write_contract(tmp_path))
    text = run(settings, "validate", contract, str(tmp_path / "bad.parquet"))
    assert text.returncode == 1
    assert "in_range" in text.stdout
    as_json = run(
        settings,
        "validate",
        contract,
        str(tmp_path / "bad.parquet"),
        "--json",
        "--failures",
        str(tmp_path / "failures.parquet"),
    )
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["status"] == "rejected"
    failed = [c for c in report["checks"] if not c["passed"]]
    assert [(c["check"], c["failed_rows"], c["samples"][0]["row"]) for c in failed] == [
        ("in_range", 1, 4)
    ]
    assert pq.read_table(tmp_path / "failures.parquet").column("_row").to_pylist() == [4]


def test_validate_usage_errors_exit_2(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    contract = str(write_contract(tmp_path))
    unreadable = run(settings, "validate", contract, str(tmp_path / "junk.parquet"))
    assert unreadable.returncode == 2
    assert "Parquet" in unreadable.stderr
    (tmp_path / "broken.yaml").write_text("name: x\ncolumns: [{name: a, type: varchar}]\n")
    invalid = run(
        settings, "validate", str(tmp_path / "broken.yaml"), str(tmp_path / "junk.parquet")
    )
    assert invalid.returncode == 2
    assert "columns[0].type" in invalid.stderr


def test_infer_drafts_a_contract_that_registers_and_accepts_its_file(
    settings: Settings, tmp_path: Path, client: TestClient
) -> None:
    pq.write_table(orders_table(50), tmp_path / "Orders-2026.parquet")
    result = run(settings, "infer", str(tmp_path / "Orders-2026.parquet"))
    assert result.returncode == 0, result.stderr
    draft = yaml.safe_load(result.stdout)
    assert draft["name"] == "orders_2026"
    columns = {c["name"]: c for c in draft["columns"]}
    assert columns["order_id"]["type"] == "string"
    assert columns["order_id"]["nullable"] is False
    assert columns["ts"]["type"] == "timestamp"
    registered = client.post(
        "/v1/contracts", content=result.stdout, headers={"Content-Type": "application/yaml"}
    )
    assert registered.status_code == 201, registered.text
    (tmp_path / "draft.yaml").write_text(result.stdout)
    check = run(
        settings, "validate", str(tmp_path / "draft.yaml"), str(tmp_path / "Orders-2026.parquet")
    )
    assert check.returncode == 0, check.stdout


def test_worker_drain_validates_queued_batches(settings: Settings, client: TestClient) -> None:
    client.post("/v1/contracts", json=orders_doc())
    queued = client.post(
        "/v1/contracts/orders/batches",
        params={"mode": "async"},
        content=parquet_bytes(orders_table(5)),
        headers=PARQUET,
    )
    assert queued.status_code == 202
    result = run(settings, "worker", "--drain")
    assert result.returncode == 0, result.stderr
    assert "ran 1 job(s)" in result.stderr
    assert client.get(queued.headers["location"]).json()["status"] == "accepted"
