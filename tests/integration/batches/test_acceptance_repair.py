"""A crash between the Delta append and the database's acceptance is repaired at start-up
(SPEC §4; issue 4): the batch becomes the next snapshot exactly once, online store included."""

from __future__ import annotations

import uuid

import polars as pl
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from app.batches import repository
from app.batches.accept import Accepted
from app.batches.pipeline import LEASE, Context
from app.config import Settings
from app.contracts.parsing import parse_contract
from app.db.engine import make_engine, make_sessionmaker, transaction
from app.features.offline import Stamp, accepted_rows
from app.jobs.worker import drain
from app.main import create_app
from tests.builders.features import PARQUET, stats_doc, stats_rows
from tests.conftest import ADMIN_KEY

ROWS = [(1, 20, 30.0, 7, "z"), (4, 20, 40.0, 8, "y")]


def _crashed(client: TestClient, settings: Settings, *, appended: bool) -> uuid.UUID:
    """Batch 2 validated, its acceptance cut short (after the Delta append when `appended`)."""
    client.post("/v1/contracts", json=stats_doc())
    r = client.post("/v1/contracts/user_stats/batches", content=stats_rows([(1, 0, 1.0, 1, "a")]),
                    headers=PARQUET)  # fmt: skip
    assert r.json()["status"] == "accepted"
    queued = client.post(
        "/v1/contracts/user_stats/batches?mode=async", content=stats_rows(ROWS), headers=PARQUET
    ).json()
    batch_id = uuid.UUID(queued["id"])
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)
    ctx: Context = client.app.state.batch_context  # type: ignore[attr-defined]
    with maker() as session, transaction(session):  # what the validation's record step leaves
        batch = repository.by_id(session, batch_id)
        assert batch is not None
        batch.status, batch.pending_status, batch.rows_accepted = "validating", "accepted", 2
        blob = batch.blob_key
    if appended:
        upload = ctx.blobs.local_path(blob)
        assert upload is not None
        spec = parse_contract(stats_doc())
        stamp = Stamp(batch_id, "1.0.0", 2)
        rows = Accepted(upload, pa.array([], pa.int64()))
        ctx.offline.append(
            "user_stats", stamp, accepted_rows(rows.upload, spec.columns, rows.quarantined, stamp)
        )
    engine.dispose()
    return batch_id


def _stored(ctx: Context) -> pl.DataFrame:
    columns = parse_contract(stats_doc()).columns
    return ctx.offline.scan("user_stats", columns).collect()


@pytest.mark.parametrize("appended", [True, False], ids=["after-append", "before-append"])
def test_start_up_finishes_a_crashed_acceptance(
    client: TestClient, settings: Settings, appended: bool
) -> None:
    batch_id = _crashed(client, settings, appended=appended)
    assert client.get(f"/v1/batches/{batch_id}").json()["status"] == "validating"
    with TestClient(create_app(settings)) as restarted:  # start-up runs the repair
        restarted.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        assert restarted.get(f"/v1/batches/{batch_id}").json()["status"] == "accepted"
        view = restarted.get("/v1/features/user_stats").json()
        assert (view["latest_snapshot"], view["rows"]) == (2, 3)
        online = restarted.post(
            "/v1/features/user_stats/online", json={"entities": [{"user_id": 4}]}
        ).json()["rows"][0]
        assert (online["status"], online["values"]["spend"]) == ("found", 40.0)
        ctx: Context = restarted.app.state.batch_context  # type: ignore[attr-defined]
        # The queued job runs later: the batch is final, nothing is appended twice.
        maker = restarted.app.state.sessionmaker  # type: ignore[attr-defined]
        assert drain(maker, ctx.handlers(), worker_id="late", lease=LEASE) == 1
        stored = _stored(ctx)
    mine = stored.filter(pl.col("_batch_id") == str(batch_id))
    assert mine.height == 2
    assert mine.get_column("_snapshot").unique().to_list() == [2]
    assert stored.height == 3


def test_a_later_batch_first_finishes_a_crashed_one(client: TestClient, settings: Settings) -> None:
    """No restart: the next acceptance into the view finishes the crashed batch first, so each
    keeps the snapshot its rows are stamped with."""
    crashed = _crashed(client, settings, appended=True)
    later = client.post(
        "/v1/contracts/user_stats/batches",
        content=stats_rows([(7, 30, 1.0, 1, "n")]),
        headers=PARQUET,
    ).json()
    assert (later["status"], later["snapshot"]) == ("accepted", 3)
    first = client.get(f"/v1/batches/{crashed}").json()
    assert (first["status"], first["snapshot"]) == ("accepted", 2)
    ctx: Context = client.app.state.batch_context  # type: ignore[attr-defined]
    stamped = _stored(ctx).group_by("_batch_id").agg(pl.col("_snapshot").unique())
    by_batch = {r["_batch_id"]: r["_snapshot"] for r in stamped.to_dicts()}
    assert by_batch[str(crashed)] == [2]
    assert by_batch[later["id"]] == [3]
