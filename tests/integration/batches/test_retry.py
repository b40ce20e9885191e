"""A validation that gave up is visible on the batch and can be retried (additions to SPEC §5):
the report's `validation` shows the job's attempts and last error; POST /v1/batches/{id}/retry
queues it again with all its attempts, and a worker then validates the batch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.batches.pipeline import LEASE, VALIDATE_BATCH, Context
from app.config import Settings
from app.db.base import utcnow
from app.db.engine import make_engine, make_sessionmaker, transaction
from app.jobs import service as jobs
from app.jobs.worker import drain
from tests.builders.batches import PARQUET, orders_doc, orders_table, parquet_bytes
from tests.builders.problems import assert_problem
from tests.conftest import KeyMaker, bearer


def queued(client: TestClient) -> dict[str, Any]:
    assert client.post("/v1/contracts", json=orders_doc()).status_code == 201
    r = client.post(
        "/v1/contracts/orders/batches",
        params={"mode": "async"},
        content=parquet_bytes(orders_table(5)),
        headers=PARQUET,
    )
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_validation_that_gave_up_is_shown_and_retried(
    client: TestClient, settings: Settings
) -> None:
    batch = queued(client)
    assert batch["validation"]["state"] == "queued"
    assert (batch["validation"]["attempts"], batch["validation"]["max_attempts"]) == (0, 5)
    assert batch["validation"]["retry_at"] is not None
    url = f"/v1/batches/{batch['id']}"
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)
    # Every attempt fails (say the object store is down) until the job gives up.
    now = utcnow()
    for attempt in range(1, 6):
        now += timedelta(hours=1)
        with maker() as session, transaction(session):
            claim = jobs.claim(session, worker="w", lease=LEASE, kinds=[VALIDATE_BATCH], now=now)
        assert claim is not None
        assert str(claim.job_id) == batch["id"]  # the job carries its batch's id
        with maker() as session, transaction(session):
            jobs.fail(session, claim, f"object store unreachable (attempt {attempt})", now=now)
    stuck = client.get(url).json()
    assert stuck["status"] == "queued"
    assert stuck["validation"] == {
        "state": "failed",
        "attempts": 5,
        "max_attempts": 5,
        "retry_at": None,
        "last_error": "object store unreachable (attempt 5)",
    }
    context: Context = client.app.state.batch_context  # type: ignore[attr-defined]
    assert drain(maker, context.handlers(), worker_id="w2", lease=LEASE) == 0  # nobody takes it
    r = client.post(f"{url}/retry")
    assert r.status_code == 202, r.text
    assert r.headers["location"] == url
    assert (r.json()["validation"]["state"], r.json()["validation"]["attempts"]) == ("queued", 0)
    assert drain(maker, context.handlers(), worker_id="w2", lease=LEASE) == 1
    engine.dispose()
    done = client.get(url).json()
    assert (done["status"], done["validation"]) == ("accepted", None)
    assert_problem(client.post(f"{url}/retry"), 409, "batch-already-validated")


def test_retry_asks_for_a_key_that_may_upload(client: TestClient, make_key: KeyMaker) -> None:
    batch = queued(client)
    url = f"/v1/batches/{batch['id']}/retry"
    reader = make_key(role="consumer", contracts=["orders"])
    assert_problem(client.post(url, headers=bearer(reader)), 403)
    assert_problem(client.post("/v1/batches/not-a-batch/retry"), 404, "batch-not-found")
    # a queued job is left as it is: the retry changes nothing
    again = client.post(url)
    assert (again.status_code, again.json()["validation"]["state"]) == (202, "queued")
