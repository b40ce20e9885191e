"""Hostile uploads: each gets the precise answer of SPEC §8, and the service keeps serving."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.uploads import BLOCK_BYTES
from tests.builders import asgi
from tests.builders.batches import (
    PARQUET,
    lie_about_rows,
    orders_doc,
    orders_table,
    parquet_bytes,
)
from tests.builders.problems import assert_problem
from tests.conftest import ADMIN_KEY

URL = "/v1/contracts/orders/batches"


@pytest.fixture
def orders(client: TestClient) -> None:
    assert client.post("/v1/contracts", json=orders_doc()).status_code == 201


def batches(client: TestClient) -> list[Any]:
    items: list[Any] = client.get(URL).json()["items"]
    return items


def stray_files(settings: Settings) -> list[str]:
    """Spooled or partial files left behind (there must be none after any request)."""
    scratch = settings.scratch_dir
    return [p.name for p in scratch.rglob("*") if p.is_file()] if scratch.exists() else []


VALID = parquet_bytes(orders_table(20), row_group_size=5)
UNREADABLE = {
    "random bytes": os.urandom(4096),
    "CSV": b"order_id,amount,status,ts\no-1,1.0,new,2026-01-01T00:00:00Z\n",
    "truncated in the middle": VALID[: len(VALID) // 2],
    "truncated footer": VALID[:-3],
    "only the magic": b"PAR1",
    "magic twice": b"PAR1PAR1",
    "a footer length that points before the file": b"PAR1" + b"\x00" * 8 + b"\xff\xff\x00\x00PAR1",
}


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_bodies_are_422_and_create_no_batch(
    client: TestClient, orders: None, settings: Settings, body: bytes
) -> None:
    problem = assert_problem(client.post(URL, content=body, headers=PARQUET), 422)
    assert problem["detail"]
    assert batches(client) == []
    assert stray_files(settings) == []


def test_empty_body_is_422(client: TestClient, orders: None) -> None:
    problem = assert_problem(client.post(URL, content=b"", headers=PARQUET), 422)
    assert "empty" in problem["detail"]
    assert batches(client) == []


@pytest.mark.parametrize(
    "content_type", ["text/csv", "application/json", "multipart/form-data", None]
)
def test_wrong_content_type_is_415(
    client: TestClient, orders: None, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert_problem(client.post(URL, content=VALID, headers=headers), 415)


def test_content_type_parameters_are_accepted(client: TestClient, orders: None) -> None:
    r = client.post(
        URL, content=VALID, headers={"Content-Type": "application/octet-stream; charset=binary"}
    )
    assert r.status_code == 201, r.text


def test_oversize_is_413_and_leaves_nothing(settings: Settings) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 1000})
    with TestClient(create_app(small)) as c:
        c.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        c.post("/v1/contracts", json=orders_doc())
        assert_problem(c.post(URL, content=VALID, headers=PARQUET), 413)

        def chunks() -> Any:  # no Content-Length: the limit must hold while streaming
            yield VALID[:800]
            yield VALID[800:]

        assert_problem(c.post(URL, content=chunks(), headers=PARQUET), 413)
        assert c.get(URL).json()["items"] == []
    assert stray_files(small) == []


def test_client_disconnect_mid_upload_leaves_no_batch_and_no_file(
    client: TestClient, orders: None, settings: Settings
) -> None:
    messages = iter(
        [
            {"type": "http.request", "body": VALID[:100], "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> dict[str, Any]:
        return next(messages)

    asgi.post(client.app, URL, receive, [(b"content-type", b"application/vnd.apache.parquet")])
    assert batches(client) == []
    assert stray_files(settings) == []
    assert not list((settings.data_dir / "blobs").rglob("*.parquet"))


def test_a_body_spooled_in_many_blocks_keeps_its_bytes_and_sha256(
    client: TestClient, orders: None, settings: Settings
) -> None:
    body = parquet_bytes(orders_table(200_000))  # ~2.6 MB: several spool blocks, hashed in turn
    assert len(body) > 2 * BLOCK_BYTES
    step = 100_003  # chunks that never line up with a block
    parts = [body[i : i + step] for i in range(0, len(body), step)]
    messages = iter(
        [{"type": "http.request", "body": part, "more_body": True} for part in parts]
        + [{"type": "http.request", "body": b"", "more_body": False}]
    )

    async def receive() -> dict[str, Any]:
        return next(messages)

    sent = asgi.post(
        client.app, URL, receive, [(b"content-type", b"application/vnd.apache.parquet")]
    )
    assert sent[0]["status"] == 201
    report = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert (report["bytes"], report["rows"]) == (len(body), 200_000)
    assert report["sha256"] == hashlib.sha256(body).hexdigest()
    assert stray_files(settings) == []


def test_client_disconnect_after_several_blocks_leaves_no_batch_and_no_file(
    client: TestClient, orders: None, settings: Settings
) -> None:
    chunk = {"type": "http.request", "body": os.urandom(BLOCK_BYTES // 2 + 1), "more_body": True}
    messages = iter([chunk] * 7 + [{"type": "http.disconnect"}])  # blocks handed to the thread

    async def receive() -> dict[str, Any]:
        return next(messages)

    asgi.post(client.app, URL, receive, [(b"content-type", b"application/vnd.apache.parquet")])
    assert batches(client) == []
    assert stray_files(settings) == []
    assert not list((settings.data_dir / "blobs").rglob("*.parquet"))


def table_body(table: pa.Table) -> bytes:
    return parquet_bytes(table)


def test_ten_thousand_columns_is_a_rejected_batch_naming_them(
    client: TestClient, orders: None
) -> None:
    base = orders_table(2)
    extra = {f"c{i}": pa.array([1, 2], pa.int8()) for i in range(10_000)}
    table = pa.table({**{n: base.column(n) for n in base.column_names}, **extra})
    r = client.post(URL, content=table_body(table), headers=PARQUET)
    assert r.status_code == 201, r.text[:500]
    report = r.json()
    assert report["status"] == "rejected"
    unknown = [c for c in report["checks"] if c["check"] == "unknown_column"]
    assert len(unknown) == 10_000
    assert unknown[0]["columns"] == ["c0"]


def test_nested_types_are_structural_type_failures(client: TestClient, orders: None) -> None:
    base = orders_table(2)
    table = base.set_column(2, "status", pa.array([["new"], ["paid"]], pa.list_(pa.string())))
    report = client.post(URL, content=table_body(table), headers=PARQUET).json()
    assert report["status"] == "rejected"
    [failure] = [c for c in report["checks"] if c["check"] == "type"]
    assert failure["columns"] == ["status"]
    failures = pq.read_table(io.BytesIO(client.get(f"/v1/batches/{report['id']}/failures").content))
    assert failures.num_rows == 0  # rejected on structure: no row was judged


def test_zero_rows_fails_row_count(client: TestClient, orders: None) -> None:
    report = client.post(URL, content=table_body(orders_table(0)), headers=PARQUET).json()
    assert (report["status"], report["rows"]) == ("rejected", 0)
    [row_count] = [c for c in report["checks"] if c["check"] == "row_count"]
    assert row_count["passed"] is False


def test_dictionary_encoded_strings_match_string(client: TestClient, orders: None) -> None:
    base = orders_table(6)
    status = base.column("status").dictionary_encode()
    table = base.set_column(2, "status", status)
    assert pa.types.is_dictionary(table.schema.field("status").type)
    report = client.post(URL, content=table_body(table), headers=PARQUET).json()
    assert report["status"] == "accepted", report


def test_a_footer_that_lies_about_its_row_count_is_refused(
    client: TestClient, orders: None, tmp_path: Path
) -> None:
    body = parquet_bytes(orders_table(1234))
    # the file total only, or every row group's count too; more rows than the pages hold, or
    # fewer (caught by the page walk at upload only: validation trusts stored bytes' pages)
    for claimed, everywhere in itertools.product((1999, 1200), (False, True)):
        lying = lie_about_rows(body, 1234, claimed, everywhere=everywhere)
        problem = assert_problem(client.post(URL, content=lying, headers=PARQUET), 422)
        assert f"{claimed:,}" in problem["detail"]
        assert "1,234" in problem["detail"]
    assert batches(client) == []


def test_the_service_keeps_serving_after_the_barrage(client: TestClient, orders: None) -> None:
    for body in UNREADABLE.values():
        client.post(URL, content=body, headers=PARQUET)
    assert client.get("/healthz").status_code == 200
    assert client.post(URL, content=VALID, headers=PARQUET).status_code == 201
