"""app.client against the real service under uvicorn: every call, every input kind, and errors
raised with their problem details."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
import yaml

from app.client import Client, TollgateError
from app.config import Settings
from tests.builders.features import T0, stats_doc, stats_rows
from tests.builders.live import running_server
from tests.conftest import ADMIN_KEY


@pytest.fixture
def tg(settings: Settings) -> Iterator[Client]:
    with running_server(settings) as server, Client(server.url, ADMIN_KEY) as client:
        yield client


def test_register_upload_report_view(tg: Client, tmp_path: Path) -> None:
    path = tmp_path / "user_stats.yaml"
    path.write_text(yaml.safe_dump(stats_doc()))
    assert tg.register(path)["version"] == "1.0.0"
    batch = tmp_path / "b.parquet"
    batch.write_bytes(stats_rows([(1, 0, 10.0, 1, "a"), (2, 1, -1.0, 2, "b")]))
    report = tg.upload("user_stats", batch, idempotency_key="k1")
    assert (report["status"], report["rows_accepted"]) == ("partial", 1)
    assert tg.report(report["id"])["id"] == report["id"]
    again = tg.upload("user_stats", batch.read_bytes(), idempotency_key="k1")
    assert again["id"] == report["id"]
    polars_batch = pl.DataFrame(
        {"user_id": [3], "ts": [T0], "spend": [1.0], "visits": [1], "segment": ["c"]},
        schema={
            "user_id": pl.Int64,
            "ts": pl.Datetime("us", "UTC"),
            "spend": pl.Float64,
            "visits": pl.Int32,
            "segment": pl.String,
        },
    )
    assert tg.upload("user_stats", polars_batch)["status"] == "accepted"
    assert tg.view("user_stats")["latest_snapshot"] == 2


def test_training_set_online_and_saved_sets(tg: Client) -> None:
    tg.register(stats_doc())
    tg.upload("user_stats", stats_rows([(1, 0, 10.0, 1, "a"), (1, 5, 11.0, 3, "a")]))
    entities = [
        {"user_id": 1, "event_timestamp": T0 + timedelta(hours=6), "label": 1.0},
        {"user_id": 1, "event_timestamp": T0 + timedelta(hours=1), "label": 0.0},
    ]
    table = tg.training_set("user_stats", entities, features=["spend"], lineage=True)
    assert table.column_names == [
        "user_id",
        "event_timestamp",
        "label",
        "spend",
        "_feature_timestamp",
        "_batch_id",
        "_contract_version",
    ]
    assert table.column("spend").to_pylist() == [11.0, 10.0]
    assert table.schema.metadata[b"tollgate.snapshot"] == b"1"
    from_polars = tg.training_set("user_stats", pl.DataFrame(entities), snapshot=1)
    assert from_polars.column("visits").to_pylist() == [3, 1]
    rows = tg.online("user_stats", [{"user_id": 1}, {"user_id": 2}])
    assert [r["status"] for r in rows] == ["found", "missing"]
    assert rows[0]["values"]["spend"] == 11.0
    manifest = tg.save_training_set(
        "user_stats", pa.Table.from_pylist(entities), features=["spend"]
    )
    assert manifest["rows"] == 2
    assert tg.training_set_data(manifest["id"]).column("spend").to_pylist() == [11.0, 10.0]


def test_errors_carry_the_problem(tg: Client) -> None:
    with pytest.raises(TollgateError) as caught:
        tg.view("nope")
    assert (caught.value.status, caught.value.type.rsplit("/", 1)[-1]) == (
        404,
        "feature-view-not-found",
    )
    assert "nope" in caught.value.detail
    tg.register(stats_doc())
    with pytest.raises(TollgateError) as bad:
        tg.upload("user_stats", b"not parquet")
    assert bad.value.status == 422
    with pytest.raises(TypeError):
        tg.online("user_stats", object())


def test_pandas_entity_rows(tg: Client) -> None:
    pd = pytest.importorskip("pandas")  # the bench extra; the client never imports it itself
    tg.register(stats_doc())
    tg.upload("user_stats", stats_rows([(1, 0, 10.0, 1, "a")]))
    frame = pd.DataFrame({"user_id": [1, 2], "event_timestamp": [T0, T0]})
    table = tg.training_set("user_stats", frame, features=["spend"])
    assert table.column("spend").to_pylist() == [10.0, None]
