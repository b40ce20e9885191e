"""Saved training sets (SPEC §4, §8): the manifest, and data that rebuilds byte-identical whatever
was ingested since and however the offline table was compacted."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from app.batches.pipeline import Context
from tests.api.test_features import events, seeded, upload
from tests.builders.concurrency import at_once
from tests.builders.features import PARQUET, T0, at, stats_doc
from tests.builders.problems import assert_problem


def test_saved_training_set_rebuilds_byte_identical(client: TestClient) -> None:
    seeded(client)
    rows = events((1, 11), (2, 30), (1, 4))
    r = client.post(
        "/v1/training-sets",
        json={"view": "user_stats", "features": ["spend", "segment"], "rows": rows},
    )
    assert r.status_code == 201, r.text
    manifest = r.json()
    assert r.headers["location"] == f"/v1/training-sets/{manifest['id']}"
    assert {k: manifest[k] for k in ("view", "features", "snapshot", "rows")} == {
        "view": "user_stats",
        "features": ["spend", "segment"],
        "snapshot": 2,
        "rows": 3,
    }
    assert len(manifest["entity_sha256"]) == 64
    assert client.get(f"/v1/training-sets/{manifest['id']}").json() == manifest
    first = client.get(f"/v1/training-sets/{manifest['id']}/data")
    assert first.status_code == 200
    assert first.headers["x-tollgate-snapshot"] == "2"
    table = pq.read_table(io.BytesIO(first.content))
    assert table.column("spend").to_pylist() == [12.0, 20.0, 10.0]
    # A backfill for user 2 and newer rows for user 1 arrive; the table is compacted and vacuumed.
    upload(client, [(2, 29, 77.0, 1, "late"), (1, 10.5, 55.0, 1, "new")])
    ctx: Context = client.app.state.batch_context  # type: ignore[attr-defined]
    compacted = ctx.offline.compact("user_stats")
    assert compacted["files_removed"] >= 2
    live = client.post(
        "/v1/features/user_stats/training-set",
        json={"rows": rows},
        headers={"Accept": "application/json"},
    ).json()["rows"]
    assert [x["spend"] for x in live] == [55.0, 77.0, 10.0]  # the live answer did change
    again = client.get(f"/v1/training-sets/{manifest['id']}/data")
    assert again.content == first.content


def test_saving_from_parquet_and_lookup_errors(client: TestClient) -> None:
    seeded(client)
    body = io.BytesIO()
    pq.write_table(
        pa.table(
            {
                "user_id": pa.array([1], pa.int64()),
                "event_timestamp": pa.array([at(6)]).cast(pa.timestamp("us", "UTC")),
            }
        ),
        body,
    )
    r = client.post(
        "/v1/training-sets?view=user_stats&features=visits&snapshot=1",
        content=body.getvalue(),
        headers=PARQUET,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["snapshot"], r.json()["features"]) == (1, ["visits"])
    data = pq.read_table(io.BytesIO(client.get(r.headers["location"] + "/data").content))
    assert data.column("visits").to_pylist() == [3]
    assert_problem(client.get(f"/v1/training-sets/{uuid.uuid4()}"), 404, "training-set-not-found")
    assert_problem(client.get("/v1/training-sets/nope/data"), 404, "training-set-not-found")
    no_view = client.post("/v1/training-sets", json={"features": ["spend"], "rows": []})
    assert_problem(no_view, 422, "invalid-input", 'which view? give "view" in the JSON body')
    in_query = client.post("/v1/training-sets?view=user_stats", json={"rows": []})
    assert_problem(in_query, 422, "invalid-input", "the query parameters go with a Parquet body")
    unknown = client.post("/v1/training-sets", json={"view": "user_stats", "features": ["x"],
                                                     "rows": events((1, 1))})  # fmt: skip
    assert_problem(unknown, 422, "unknown-feature")
    for bad in ({"features": "spend"}, {"snapshot": True}, {"lineage": "yes"}, {"view": 3}):
        body = {"view": "user_stats", "features": ["spend"], "rows": events((1, 1)), **bad}
        assert_problem(client.post("/v1/training-sets", json=body), 422)


def test_an_int_column_widened_to_float64_is_rewritten_and_saved_sets_still_rebuild(
    client: TestClient,
) -> None:
    seeded(client)
    rows = events((1, 11), (2, 3))
    saved = client.post(
        "/v1/training-sets", json={"view": "user_stats", "features": ["visits"], "rows": rows}
    ).json()
    before = client.get(f"/v1/training-sets/{saved['id']}/data").content
    doc = stats_doc()
    next(c for c in doc["columns"] if c["name"] == "visits")["type"] = "float64"
    assert client.post("/v1/contracts", json=doc).json()["version"] == "1.1.0"  # compatible
    late = pa.table(
        {
            "user_id": pa.array([2], pa.int64()),
            "ts": pa.array([T0 + timedelta(hours=2)], pa.timestamp("us", "UTC")),
            "spend": [1.0],
            "visits": [2.5],
            "segment": ["b"],
        }
    )
    body = io.BytesIO()
    pq.write_table(late, body)
    r = client.post("/v1/contracts/user_stats/batches", content=body.getvalue(), headers=PARQUET)
    assert (r.json()["status"], r.json()["snapshot"]) == ("accepted", 3)
    live = client.post(
        "/v1/features/user_stats/training-set",
        json={"rows": rows},
        headers={"Accept": "application/json"},
    ).json()["rows"]
    assert [x["visits"] for x in live] == [4.0, 2.5]
    assert client.get(f"/v1/training-sets/{saved['id']}/data").content == before
    ctx: Context = client.app.state.batch_context  # type: ignore[attr-defined]
    first = client.get("/v1/contracts/user_stats/batches").json()["items"][-1]["id"]
    assert ctx.offline.committed("user_stats", uuid.UUID(first))  # still known after the rewrite


def test_training_sets_saved_at_once(client: TestClient) -> None:
    """Eight saves at once: eight manifests. On SQLite all but one or two were 500s ("database
    is locked": the save read the view, then wrote) before it began its own transaction."""
    seeded(client)

    def save(i: int) -> Any:
        body = {"view": "user_stats", "features": ["spend"], "rows": events((1, 1 + i))}
        return client.post("/v1/training-sets", json=body)

    answers = at_once(save)
    assert [r.status_code for r in answers] == [201] * 8, [r.text[:200] for r in answers]
    assert len({r.json()["id"] for r in answers}) == 8
