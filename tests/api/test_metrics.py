"""/metrics: request counters by route template, and the job queue as the database sees it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.batches.pipeline import LEASE, Context
from app.jobs.worker import drain
from tests.builders.batches import PARQUET, orders_doc, orders_table, parquet_bytes


def sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} not in /metrics"
    return float(match.group(1))


def test_queue_depth_and_age_follow_the_jobs(client: TestClient) -> None:
    client.post("/v1/contracts", json=orders_doc())
    before = client.get("/metrics").text
    assert sample(before, "tollgate_database_up") == 1
    assert sample(before, "tollgate_jobs", '{status="queued"}') == 0
    assert sample(before, "tollgate_oldest_queued_job_seconds") == 0
    client.post(
        "/v1/contracts/orders/batches",
        params={"mode": "async"},
        content=parquet_bytes(orders_table(3)),
        headers=PARQUET,
    )
    queued = client.get("/metrics").text
    assert sample(queued, "tollgate_jobs", '{status="queued"}') == 1
    assert sample(queued, "tollgate_oldest_queued_job_seconds") > 0
    context: Context = client.app.state.batch_context  # type: ignore[attr-defined]
    drain(
        client.app.state.sessionmaker,
        context.handlers(),  # type: ignore[attr-defined]
        worker_id="test",
        lease=LEASE,
    )
    after = client.get("/metrics").text
    assert sample(after, "tollgate_jobs", '{status="queued"}') == 0
    assert sample(after, "tollgate_jobs", '{status="done"}') == 1


def test_requests_are_counted_by_route_template_not_raw_path(client: TestClient) -> None:
    client.get("/v1/contracts/does_not_exist")
    text = client.get("/metrics").text
    labels = '{method="GET",route="/v1/contracts/{name}",status="404"}'
    assert sample(text, "tollgate_http_requests_total", labels) == 1
    assert "does_not_exist" not in text
