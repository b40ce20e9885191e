"""A validation whose worker lost its lease can never record the batch a second time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.batches.models import CheckRecord
from app.batches.pipeline import LEASE, VALIDATE_BATCH, Context, run_validation
from app.config import Settings
from app.db.engine import make_engine, make_sessionmaker, transaction
from app.jobs import service as jobs
from app.jobs.errors import LeaseLost
from app.jobs.worker import drain
from tests.builders.batches import PARQUET, orders_doc, orders_table, parquet_bytes


def test_a_stale_worker_cannot_record_a_batch_twice(client: TestClient, settings: Settings) -> None:
    client.post("/v1/contracts", json=orders_doc())
    queued = client.post(
        "/v1/contracts/orders/batches",
        params={"mode": "async"},
        content=parquet_bytes(orders_table(8)),
        headers=PARQUET,
    ).json()
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)
    context: Context = client.app.state.batch_context  # type: ignore[attr-defined]
    # A worker claims the job and then stalls (or dies): its lease is already over.
    with maker() as session, transaction(session):
        stale = jobs.claim(
            session, worker="stalled", lease=timedelta(microseconds=1), kinds=[VALIDATE_BATCH]
        )
    assert stale is not None
    # Another worker takes the job over and records the batch.
    assert drain(maker, context.handlers(), worker_id="rescuer", lease=LEASE) == 1
    report = client.get(f"/v1/batches/{queued['id']}").json()
    assert report["status"] == "accepted"
    # The stalled worker wakes up: it is fenced off before it can touch the batch.
    with pytest.raises(LeaseLost):
        run_validation(maker, stale, context)
    with maker() as session:
        records = session.scalar(select(func.count()).select_from(CheckRecord))
        job = jobs.get(session, stale.job_id)
    engine.dispose()
    assert records == len(report["checks"])
    assert job is not None
    assert (job.status, job.attempts, job.worker) == ("done", 2, "rescuer")
    assert client.get(f"/v1/batches/{queued['id']}").json() == report
