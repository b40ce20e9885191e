"""The feature store over HTTP (SPEC §4, §5, §8): snapshots made by accepted rows, point-in-time
training sets in three formats, pinning, lineage, online lookups, and the precise 4xx answers."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from tests.builders.features import PARQUET, T0, at, stats_doc, stats_rows
from tests.builders.problems import assert_problem
from tests.conftest import KeyMaker, bearer

ARROW = {"Accept": "application/vnd.apache.arrow.stream"}
JSON = {"Accept": "application/json"}


def upload(client: TestClient, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    r = client.post("/v1/contracts/user_stats/batches", content=stats_rows(rows), headers=PARQUET)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def seeded(client: TestClient, **features: Any) -> None:
    """Snapshot 1: users 1 and 2 at 0h, user 1 at 5h, a quarantined row (negative spend);
    snapshot 2: user 1 at 10h."""
    assert client.post("/v1/contracts", json=stats_doc(**features)).status_code == 201
    first = upload(
        client,
        [(1, 0, 10.0, 1, "a"), (2, 0, 20.0, 2, "b"), (1, 5, 11.0, 3, "a"), (3, 1, -5.0, 1, "c")],
    )
    assert (first["status"], first["rows_accepted"], first["snapshot"]) == ("partial", 3, 1)
    second = upload(client, [(1, 10, 12.0, 4, "a")])
    assert (second["status"], second["snapshot"]) == ("accepted", 2)


def ask(client: TestClient, rows: list[dict[str, Any]], query: str = "", **kw: Any) -> Any:
    return client.post(f"/v1/features/user_stats/training-set{query}", json={"rows": rows}, **kw)


def events(*pairs: tuple[int, float]) -> list[dict[str, Any]]:
    return [{"user_id": u, "event_timestamp": at(h)} for u, h in pairs]


def test_view_counts_accepted_rows_and_snapshots(client: TestClient) -> None:
    seeded(client, ttl="2d")
    view = client.get("/v1/features/user_stats").json()
    assert view == {
        "name": "user_stats",
        "entity": ["user_id"],
        "timestamp": "ts",
        "columns": [
            {"name": "spend", "type": "float64"},
            {"name": "visits", "type": "int32"},
            {"name": "segment", "type": "string"},
        ],
        "ttl": "2d",
        "rows": 4,
        "latest_snapshot": 2,
    }
    assert client.get("/v1/features").json()["items"] == [view]


def test_training_set_is_point_in_time_and_keeps_input_order(client: TestClient) -> None:
    seeded(client, ttl="2d")
    rows = events((1, 6), (1, 4), (2, 100), (9, 1), (1, 11), (1, 6))
    r = ask(client, rows, headers=JSON)
    assert r.status_code == 200, r.text
    assert r.headers["x-tollgate-snapshot"] == "2"
    got = [(x["user_id"], x["spend"], x["visits"]) for x in r.json()["rows"]]
    # 2 at 100h: its only row is 100h old, past the 2d ttl; 9 is unknown
    assert got == [
        (1, 11.0, 3),
        (1, 10.0, 1),
        (2, None, None),
        (9, None, None),
        (1, 12.0, 4),
        (1, 11.0, 3),
    ]
    assert r.json()["snapshot"] == 2
    assert r.json()["rows"][0]["event_timestamp"] == "2026-01-01T06:00:00.000000Z"


def test_parquet_and_arrow_answers_keep_contract_types(client: TestClient) -> None:
    seeded(client)
    rows = events((1, 6), (2, 1))
    parquet = pq.read_table(io.BytesIO(ask(client, rows).content))
    arrow = pa.ipc.open_stream(ask(client, rows, headers=ARROW).content).read_all()
    for table in (parquet, arrow):
        assert table.column_names == ["user_id", "event_timestamp", "spend", "visits", "segment"]
        assert table.schema.field("visits").type == pa.int32()
        assert table.column("spend").to_pylist() == [11.0, 20.0]


def test_snapshot_and_as_of_pin_the_store(client: TestClient) -> None:
    seeded(client)
    rows = events((1, 11))
    pinned = ask(client, rows, "?snapshot=1", headers=JSON)
    assert pinned.headers["x-tollgate-snapshot"] == "1"
    assert pinned.json()["rows"][0]["spend"] == 11.0  # the 10h row came with snapshot 2
    before = ask(client, rows, "?as_of=2000-01-01T00:00:00Z", headers=JSON)
    assert before.json()["snapshot"] == 0
    assert before.json()["rows"][0]["spend"] is None
    beyond = ask(client, rows, "?snapshot=3")
    assert_problem(beyond, 422, "invalid-snapshot", "beyond the latest snapshot")


def test_lineage_names_the_batch_and_version(client: TestClient) -> None:
    seeded(client)
    second = client.get("/v1/contracts/user_stats/batches").json()["items"][0]
    table = pq.read_table(io.BytesIO(ask(client, events((1, 11)), "?lineage=true").content))
    row = table.to_pylist()[0]
    assert row["_batch_id"] == second["id"]
    assert row["_contract_version"] == "1.0.0"
    assert row["_feature_timestamp"].isoformat() == "2026-01-01T10:00:00+00:00"


def test_features_parameter_selects_and_orders(client: TestClient) -> None:
    seeded(client)
    r = ask(client, events((1, 6)), "?features=segment,spend", headers=JSON)
    assert list(r.json()["rows"][0]) == ["user_id", "event_timestamp", "segment", "spend"]
    assert_problem(ask(client, events((1, 6)), "?features=nope"), 422, "unknown-feature", "nope")


def test_entity_rows_the_join_cannot_use_are_422(client: TestClient) -> None:
    seeded(client)
    null_row = [*events((1, 6)), {"user_id": None, "event_timestamp": at(1)}]
    assert_problem(ask(client, null_row), 422, "invalid-entity-rows", "entity row 1")
    assert_problem(ask(client, [{"user_id": 1}]), 422, "invalid-entity-rows", "event_timestamp")
    clash = [{"user_id": 1, "event_timestamp": at(1), "spend": 3}]
    assert_problem(ask(client, clash), 422, "invalid-entity-rows", "spend")
    naive = [{"user_id": 1, "event_timestamp": "2026-01-01T00:00:00"}]
    assert_problem(ask(client, naive), 422, "invalid-entity-rows", "rows[0].event_timestamp")
    assert_problem(ask(client, events((1, 1)), headers={"Accept": "text/csv"}), 406)


def test_parquet_entity_rows(client: TestClient) -> None:
    seeded(client)
    table = pa.table(
        {
            "user_id": pa.array([2, 1], pa.int32()),  # narrower than the view's int64
            "event_timestamp": pa.array([at(1), at(6)]).cast(pa.timestamp("ns", "UTC")),
            "label": [0.5, 1.5],
        }
    )
    body = io.BytesIO()
    pq.write_table(table, body)
    r = client.post(
        "/v1/features/user_stats/training-set", content=body.getvalue(), headers=PARQUET
    )
    out = pq.read_table(io.BytesIO(r.content))
    assert out.schema.field("user_id").type == pa.int32()  # input columns unchanged
    assert out.column("label").to_pylist() == [0.5, 1.5]
    assert out.column("spend").to_pylist() == [20.0, 11.0]
    table = table.rename_columns(["user_id", "event_timestamp", ""])
    body = io.BytesIO()
    pq.write_table(table, body)
    r = client.post(
        "/v1/features/user_stats/training-set", content=body.getvalue(), headers=PARQUET
    )
    assert_problem(r, 422, "invalid-entity-rows", "a column has an empty name")


def test_unknown_view_and_producers(client: TestClient, make_key: KeyMaker) -> None:
    assert_problem(client.get("/v1/features/nope"), 404, "feature-view-not-found")
    seeded(client)
    producer = bearer(make_key("producer", ["user_stats"]))
    assert_problem(client.get("/v1/features", headers=producer), 403)
    consumer = bearer(make_key("consumer"))
    assert client.get("/v1/features/user_stats", headers=consumer).status_code == 200


def test_online_latest_values_ttl_and_late_batches(client: TestClient) -> None:
    seeded(client)  # no ttl
    late = upload(client, [(1, 7, 99.0, 9, "late"), (2, 3, 21.0, 5, "b")])  # 1 is older than 10h
    assert late["status"] == "accepted"
    r = client.post(
        "/v1/features/user_stats/online",
        json={"entities": [{"user_id": 2}, {"user_id": 9}, {"user_id": 1}]},
    )
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert rows[0] == {
        "entity": {"user_id": 2},
        "status": "found",
        "timestamp": "2026-01-01T03:00:00.000000Z",
        "values": {"spend": 21.0, "visits": 5, "segment": "b"},
    }
    assert rows[1]["status"] == "missing"
    assert rows[1]["values"] == {"spend": None, "visits": None, "segment": None}
    assert rows[2]["values"]["spend"] == 12.0  # the late 7h row did not replace 10h
    bad = client.post("/v1/features/user_stats/online", json={"entities": [{"user_id": "1"}]})
    assert_problem(bad, 422, "invalid-entity-rows", "entities[0].user_id")


def test_online_ttl_expires_against_now(client: TestClient) -> None:
    seeded(client, ttl="1d")  # every row is from January 2026: long expired
    r = client.post("/v1/features/user_stats/online", json={"entities": [{"user_id": 1}]})
    row = r.json()["rows"][0]
    assert (row["status"], row["timestamp"]) == ("expired", "2026-01-01T10:00:00.000000Z")
    assert row["values"] == {"spend": None, "visits": None, "segment": None}


def test_the_offline_table_is_plain_delta(client: TestClient, settings: Any) -> None:
    """Any Delta reader sees the accepted rows and their lineage columns, without Tollgate."""
    seeded(client)
    uri = f"{settings.storage_url}/features/user_stats"
    table = pl.read_delta(uri).sort("_snapshot", "_row")
    assert table.height == 4
    assert table.get_column("_snapshot").to_list() == [1, 1, 1, 2]
    assert table.get_column("_row").to_list() == [0, 1, 2, 0]  # row 3 was quarantined
    assert set(table.columns) >= {"user_id", "ts", "spend", "_batch_id", "_contract_version"}


def test_hostile_training_set_requests(client: TestClient) -> None:
    seeded(client)
    empty = ask(client, [], headers=JSON)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"snapshot": 2, "rows": []}
    mixed = [
        {"user_id": 1, "event_timestamp": at(6), "label": 1},
        {"user_id": 1, "event_timestamp": at(6), "label": "x"},
    ]
    assert_problem(ask(client, mixed), 422, "invalid-entity-rows", "'label' mixes JSON types")
    numbers = [{"user_id": 1, "event_timestamp": at(6), "label": v} for v in (1, 0.5, None)]
    labels = [r["label"] for r in ask(client, numbers, headers=JSON).json()["rows"]]
    assert labels == [1.0, 0.5, None]
    assert_problem(
        ask(client, [{"user_id": "1", "event_timestamp": at(1)}]),
        422,
        "invalid-entity-rows",
        "rows[0].user_id",
    )
    wrong_ts = [{"user_id": 1, "event_timestamp": at(1), "when": 5}]
    assert_problem(ask(client, wrong_ts, "?timestamp_column=when"), 422, "invalid-entity-rows")
    url = "/v1/features/user_stats/training-set"
    assert_problem(client.post(url, content=b"PAR1 nope", headers=PARQUET), 422)
    assert_problem(client.post(url, content=b"", headers=PARQUET), 422)
    assert_problem(client.post(url, content=b"a,b\n", headers={"Content-Type": "text/csv"}), 415)
    assert_problem(
        client.post(url, content=b"{", headers={"Content-Type": "application/json"}), 422
    )
    assert_problem(client.post(url, json={"rows": "no"}), 422, "invalid-entity-rows")
    assert_problem(client.post(url, json=[1]), 422, "invalid-entity-rows")
    assert_problem(ask(client, events((1, 1)), "?snapshot=-1"), 422)
    assert_problem(ask(client, events((1, 1)), "?as_of=yesterday"), 422, "invalid-snapshot")
    assert_problem(ask(client, events((1, 1)), "?snapshot=1&as_of=2026-01-01T00:00:00Z"), 422)
    online = "/v1/features/user_stats/online"
    assert_problem(client.post(online, json={"entities": {"user_id": 1}}), 422)
    assert_problem(
        client.post(online, json={"entities": [{"other": 1}]}),
        422,
        "invalid-entity-rows",
        "user_id",
    )
    assert_problem(client.post(online, json={"entities": [1]}), 422, "invalid-entity-rows")
    nested = b'{"rows": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for path in (url, online, "/v1/training-sets?view=user_stats"):
        r = client.post(path, content=nested, headers={"Content-Type": "application/json"})
        assert_problem(r, 422, "invalid-input", "nested too deeply")
    assert client.get("/v1/features/user_stats").status_code == 200  # still serving


def test_nested_passthrough_columns_are_kept_as_sent_or_refused(client: TestClient) -> None:
    """Lists and objects beside the entity columns come back as sent (every key, floats kept
    in a list that starts with an integer); deep nesting, mixed shapes and huge key values are
    a 422 with a short detail."""
    seeded(client)
    rows = [
        {"user_id": 1, "event_timestamp": at(6), "tags": [1], "meta": {"a": 1}},
        {"user_id": 2, "event_timestamp": at(6), "tags": [0.5, 2], "meta": {"b": "x"}},
    ]
    got = ask(client, rows, headers=JSON).json()["rows"]
    assert [r["tags"] for r in got] == [[1.0], [0.5, 2.0]]
    assert [r["meta"] for r in got] == [{"a": 1, "b": None}, {"a": None, "b": "x"}]
    mixed = [{**rows[0], "tags": [1]}, {**rows[1], "tags": ["x"]}]
    assert_problem(ask(client, mixed), 422, "invalid-entity-rows", "'tags' is not one type")
    url = "/v1/features/user_stats/training-set"
    for depth in (33, 900):
        head = f'{{"rows":[{{"user_id":1,"event_timestamp":"{at(6)}","deep":'.encode()
        body = head + b"[" * depth + b"1" + b"]" * depth + b"}]}"
        r = client.post(url, content=body, headers={"Content-Type": "application/json"})
        assert_problem(r, 422, "invalid-entity-rows", "rows[0].deep nests lists or objects more")
    unnamed = [{**rows[0], "": 1}]  # polars would rename it `column_<n>`
    assert_problem(ask(client, unnamed), 422, "invalid-entity-rows", "rows: a column has an empty")
    huge = [{"user_id": "9" * 10_000_000, "event_timestamp": at(6)}]
    detail = assert_problem(ask(client, huge), 422, "invalid-entity-rows", "rows[0].user_id")
    assert len(detail["detail"]) < 300
    long = "n" * 1_000_000  # client-chosen names come back cut short too
    named = [{**rows[0], long: 1}, {**rows[1], long: "x"}]
    detail = assert_problem(ask(client, named), 422, "invalid-entity-rows", "mixes JSON types")
    assert len(detail["detail"]) < 300
    deep_named = [{**rows[0], long: json.loads("[" * 40 + "]" * 40)}]
    detail = assert_problem(ask(client, deep_named), 422, "invalid-entity-rows", "nests lists")
    assert len(detail["detail"]) < 300
    r = ask(client, rows, f"?timestamp_column={'t' * 5000}")
    assert len(assert_problem(r, 422, "invalid-entity-rows", "no column")["detail"]) < 300
    r = ask(client, rows, f"?features={'f' * 5000}")
    assert len(assert_problem(r, 422, "unknown-feature")["detail"]) < 300
    r = ask(client, rows, headers={"Accept": "text/" + "c" * 5000})
    assert len(assert_problem(r, 406)["detail"]) < 300
    online = "/v1/features/user_stats/online"
    deep = {"entities": [{"user_id": json.loads("[" * 500 + "]" * 500)}]}
    detail = assert_problem(client.post(online, json=deep), 422, "invalid-entity-rows")
    assert len(detail["detail"]) < 300


def test_a_compatible_type_widening_keeps_feeding_the_view(client: TestClient) -> None:
    seeded(client)
    doc = stats_doc()
    next(c for c in doc["columns"] if c["name"] == "visits")["type"] = "int64"  # int32 → int64
    assert client.post("/v1/contracts", json=doc).json()["version"] == "1.1.0"
    wide = pa.table(
        {
            "user_id": pa.array([5], pa.int64()),
            "ts": pa.array([T0 + timedelta(hours=20)], pa.timestamp("us", "UTC")),
            "spend": [1.0],
            "visits": pa.array([2**40], pa.int64()),
            "segment": ["z"],
        }
    )
    body = io.BytesIO()
    pq.write_table(wide, body)
    r = client.post("/v1/contracts/user_stats/batches", content=body.getvalue(), headers=PARQUET)
    assert (r.status_code, r.json()["status"], r.json()["snapshot"]) == (201, "accepted", 3)
    table = pq.read_table(io.BytesIO(ask(client, events((5, 21), (1, 11))).content))
    assert table.schema.field("visits").type == pa.int64()  # the latest contract's type
    assert table.column("visits").to_pylist() == [2**40, 4]  # old rows read in it too
