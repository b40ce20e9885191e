"""A feature view keeps each column's stored type (SPEC §4; an addition): a later version may widen
an integer to a float, but `allow_breaking` cannot move a view's column to another family, which
would stall its appends or read stored values as something else."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from tests.api.test_features import JSON, ask, events, seeded
from tests.builders.batches import PARQUET, parquet_bytes
from tests.builders.features import T0, stats_doc
from tests.builders.problems import assert_problem

BREAKING = "/v1/contracts?allow_breaking=true"


def retyped(column: str, new: str, **extra: Any) -> dict[str, Any]:
    doc = stats_doc(ttl="2d", **extra)
    for col in doc["columns"]:
        if col["name"] == column:
            col["type"] = new
            col.pop("checks", None)
    return doc


@pytest.mark.parametrize(
    ("column", "new"),
    [("visits", "string"), ("spend", "string"), ("segment", "bool"), ("visits", "timestamp"),
     ("visits", "uint64"), ("spend", "int64")],
)  # fmt: skip
def test_allow_breaking_cannot_move_a_view_column_to_another_family(
    client: TestClient, column: str, new: str
) -> None:
    seeded(client, ttl="2d")
    body = assert_problem(
        client.post(BREAKING, json=retyped(column, new)), 409, "feature-view-type-change", column
    )
    assert body["changes"][0]["path"] == f"columns.{column}.type"
    assert "new column or contract name" in body["detail"]
    assert client.get("/v1/contracts/user_stats").json()["version"] == "1.0.0"


def test_the_dry_run_says_the_view_would_refuse_it(client: TestClient) -> None:
    seeded(client, ttl="2d")
    r = client.post("/v1/contracts/user_stats/compatibility", json=retyped("visits", "string"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["compatible"] is False
    stored = [c for c in body["changes"] if c["kind"] == "stored_type_changed"]
    assert [c["path"] for c in stored] == ["columns.visits.type"]
    widened = client.post("/v1/contracts/user_stats/compatibility", json=retyped("visits", "int64"))
    assert widened.json()["compatible"] is True


def test_a_column_dropped_then_readded_keeps_its_stored_family(client: TestClient) -> None:
    seeded(client, ttl="2d")
    dropped = stats_doc(ttl="2d")
    dropped["columns"] = [c for c in dropped["columns"] if c["name"] != "visits"]
    assert client.post(BREAKING, json=dropped).status_code == 201
    assert_problem(client.post(BREAKING, json=retyped("visits", "string")), 409, says="visits")


def test_an_integer_may_widen_to_a_float_and_the_view_keeps_serving(client: TestClient) -> None:
    seeded(client, ttl="2d")
    assert client.post("/v1/contracts", json=retyped("visits", "float64")).status_code == 201
    table = pa.table(
        {"user_id": [1], "ts": [T0], "spend": [1.0], "visits": [2.5], "segment": ["s"]},
        schema=pa.schema([("user_id", pa.int64()), ("ts", pa.timestamp("us", "UTC")),
                          ("spend", pa.float64()), ("visits", pa.float64()),
                          ("segment", pa.string())]),
    )  # fmt: skip
    r = client.post(
        "/v1/contracts/user_stats/batches", content=parquet_bytes(table), headers=PARQUET
    )
    assert (r.status_code, r.json()["status"], r.json()["snapshot"]) == (201, "accepted", 3)
    rows = ask(client, events((1, 20)), headers=JSON).json()["rows"]
    assert rows[0]["visits"] == 4.0  # the row at 10h, stored as an integer, read as a float


def test_without_features_a_type_may_break_and_a_later_view_is_judged_from_then_on(
    client: TestClient,
) -> None:
    doc = stats_doc()
    del doc["features"]
    assert client.post("/v1/contracts", json=doc).status_code == 201
    plain = retyped("visits", "string")
    del plain["features"]
    assert client.post(BREAKING, json=plain).status_code == 201  # no view: nothing stored
    assert client.post(BREAKING, json=retyped("visits", "int64")).status_code == 201
    assert_problem(client.post(BREAKING, json=retyped("visits", "string")), 409, says="3.0.0")
