"""Uploads through HTTP: reports, ledger, evidence files, idempotency, async, quality, impact."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from app.batches.pipeline import LEASE, Context
from app.config import Settings
from app.db.engine import make_engine, make_sessionmaker
from app.jobs.worker import drain
from tests.builders.batches import PARQUET, orders_doc, orders_table, parquet_bytes
from tests.builders.concurrency import at_once
from tests.builders.problems import assert_problem
from tests.conftest import KeyMaker, bearer

URL = "/v1/contracts/orders/batches"


@pytest.fixture
def orders(client: TestClient) -> dict[str, Any]:
    r = client.post("/v1/contracts", json=orders_doc())
    assert r.status_code == 201, r.text
    return r.json()


def upload(client: TestClient, body: bytes, **kw: Any) -> Any:
    headers = {**PARQUET, **kw.pop("headers", {})}
    return client.post(kw.pop("url", URL), content=body, headers=headers, **kw)


def read_parquet(content: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(content))


def test_valid_batch_is_accepted_with_a_full_report(client: TestClient, orders: Any) -> None:
    body = parquet_bytes(orders_table(10))
    r = upload(client, body)
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["status"] == "accepted"
    assert (report["rows"], report["rows_accepted"], report["rows_quarantined"]) == (10, 10, 0)
    assert report["bytes"] == len(body)
    assert report["sha256"] == hashlib.sha256(body).hexdigest()
    assert (report["contract"], report["version"]) == ("orders", "1.0.0")
    assert report["validated_at"] is not None
    assert r.headers["location"] == f"/v1/batches/{report['id']}"
    checks = {(c["check"], tuple(c["columns"])): c for c in report["checks"]}
    assert checks[("in_range", ("amount",))]["passed"] is True
    assert checks[("not_null", ("order_id",))]["rows_checked"] == 10
    assert checks[("row_count", ())]["passed"] is True
    assert client.get(f"/v1/batches/{report['id']}").json() == report


def test_rejected_batch_records_evidence_and_keeps_the_upload(
    client: TestClient, orders: Any
) -> None:
    body = parquet_bytes(orders_table(10, bad_amount_rows=(2, 7)))
    r = upload(client, body)
    assert r.status_code == 201
    report = r.json()
    assert (report["status"], report["rows_accepted"], report["rows_quarantined"]) == (
        "rejected",
        0,
        0,
    )
    rng = next(c for c in report["checks"] if c["check"] == "in_range")
    assert (rng["failed_rows"], rng["rows_checked"], rng["passed"]) == (2, 10, False)
    assert rng["failed_fraction"] == pytest.approx(0.2)
    assert [s["row"] for s in rng["samples"]] == [2, 7]
    assert rng["samples"][0]["value"] == 5002.0
    failures = client.get(f"/v1/batches/{report['id']}/failures")
    assert failures.status_code == 200
    assert failures.headers["content-type"] == "application/vnd.apache.parquet"
    table = read_parquet(failures.content)
    assert table.column("_row").to_pylist() == [2, 7]
    assert table.column("_failed_checks").to_pylist() == [["in_range:amount"]] * 2
    assert table.column("order_id").to_pylist() == ["o-0-2", "o-0-7"]
    raw = client.get(f"/v1/batches/{report['id']}/upload")
    assert raw.content == body  # byte for byte: nothing is lost


def test_quarantine_policy_accepts_the_good_rows(client: TestClient) -> None:
    client.post("/v1/contracts", json=orders_doc(on_violation="quarantine"))
    r = upload(client, parquet_bytes(orders_table(10, bad_amount_rows=(3,))))
    report = r.json()
    assert (report["status"], report["rows_accepted"], report["rows_quarantined"]) == (
        "partial",
        9,
        1,
    )
    quarantine = read_parquet(client.get(f"/v1/batches/{report['id']}/quarantine").content)
    assert quarantine.column("_row").to_pylist() == [3]


def test_replays_by_content_and_by_idempotency_key(client: TestClient, orders: Any) -> None:
    body = parquet_bytes(orders_table(5))
    first = upload(client, body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201
    again = upload(client, body)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    same_key = upload(client, body, headers={"Idempotency-Key": "k1"})
    assert (same_key.status_code, same_key.json()["id"]) == (200, first.json()["id"])
    other = upload(client, parquet_bytes(orders_table(6)), headers={"Idempotency-Key": "k1"})
    assert_problem(other, 409, "idempotency-key-reused")
    assert len(client.get(URL).json()["items"]) == 1


@pytest.mark.parametrize("same_body", [False, True])
def test_concurrent_uploads_of_one_key_make_one_batch(
    client: TestClient, orders: Any, same_body: bool
) -> None:
    """Eight uploads at once under one Idempotency-Key: one batch; the others replay it (same
    body) or are 409 (another body). On SQLite, uploads whose reads went stale while another
    committed failed with "database is locked" (a 500) before ingest wrote in its own
    transaction."""

    def send(i: int) -> Any:
        body = parquet_bytes(orders_table(5 if same_body else 5 + i))
        return upload(client, body, params={"mode": "async"}, headers={"Idempotency-Key": "k"})

    answers = at_once(send)
    codes = sorted(r.status_code for r in answers)
    assert codes == ([200] * 7 if same_body else []) + [202] + ([] if same_body else [409] * 7)
    assert len({r.json()["id"] for r in answers if r.status_code < 300}) == 1
    assert len(client.get(URL).json()["items"]) == 1


def test_async_upload_is_queued_then_validated_by_a_worker(
    client: TestClient, orders: Any, settings: Settings
) -> None:
    r = upload(client, parquet_bytes(orders_table(4)), params={"mode": "async"})
    assert r.status_code == 202
    assert r.json()["status"] == "queued"
    location = r.headers["location"]
    assert_problem(client.get(f"{location}/failures"), 409, "batch-not-validated")
    engine = make_engine(settings.database_url)
    context = client.app.state.batch_context  # type: ignore[attr-defined]
    assert isinstance(context, Context)
    ran = drain(make_sessionmaker(engine), context.handlers(), worker_id="test", lease=LEASE)
    engine.dispose()
    assert ran == 1
    assert client.get(location).json()["status"] == "accepted"


def test_pinned_and_unknown_versions(client: TestClient, orders: Any) -> None:
    body = parquet_bytes(orders_table(3))
    assert upload(client, body, params={"version": "1.0.0"}).json()["version"] == "1.0.0"
    assert_problem(upload(client, body, params={"version": "7.0.0"}), 404, "version-not-found")
    assert_problem(
        upload(client, body, url="/v1/contracts/nope/batches"), 404, "contract-not-found"
    )


def test_list_filters_and_pages_newest_first(client: TestClient, orders: Any) -> None:
    ids = [upload(client, parquet_bytes(orders_table(3, seed=i))).json()["id"] for i in range(3)]
    upload(client, parquet_bytes(orders_table(3, bad_amount_rows=(0,), seed=9)))
    page = client.get(URL, params={"limit": 2}).json()
    assert len(page["items"]) == 2
    rest = client.get(URL, params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert rest["next_cursor"] is None
    seen = [b["id"] for b in page["items"] + rest["items"]]
    assert seen[1:] == ids[::-1]
    rejected = client.get(URL, params={"status": "rejected"}).json()["items"]
    assert [b["status"] for b in rejected] == ["rejected"]


def test_quality_history(client: TestClient, orders: Any) -> None:
    upload(client, parquet_bytes(orders_table(10)))
    upload(client, parquet_bytes(orders_table(10, bad_amount_rows=(1,), seed=1)))
    history = client.get("/v1/contracts/orders/quality").json()
    assert history["contract"] == "orders"
    fractions = [
        next(c["failed_fraction"] for c in b["checks"] if c["check"] == "in_range")
        for b in history["batches"]
    ]
    assert fractions == [0.0, pytest.approx(0.1)]
    assert set(history["batches"][0]["checks"][0]) == {
        "check",
        "columns",
        "failed_fraction",
        "passed",
    }


def test_impact_replays_stored_batches_under_a_candidate(client: TestClient, orders: Any) -> None:
    upload(client, parquet_bytes(orders_table(10, seed=1)))  # amounts 0..9
    candidate = orders_doc()
    candidate["columns"][1]["checks"] = [{"in_range": {"min": 0, "max": 5}}]
    r = client.post("/v1/contracts/orders/impact", json=candidate)
    assert r.status_code == 200, r.text
    [batch] = r.json()["batches"]
    assert (batch["actual_status"], batch["would_be_status"]) == ("accepted", "rejected")
    rng = next(c for c in batch["checks"] if c["check"] == "in_range")
    assert (rng["failed_rows"], rng["passed"]) == (4, False)
    assert client.get("/v1/contracts/orders").json()["version"] == "1.0.0"


def test_impact_takes_the_n_most_recent_stored_batches_of_any_status(
    client: TestClient, orders: Any
) -> None:
    ids = [
        upload(client, parquet_bytes(orders_table(4, seed=1))).json()["id"],
        upload(client, parquet_bytes(orders_table(4, bad_amount_rows=(0,), seed=2))).json()["id"],
        upload(client, parquet_bytes(orders_table(4, seed=3))).json()["id"],
    ]
    r = client.post("/v1/contracts/orders/impact", params={"batches": 2}, json=orders_doc())
    batches = r.json()["batches"]
    assert [b["batch_id"] for b in batches] == ids[:0:-1]  # newest first, only 2
    assert [b["actual_status"] for b in batches] == ["accepted", "rejected"]
    assert [b["would_be_status"] for b in batches] == ["accepted", "rejected"]
    assert_problem(
        client.post("/v1/contracts/orders/impact", params={"batches": 0}, json=orders_doc()), 422
    )


def test_who_may_upload_and_read(client: TestClient, orders: Any, make_key: KeyMaker) -> None:
    body = parquet_bytes(orders_table(3))
    assert_problem(upload(client, body, headers=bearer(make_key("consumer"))), 403)
    assert_problem(upload(client, body, headers=bearer(make_key("producer", ["other*"]))), 403)
    mine = bearer(make_key("producer", ["ord*"]))
    batch = upload(client, body, headers=mine).json()
    assert client.get(f"/v1/batches/{batch['id']}", headers=mine).status_code == 200
    outsider = bearer(make_key("producer", ["other*"]))
    assert_problem(client.get(f"/v1/batches/{batch['id']}", headers=outsider), 403)
    reader = bearer(make_key("consumer"))
    assert client.get(URL, headers=reader).status_code == 200
